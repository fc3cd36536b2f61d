"""`import zanj_core` stays light: no numpy, torch or pandas, no muutils dataclass machinery, and
no fsspec or tqdm unless a URL is used or a progress bar drawn. Reading a small file loads
only what reading needs: no pluggy or plugins for plain JSON, no importlib.metadata once the
entry-point cache is warm, nothing only saves need, never the command line or the verifier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zanj_core

HEAVY = ("numpy", "torch", "pandas", "polars", "pyarrow", "fsspec", "aiohttp", "s3fs", "tqdm")
NOT_FOR_READING = (
    "pluggy",  # plugin discovery: plain JSON needs no plugin
    "zanj_core._contract.hookspecs",
    "zanj_core._contract.commands",  # the command-line records plugins may add
    "importlib.metadata",  # the entry-point cache answers once warm
    "email",  # what importlib.metadata parses metadata with
    "difflib",  # only for a plugin's misspelled hook
    "zanj_core._tools",  # the command line and the verifier
    "argparse",
    "concurrent.futures",  # the writer's checksum thread (and logging with it): saves only
    "logging",
    "tempfile",  # spooling streams and uploads
    "zipfile",  # zanj reads and writes zips with its own code
)


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return set(out.split())


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


def test_import_pulls_no_heavy_framework() -> None:
    loaded = _modules_after("import zanj_core")
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]


def test_import_loads_only_the_errors_until_a_name_is_used() -> None:
    loaded = _modules_after("import zanj_core")
    assert {m for m in loaded if m.startswith("zanj_core")} == {"zanj_core", "zanj_core._version", "zanj_core.errors"}
    assert not _loaded(loaded, ("pluggy", "dataclasses", "json", "importlib.metadata"))


def test_every_public_name_resolves_and_is_the_layers_own() -> None:
    from zanj_core._contract.hookspecs import hookimpl
    from zanj_core._walk.zanj import ZANJ

    for name in zanj_core.__all__:
        assert getattr(zanj_core, name) is not None, name
    assert zanj_core.ZANJ is ZANJ and zanj_core.hookimpl is hookimpl
    assert set(zanj_core.__all__) <= set(dir(zanj_core))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        zanj_core.NoSuchName  # noqa: B018
    names = _modules_after("from zanj_core import *\nassert 'ZANJ' in dir() and 'verify_file' in dir()")
    assert "zanj_core._walk.zanj" in names


def test_saving_and_reading_builtins_pulls_no_heavy_framework(tmp_path: object) -> None:
    code = (
        "import zanj_core, tempfile, os\n"
        "d = tempfile.mkdtemp(); z = zanj_core.ZANJ()\n"
        "z.read(z.save({'a': [1, 2.5, (3,)], 'b': b'x' * 1000, 'l': list(range(300))}, os.path.join(d, 'x')))"
    )
    loaded = _modules_after(code)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert "muutils.json_serialize.serializable_dataclass" not in loaded


def test_reading_plain_json_loads_no_plugin_machinery(tmp_path: Path) -> None:
    path = zanj_core.ZANJ().save({"a": 1, "b": "two", "c": [3, 4], "d": {"e": 5}}, tmp_path / "small")
    loaded = _modules_after(f"import zanj_core\nassert zanj_core.ZANJ().read({str(path)!r})['d'] == {{'e': 5}}")
    assert not _loaded(loaded, NOT_FOR_READING)
    assert not [m for m in loaded if m.startswith("zanj_core._plugins")]


def test_reading_a_dataclass_with_a_warm_cache_skips_importlib_metadata(tmp_path: Path) -> None:
    """A dataclass needs the plugins; the second process finds them in the entry-point cache."""
    module = tmp_path / "cachecfg.py"
    module.write_text(
        "from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field\n"
        "@serializable_dataclass\n"
        "class Cfg(SerializableDataclass):\n"
        "    name: str = serializable_field(default='x')\n"
        "    seed: int = serializable_field(default=1)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("ZANJ_PLUGIN_CACHE", None)
    path = tmp_path / "cfg.zanj"
    save = f"import cachecfg, zanj_core\nzanj_core.ZANJ().save(cachecfg.Cfg(name='run', seed=3), {str(path)!r})"
    subprocess.run([sys.executable, "-c", save], env=env, check=True)
    read = (
        "import sys\nbefore = set(sys.modules)\nimport cachecfg, zanj_core\n"
        f"assert zanj_core.ZANJ().read({str(path)!r}) == cachecfg.Cfg(name='run', seed=3)\n"
        "sys.modules = {m: sys.modules[m] for m in set(sys.modules) - before}"
    )
    loaded = _modules_after(read, env)
    assert "zanj_core._plugins.serializable_dataclass" in loaded
    assert not _loaded(loaded, ("importlib.metadata", "email", "difflib", "zanj_core._tools"))
