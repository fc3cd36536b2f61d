"""The `zanj` command line tool."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from zanj_core.cli import main


def test_plugins_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "zanj-core" in out and "[builtins = zanj_core.builtins]" in out and "ok" in out
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
    with pytest.raises(SystemExit) as info:
        main([])
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
