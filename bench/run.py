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
    OPTIONS = {"durable": False}  # pickle does not fsync either
except ImportError:
    from zanj import ZANJ
    OPTIONS = {}

@serializable_dataclass
class BasicZanj(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: list[int] = serializable_field(default_factory=list)

path = os.path.join(sys.argv[1], "basic.zanj")
rounds = int(sys.argv[2])
obj = BasicZanj("hello", 42, [1, 2, 3])
z = ZANJ(**OPTIONS)
z.save(obj, path); z.read(path)  # warm up: plugin discovery, imports
save, read = [], []
for _ in range(rounds):
    t = time.perf_counter(); z.save(obj, path); save.append(time.perf_counter() - t)
    t = time.perf_counter(); back = z.read(path); read.append(time.perf_counter() - t)
assert back == obj
print(json.dumps({"save_s": statistics.median(save), "read_s": statistics.median(read),
                  "size_bytes": os.path.getsize(path)}))
"""


# The same object through pickle: the latency floor for a small object.
PICKLE_BASIC_SCRIPT = BASIC_SCRIPT.replace(  # checked below: the replaced text must be there
    "z = ZANJ(**OPTIONS)\nz.save(obj, path); z.read(path)",
    "import pickle\n"
    "class _P:\n"
    "    def save(self, o, p):\n"
    "        with open(p, 'wb') as fh: pickle.dump(o, fh, protocol=pickle.HIGHEST_PROTOCOL)\n"
    "    def read(self, p):\n"
    "        with open(p, 'rb') as fh: return pickle.load(fh)\n"
    "z = _P()\nz.save(obj, path); z.read(path)",
)
assert PICKLE_BASIC_SCRIPT != BASIC_SCRIPT


def _run_json(python: str, script: str, *args: str) -> dict[str, float]:
    out = subprocess.run([python, "-c", script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


IMPORTS = {
    "zanj_core": "import zanj_core",
    "zanj_core + plugin discovery": "import zanj_core; zanj_core.REGISTRY.ensure_discovered()",
    "zanj_core + all plugins imported": "import zanj_core, zanj_numpy, zanj_torch, zanj_pandas; "
    "zanj_core.REGISTRY.ensure_discovered()",
    "numpy": "import numpy",
    "torch": "import torch",
    "safetensors.torch": "import safetensors.torch",
    "h5py": "import h5py",
    "pyarrow": "import pyarrow",
}


def scenario_import(args: argparse.Namespace) -> dict[str, object]:
    """Wall time of a fresh interpreter importing each module, minus a bare interpreter's, with
    the frameworks each leaves imported. zanj 0.6 is timed in its own environment."""

    def timed(python: str, code: str) -> float:
        t = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        return time.perf_counter() - t

    rounds = max(args.rounds // 5, 5)
    targets = {name: (sys.executable, code) for name, code in IMPORTS.items()}
    if args.zanj06_python:
        targets["zanj 0.6"] = (args.zanj06_python, "import zanj")
    samples: dict[str, list[float]] = {name: [] for name in targets}
    bare: dict[str, list[float]] = {python: [] for python, _ in targets.values()}
    for _ in range(rounds):  # alternate, so drift hits all alike
        for python in bare:
            bare[python].append(timed(python, "pass"))
        for name, (python, code) in targets.items():
            samples[name].append(timed(python, code))
    result: dict[str, object] = {"bare_python_s": statistics.median(bare[sys.executable])}
    for name, (python, code) in targets.items():
        heavy = subprocess.run(
            [python, "-c", code + "\nimport sys; print([m for m in ('numpy','torch','pandas') if m in sys.modules])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        result[name] = {
            "import_s": statistics.median(samples[name]) - statistics.median(bare[python]),
            "heavy_modules_imported": heavy,
        }
    return result


def scenario_basic(args: argparse.Namespace) -> dict[str, object]:
    """Save and read the README's BasicZanj: zanj-core vs zanj 0.6 and pickle."""
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as peer_dir:
        ours, peer, pickled = [], [], []
        for _ in range(args.processes):  # alternate contenders across processes
            ours.append(_run_json(sys.executable, BASIC_SCRIPT, ours_dir, str(args.rounds)))
            pickled.append(_run_json(sys.executable, PICKLE_BASIC_SCRIPT, peer_dir, str(args.rounds)))
            if args.zanj06_python:
                peer.append(_run_json(args.zanj06_python, BASIC_SCRIPT, peer_dir, str(args.rounds)))
    result: dict[str, object] = {
        "zanj_core": {k: statistics.median(r[k] for r in ours) for k in ours[0]},
        "pickle": {k: statistics.median(r[k] for r in pickled) for k in pickled[0]},
    }
    if peer:
        result["zanj_0.6"] = {k: statistics.median(r[k] for r in peer) for k in peer[0]}
        o, p = result["zanj_core"], result["zanj_0.6"]
        assert isinstance(o, dict) and isinstance(p, dict)
        result["speedup_save_vs_zanj06"] = p["save_s"] / o["save_s"]
        result["speedup_read_vs_zanj06"] = p["read_s"] / o["read_s"]
        result["size_ratio_vs_zanj06"] = o["size_bytes"] / p["size_bytes"]
    return result


ARRAY_CONTENDERS = ["raw", "zanj", "zanj_mmap", "npz", "safetensors", "pickle", "h5py", "zanj06"]
FRAME_CONTENDERS = ["parquet", "arrow_ipc", "arrow_ipc_mmap", "pickle", "zanj", "zanj_mmap", "zanj06"]
POLARS_FRAME_CONTENDERS = ["polars_ipc", "polars_parquet", "zanj", "zanj_mmap"]
TENSOR_CONTENDERS = [
    "raw",
    "torch",
    "torch_mmap",
    "safetensors",
    "zanj",
    "zanj_mmap",
    "zanj_durable",  # the default ZANJ(): fsyncs, which no peer does; zanj and zanj_mmap save with durable=False
    "pickle",
    "h5py",
    "zanj06",
]
SCALING_CONTENDERS = ["raw", "torch", "torch_mmap", "safetensors", "zanj", "zanj_mmap"]
SCALING_MIB = (16, 64, 256, 1024)

# runs a bench script under whichever interpreter is given
_RUNNER = "import runpy, sys; sys.argv = [{script!r}] + sys.argv[1:]; runpy.run_path({script!r}, run_name='__main__')"


def _child_scenario(
    args: argparse.Namespace,
    script_name: str,
    contenders: list[str],
    size: int,
    floor: str,
    variant: str | None = None,
    skip: frozenset[str] = frozenset(),
    rounds: int | None = None,
    processes: int | None = None,
) -> dict[str, object]:
    """Run every contender of a child-process scenario, alternating contenders across passes.

    Each contender saves in one process and reads in a fresh one (so peak memory is its own);
    zanj 0.6 runs in its own environment with a single round, in at most `--peer-processes`
    passes (it takes seconds per save). Before each process the page cache's dirty data is
    flushed (os.sync, outside the timing), and the order of contenders is shuffled each pass,
    so one contender's writes are not billed to whoever runs next. Medians over passes; ratios
    against `floor` from the same run. `skip` names contenders that cannot take this data."""
    script = str(Path(__file__).with_name(script_name))
    contenders = [c for c in contenders if c not in skip and (c != "zanj06" or args.zanj06_python)]
    samples: dict[str, dict[str, list[dict[str, float]]]] = {c: {"save": [], "read": []} for c in contenders}
    failures: dict[str, str] = {}
    order = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(processes or args.processes):
            # a new order each pass, so no contender always runs after the one that wrote most
            for contender in order.sample(contenders, len(contenders)):
                python, count = sys.executable, rounds or args.child_rounds
                if contender == "zanj06":
                    if number >= args.peer_processes:
                        continue
                    python, count = args.zanj06_python, 1 if rounds is None else count
                if contender in failures:
                    continue
                extra = ["--variant", variant] if variant else []
                for op in ("save", "read"):
                    # flush everyone's dirty pages first: writeback throttling must not bill the next writer
                    os.sync()
                    try:
                        measured = _run_json(
                            python,
                            _RUNNER.format(script=script),
                            contender,
                            op,
                            tmp,
                            "--size",
                            str(size),
                            "--rounds",
                            str(count),
                            *extra,
                        )
                    except RuntimeError as exc:  # a peer that cannot handle this data: reported, not fatal
                        failures[contender] = f"{op} fails: {str(exc).strip().splitlines()[-1]}"
                        break
                    samples[contender][op].append(measured)
    table: dict[str, dict[str, object]] = {}
    for contender, ops in samples.items():
        if contender in failures or not ops["save"]:
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
    if floor not in table:  # the baseline itself failed: report times without ratios
        return {"size": size, "variant": variant, "times": table, f"ratio_to_{floor}": {}, "failures": failures}
    base = table[floor]
    ratios = {
        contender: {op: row[op]["median_s"] / base[op]["median_s"] for op in ("save", "read")}  # type: ignore[index]
        for contender, row in table.items()
    }
    return {"size": size, "variant": variant, "times": table, f"ratio_to_{floor}": ratios, "failures": failures}


def scenario_arrays(args: argparse.Namespace) -> dict[str, object]:
    """A dict of 64 float32 arrays (256 MiB): against the raw write/read floor, np.savez,
    safetensors and zanj 0.6."""
    return _child_scenario(args, "arrays.py", ARRAY_CONTENDERS, args.mib, "raw")


def scenario_frames(args: argparse.Namespace) -> dict[str, object]:
    """A 1M-row typed DataFrame: against Parquet and Arrow IPC through pyarrow, pickle, zanj 0.6."""
    return _child_scenario(args, "frames.py", FRAME_CONTENDERS, args.rows, "parquet")


def scenario_polars_frames(args: argparse.Namespace) -> dict[str, object]:
    """A 1M-row typed polars DataFrame: against polars' own Arrow IPC (`write_ipc` / `read_ipc`,
    which maps the file) and Parquet."""
    return _child_scenario(args, "polars_frames.py", POLARS_FRAME_CONTENDERS, args.rows, "polars_ipc")


def scenario_tensors(args: argparse.Namespace) -> dict[str, object]:
    """A 256 MiB float32 state dict (64 tensors): against the raw floor, torch.save /
    torch.load(weights_only=True) with and without mmap, safetensors, pickle, h5py, zanj 0.6."""
    return _child_scenario(args, "tensors.py", TENSOR_CONTENDERS, args.mib, "raw", "float32")


def scenario_tensors_bf16(args: argparse.Namespace) -> dict[str, object]:
    """The same state dict in bfloat16 (zanj 0.6 cannot save it; h5py has no bfloat16)."""
    return _child_scenario(
        args, "tensors.py", TENSOR_CONTENDERS, args.mib, "raw", "bfloat16", skip=frozenset({"zanj06", "h5py"})
    )


def scenario_tensors_many(args: argparse.Namespace) -> dict[str, object]:
    """10,000 small float32 tensors (about 4 KiB each, 40 MiB): the cost of many members."""
    return _child_scenario(args, "tensors.py", TENSOR_CONTENDERS, 40, "raw", "many")


def scenario_nested(args: argparse.Namespace) -> dict[str, object]:
    """A nested config dataclass with a few small arrays (latency): against pickle and zanj 0.6."""
    return _child_scenario(args, "nested.py", ["pickle", "zanj", "zanj06"], 0, "pickle", rounds=args.rounds)


def scenario_scaling(args: argparse.Namespace) -> dict[str, object]:
    """Save and read time of a 64-tensor float32 state dict from 16 MiB to 1 GiB, per contender:
    how the cost grows with size (plotted log-log by report.py)."""
    return {
        f"{mib}": _child_scenario(
            args, "tensors.py", SCALING_CONTENDERS, mib, "raw", "float32", processes=args.scaling_processes
        )
        for mib in SCALING_MIB
    }


LAZY_CONTENDERS = ["zanj", "zanj_mmap", "zanj_rows", "safetensors", "safetensors_rows", "torch_mmap", "h5py", "npz"]


def scenario_lazy(args: argparse.Namespace) -> dict[str, object]:
    """Open a 1 GiB file of 64 tensors and load one 16 MiB tensor (or rows 100-199 of it), each in
    a fresh process: against safetensors' safe_open, torch.load(mmap=True), h5py and np.load of an
    npz. Also `zanj ls` of it."""
    script = str(Path(__file__).with_name("lazy.py"))
    runner = _RUNNER.format(script=script)
    zanj_cli = str(Path(sys.executable).with_name("zanj"))
    samples: dict[str, list[dict[str, float]]] = {c: [] for c in LAZY_CONTENDERS}
    failures: dict[str, str] = {}
    ls_times: list[float] = []
    order = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        made = _run_json(sys.executable, runner, "make", tmp, "--mib", str(args.lazy_mib))
        os.sync()
        for _ in range(args.processes):
            for contender in order.sample(LAZY_CONTENDERS, len(LAZY_CONTENDERS)):
                if contender in failures:
                    continue
                try:
                    samples[contender].append(_run_json(sys.executable, runner, contender, tmp, "--rounds", "20"))
                except RuntimeError as exc:
                    failures[contender] = str(exc).strip().splitlines()[-1]
                    samples.pop(contender, None)
            start = time.perf_counter()
            subprocess.run([zanj_cli, "ls", str(Path(tmp) / "lazy.zanj")], check=True, stdout=subprocess.DEVNULL)
            ls_times.append(time.perf_counter() - start)
    table = {
        contender: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for contender, runs in samples.items()
        if runs
    }
    return {
        "file_bytes": made["file_bytes"],
        "failures": failures,
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


def scenario_distributed(args: argparse.Namespace) -> dict[str, object]:
    """torch.distributed.checkpoint with 2 gloo ranks, about 96 MiB of FSDP2 model and Adam state:
    ZanjStorageWriter/Reader against FileSystemWriter/Reader and HuggingFaceStorageWriter/Reader
    (bench/distributed.py): save, load with 2 ranks, and a resharded load in one process."""
    script = str(Path(__file__).with_name("distributed.py"))
    rounds = str(max(args.child_rounds, 3))
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, object] = _run_json(sys.executable, _RUNNER.format(script=script), tmp, "--rounds", rounds)
    times = result["times"]
    assert isinstance(times, dict)
    result["ratio_to_filesystem"] = {
        name: {
            op: row[op] / times[base][op]
            for op in ("save_s", "load_s", "resharded_load_s")
            if (base := "filesystem_nosync" if name.endswith("_nosync") else "filesystem") in times
        }
        for name, row in times.items()
    }
    return result


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, object]]] = {
    "import": scenario_import,
    "basic": scenario_basic,
    "arrays": scenario_arrays,
    "frames": scenario_frames,
    "polars_frames": scenario_polars_frames,
    "tensors": scenario_tensors,
    "tensors_bf16": scenario_tensors_bf16,
    "tensors_many": scenario_tensors_many,
    "nested": scenario_nested,
    "lazy": scenario_lazy,
    "scaling": scenario_scaling,
    "distributed": scenario_distributed,
}


def machine_facts() -> dict[str, object]:
    """What the numbers were measured on: CPU, memory, kernel, and the peers' versions."""
    import importlib.metadata
    import platform

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    versions = {}
    for dist in ("zanj-core", "torch", "numpy", "safetensors", "pandas", "pyarrow", "polars", "h5py"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "absent"
    return {
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "versions": versions,
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
    parser.add_argument("--peer-processes", type=int, default=2, help="processes for zanj 0.6 (seconds per save)")
    parser.add_argument("--lazy-mib", type=int, default=1024, help="file size of the lazy scenario")
    parser.add_argument("--scaling-processes", type=int, default=3, help="processes per contender and size")
    parser.add_argument("--seed", type=int, default=None, help="contender order seed (default: a new one each run)")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 30)
    RESULTS.mkdir(exist_ok=True)
    latest = RESULTS / "latest.json"
    # with --only, the scenarios run now replace their previous results and the others are kept
    report = json.loads(latest.read_text()).get("results", {}) if latest.exists() and args.only else {}
    settings = {k: v for k, v in vars(args).items() if k not in ("only", "zanj06_python")}
    for name in args.only or list(SCENARIOS):
        print(f"== {name}", flush=True)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        report[name] = {**SCENARIOS[name](args), "run": {"started": started, "settings": settings}}
        print(json.dumps(report[name], indent=2), flush=True)
        # written after every scenario, so a failure late in a long run keeps what was measured
        latest.write_text(json.dumps({"machine": machine_facts(), "results": report}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
