"""The example plugin under examples/ works when installed, found by its entry point alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "zanj-fraction"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the example into a throwaway folder layered over this environment, built from a copy
    so that the build leaves no build/ or .egg-info in the checkout."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("example") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"installing the example plugin failed:\n{result.stdout}\n{result.stderr}")
    assert any(p.name.startswith("zanj_fraction-") and p.name.endswith(".dist-info") for p in target.iterdir())
    return target


def _run(code: str, site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)


SAVE = """
import sys
from fractions import Fraction
from zanj_core import ZANJ
ZANJ().save({"third": Fraction(1, 3), "huge": Fraction(10**40 + 1, 7), "plain": [1, 2]}, sys.argv[1])
"""

READ = """
import sys
from zanj_core import ZANJ
obj = ZANJ().read(sys.argv[1])
assert "zanj_fraction" in sys.modules, "the plugin should have been loaded through its entry point"
print(repr(obj["third"]), repr(obj["huge"]), type(obj["third"]).__name__, obj["plain"])
"""


def test_example_plugin_roundtrip_through_entry_point(installed_example: Path, tmp_path: Path) -> None:
    path = tmp_path / "f.zanj"
    saved = _run(SAVE, installed_example, str(path))
    assert saved.returncode == 0, saved.stderr
    read = _run(READ, installed_example, str(path))
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["Fraction(1,", "3)", f"Fraction({10**40 + 1},", "7)", "Fraction", "[1,", "2]"]


def test_without_the_example_plugin_the_warning_names_the_package(installed_example: Path, tmp_path: Path) -> None:
    path = tmp_path / "f.zanj"
    assert _run(SAVE, installed_example, str(path)).returncode == 0
    code = (
        "import sys, warnings; from zanj_core import ZANJ, ZanjUnloaded\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    obj = ZANJ().read(sys.argv[1])\n"
        "print(type(obj['third']).__name__, obj['plain'])\n"
        "print(caught[0].category.__name__, caught[0].message)\n"
    )
    result = _run(code, None, str(path))
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()[:2]
    assert first == "ZanjUnloaded [1, 2]"
    assert second.startswith("ZanjMissingPluginWarning") and "package named 'zanj-fraction'" in second


def test_zanj_plugins_lists_the_example(installed_example: Path) -> None:
    result = _run("from zanj_core._tools.cli import main; raise SystemExit(main(['plugins']))", installed_example)
    assert result.returncode == 0, result.stderr
    assert "zanj-fraction 0.1.0" in result.stdout and "fractions.Fraction" in result.stdout
