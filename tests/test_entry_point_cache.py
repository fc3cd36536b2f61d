"""The per-user cache of the `zanj` entry points (zanj_core._walk.entry_point_cache).

Each case installs a throwaway distribution into a folder on a child process's sys.path,
changes it the way installers and people do, and checks that a fresh process finds exactly
what importlib.metadata finds, whether the cache answered or not. The children lower
`RACY_SECONDS` to 0 so a cache is written right away; the rule itself is tested on its own."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zanj_core._walk import entry_point_cache
from zanj_core._walk.entry_point_cache import group_entries, load_entry_point

CHILD = """
import json, sys
from zanj_core._walk import entry_point_cache as cache
cache.RACY_SECONDS = float(sys.argv[1])
asked = []
real = cache._ask_importlib
cache._ask_importlib = lambda group: asked.append(group) or real(group)
if sys.argv[2] == "discover":
    from zanj_core._walk.discovery import discover
    plugins, _ = discover()
    found = [[p.name, p.value, p.source.distribution, p.source.version, p.error] for p in plugins]
else:
    found = [[e.name, e.value, e.distribution, e.version] for e in cache.find_entry_points("zanj")]
print(json.dumps({"asked": len(asked), "found": found, "modules": sorted(sys.modules)}))
"""
DISABLED: dict[str, str] = {entry_point_cache.DISABLE_VARIABLE: "0"}


class Site:
    """A folder on a child's sys.path, a cache folder, and the child that discovers."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "site"
        self.root.mkdir()
        self.cache = tmp_path / "cache"
        self.env = {**os.environ, "PYTHONPATH": str(self.root), "XDG_CACHE_HOME": str(self.cache)}
        self.env.pop(entry_point_cache.DISABLE_VARIABLE, None)

    def install(self, dist: str, version: str, entry_points: dict[str, str], metadata: str = "") -> Path:
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n{metadata}")
        lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[console_scripts]\nx = y:z\n\n[zanj]\n{lines}")
        return info

    def run(self, *, racy: float = 0.0, mode: str = "find", env: dict[str, str] | None = None) -> dict[str, Any]:
        """Discover in a fresh process (`find`: the entry points; `discover`: plugins loaded)."""
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(racy), mode],
            env={**self.env, **(env or {})},
            cwd=self.root.parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,  # discovery that waits (on a FIFO, say) fails the test instead of hanging it
        )
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    def cache_files(self) -> list[Path]:
        folder = self.cache / "zanj"
        return sorted(folder.glob("entry-points-*.json")) if folder.is_dir() else []

    def fresh(self) -> list[Any]:
        """What importlib.metadata finds, the cache turned off."""
        found: list[Any] = self.run(env=DISABLED)["found"]
        return found


def _ours(found: list[Any]) -> list[Any]:
    return [entry for entry in found if entry[2].startswith("zanj-cachetest")]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_a_second_process_is_answered_by_the_cache_and_agrees(site: Site) -> None:
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one:plugin"})
    first = site.run()
    assert first["asked"] == 1 and len(site.cache_files()) == 1
    second = site.run()
    assert second["asked"] == 0, "the cache should have answered"
    assert "importlib.metadata" not in second["modules"]
    assert second["found"] == first["found"] == site.fresh()
    assert _ours(second["found"]) == [["one", "cachetest_one:plugin", "zanj-cachetest", "1.0"]]


def test_installing_removing_upgrading_and_editing_are_seen(site: Site) -> None:
    site.run()
    info = site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    assert _ours(site.run()["found"]) == [["one", "cachetest_one", "zanj-cachetest", "1.0"]]
    site.run()  # cached now
    # an upgrade: the folder is renamed with the new version, and its metadata rewritten
    upgraded = info.rename(site.root / "zanj_cachetest-2.0.dist-info")
    (upgraded / "METADATA").write_text("Metadata-Version: 2.1\nName: zanj-cachetest\nVersion: 2.0\n")
    assert _ours(site.run()["found"]) == [["one", "cachetest_one", "zanj-cachetest", "2.0"]]
    # entry points edited in place, and the version in METADATA (an editable reinstall)
    (upgraded / "entry_points.txt").write_text("[zanj]\none = cachetest_one\ntwo = cachetest_two:hooks\n")
    assert [e[:2] for e in _ours(site.run()["found"])] == [["one", "cachetest_one"], ["two", "cachetest_two:hooks"]]
    (upgraded / "METADATA").write_text("Metadata-Version: 2.1\nName: zanj-cachetest\nVersion: 2.0.post1\n")
    assert {e[3] for e in _ours(site.run()["found"])} == {"2.0.post1"}
    # a distribution that gains a zanj entry point, then one that loses its file
    other = site.install("zanj-cachetest-other", "0.1", {})
    assert not [e for e in site.run()["found"] if e[2] == "zanj-cachetest-other"]
    (other / "entry_points.txt").write_text("[zanj]\nthree = cachetest_three\n")
    assert ["three", "cachetest_three", "zanj-cachetest-other", "0.1"] in site.run()["found"]
    (other / "entry_points.txt").unlink()
    assert not [e for e in site.run()["found"] if e[2] == "zanj-cachetest-other"]
    # removal
    for path in upgraded.iterdir():
        path.unlink()
    upgraded.rmdir()
    found = site.run()
    assert _ours(found["found"]) == [] and found["found"] == site.fresh()


def test_another_sys_path_has_its_own_answer(site: Site, tmp_path: Path) -> None:
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for _ in range(2):
        assert _ours(site.run()["found"])
        assert not _ours(site.run(env={"PYTHONPATH": str(elsewhere)})["found"])
    assert len(site.cache_files()) == 2
    assert site.run()["asked"] == 0 and site.run(env={"PYTHONPATH": str(elsewhere)})["asked"] == 0


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b'{"context": 1}',
        b"[]",
        b'{"context": null, "fingerprint": null, "distributions": [{"root": 99}]}',
        b"\xff\xfe garbage",
    ],
)
def test_a_corrupt_cache_is_ignored_and_rebuilt(site: Site, damage: bytes) -> None:
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    expected = site.run()["found"]
    (cache_file,) = site.cache_files()
    cache_file.write_bytes(damage)
    again = site.run()
    assert again["asked"] == 1 and again["found"] == expected
    assert site.run()["asked"] == 0, "rebuilt"


def test_a_cache_that_names_other_entry_points_is_not_believed(site: Site) -> None:
    """The cache says which distributions have entry points; what is imported is read again
    from their entry_points.txt, so an edited cache cannot make discovery import a module."""
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    (site.root / "cachetest_one.py").write_text("from zanj_core.plugin import hookimpl\n")
    (site.root / "cachetest_planted.py").write_text("raise SystemExit('planted module imported')\n")
    site.run()
    (cache_file,) = site.cache_files()
    content = json.loads(cache_file.read_text())
    ours = next(d for d in content["distributions"] if d["name"] == "zanj-cachetest")
    ours["entry_points"] = [["one", "cachetest_planted"]]
    cache_file.write_text(json.dumps(content))
    result = site.run(mode="discover")
    assert result["asked"] == 1
    assert "cachetest_planted" not in result["modules"]
    assert [e[:2] for e in result["found"] if e[2] == "zanj-cachetest"] == [["one", "cachetest_one"]]


def test_a_cache_file_others_may_write_is_ignored(site: Site) -> None:
    site.run()
    (cache_file,) = site.cache_files()
    cache_file.chmod(0o666)
    assert site.run()["asked"] == 1
    assert cache_file.stat().st_mode & 0o777 == 0o600, "rewritten for this user only"
    assert site.run()["asked"] == 0


def test_an_unwritable_cache_folder_only_costs_the_cache(site: Site, tmp_path: Path) -> None:
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    expected = site.fresh()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    for _ in range(2):
        result = site.run(env={"XDG_CACHE_HOME": str(not_a_folder)})
        assert result["asked"] == 1 and result["found"] == expected
    if hasattr(os, "getuid") and os.getuid() != 0:  # root writes anywhere
        site.cache.mkdir()
        site.cache.chmod(0o500)
        try:
            assert site.run()["found"] == expected and site.run()["asked"] == 1
        finally:
            site.cache.chmod(0o700)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_at_the_cache_path_is_ignored_not_waited_on(site: Site) -> None:
    """Opening a FIFO for reading blocks until a writer comes: one planted where the cache
    file goes must cost the cache, not hang every process that discovers plugins."""
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    expected = site.fresh()
    site.run()
    (cache_file,) = site.cache_files()
    cache_file.unlink()
    os.mkfifo(cache_file, 0o600)
    result = site.run()
    assert result["asked"] == 1 and result["found"] == expected
    assert site.run()["asked"] == 0, "the FIFO was replaced by a cache file"


def test_the_cache_can_be_turned_off(site: Site) -> None:
    for _ in range(2):
        assert site.run(env=DISABLED)["asked"] == 1
    assert site.cache_files() == []


def test_a_vanished_working_folder_falls_back_to_importlib(site: Site, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1])\n"
        "from zanj_core._walk.entry_point_cache import find_entry_points\n"
        "print(sorted(e.distribution for e in find_entry_points('zanj')))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(gone)], env=site.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "zanj-core" in done.stdout


def test_no_cache_is_written_while_files_are_fresh(site: Site) -> None:
    """A change within one timestamp tick could keep a file's stat: files younger than
    RACY_SECONDS are not trusted to theirs, so nothing is cached until they settle."""
    site.install("zanj-cachetest", "1.0", {"one": "cachetest_one"})
    result = site.run(racy=3600.0)
    assert result["asked"] == 1 and _ours(result["found"]) and site.cache_files() == []


def test_old_cache_files_are_pruned(site: Site) -> None:
    folder = site.cache / "zanj"
    folder.mkdir(parents=True)
    for index in range(entry_point_cache.MAX_CACHE_FILES + 5):
        old = folder / f"entry-points-{index:016x}.json"
        old.write_text("{}")
        os.utime(old, (1_000_000 + index, 1_000_000 + index))
    (folder / "unrelated.txt").write_text("kept")
    site.run()
    names = {path.name for path in site.cache_files()}
    assert len(names) == entry_point_cache.MAX_CACHE_FILES
    assert "entry-points-0000000000000000.json" not in names and (folder / "unrelated.txt").exists()


def test_this_environment_is_found_as_importlib_finds_it(tmp_path: Path) -> None:
    """The whole installed environment, through a cache hit, gives importlib.metadata's answer."""
    env = {key: value for key, value in os.environ.items() if key != entry_point_cache.DISABLE_VARIABLE}
    env["XDG_CACHE_HOME"] = str(tmp_path)

    def run(**extra: str) -> dict[str, Any]:
        command = [sys.executable, "-c", CHILD, "0", "find"]
        done = subprocess.run(command, env={**env, **extra}, capture_output=True, text=True, check=True)
        out: dict[str, Any] = json.loads(done.stdout)
        return out

    expected = run(**{entry_point_cache.DISABLE_VARIABLE: "off"})
    first, second = run(), run()
    assert [expected["asked"], first["asked"], second["asked"]] == [1, 1, 0]
    assert expected["found"] and first["found"] == second["found"] == expected["found"]


# -- reading entry_points.txt and loading as importlib.metadata does ------------------------


class _TextDistribution(importlib.metadata.Distribution):
    def __init__(self, text: str) -> None:
        self._text = text

    def read_text(self, filename: str) -> str | None:
        return self._text if filename == "entry_points.txt" else None

    def locate_file(self, path: Any) -> Any:
        raise NotImplementedError


LINES = st.sampled_from(
    ["[zanj]", "[other]", "[ zanj ]", "[]", "", "   ", "# comment", "; semicolon = x", "a = b", " spaced  =  mod:attr ",
     "x=y=z", "e = mod:attr [extra]", "dup = first", "dup = second", "[zanj", "zanj]", "=value", "name="]
)  # fmt: skip


@given(st.lists(LINES, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_entry_point_lines_are_read_as_importlib_reads_them(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    try:
        expected = [[ep.name, ep.value] for ep in _TextDistribution(text).entry_points.select(group="zanj")]
    except (TypeError, ValueError):  # a line without '=' in a section: importlib refuses the file
        return
    assert group_entries(text, "zanj") == expected


def test_a_line_without_equals_is_refused_as_importlib_refuses_it() -> None:
    text = "[zanj]\nnot an entry point\n"
    with pytest.raises((TypeError, ValueError)):
        list(_TextDistribution(text).entry_points)
    with pytest.raises(ValueError):
        group_entries(text, "zanj")


@pytest.mark.parametrize(
    "value",
    ["json", "json:dumps", "json.decoder:JSONDecoder.decode", "json : loads", "json:dumps [extra]", "os.path"],
)
def test_entry_points_load_what_importlib_loads(value: str) -> None:
    reference = importlib.metadata.EntryPoint(name="x", value=value, group="zanj")
    assert load_entry_point(value) is reference.load()


@pytest.mark.parametrize("value", ["", "not a reference!", "json:", ":dumps"])
def test_a_malformed_entry_point_value_is_named(value: str) -> None:
    with pytest.raises(ValueError, match="is not an entry point reference"):
        load_entry_point(value)


def test_a_broken_plugin_is_still_reported_through_the_cache(site: Site) -> None:
    site.install("zanj-cachetest", "1.0", {"broken": "cachetest_missing_module"})
    for _ in range(2):
        result = site.run(mode="discover")
        (broken,) = [e for e in result["found"] if e[2] == "zanj-cachetest"]
        assert "ModuleNotFoundError" in broken[4]
    assert result["asked"] == 0


def test_entry_point_modules_load_from_the_folder_on_sys_path(site: Site) -> None:
    site.install("zanj-cachetest", "1.0", {"ok": "cachetest_ok"})
    (site.root / "cachetest_ok.py").write_text(
        textwrap.dedent(
            """
            from zanj_core.plugin import FORMAT_KEY, LoaderHandler, hookimpl

            @hookimpl
            def zanj_loader_handlers():
                return [LoaderHandler(tag="cachetest.ok", load=lambda node, path, ctx: node)]
            """
        )
    )
    results = [site.run(mode="discover") for _ in range(2)]
    assert [r["asked"] for r in results] == [1, 0]
    for result in results:
        (ok,) = [e for e in result["found"] if e[2] == "zanj-cachetest"]
        assert ok == ["ok", "cachetest_ok", "zanj-cachetest", "1.0", None]
