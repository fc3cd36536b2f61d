"""The distributions this repository releases, found by their pyproject.toml files rather than listed
by hand, so that a plugin added later is built and checked like the others."""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

ROOT = Path(__file__).resolve().parents[2]
# folders that hold no distribution of this repository: the suite's own test plugins, build output,
# virtual environments; hidden folders (.nox, .git, .venv) are skipped as well
SKIPPED_FOLDERS = frozenset({"tests", "build", "dist", "node_modules", "__pycache__"})
# the classifier PyPI refuses on upload: a distribution marked with it is built and checked, never published
PRIVATE_CLASSIFIER = "Private :: Do Not Upload"


def shown_path(path: Path) -> str:
    """A path as messages show it: relative to the repository where it lies inside it."""
    return path.relative_to(ROOT).as_posix() or "." if path.is_relative_to(ROOT) else str(path)


class ReleaseError(Exception):
    """A distribution cannot be released as it stands; the message says which and how to fix it."""


@dataclass(frozen=True)
class Distribution:
    """One pyproject.toml with a [project] table, read without building anything."""

    name: str  # canonical: lower case, runs of -_. as one -
    folder: Path
    project: dict[str, Any]
    setuptools: dict[str, Any]
    version: str

    @property
    def label(self) -> str:
        """Where it lives, for messages: `.` for the repository root."""
        return shown_path(self.folder)

    @property
    def published(self) -> bool:
        return PRIVATE_CLASSIFIER not in self.project.get("classifiers", [])

    @property
    def entry_points(self) -> dict[str, dict[str, str]]:
        """Every entry-point group the pyproject declares, scripts included, as in entry_points.txt."""
        groups = {group: dict(points) for group, points in self.project.get("entry-points", {}).items()}
        for table, group in (("scripts", "console_scripts"), ("gui-scripts", "gui_scripts")):
            if self.project.get(table):
                groups[group] = dict(self.project[table])
        return groups

    @property
    def file_stem(self) -> str:
        """The name as wheel and sdist file names spell it (PEP 427 / PEP 625)."""
        return self.name.replace("-", "_")


def _version_literal(module_file: Path, attribute: str) -> str | None:
    """The string literal assigned to `attribute` at the top of a module, read without importing it."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"), filename=str(module_file))
    for statement in tree.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        value = getattr(statement, "value", None)
        if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return None


def _module_file(folder: Path, dotted: str) -> Path:
    base = folder.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise ReleaseError(f"{shown_path(folder)}: no module {dotted} (looked for {base}.py and {base}/__init__.py)")


def _source_version(folder: Path, project: dict[str, Any], setuptools: dict[str, Any]) -> str:
    """The one place the version is written: [project] version, or the module attribute that
    [tool.setuptools.dynamic] names."""
    where = shown_path(folder)
    if "version" in project:
        return str(project["version"])
    attr = setuptools.get("dynamic", {}).get("version", {}).get("attr")
    if "version" not in project.get("dynamic", []) or not isinstance(attr, str):
        raise ReleaseError(
            f'{where}/pyproject.toml: no version; write `version = "X.Y.Z"` in [project], or list it in '
            f'`dynamic` with [tool.setuptools.dynamic] version = {{ attr = "package.__version__" }}'
        )
    module, _, attribute = attr.rpartition(".")
    module_file = _module_file(folder, module)
    version = _version_literal(module_file, attribute)
    if version is None:
        raise ReleaseError(
            f"{shown_path(module_file)}: `{attribute}` must be a string literal at module level, "
            f"so the version is read without importing the package"
        )
    return version


def read_distribution(folder: Path) -> Distribution | None:
    """The distribution whose pyproject.toml is in `folder`, or None where it has no [project] table."""
    pyproject = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject.get("project")
    if not isinstance(project, dict) or "name" not in project:
        return None
    setuptools = pyproject.get("tool", {}).get("setuptools", {})
    return Distribution(
        name=canonicalize_name(project["name"]),
        folder=folder,
        project=project,
        setuptools=setuptools,
        version=_source_version(folder, project, setuptools),
    )


def discover(root: Path = ROOT) -> list[Distribution]:
    """Every distribution under `root`, the root first, then by path."""
    found: list[Distribution] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not name.startswith(".") and name not in SKIPPED_FOLDERS and not name.endswith(".egg-info")
        )
        if "pyproject.toml" in files and (distribution := read_distribution(Path(folder))) is not None:
            found.append(distribution)
    names = [d.name for d in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ReleaseError(f"two pyproject.toml files name the same distribution: {duplicates}")
    return found


if __name__ == "__main__":
    for distribution in discover():
        note = "" if distribution.published else "  (private: not published)"
        print(f"{distribution.name} {distribution.version}  {distribution.label}{note}")
