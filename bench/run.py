"""Benchmarks against peers, reported as medians and ratios measured in one run.

    nox -s bench                     # every scenario
    nox -s bench -- --only basic     # one scenario

Each contender is timed in its own process doing the same work (zanj 0.6 in its own
environment, given by --zanj06-python); timings are medians over repeated rounds, and the
figures that matter are the ratios between contenders of the same run, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

# The README's small dataclass, saved and read in a loop; prints median seconds and file size.
BASIC_SCRIPT = """
import json, statistics, sys, time, os, warnings
warnings.simplefilter("ignore")
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
try:
    from zanj_core import ZANJ
except ImportError:
    from zanj import ZANJ

@serializable_dataclass
class BasicZanj(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: list[int] = serializable_field(default_factory=list)

path = os.path.join(sys.argv[1], "basic.zanj")
rounds = int(sys.argv[2])
obj = BasicZanj("hello", 42, [1, 2, 3])
z = ZANJ()
z.save(obj, path); z.read(path)  # warm up: plugin discovery, imports
save, read = [], []
for _ in range(rounds):
    t = time.perf_counter(); z.save(obj, path); save.append(time.perf_counter() - t)
    t = time.perf_counter(); back = z.read(path); read.append(time.perf_counter() - t)
assert back == obj
print(json.dumps({"save_s": statistics.median(save), "read_s": statistics.median(read),
                  "size_bytes": os.path.getsize(path)}))
"""


def _run_json(python: str, script: str, *args: str) -> dict[str, float]:
    out = subprocess.run([python, "-c", script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def scenario_import(args: argparse.Namespace) -> dict[str, object]:
    """Wall time of a fresh interpreter importing zanj_core, minus a bare interpreter."""

    def timed(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t

    bare, with_core = [], []
    for _ in range(args.rounds):  # alternate, so drift hits both alike
        bare.append(timed("pass"))
        with_core.append(timed("import zanj_core"))
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, zanj_core; print([m for m in ('numpy','torch','pandas') if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "bare_python_s": statistics.median(bare),
        "import_zanj_core_s": statistics.median(with_core),
        "import_cost_s": statistics.median(with_core) - statistics.median(bare),
        "heavy_modules_imported": heavy,
    }


def scenario_basic(args: argparse.Namespace) -> dict[str, object]:
    """Save and read the README's BasicZanj: zanj-core vs zanj 0.6."""
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as peer_dir:
        ours, peer = [], []
        for _ in range(args.processes):  # alternate contenders across processes
            ours.append(_run_json(sys.executable, BASIC_SCRIPT, ours_dir, str(args.rounds)))
            if args.zanj06_python:
                peer.append(_run_json(args.zanj06_python, BASIC_SCRIPT, peer_dir, str(args.rounds)))
    result: dict[str, object] = {
        "zanj_core": {k: statistics.median(r[k] for r in ours) for k in ours[0]},
    }
    if peer:
        result["zanj_0.6"] = {k: statistics.median(r[k] for r in peer) for k in peer[0]}
        o, p = result["zanj_core"], result["zanj_0.6"]
        assert isinstance(o, dict) and isinstance(p, dict)
        result["speedup_save_vs_zanj06"] = p["save_s"] / o["save_s"]
        result["speedup_read_vs_zanj06"] = p["read_s"] / o["read_s"]
        result["size_ratio_vs_zanj06"] = o["size_bytes"] / p["size_bytes"]
    return result


ARRAY_CONTENDERS = ["raw", "zanj", "zanj_mmap", "npz", "safetensors", "zanj06"]
FRAME_CONTENDERS = ["parquet", "arrow_ipc", "pickle", "zanj", "zanj_mmap", "zanj06"]

# runs a bench script under whichever interpreter is given
_RUNNER = "import runpy, sys; sys.argv = [{script!r}] + sys.argv[1:]; runpy.run_path({script!r}, run_name='__main__')"


def _child_scenario(
    args: argparse.Namespace, script_name: str, contenders: list[str], size: int, floor: str, variant: str | None = None
) -> dict[str, object]:
    """Run every contender of a child-process scenario, alternating contenders across passes.

    Each contender saves in one process and reads in a fresh one (so peak memory is its own);
    zanj 0.6 runs in its own environment with a single round (it takes seconds per save).
    Before each process the page cache's dirty data is flushed (os.sync, outside the timing), and
    the order of contenders is shuffled each pass, so one contender's writes are not billed to
    whoever runs next. Medians over passes; ratios against `floor` from the same run."""
    script = str(Path(__file__).with_name(script_name))
    samples: dict[str, dict[str, list[dict[str, float]]]] = {c: {"save": [], "read": []} for c in contenders}
    order = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.processes):
            # a new order each pass, so no contender always runs after the one that wrote most
            for contender in order.sample(contenders, len(contenders)):
                python, rounds = sys.executable, args.child_rounds
                if contender == "zanj06":
                    if not args.zanj06_python or variant == "bfloat16":  # zanj 0.6 cannot save bfloat16
                        continue
                    python, rounds = args.zanj06_python, 1
                extra = ["--variant", variant] if variant else []
                for op in ("save", "read"):
                    # flush everyone's dirty pages first: writeback throttling must not bill the next writer
                    os.sync()
                    samples[contender][op].append(
                        _run_json(
                            python,
                            _RUNNER.format(script=script),
                            contender,
                            op,
                            tmp,
                            "--size",
                            str(size),
                            "--rounds",
                            str(rounds),
                            *extra,
                        )
                    )
    table: dict[str, dict[str, object]] = {}
    for contender, ops in samples.items():
        if not ops["save"]:
            continue
        row: dict[str, object] = {
            op: {
                "median_s": statistics.median(s["median_s"] for s in runs),
                "peak_over_data": statistics.median(s["peak_extra_bytes"] / s["data_bytes"] for s in runs),
            }
            for op, runs in ops.items()
        }
        row["file_bytes"] = ops["save"][0]["file_bytes"]
        table[contender] = row
    base = table[floor]
    ratios = {
        contender: {op: row[op]["median_s"] / base[op]["median_s"] for op in ("save", "read")}  # type: ignore[index]
        for contender, row in table.items()
    }
    return {"size": size, "variant": variant, "times": table, f"ratio_to_{floor}": ratios}


def scenario_arrays(args: argparse.Namespace) -> dict[str, object]:
    """A dict of 64 float32 arrays (256 MiB): against the raw write/read floor, np.savez,
    safetensors and zanj 0.6."""
    return _child_scenario(args, "arrays.py", ARRAY_CONTENDERS, args.mib, "raw")


def scenario_frames(args: argparse.Namespace) -> dict[str, object]:
    """A 1M-row typed DataFrame: against Parquet and Arrow IPC through pyarrow, pickle, zanj 0.6."""
    return _child_scenario(args, "frames.py", FRAME_CONTENDERS, args.rows, "parquet")


TENSOR_CONTENDERS = ["torch", "torch_mmap", "safetensors", "zanj", "zanj_mmap", "zanj06"]


def scenario_tensors(args: argparse.Namespace) -> dict[str, object]:
    """A 256 MiB float32 state dict (64 tensors): against torch.save/torch.load(weights_only=True),
    with and without mmap, safetensors and zanj 0.6."""
    return _child_scenario(args, "tensors.py", TENSOR_CONTENDERS, args.mib, "torch", "float32")


def scenario_tensors_bf16(args: argparse.Namespace) -> dict[str, object]:
    """The same state dict in bfloat16 (zanj 0.6 cannot save it)."""
    return _child_scenario(args, "tensors.py", TENSOR_CONTENDERS, args.mib, "torch", "bfloat16")


def scenario_mmap_scaling(args: argparse.Namespace) -> dict[str, object]:
    """read(mmap=True) of 64 arrays as the file grows from 64 MiB to 1 GiB: the time should not
    grow with the data, only with the number of members."""
    script = str(Path(__file__).with_name("arrays.py"))
    result: dict[str, object] = {}
    for mib in (64, 256, 1024):
        with tempfile.TemporaryDirectory() as tmp:
            _run_json(
                sys.executable,
                _RUNNER.format(script=script),
                "zanj_mmap",
                "save",
                tmp,
                "--size",
                str(mib),
                "--rounds",
                "1",
            )
            reads = [
                _run_json(
                    sys.executable,
                    _RUNNER.format(script=script),
                    "zanj_mmap",
                    "read",
                    tmp,
                    "--size",
                    str(mib),
                    "--rounds",
                    str(args.child_rounds),
                )["median_s"]
                for _ in range(args.processes)
            ]
        result[f"{mib}_MiB_read_s"] = statistics.median(reads)
    return result


LAZY_CONTENDERS = ["zanj", "zanj_mmap", "zanj_rows", "safetensors", "safetensors_rows", "npz"]


def scenario_lazy(args: argparse.Namespace) -> dict[str, object]:
    """Open a 256 MiB file of 64 arrays and load one 4 MiB item (or rows 100-199 of it), each in a
    fresh process: against safetensors' safe_open and np.load of an npz. Also `zanj ls` of it."""
    script = str(Path(__file__).with_name("lazy.py"))
    runner = _RUNNER.format(script=script)
    zanj_cli = str(Path(sys.executable).with_name("zanj"))
    samples: dict[str, list[dict[str, float]]] = {c: [] for c in LAZY_CONTENDERS}
    ls_times: list[float] = []
    order = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        made = _run_json(sys.executable, runner, "make", tmp, "--mib", str(args.mib))
        os.sync()
        for _ in range(args.processes):
            for contender in order.sample(LAZY_CONTENDERS, len(LAZY_CONTENDERS)):
                samples[contender].append(_run_json(sys.executable, runner, contender, tmp, "--rounds", "20"))
            start = time.perf_counter()
            subprocess.run([zanj_cli, "ls", str(Path(tmp) / "lazy.zanj")], check=True, stdout=subprocess.DEVNULL)
            ls_times.append(time.perf_counter() - start)
    table = {
        contender: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for contender, runs in samples.items()
    }
    return {
        "file_bytes": made["file_bytes"],
        "times": table,
        "ratio_to_safetensors": {
            contender: {
                "first": row["first_s"] / table["safetensors"]["first_s"],
                "later": row["median_s"] / table["safetensors"]["median_s"],
            }
            for contender, row in table.items()
        },
        "zanj_ls_s": statistics.median(ls_times),
    }


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, object]]] = {
    "import": scenario_import,
    "basic": scenario_basic,
    "arrays": scenario_arrays,
    "frames": scenario_frames,
    "tensors": scenario_tensors,
    "tensors_bf16": scenario_tensors_bf16,
    "mmap_scaling": scenario_mmap_scaling,
    "lazy": scenario_lazy,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append", help="run only these scenarios")
    parser.add_argument("--rounds", type=int, default=50, help="timed repetitions per process")
    parser.add_argument("--processes", type=int, default=5, help="processes per contender (alternated)")
    parser.add_argument("--zanj06-python", default=None, help="python of an environment with zanj==0.6.0")
    parser.add_argument("--mib", type=int, default=256, help="data size of the arrays scenario")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the frames scenario")
    parser.add_argument("--child-rounds", type=int, default=5, help="timed rounds per process in child scenarios")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    report = {}
    for name in args.only or list(SCENARIOS):
        print(f"== {name}", flush=True)
        report[name] = SCENARIOS[name](args)
        print(json.dumps(report[name], indent=2), flush=True)
    machine = {"python": sys.version.split()[0], "platform": sys.platform, "cpus": os.cpu_count()}
    latest = RESULTS / "latest.json"
    # scenarios run now replace their previous results; the others are kept
    previous = json.loads(latest.read_text()).get("results", {}) if latest.exists() else {}
    latest.write_text(json.dumps({"machine": machine, "results": {**previous, **report}}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
