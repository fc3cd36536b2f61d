"""What a built wheel and sdist must hold, and must not: checked on the archives themselves, since
that is what a user installs, whatever the source tree looks like."""

from __future__ import annotations

import configparser
import functools
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from distributions import ROOT, Distribution, read_distribution

# folders that belong to the checkout, never to an installed package
JUNK_FOLDERS = frozenset(
    {"tests", "test", "bench", "benchmarks", "docs", "build", "dist", "fuzz", "demo", "examples", "scripts"}
    | {"__pycache__", ".nox", ".git", ".github", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    | {".hypothesis", ".import_linter_cache"}
)
JUNK_SUFFIXES = frozenset({".pyc", ".pyo", ".zanj", ".orig", ".rej", ".swp"})
LICENSE = ROOT / "LICENSE"


@dataclass(frozen=True)
class Archive:
    """A wheel or an sdist: its member names and a way to read one, whichever the format."""

    path: Path
    names: list[str]
    root: str  # the folder every member lies in: `name-version/` in an sdist, "" in a wheel

    def read(self, name: str) -> bytes:
        if self.path.suffix == ".whl":
            with zipfile.ZipFile(self.path) as wheel:
                return wheel.read(name)
        with tarfile.open(self.path) as sdist:
            member = sdist.extractfile(name)
            if member is None:
                raise KeyError(name)
            return member.read()


def open_wheel(path: Path) -> Archive:
    with zipfile.ZipFile(path) as wheel:
        return Archive(path, [n for n in wheel.namelist() if not n.endswith("/")], "")


def open_sdist(path: Path) -> Archive:
    with tarfile.open(path) as sdist:
        names = [m.name for m in sdist.getmembers() if m.isfile()]
    root = names[0].split("/", 1)[0] + "/" if names else ""
    return Archive(path, names, root)


def metadata(text: bytes) -> Message:
    """Core metadata (METADATA, PKG-INFO): email-style headers."""
    return HeaderParser().parsestr(text.decode("utf-8"))


def wheel_metadata(wheel: Archive) -> Message:
    """The wheel's METADATA, wherever its .dist-info folder is named."""
    found = [n for n in wheel.names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(found) != 1:
        raise KeyError(f"{wheel.path.name}: expected one .dist-info/METADATA, found {found}")
    return metadata(wheel.read(found[0]))


def _shown(names: list[str], most: int = 5) -> str:
    """A few names, and how many there are in all."""
    return ", ".join(names[:most]) + (f" ... ({len(names)} in all)" if len(names) > most else "")


def _junk(names: list[str], allowed_prefixes: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name in names:
        if name.startswith(allowed_prefixes):
            continue
        path = PurePosixPath(name)
        folders = path.parts[:-1]
        if path.suffix in JUNK_SUFFIXES or any(p in JUNK_FOLDERS or p.endswith(".egg-info") for p in folders):
            found.append(name)
    return found


def _packages(names: list[str], prefix: str) -> list[str]:
    """Top-level import packages among the archive's members under `prefix`."""
    return sorted(
        {
            parts[0]
            for n in names
            if n.startswith(prefix) and len(parts := n[len(prefix) :].split("/")) == 2 and parts[1] == "__init__.py"
        }
    )


def entry_points(wheel: Archive) -> dict[str, dict[str, str]]:
    """The wheel's entry_points.txt as {group: {name: object reference}}; empty when it has none."""
    files = [n for n in wheel.names if n.count("/") == 1 and n.endswith(".dist-info/entry_points.txt")]
    if not files:
        return {}
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(wheel.read(files[0]).decode("utf-8"))
    return {group: dict(parser[group]) for group in parser.sections()}


def source_packages(distribution: Distribution) -> list[str]:
    """Import packages in the distribution's folder: folders beside pyproject.toml holding an __init__.py."""
    return sorted(
        p.parent.name
        for p in distribution.folder.glob("*/__init__.py")
        if p.parent.name not in JUNK_FOLDERS and not p.parent.name.startswith(".")
    )


def _source_files(distribution: Distribution, package: str) -> list[str]:
    """The files of a package a wheel must carry: its modules, at any depth, and py.typed."""
    folder = distribution.folder / package
    return sorted(
        p.relative_to(distribution.folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and (p.suffix == ".py" or p.name == "py.typed") and "__pycache__" not in p.parts
    )


def check_wheel(distribution: Distribution, wheel: Archive) -> list[str]:
    """Problems with one wheel: py.typed, entry points, licence, version, no checkout files."""
    problems: list[str] = []
    where = f"{wheel.path.name} (from {distribution.label})"
    info = f"{distribution.file_stem}-{distribution.version}.dist-info/"
    if not wheel.path.name.startswith(f"{distribution.file_stem}-{distribution.version}-"):
        problems.append(f"{where}: the file name does not carry version {distribution.version} of the source")
    if f"{info}METADATA" not in wheel.names:
        return [
            *problems,
            f"{where}: no {info}METADATA; version {distribution.version} of the source is not what was built",
        ]
    meta = metadata(wheel.read(f"{info}METADATA"))
    if meta["Version"] != distribution.version:
        problems.append(f"{where}: METADATA says version {meta['Version']}, the source says {distribution.version}")
    packages = _packages(wheel.names, "")
    if not packages:
        problems.append(f"{where}: holds no package")
    for package in source_packages(distribution):
        left_out = [name for name in _source_files(distribution, package) if name not in wheel.names]
        if left_out:
            problems.append(
                f"{where}: source files not in the wheel: {_shown(left_out)}; list every subpackage in "
                f'{distribution.label}/pyproject.toml ([tool.setuptools.packages.find] include = ["{package}", "{package}.*"])'
            )
    for package in packages:
        if f"{package}/py.typed" not in wheel.names:
            problems.append(
                f"{where}: {package}/py.typed missing; add the empty file and "
                f'[tool.setuptools.package-data] {package} = ["py.typed"] to {distribution.label}/pyproject.toml'
            )
    declared = distribution.entry_points
    built = entry_points(wheel)
    if built != declared:
        problems.append(f"{where}: entry_points.txt has {built}, pyproject.toml declares {declared}")
    licenses = [n for n in wheel.names if n.startswith(f"{info}licenses/")]
    if f"{info}licenses/LICENSE" not in licenses:
        problems.append(
            f"{where}: no {info}licenses/LICENSE; copy the repository's LICENSE into {distribution.label}/ "
            f'and set license-files = ["LICENSE"]'
        )
    elif wheel.read(f"{info}licenses/LICENSE") != LICENSE.read_bytes():
        problems.append(f"{where}: its LICENSE differs from the repository's LICENSE; copy it again")
    expected_license = distribution.project.get("license")
    if meta["License-Expression"] != expected_license or expected_license != _root_license():
        problems.append(
            f"{where}: License-Expression {meta['License-Expression']!r}; the repository's is {_root_license()!r}"
        )
    description = meta.get_payload()
    if not isinstance(description, str) or not description.strip():
        problems.append(
            f'{where}: no long description; set readme = "README.md" in {distribution.label}/pyproject.toml'
        )
    junk = _junk(wheel.names)
    if junk:
        problems.append(f"{where}: files that belong to the checkout, not the package: {_shown(junk)}")
    return problems


def check_sdist(distribution: Distribution, sdist: Archive, wheel: Archive) -> list[str]:
    """Problems with one sdist: what it needs to build the same wheel, and no checkout files."""
    problems: list[str] = []
    where = f"{sdist.path.name} (from {distribution.label})"
    expected_root = f"{distribution.file_stem}-{distribution.version}/"
    if sdist.root != expected_root or sdist.path.name != f"{expected_root[:-1]}.tar.gz":
        problems.append(f"{where}: expected {expected_root[:-1]}.tar.gz holding {expected_root}")
        return problems
    strays = [name for name in sdist.names if not name.startswith(sdist.root)]
    if strays:
        problems.append(f"{where}: members outside {sdist.root}: {_shown(strays)}")
    if f"{sdist.root}PKG-INFO" not in sdist.names:
        return [*problems, f"{where}: no PKG-INFO"]
    version = metadata(sdist.read(f"{sdist.root}PKG-INFO"))["Version"]
    if version != distribution.version:
        problems.append(f"{where}: PKG-INFO says version {version}, the source says {distribution.version}")
    needed = ["pyproject.toml", "LICENSE"]
    if isinstance(readme := distribution.project.get("readme"), str):
        needed.append(readme)
    needed += [f"{package}/py.typed" for package in _packages(wheel.names, "")]
    missing = [name for name in needed if f"{sdist.root}{name}" not in sdist.names]
    if missing:
        problems.append(f"{where}: missing {missing}")
    # setuptools writes its own <name>.egg-info/ at the top of every sdist: that one is expected
    egg_info = f"{sdist.root}{distribution.file_stem}.egg-info/"
    junk = _junk(sdist.names, allowed_prefixes=(egg_info,))
    if junk:
        problems.append(
            f"{where}: files that belong to the checkout, not the sdist: {_shown(junk)} "
            f"(prune their folder in {distribution.label}/MANIFEST.in)"
        )
    return problems


@functools.cache
def _root_license() -> str | None:
    """The licence the repository's root distribution declares: every distribution shares it."""
    root = read_distribution(ROOT)
    return None if root is None else root.project.get("license")
