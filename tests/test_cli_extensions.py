"""What plugins add to the `zanj` command line (plugin API 1.1): subcommands (`CommandHandler`,
hook `zanj_commands`) and listings of locations that are not one file (`LocationLister`, hook
`zanj_location_listers`). End to end through the test plugin installed as a distribution, and
each way a plugin can get it wrong: a name clash, a failing `configure`, a lister that raises,
a command that returns no status, bad records."""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from test_testplugin import _installed

from zanj_core import REGISTRY, ZANJ, ZanjBrokenPluginWarning
from zanj_core._tools.cli import main
from zanj_core._tools.extensions import location_lister, plugin_commands
from zanj_core._tools.output import word_text
from zanj_core.plugin import CommandHandler, ListedItem, LocationLister, PluginSource, ZanjFormatError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def testplugin(tmp_path: Path) -> Iterator[ModuleType]:
    with _installed(tmp_path) as package:
        yield package


@pytest.fixture
def polyline_set(testplugin: ModuleType, tmp_path: Path) -> Path:
    folder = tmp_path / "shapes"
    folder.mkdir()
    (folder / "polylines.json").write_text(json.dumps({"ramp": 1000, "triangle": 3, "dot\x1b[2J": 1}))
    return folder


# -- through an installed plugin --------------------------------------------------------------


def test_a_plugin_command_runs_and_is_listed(testplugin: ModuleType, tmp_path: Path, capsys: Any) -> None:
    square = testplugin.Polyline([(0, 0), (3, 0), (3, 4), (0, 4)], closed=True)
    path = ZANJ().save({"shapes": [square]}, tmp_path / "square.zanj")
    assert run(capsys, "polyline-length", str(path), "shapes/0") == (0, "14\n", "")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "print the length of a polyline [zanj-testplugin]" in " ".join(capsys.readouterr().out.split())
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    entry = next(e for e in json.loads(out) if e["distribution"] == "zanj-testplugin")
    assert entry["commands"] == ["polyline-length"] and entry["location_listers"] == ["polyline sets"]
    code, out, _ = run(capsys, "plugins")
    assert code == 0 and "commands: polyline-length" in out and "lists: polyline sets" in out


def test_a_plugin_command_failure_is_one_line_and_exit_1(testplugin: ModuleType, tmp_path: Path, capsys: Any) -> None:
    path = ZANJ().save({"n": 3}, tmp_path / "n.zanj")
    code, out, err = run(capsys, "polyline-length", str(path), "n")
    assert code == 1 and out == "" and err == "zanj: error: n in " + str(path) + " holds a int, not a polyline\n"
    with pytest.raises(SystemExit) as usage:
        main(["polyline-length", str(path)])  # PATH missing: argparse's usage error
    assert usage.value.code == 2


def test_ls_lists_a_location_through_its_lister(polyline_set: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "ls", str(polyline_set))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [word_text("dot\x1b[2J"), "ramp", "triangle"]
    assert "\x1b" not in out, "names from the index are escaped"
    assert "float64 (1000, 2)" in lines[1] and "15.6 KiB" in lines[1] and lines[1].endswith("ramp.zanj")
    code, out, _ = run(capsys, "ls", str(polyline_set), "--json", "--limit", "2")
    rows = json.loads(out)
    assert [row["path"] for row in rows] == [["dot\x1b[2J"], ["ramp"]]
    assert rows[1] == {
        "path": ["ramp"],
        "kind": "zanj_testplugin.Polyline",
        "shape": [1000, 2],
        "dtype": "float64",
        "data_bytes": 16000,
        "detail": "ramp.zanj",
        "depth": 1,
    }
    code, out, err = run(capsys, "ls", str(polyline_set), "ramp")
    assert code == 0 and out.split()[0] == "ramp" and len(out.splitlines()) == 1
    code, out, err = run(capsys, "ls", str(polyline_set), "--limit", "1")
    assert "2 more items" in out


def test_ls_of_a_bad_location_names_the_file(polyline_set: Path, capsys: Any) -> None:
    (polyline_set / "polylines.json").write_text('{"ramp": -1}')
    code, out, err = run(capsys, "ls", str(polyline_set))
    assert code == 1 and out == "" and "polylines.json is not a polyline set index" in err
    code, _, err = run(capsys, "ls", str(polyline_set), "--members")
    assert code == 1 and "--members applies to .zanj files" in err


def test_ls_of_a_file_is_unchanged_with_a_lister_installed(testplugin: ModuleType, tmp_path: Path, capsys: Any) -> None:
    path = ZANJ().save({"a": 1}, tmp_path / "a.zanj")
    code, out, _ = run(capsys, "ls", str(path))
    assert code == 0 and "= 1" in out


# -- plugin mistakes ------------------------------------------------------------------------------


def _source(dist: str) -> PluginSource:
    return PluginSource(dist, "1.0", "ep")


def _command(name: str, dist: str, configure: Any = None, run: Any = None) -> CommandHandler:
    return CommandHandler(
        name=name,
        help=f"{name} from {dist}",
        configure=configure or (lambda parser: parser.add_argument("word")),
        run=run or (lambda args: print(f"{dist}:{args.word}") or 0),
    ).with_source(_source(dist))


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Stand in for what the discovered plugins provide."""
    provided: list[Any] = []
    monkeypatch.setattr(REGISTRY, "plugin_records", lambda: tuple(provided))
    return provided


def test_the_first_plugin_keeps_a_command_name(records: list[Any], capsys: Any) -> None:
    records += [_command("greet", "zanj-a"), _command("greet", "zanj-b")]
    with pytest.warns(ZanjBrokenPluginWarning, match="'greet' from zanj-b 1.0 is skipped: zanj-a 1.0 provides"):
        assert [c.source.distribution for c in plugin_commands()] == ["zanj-a"]
    code, out, err = run(capsys, "greet", "hi")
    assert (code, out) == (0, "zanj-a:hi\n") and "zanj: warning: the zanj command 'greet' from zanj-b" in err


def test_a_command_whose_configure_fails_is_left_out(records: list[Any], capsys: Any) -> None:
    def broken(parser: argparse.ArgumentParser) -> None:
        raise RuntimeError("no such option")

    records += [_command("broken", "zanj-a", configure=broken), _command("fine", "zanj-b")]
    code, out, err = run(capsys, "fine", "x")
    assert (code, out) == (0, "zanj-b:x\n")
    assert "'broken' from zanj-a 1.0 is left out: its configure() failed with RuntimeError: no such option" in err
    with pytest.raises(SystemExit) as usage:
        main(["broken"])
    assert usage.value.code == 2


def test_a_command_must_return_an_exit_status(records: list[Any], capsys: Any) -> None:
    records.append(_command("vague", "zanj-a", run=lambda args: "done"))
    code, _, err = run(capsys, "vague", "x")
    assert code == 1 and "returned str, not an exit status" in err


def test_plugin_commands_take_storage_options(records: list[Any], capsys: Any) -> None:
    records.append(_command("opts", "zanj-a", run=lambda args: print(args.storage_options) or 0))
    assert run(capsys, "opts", "x", "-o", "anon=true", "-o", "region=eu")[:2] == (0, "{'anon': True, 'region': 'eu'}\n")
    assert run(capsys, "opts", "x")[:2] == (0, "None\n")


def test_a_lister_that_raises_is_skipped_with_a_warning(records: list[Any], tmp_path: Path, capsys: Any) -> None:
    def explode(location: str, options: Mapping[str, Any] | None) -> bool:
        raise OSError("permission denied")

    def rows(location: str, options: Mapping[str, Any] | None) -> Sequence[ListedItem]:
        return [ListedItem(path=("w",), kind="k", shape=(2,), dtype="int8", detail="fine")]

    records += [
        LocationLister("exploding", explode, rows).with_source(_source("zanj-a")),
        LocationLister("never", lambda location, options: "yes", rows).with_source(_source("zanj-b")),  # type: ignore[arg-type,return-value]
        LocationLister("fine", lambda location, options: location.endswith("dir"), rows).with_source(_source("zanj-c")),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = location_lister(str(tmp_path / "dir"), None)
    assert found is not None and found.name == "fine", "only True counts as recognizing a location"
    assert [str(w.message)[:57] for w in caught] == ["the zanj location lister 'exploding' from zanj-a 1.0 fail"]
    code, out, err = run(capsys, "ls", str(tmp_path / "dir"))
    assert code == 0 and out.split() == ["w", "k", "int8", "(2,)", "fine"]
    assert "failed to tell whether it reads" in err and "OSError: permission denied" in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CommandHandler("Bad Name", "h", print, print), "lowercase words joined by '-'"),
        (lambda: CommandHandler("ls", "h", print, print), "one of zanj-core's own commands"),
        (lambda: CommandHandler("ok", "h", "configure", print), "configure must be callable"),  # type: ignore[arg-type]
        (lambda: LocationLister("", bool, list), "name must be a non-empty string"),
        (lambda: LocationLister("x", bool, None), "list_items must be callable"),  # type: ignore[arg-type]
        (lambda: ListedItem(path=["a"], kind="k"), "path must be a tuple of strings"),  # type: ignore[arg-type]
        (lambda: ListedItem(path=("a",), kind="k", shape=(-1,)), "shape must be a tuple of non-negative ints"),
        (lambda: ListedItem(path=("a",), kind="k", data_bytes=1.5), "data_bytes must be a non-negative int"),  # type: ignore[arg-type]
    ],
)
def test_bad_records_fail_where_they_are_made(make: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()


def test_a_lister_error_reaches_the_user_as_a_zanj_error(records: list[Any], capsys: Any) -> None:
    def rows(location: str, options: Mapping[str, Any] | None) -> Sequence[ListedItem]:
        raise ZanjFormatError(f"{location}/index.json is truncated; the checkpoint is incomplete")

    records.append(LocationLister("ckpt", lambda location, options: True, rows).with_source(_source("zanj-a")))
    code, out, err = run(capsys, "ls", "somewhere")
    assert (code, out) == (
        1,
        "",
    ) and err == "zanj: error: somewhere/index.json is truncated; the checkpoint is incomplete\n"


@pytest.mark.parametrize("command", ["show", "meta", "verify"])
def test_commands_reading_one_file_say_what_a_listed_location_is(polyline_set: Path, command: str, capsys: Any) -> None:
    argv = [command, str(polyline_set), *(["ramp"] if command == "show" else [])]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert (
        f"{polyline_set} is not one .zanj file: zanj-testplugin lists it as 'polyline sets' (a directory of "
        f"polylines with a polylines.json index); `zanj ls {polyline_set}` shows its items" in err
    )


def test_a_folder_no_lister_recognizes_is_named_as_a_folder(tmp_path: Path, capsys: Any) -> None:
    for command in ("ls", "show", "meta"):
        code, out, err = run(capsys, command, str(tmp_path), *(["x"] if command == "show" else []))
        assert (code, out, err) == (1, "", f"zanj: error: {tmp_path} is a folder, not a .zanj file\n")
