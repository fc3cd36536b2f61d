"""The `zanj` command line tool."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from dataclass_defs import BasicZanj
from hostile_corpus import flip_data_byte
from test_lazy import SAMPLE, _file_with_unknown_tag

from zanj_core import ZANJ
from zanj_core._tools.cli import main
from zanj_core._tools.exits import EXIT_MISSING_PLUGIN
from zanj_core._tools.output import Output, human_bytes

ANSI = "\033["


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sample(tmp_path: Path) -> str:
    return ZANJ().save({**SAMPLE, "basic": BasicZanj("hi", 3, [1])}, tmp_path / "sample.zanj")


def test_plugins_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "zanj-core" in out and "[builtins = zanj_core._plugins.python_types]" in out and "ok" in out
    assert "list:external" in out and "members: jsonl, bin" in out


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    core = {entry["entry_point"]: entry for entry in report if entry["distribution"] == "zanj-core"}
    assert set(core) == {"builtins", "externals", "dataclasses"}
    assert "(SerializableDataclass)" in core["dataclasses"]["loader_tags"]
    assert all(entry["error"] is None for entry in core.values())


def test_help_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0 and "plugins" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["plugins", "--help"])
    assert info.value.code == 0 and "entry-point group" in capsys.readouterr().out
    for command, words in [
        ("ls", "Reads the JSON members only"),
        ("show", "first and last rows"),
        ("meta", "metadata"),
        ("verify", "CRC-32"),
    ]:
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0 and words in capsys.readouterr().out.replace("\n", " ").replace("  ", " ")
    with pytest.raises(SystemExit) as info:
        main(["verify", "--help"])
    words = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 if the file is intact" in words and "3 if it is intact but a plugin" in words
    assert "4 (with --load) if it is intact but a loader fails" in words and "1 if it is corrupt" in words
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["show", "file.zanj", "x", "--rows", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["nonsense"])
    assert info.value.code == 2


def test_console_script_installed() -> None:
    exe = shutil.which("zanj") or str(__import__("pathlib").Path(sys.executable).with_name("zanj"))
    result = subprocess.run([exe, "plugins"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "zanj-core" in result.stdout
    module = subprocess.run([sys.executable, "-m", "zanj_core", "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout.startswith("zanj-core ")


def test_ls_lists_the_tree(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ls", sample)
    assert code == 0 and err == "" and ANSI not in out  # plain when not on a terminal
    lines = out.splitlines()
    assert lines[0].startswith("<root>") and "dict" in lines[0]
    assert any(line.split()[:4] == ["long", "list:external", "300", "items"] and "long.jsonl" in line for line in lines)
    assert any(line.split()[:3] == ["name", "str", "="] and "'run'" in line for line in lines)
    assert any("when" in line and "= 2026-11-28" in line for line in lines)
    assert any("blob" in line and "1.0 KiB" in line and "blob.bin" in line for line in lines)
    assert any(line.strip().startswith("basic") and "BasicZanj(SerializableDataclass)" in line for line in lines)
    code, out, _ = run(capsys, "ls", sample, "layers/1", "--depth", "0")
    assert code == 0 and out.split() == ["layers/1", "dict", "2", "items"]


def test_ls_json(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ls", sample, "--json", "--depth", "1")
    rows = json.loads(out)
    assert code == 0 and rows[0]["path"] == [] and rows[0]["depth"] == 0
    by_path = {tuple(r["path"]): r for r in rows}
    assert by_path[("long",)]["member"] == "long.jsonl" and by_path[("long",)]["length"] == 300
    assert max(r["depth"] for r in rows) == 1


def test_ls_lists_items_whose_plugin_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file_with_unknown_tag(tmp_path / "acme.zanj")
    code, out, _ = run(capsys, "ls", str(path))
    assert code == 0
    widget = next(line for line in out.splitlines() if line.strip().startswith("w "))
    # zanj-acme is neither a known plugin nor installed: the file's word for it is shown as data
    claim = "written by a package named 'zanj-acme', version 2 (unverified"
    assert "acme.Widget" in widget and "MISSING PLUGIN" in widget and claim in widget and "pip install" not in widget
    code, out, err = run(capsys, "show", str(path), "w")
    assert code == 0 and "ZanjUnloaded" in out and claim in err
    code, out, _ = run(capsys, "meta", str(path))
    assert code == 0 and "acme.Widget" in out and "NOT INSTALLED" in out and claim in out
    code, out, _ = run(capsys, "verify", str(path))
    assert code == EXIT_MISSING_PLUGIN and "no loader installed for format 'acme.Widget' (at w)" in out
    assert out.startswith("FAILED (plugin missing)")


def test_show_prints_one_item(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", sample, "layers/0")
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith("layers/0") and "{'w': [1.5, 2.5], 'b': 0}" in out
    code, out, _ = run(capsys, "show", sample, "long", "--max-lines", "5")
    assert code == 0 and "more lines (--max-lines 0 shows all)" in out and len(out.splitlines()) == 7
    code, out, _ = run(capsys, "show", sample, "long", "--max-lines", "0")
    assert "299]" in out


def test_show_a_dataclass_whose_class_is_not_defined(tmp_path: Path) -> None:
    """In a fresh process the class is unknown: show it by its fields, say so once."""
    path = ZANJ().save({"basic": BasicZanj("hi", 3, [1])}, tmp_path / "dc.zanj")
    result = subprocess.run(
        [sys.executable, "-m", "zanj_core", "show", path, "basic"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "{'a': 'hi', 'q': 3, 'c': [1]}" in result.stdout and "class is not defined here" in result.stdout
    assert result.stderr == ""


def test_missing_paths_and_files_exit_1(sample: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", sample, "layrs/0")
    assert code == 1 and out == "" and err.startswith("zanj: error:") and "did you mean 'layers'" in err
    code, _, err = run(capsys, "ls", sample, "nope")
    assert code == 1 and "no item 'nope'" in err
    for command in ("ls", "meta", "verify"):
        code, out, err = run(capsys, command, str(tmp_path / "absent.zanj"))
        assert code == 1 and "no such file" in (err + out)
    (tmp_path / "junk.zanj").write_bytes(b"junk" * 100)
    code, _, err = run(capsys, "show", str(tmp_path / "junk.zanj"), "x")
    assert code == 1 and "not a readable .zanj file" in err


def test_meta(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "meta", sample)
    assert code == 0
    assert "format" in out and "1.1" in out and "zanj-core" in out and "external_array_threshold=256" in out
    assert "list:external" in out and "installed" in out
    code, out, _ = run(capsys, "meta", sample, "--json")
    assert code == 0 and json.loads(out)["zanj_format"] == "1.1"


def test_meta_of_a_zanj_06_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "meta", str(Path(__file__).parent / "data" / "zanj06" / "basic.zanj"))
    assert code == 0 and "zanj 0.6" in out and "serialization_handlers={" in out


def test_verify_ok(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", sample)
    assert code == 0 and out.startswith("OK") and "every format has a loader" in out
    code, out, _ = run(capsys, "verify", sample, "--load")
    # every outermost typed item: pair, ordered, by_int, tags, when, long, blob, basic
    assert code == 0 and "8 items loaded" in out
    code, out, _ = run(capsys, "verify", sample, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["members_checked"] == 5 and report["problems"] == []


@pytest.mark.parametrize("member", ["blob.bin", "long.jsonl", "__zanj__.json"])
def test_verify_names_a_member_with_a_flipped_byte(
    sample: str, member: str, capsys: pytest.CaptureFixture[str]
) -> None:
    flip_data_byte(sample, member)
    code, out, _ = run(capsys, "verify", sample)
    assert code == 1 and out.startswith("FAILED")
    bad = [line for line in out.splitlines() if line.startswith("  corrupt: member")]
    assert len(bad) == 1 and f"member {member!r} is bad" in bad[0], out


def test_verify_reports_bad_refs_and_unreferenced_members(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "refs.zanj"
    tree = {
        "a": {"__muutils_format__": "bytes", "$ref": "gone.bin"},
        "b": {"__muutils_format__": "bytes", "$ref": "__zanj__.json"},
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps(tree))
        zf.writestr("stray.bin", b"x")
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 1
    assert "at a, $ref 'gone.bin' names a member the archive lacks" in out
    assert "at b, $ref '__zanj__.json' names the JSON member" in out
    assert "note: member 'stray.bin' is not referenced" in out and "no __zanj_meta__.json" in out


def test_verify_load_finds_data_that_does_not_decode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.zanj"
    tree = {
        "blob": {"__muutils_format__": "bytes", "$ref": "blob.bin", "len": 10},
        "long": {"__muutils_format__": "list:external", "$ref": "l.jsonl", "len": 1},
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps(tree))
        zf.writestr("blob.bin", b"12345")
        zf.writestr("l.jsonl", b"[1, 2\n")
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 1 and "member 'l.jsonl' is not valid JSON lines" in out
    code, out, _ = run(capsys, "verify", str(path), "--load")
    assert code == 1 and "load failed: item at blob does not load" in out
    # the bad .jsonl is reported once, as corrupt; loading it would only repeat that
    assert "item at long does not load" not in out


def test_verify_truncated_file(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(sample).read_bytes()
    Path(sample).write_bytes(data[: len(data) // 2])
    code, out, _ = run(capsys, "verify", sample)
    assert code == 1 and "FAILED" in out and "not a readable .zanj file" in out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _printed(stream: io.StringIO, *parts: object) -> str:
    out = Output(stream)
    out.line(*(out.bold(p[1:]) if isinstance(p, str) and p.startswith("*") else p for p in parts))  # type: ignore[misc]
    return stream.getvalue()


def test_output_colours_terminals_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert _printed(Terminal(), "*x") == f"{ANSI}1mx{ANSI}0m\n" and _printed(io.StringIO(), "*x") == "x\n"
    monkeypatch.setenv("NO_COLOR", "1")
    assert _printed(Terminal(), "*x") == "x\n"


def test_output_escapes_text_before_colouring_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Colour comes from Output alone: an escape sequence in the text, painted or not, is shown."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    printed = _printed(Terminal(), "*\x1b[31mred\n", " \u202eplain\r")
    assert printed == f"{ANSI}1m\\x1b[31mred\\n{ANSI}0m \\u202eplain\\r\n"
    assert printed.count("\x1b") == 2  # the two of the bold


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (5 << 20, "5.0 MiB"),
        (3 << 40, "3.0 TiB"),
        (3 << 50, "3.0 PiB"),
        ((1 << 70) - 1, "1024.0 EiB"),
        (1 << 70, "over 1 ZiB"),
        ((2**62 - 1) ** 17 * 4, "over 1 ZiB"),  # a size a forged index declares: no OverflowError
    ],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text


def test_commands_on_array_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    big = np.arange(600_000, dtype=np.float32).reshape(100_000, 6)
    path = ZANJ().save({"big": big, "small": np.ones(3)}, tmp_path / "arrays.zanj")
    code, out, _ = run(capsys, "ls", path)
    assert code == 0 and any(
        "big" in line and "float32 (100000, 6)" in line and "2.3 MiB" in line for line in out.splitlines()
    )
    code, out, _ = run(capsys, "show", path, "big")
    assert code == 0 and "first 3 of 100000 rows" in out and "last 3 rows" in out and "599999." in out
    code, out, _ = run(capsys, "show", path, "big", "--rows", "2")
    assert "first 2 of 100000 rows" in out
    code, out, _ = run(capsys, "show", path, "small")
    assert code == 0 and "array([1., 1., 1.])" in out
    flip_data_byte(path, "big.npy", at=1000)
    code, out, _ = run(capsys, "verify", path)
    assert code == 1 and "member 'big.npy' is bad:" in out and "fails its CRC check" in out


def test_console_script_ls_is_plain_in_a_pipe(sample: str) -> None:
    exe = shutil.which("zanj") or str(Path(sys.executable).with_name("zanj"))
    result = subprocess.run([exe, "ls", sample], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and ANSI not in result.stdout and "long.jsonl" in result.stdout
    result = subprocess.run([exe, "verify", sample], capture_output=True, text=True, check=False)
    assert result.returncode == 0
