"""A plugin written against the published API alone (tests/plugins/zanj_testplugin), installed
the way a distribution is: a dist-info with its entry point on sys.path, nothing registered by
hand. It is found, it round-trips, `zanj plugins` lists it, it imports nothing of the core but
`zanj_core.plugin`, and it declares the API version and pins the core range it is written for."""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement

from zanj_core import REGISTRY, ZANJ, ZanjFormatError, ZanjMissingPluginWarning, ZanjUnloaded, __version__
from zanj_core.plugin import FORMAT_KEY, PLUGIN_API_VERSION

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

PROJECT = Path(__file__).resolve().parent / "plugins" / "zanj_testplugin"
PACKAGE = PROJECT / "zanj_testplugin"
TAG = "zanj_testplugin.Polyline"


def _project() -> dict[str, Any]:
    with (PROJECT / "pyproject.toml").open("rb") as stream:
        project: dict[str, Any] = tomllib.load(stream)["project"]
    return project


def _write_dist_info(site: Path) -> None:
    """What installing the project writes that discovery reads: its name, version, requirements
    and entry points, all taken from its pyproject.toml."""
    project = _project()
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    metadata = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in project["dependencies"]]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    lines = [
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in points.items())
        for group, points in project["entry-points"].items()
    ]
    (info / "entry_points.txt").write_text("\n".join(lines))


@contextlib.contextmanager
def _installed(tmp_path: Path) -> Iterator[ModuleType]:
    """The test plugin installed for the duration: its dist-info and its source on sys.path,
    plugins rediscovered; afterwards gone again, modules and all."""
    site = tmp_path / "site"
    _write_dist_info(site)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(PROJECT))
            patch.syspath_prepend(str(site))
            REGISTRY.refresh()
            yield importlib.import_module("zanj_testplugin")
    finally:
        for name in [n for n in sys.modules if n == "zanj_testplugin" or n.startswith("zanj_testplugin.")]:
            del sys.modules[name]
        REGISTRY.refresh()


@pytest.fixture
def testplugin(tmp_path: Path) -> Iterator[ModuleType]:
    with _installed(tmp_path) as package:
        yield package


def _rewritten(path: str | Path, change: dict[str, Any]) -> Path:
    """A copy of a saved file with members replaced: `change` maps a member name to a function
    of its bytes (JSON members get and return the parsed JSON)."""
    out = Path(path).with_name("changed.zanj")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data: Any = source.read(info)
            if info.filename in change:
                if info.filename.endswith(".json"):
                    data = json.dumps(change[info.filename](json.loads(data))).encode()
                else:
                    data = change[info.filename](data)
            target.writestr(info.filename, data)
    return out


# -- found and used through its entry point -------------------------------------------------


def test_found_through_its_entry_point_with_its_declared_api(testplugin: ModuleType) -> None:
    REGISTRY.ensure_discovered()
    found = [p for p in REGISTRY.plugins if p.source.distribution == "zanj-testplugin"]
    assert [(p.name, p.value, p.source.version, p.error) for p in found] == [
        ("testplugin", "zanj_testplugin.plugin", "0.1.0", None)
    ]
    assert sys.modules["zanj_testplugin.plugin"].ZANJ_PLUGIN_API == PLUGIN_API_VERSION
    assert "zanj_testplugin.handlers" not in sys.modules, "discovery must not import deferred handlers"


def test_roundtrip_inline_and_as_a_member(testplugin: ModuleType, zpath: Path) -> None:
    polyline = testplugin.Polyline
    value = {
        "short": polyline([(0, 0), (1, 0.5), (-2.25, 1e300)], closed=True, label="triangle"),
        "long": polyline(((i, -i / 3) for i in range(1000)), label="ramp"),
        "empty": polyline([]),
    }
    path = ZANJ(external_array_threshold=256).save(value, zpath)
    back = ZANJ().read(path)
    assert back == value and all(type(back[key]) is polyline for key in value)
    with zipfile.ZipFile(path) as archive:
        members = [name for name in archive.namelist() if name.endswith(".points")]
        assert len(members) == 1 and archive.getinfo(members[0]).file_size == 16 * 1000
        meta = json.loads(archive.read("__zanj_meta__.json"))
    assert meta["plugins"][TAG] == {"dist": "zanj-testplugin", "version": "0.1.0"}


def test_malformed_nodes_are_refused_naming_the_object_path(testplugin: ModuleType, zpath: Path) -> None:
    path = ZANJ().save({"shape": testplugin.Polyline([(0, 0), (1, 1)])}, zpath)

    def bad_point(tree: Any) -> Any:
        tree["shape"]["points"][1] = [1, "one"]
        return tree

    def wrong_count(tree: Any) -> Any:
        tree["shape"]["n_points"] = 5
        return tree

    with pytest.raises(ZanjFormatError, match=r"polyline at .*shape.*: point 1 is not a pair of numbers"):
        ZANJ().read(_rewritten(path, {"__zanj__.json": bad_point}))
    with pytest.raises(ZanjFormatError, match=r"polyline at .*shape.* declares 5 points and holds 2"):
        ZANJ().read(_rewritten(path, {"__zanj__.json": wrong_count}))


def test_a_member_of_partial_points_is_refused(testplugin: ModuleType, zpath: Path) -> None:
    path = ZANJ(external_array_threshold=4).save({"line": testplugin.Polyline([(i, i) for i in range(8)])}, zpath)
    with zipfile.ZipFile(path) as archive:
        (member,) = [name for name in archive.namelist() if name.endswith(".points")]
    with pytest.raises(ZanjFormatError, match=r"holds 125 bytes, not whole 16-byte points"):
        ZANJ().read(_rewritten(path, {member: lambda data: data[:-3]}))


def test_without_the_plugin_the_warning_names_its_distribution(tmp_path: Path, zpath: Path) -> None:
    with _installed(tmp_path) as package:
        path = ZANJ().save({"line": package.Polyline([(0, 1)])}, zpath)
    assert "zanj_testplugin" not in sys.modules
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = ZANJ().read(path)
    assert type(back["line"]) is ZanjUnloaded and back["line"].node[FORMAT_KEY] == TAG
    messages = [str(w.message) for w in caught if issubclass(w.category, ZanjMissingPluginWarning)]
    assert len(messages) == 1 and "'zanj-testplugin'" in messages[0]


def test_zanj_plugins_lists_it(testplugin: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    from zanj_core._tools.cli import main

    main(["plugins"])
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("zanj-testplugin ")]
    assert line.split() == ["zanj-testplugin", "0.1.0", "[testplugin", "=", "zanj_testplugin.plugin]", "ok"]
    assert f"saves: {TAG}" in out and "members: points" in out


# -- written as a third party would ----------------------------------------------------------


def _imports(source: Path) -> list[str]:
    """Every module `source` imports absolutely (`import a.b`, `from a.b import c`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{source.name}: relative import of {node.module}"
            names.append(str(node.module))
    return names


def test_it_imports_only_the_published_api_of_the_core() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert {s.name for s in sources} == {"__init__.py", "plugin.py", "handlers.py", "commands.py"}
    from_core: set[str] = set()
    for source in sources:
        for name in _imports(source):
            top = name.partition(".")[0]
            if top in ("zanj_core", "zanj_testplugin"):
                if top == "zanj_core":
                    from_core.add(name)
            else:
                assert top in sys.stdlib_module_names or top == "__future__", f"{source.name} imports {name}"
    # the plugin API, and the user API that its command opens files with
    assert from_core == {"zanj_core.plugin", "zanj_core"}


def test_it_pins_a_core_range_that_holds_this_core() -> None:
    requirements = {r.name: r for r in map(Requirement, _project()["dependencies"])}
    core = requirements["zanj-core"].specifier
    assert __version__ in core, f"zanj-core {__version__} is outside the pinned {core}"
    assert any(spec.operator == "<" for spec in core), f"{core} has no upper bound"
    declared = ast.parse((PACKAGE / "plugin.py").read_text())
    assigned = {
        target.id: node.value.value
        for node in declared.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert assigned.get("ZANJ_PLUGIN_API") == PLUGIN_API_VERSION
