"""The `import` scenario: what a fresh interpreter pays to import each module, or to import
zanj_core and read a small file, over a bare interpreter (`python -c pass`).

Fresh processes alternate with bare ones round after round (so drift hits all alike); each
figure is a median minus the bare interpreter's median. The zanj_core targets, issue 19's, run
every round; the frameworks, which take seconds under torch, run in the first rounds only.
Run by bench/run.py, which owns the command line.
"""

from __future__ import annotations

import importlib.metadata
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READ_TARGET = "zanj_core + read a small file"

# a small file as a script keeps one: plain values, so no framework is needed to read it back
SMALL = {"name": "nested-run", "seed": 7, "lr": 0.0003, "widths": [64, 128, 256, 512], "tags": {"stage": "pretrain"}}

ZANJ_TARGETS = {
    "zanj_core": "import zanj_core",
    "zanj_core + plugin discovery": "import zanj_core; zanj_core.REGISTRY.ensure_discovered()",
    READ_TARGET: "import sys, zanj_core; loaded = zanj_core.ZANJ().read(sys.argv[1])",
}
FRAMEWORK_TARGETS = {
    "zanj_core + all plugins imported": "import zanj_core, zanj_numpy, zanj_torch, zanj_pandas; "
    "zanj_core.REGISTRY.ensure_discovered()",
    "numpy": "import numpy",
    "torch": "import torch",
    "safetensors.torch": "import safetensors.torch",
    "h5py": "import h5py",
    "pyarrow": "import pyarrow",
}
IMPORTS = {**ZANJ_TARGETS, **FRAMEWORK_TARGETS}

HEAVY = ("numpy", "torch", "pandas", "pyarrow", "polars")
"""The frameworks a target is checked for leaving imported."""

_REPORT = f"\nimport sys; print([m for m in {HEAVY!r} if m in sys.modules])"


def _timed(python: str, code: str, *argv: str) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code, *argv], check=True)
    return time.perf_counter() - start


def measure(
    processes: int, framework_processes: int, names: list[str] | None, zanj06_python: str | None
) -> dict[str, object]:
    """`processes` rounds of the zanj_core targets, `framework_processes` of the others; `names`
    limits the targets (None: all)."""
    targets = {name: (sys.executable, code) for name, code in IMPORTS.items() if names is None or name in names}
    if zanj06_python and (names is None or "zanj 0.6" in names):
        targets["zanj 0.6"] = (zanj06_python, "import zanj")
    samples: dict[str, list[float]] = {name: [] for name in targets}
    bare: dict[str, list[float]] = {python: [] for python, _ in targets.values()}
    with tempfile.TemporaryDirectory() as tmp:
        small = str(Path(tmp) / "small.zanj")
        save = "import sys, json, zanj_core; zanj_core.ZANJ().save(json.loads(sys.argv[1]), sys.argv[2])"
        subprocess.run([sys.executable, "-c", save, json.dumps(SMALL), small], check=True)
        for number in range(max(processes, framework_processes)):
            for python in bare:
                bare[python].append(_timed(python, "pass"))
            for name, (python, code) in targets.items():
                if number < (processes if name in ZANJ_TARGETS else framework_processes):
                    samples[name].append(_timed(python, code, small))
        result: dict[str, object] = {
            "bare_python_s": statistics.median(bare[sys.executable]),
            "processes": processes,
            "framework_processes": framework_processes,
            "plugins": sorted({entry.name for entry in importlib.metadata.entry_points(group="zanj")}),
            "small_file_bytes": Path(small).stat().st_size,
        }
        for name, (python, code) in targets.items():
            check = code + _REPORT
            if name == READ_TARGET:  # what was read must be what was saved
                check += f"\nassert loaded == {SMALL!r}, loaded"
            heavy = subprocess.run(
                [python, "-c", check, small], capture_output=True, text=True, check=True
            ).stdout.strip()
            result[name] = {
                "import_s": statistics.median(samples[name]) - statistics.median(bare[python]),
                "median_s": statistics.median(samples[name]),
                "bare_s": statistics.median(bare[python]),
                "heavy_modules_imported": heavy,
            }
    return result
