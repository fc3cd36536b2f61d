"""The core's imports: one way between its modules, and light at import time.

Byte sources, the remote source and publishing once imported each other inside functions to
break a cycle; now every import runs one way, in the container layer and across the whole
core (import-linter checks the layers; these tests also count imports made inside functions,
which would hide a cycle). They also keep fsspec (and what it pulls in) out of
`import zanj_core`, and each module of the core under ~400 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import zanj_core._container

CONTAINER = Path(zanj_core._container.__file__).parent
PACKAGE = "zanj_core._container."


def _runtime_imports(source: str, package: str = PACKAGE) -> set[str]:
    """The modules of `package` a module imports when it runs: anywhere in it (a function body
    too), except under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(package):
                found.add(node.module.removeprefix(package))
            elif node.module == package.rstrip("."):
                found.add("")  # the package itself ("" names it)
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix(package) for a in node.names if a.name.startswith(package))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _runtime_imports(path.read_text("utf-8")) for path in CONTAINER.glob("*.py")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (a path that ends where it starts), or None."""
    finished: set[str] = set()

    def walk(trail: list[str]) -> list[str] | None:
        for dependency in sorted(graph.get(trail[-1], ())):
            if dependency in trail:
                return [*trail[trail.index(dependency) :], dependency]
            if dependency not in finished:
                found = walk([*trail, dependency])
                if found:
                    return found
        finished.add(trail[-1])
        return None

    for module in sorted(graph):
        found = walk([module]) if module not in finished else None
        if found:
            return found
    return None


def test_the_container_modules_import_one_way() -> None:
    graph = _graph()
    assert {"sources", "remote", "opening", "publishing", "reader"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    # the remote source builds on the byte sources and save steps, never on what uses it
    assert graph["remote"] <= {"sources", "save_steps", "progress"}
    assert "remote" not in graph["sources"] | graph["locations"] | graph["save_steps"]


CORE = CONTAINER.parent
MAX_MODULE_LINES = 400


def _core_graph() -> dict[str, set[str]]:
    """Every module of zanj_core (dotted, relative to it) -> the core modules it imports at run
    time; a name imported from a package counts as that package (a submodule or a re-export)."""
    modules = {
        ".".join(path.relative_to(CORE).with_suffix("").parts).removesuffix("__init__").rstrip("."): path
        for path in CORE.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _runtime_imports(path.read_text("utf-8"), "zanj_core.")
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def test_the_core_modules_import_one_way() -> None:
    graph = _core_graph()
    assert {"_walk.registry", "_walk.discovery", "_tools.cli", "plugin"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_core_modules_stay_short() -> None:
    long = {p.name: n for p in CORE.rglob("*.py") if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these by concern: {long}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above would catch the cycle that storage and remote once had."""
    assert _cycle({"storage": {"remote"}, "remote": {"storage"}}) in (
        ["storage", "remote", "storage"],
        ["remote", "storage", "remote"],
    )
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    inside_a_function = "def f():\n    from zanj_core._container.remote import upload\n"
    assert _runtime_imports(inside_a_function) == {"remote"}
    typing_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from zanj_core._container.reader import X\n"
    assert _runtime_imports(typing_only) == set()


def test_importing_zanj_core_leaves_fsspec_unimported() -> None:
    probe = (
        "import sys, zanj_core, zanj_core.plugin\n"
        "print(sorted(m for m in ('fsspec', 'aiohttp', 'tqdm') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
