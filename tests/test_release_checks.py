"""The release checks of `nox -s build` (scripts/release/): each finds what it is there to find.
The build itself (sdists, wheels, a fresh environment) runs in `nox -s build`; these tests feed the
checks small hand-made wheels and changelogs instead."""

from __future__ import annotations

import dataclasses
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

RELEASE = Path(__file__).resolve().parents[1] / "scripts" / "release"
sys.path.insert(0, str(RELEASE))

import dist_contents  # noqa: E402
import release_notes  # noqa: E402
import versions  # noqa: E402
from distributions import ROOT, Distribution, ReleaseError, discover, read_distribution  # noqa: E402

import zanj_core  # noqa: E402

LICENSE = (ROOT / "LICENSE").read_bytes()


def test_every_distribution_is_found_with_its_version() -> None:
    found = {d.name: d for d in discover()}
    assert next(iter(found)) == "zanj-core" and found["zanj-core"].version == zanj_core.__version__
    assert {"zanj-numpy", "zanj-torch", "zanj-pandas", "zanj-polars", "zanj", "zanj-fraction"} <= set(found)
    # the suite's own test plugins are not released; the example is built but never published
    assert not any(d.label.startswith("tests/") for d in found.values())
    assert [d.name for d in found.values() if not d.published] == ["zanj-fraction"]


def _project(tmp_path: Path, pyproject: str, init: str = "") -> Distribution:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(init, encoding="utf-8")
    (tmp_path / "pkg" / "py.typed").write_text("", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    distribution = read_distribution(tmp_path)
    assert distribution is not None
    return distribution


PYPROJECT = """
[project]
name = "Zanj_Demo"
dynamic = ["version"]
license = "GPL-3.0-only"
[project.entry-points.zanj]
demo = "pkg.plugin"
[project.scripts]
zanj-demo = "pkg:main"
[tool.setuptools.dynamic]
version = { attr = "pkg.__version__" }
"""


def _wheel(
    tmp_path: Path, distribution: Distribution, files: dict[str, bytes | None], requires: tuple[str, ...] = ()
) -> dist_contents.Archive:
    """A wheel as setuptools would build it for `distribution`; `files` adds members, or drops them (None)."""
    info = f"{distribution.file_stem}-{distribution.version}.dist-info"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.4",
            f"Name: {distribution.name}",
            f"Version: {distribution.version}",
            "License-Expression: GPL-3.0-only",
            *(f"Requires-Dist: {r}" for r in requires),
            "",
            "A long description.",
        ]
    )
    contents: dict[str, bytes | None] = {
        "pkg/__init__.py": b"",
        "pkg/py.typed": b"",
        f"{info}/METADATA": metadata.encode(),
        f"{info}/entry_points.txt": b"[console_scripts]\nzanj-demo = pkg:main\n\n[zanj]\ndemo = pkg.plugin\n",
        f"{info}/licenses/LICENSE": LICENSE,
        **files,
    }
    path = tmp_path / f"{distribution.file_stem}-{distribution.version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            if data is not None:
                archive.writestr(name, data)
    return dist_contents.open_wheel(path)


@pytest.fixture
def demo(tmp_path: Path) -> Distribution:
    source = tmp_path / "source"
    source.mkdir()
    return _project(source, PYPROJECT, '__version__ = "1.2.3"\n')


def test_the_version_is_read_from_the_module_without_importing_it(demo: Distribution) -> None:
    assert (demo.name, demo.version, demo.file_stem) == ("zanj-demo", "1.2.3", "zanj_demo")
    assert demo.entry_points == {"zanj": {"demo": "pkg.plugin"}, "console_scripts": {"zanj-demo": "pkg:main"}}


def test_a_sound_wheel_passes(demo: Distribution, tmp_path: Path) -> None:
    assert dist_contents.check_wheel(demo, _wheel(tmp_path, demo, {})) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pkg/py.typed": None}, "pkg/py.typed missing"),
        ({"tests/test_pkg.py": b""}, "belong to the checkout"),
        ({"pkg/__pycache__/x.cpython-311.pyc": b""}, "belong to the checkout"),
        ({"zanj_demo.egg-info/PKG-INFO": b""}, "belong to the checkout"),
        ({"zanj_demo-1.2.3.dist-info/entry_points.txt": b"[zanj]\nother = pkg.plugin\n"}, "entry_points.txt"),
        ({"zanj_demo-1.2.3.dist-info/licenses/LICENSE": b"MIT"}, "differs from the repository's LICENSE"),
        ({"zanj_demo-1.2.3.dist-info/licenses/LICENSE": None}, "no zanj_demo-1.2.3.dist-info/licenses/LICENSE"),
    ],
    ids=["py.typed", "tests", "bytecode", "egg-info", "entry points", "license text", "no license"],
)
def test_a_wheel_missing_or_carrying_the_wrong_files_is_refused(
    demo: Distribution, tmp_path: Path, files: dict[str, bytes | None], expected: str
) -> None:
    problems = dist_contents.check_wheel(demo, _wheel(tmp_path, demo, files))
    assert any(expected in problem for problem in problems), problems


def test_a_source_module_left_out_of_the_wheel_is_named(demo: Distribution, tmp_path: Path) -> None:
    (demo.folder / "pkg" / "sub").mkdir()
    (demo.folder / "pkg" / "sub" / "__init__.py").write_text("", encoding="utf-8")
    problems = dist_contents.check_wheel(demo, _wheel(tmp_path, demo, {}))
    assert any("pkg/sub/__init__.py" in p and "packages.find" in p for p in problems), problems


def test_a_wheel_of_another_version_than_the_source_is_refused(demo: Distribution, tmp_path: Path) -> None:
    older = dataclasses.replace(demo, version="1.2.2")
    problems = dist_contents.check_wheel(demo, _wheel(tmp_path, older, {}))
    assert any("version 1.2.3 of the source" in p for p in problems), problems


def test_requirements_on_this_repository_must_admit_the_versions_built(demo: Distribution, tmp_path: Path) -> None:
    core = Distribution("zanj-core", ROOT, {}, {}, "0.3.0")
    (tmp_path / "core").mkdir()
    core_wheel = _wheel(tmp_path / "core", core, {})
    for requirement, expected in [
        ("zanj-core>=0.3,<0.4", None),
        ("zanj-core>=0.1,<0.2", "does not admit zanj-core 0.3.0"),
        ("zanj-core", "no version range"),
        ("numpy>=1", None),
    ]:
        folder = tmp_path / requirement.replace(">", "g").replace("<", "l").replace(",", "_")
        folder.mkdir()
        wheel = _wheel(folder, demo, {}, requires=(requirement,))
        problems = versions.check_requirements({"zanj-core": (core, core_wheel), demo.name: (demo, wheel)})
        if expected is None:
            assert problems == [], requirement
        else:
            assert len(problems) == 1 and expected in problems[0], problems


def test_a_version_written_twice_is_refused(tmp_path: Path) -> None:
    twice = _project(tmp_path, '[project]\nname = "twice"\nversion = "1.0"\n', '__version__ = "1.0"\n')
    problems = versions.check_single_source(twice, ["pkg"])
    assert len(problems) == 1 and "written in pyproject.toml and in" in problems[0]


CHANGELOG = """# Changelog

## zanj-core 0.1.0 (unreleased)

- the core

## zanj-numpy 0.1.0

- arrays
"""


def _published(*pairs: tuple[str, str]) -> list[Distribution]:
    return [Distribution(name, ROOT, {}, {}, version) for name, version in pairs]


def test_release_notes_are_the_changelog_sections_of_the_versions_built() -> None:
    private = Distribution("zanj-fraction", ROOT, {"classifiers": ["Private :: Do Not Upload"]}, {}, "9.9")
    notes = release_notes.release_notes(
        [*_published(("zanj-core", "0.1.0"), ("zanj-numpy", "0.1.0")), private], CHANGELOG
    )
    assert notes.splitlines()[0] == "# zanj-core 0.1.0, zanj-numpy 0.1.0"
    assert "## zanj-core 0.1.0 (unreleased)\n\n- the core" in notes and "- arrays" in notes
    assert "zanj-fraction" not in notes  # a private distribution needs no section


def test_release_notes_fail_without_a_section_for_a_version() -> None:
    with pytest.raises(ReleaseError, match=r"no section for ## zanj-numpy 0\.2\.0"):
        release_notes.release_notes(_published(("zanj-core", "0.1.0"), ("zanj-numpy", "0.2.0")), CHANGELOG)


def test_a_release_tag_must_match_the_core_and_nothing_may_be_unreleased() -> None:
    built = _published(("zanj-core", "0.1.0"), ("zanj-numpy", "0.1.0"))
    with pytest.raises(ReleaseError, match=r"does not match zanj-core 0\.1\.0"):
        release_notes.release_notes(built, CHANGELOG, tag="v0.2.0")
    with pytest.raises(ReleaseError, match="still says unreleased"):
        release_notes.release_notes(built, CHANGELOG, tag="v0.1.0")
    released = CHANGELOG.replace(" (unreleased)", " (2026-12-01)")
    assert "## zanj-core 0.1.0 (2026-12-01)" in release_notes.release_notes(built, released, tag="v0.1.0")


def _sdist(tmp_path: Path, distribution: Distribution, files: dict[str, bytes | None]) -> dist_contents.Archive:
    """An sdist as setuptools would build it for `distribution`; `files` adds members, or drops them (None)."""
    top = f"{distribution.file_stem}-{distribution.version}"
    contents: dict[str, bytes | None] = {
        "PKG-INFO": f"Metadata-Version: 2.4\nName: {distribution.name}\nVersion: {distribution.version}\n".encode(),
        "pyproject.toml": PYPROJECT.encode(),
        "LICENSE": LICENSE,
        "pkg/__init__.py": b"",
        "pkg/py.typed": b"",
        f"{distribution.file_stem}.egg-info/SOURCES.txt": b"",
        **files,
    }
    path = tmp_path / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in contents.items():
            if data is not None:
                member = tarfile.TarInfo(f"{top}/{name}")
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
    return dist_contents.open_sdist(path)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, None),
        ({"tests/test_pkg.py": b""}, "belong to the checkout, not the sdist"),
        ({"LICENSE": None}, "missing ['LICENSE']"),
        ({"pkg/py.typed": None}, "missing ['pkg/py.typed']"),
    ],
    ids=["sound", "tests", "no license", "no py.typed"],
)
def test_sdists_carry_what_the_wheel_is_built_from_and_no_more(
    demo: Distribution, tmp_path: Path, files: dict[str, bytes | None], expected: str | None
) -> None:
    problems = dist_contents.check_sdist(demo, _sdist(tmp_path, demo, files), _wheel(tmp_path, demo, {}))
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems
