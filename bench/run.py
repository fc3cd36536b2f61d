"""Benchmarks against peers, reported as medians and ratios measured in one run.

    nox -s bench                       # every scenario
    nox -s bench -- --only basic       # one scenario, every contender
    nox -s bench -- --only issue19     # what issue 19's goals measure, with the contenders they need

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

sys.path.insert(0, str(Path(__file__).parent))
import basic
import imports
from children import RUNNER, child_scenario, chosen, run_json

RESULTS = Path(__file__).parent / "results"


def scenario_import(args: argparse.Namespace) -> dict[str, object]:
    """Wall time of a fresh interpreter importing each module (and of `import zanj_core` + reading
    a small file), minus a bare interpreter's, with the frameworks each leaves imported. zanj 0.6
    is timed in its own environment. See imports.py."""
    names = args.contenders.get("import")
    return imports.measure(args.import_processes, max(args.rounds // 5, 5), names, args.zanj06_python)


def scenario_basic(args: argparse.Namespace) -> dict[str, object]:
    """Save and read the README's BasicZanj: zanj-core vs zanj 0.6 and pickle."""
    return basic.measure(args.processes, args.rounds, args.zanj06_python)


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
FRAME_MEMORY_CONTENDERS = ["parquet", "arrow_ipc", "pickle", "zanj", "zanj_mmap"]
SCALING_MIB = (16, 64, 256, 1024)


def scenario_arrays(args: argparse.Namespace) -> dict[str, object]:
    """A dict of 64 float32 arrays (256 MiB): against the raw write/read floor, np.savez,
    safetensors and zanj 0.6."""
    return child_scenario(args, "arrays.py", ARRAY_CONTENDERS, args.mib, "raw")


def scenario_frames(args: argparse.Namespace) -> dict[str, object]:
    """A 1M-row typed DataFrame: against Parquet and Arrow IPC through pyarrow, pickle, zanj 0.6."""
    return child_scenario(args, "frames.py", FRAME_CONTENDERS, args.rows, "parquet")


def scenario_polars_frames(args: argparse.Namespace) -> dict[str, object]:
    """A 1M-row typed polars DataFrame: against polars' own Arrow IPC (`write_ipc` / `read_ipc`,
    which maps the file) and Parquet."""
    return child_scenario(args, "polars_frames.py", POLARS_FRAME_CONTENDERS, args.rows, "polars_ipc")


def scenario_tensors(args: argparse.Namespace) -> dict[str, object]:
    """A 256 MiB float32 state dict (64 tensors): against the raw floor, torch.save /
    torch.load(weights_only=True) with and without mmap, safetensors, pickle, h5py, zanj 0.6."""
    return child_scenario(args, "tensors.py", TENSOR_CONTENDERS, args.mib, "raw", "float32")


def scenario_tensors_bf16(args: argparse.Namespace) -> dict[str, object]:
    """The same state dict in bfloat16 (zanj 0.6 cannot save it; h5py has no bfloat16)."""
    return child_scenario(
        args, "tensors.py", TENSOR_CONTENDERS, args.mib, "raw", "bfloat16", skip=frozenset({"zanj06", "h5py"})
    )


def scenario_tensors_many(args: argparse.Namespace) -> dict[str, object]:
    """10,000 small float32 tensors of 4 KiB each (40 MiB): the cost of many members."""
    return {**child_scenario(args, "tensors.py", TENSOR_CONTENDERS, 40, "raw", "many"), "tensors": 10_000}


def scenario_nested(args: argparse.Namespace) -> dict[str, object]:
    """Issue 19's nested config (an optimizer dataclass, 24 layer dataclasses, str tags; no arrays):
    latency of save and read against pickle to a file and zanj 0.6, many rounds per process."""
    contenders = ["pickle", "zanj", "zanj06"]
    return child_scenario(args, "nested.py", contenders, 0, "pickle", "config", rounds=args.nested_rounds)


def scenario_nested_arrays(args: argparse.Namespace) -> dict[str, object]:
    """A nested config dataclass holding a few small arrays (latency): against pickle and zanj 0.6."""
    return child_scenario(args, "nested.py", ["pickle", "zanj", "zanj06"], 0, "pickle", "arrays", rounds=args.rounds)


def scenario_frame_memory(args: argparse.Namespace) -> dict[str, object]:
    """Peak memory of reading a 2M-row typed DataFrame (no strings), one read per fresh process,
    over the frame's memory_usage(deep=True): read() and read(mmap=True) against Parquet."""
    return child_scenario(
        args,
        "frames.py",
        FRAME_MEMORY_CONTENDERS,
        args.memory_rows,
        "parquet",
        "typed",
        rounds=1,
        processes=args.memory_processes,
    )


def scenario_scaling(args: argparse.Namespace) -> dict[str, object]:
    """Save and read time of a 64-tensor float32 state dict from 16 MiB to 1 GiB, per contender:
    how the cost grows with size (plotted log-log by report.py)."""
    return {
        f"{mib}": child_scenario(
            args, "tensors.py", SCALING_CONTENDERS, mib, "raw", "float32", processes=args.scaling_processes
        )
        for mib in SCALING_MIB
    }


LAZY_CONTENDERS = ["zanj", "zanj_mmap", "zanj_rows", "safetensors", "safetensors_rows", "torch_mmap", "h5py", "npz"]


def scenario_lazy(args: argparse.Namespace) -> dict[str, object]:
    """Open a file of 64 tensors (256 MiB) and load one of them (4 MiB; or rows 100-199 of it), in a
    fresh process per contender, then repeat open + load `--lazy-rounds` times in it: against
    safetensors' safe_open, torch.load(mmap=True), h5py and np.load of an npz. Also `zanj ls` of it."""
    script = str(Path(__file__).with_name("lazy.py"))
    runner = RUNNER.format(script=script)
    zanj_cli = str(Path(sys.executable).with_name("zanj"))
    failures: dict[str, str] = {}
    ls_times: list[float] = []
    order = random.Random(args.seed)
    contenders = chosen(args, LAZY_CONTENDERS)
    samples: dict[str, list[dict[str, float]]] = {c: [] for c in contenders}
    with tempfile.TemporaryDirectory() as tmp:
        made = run_json(sys.executable, runner, "make", tmp, "--mib", str(args.lazy_mib))
        os.sync()
        for _ in range(args.processes):
            for contender in order.sample(contenders, len(contenders)):
                if contender in failures:
                    continue
                rounds = str(args.lazy_rounds)
                try:
                    samples[contender].append(run_json(sys.executable, runner, contender, tmp, "--rounds", rounds))
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
        "tensors": 64,
        "rounds": args.lazy_rounds,
        "failures": failures,
        "times": table,
        "ratio_to_safetensors": {
            contender: {
                "first": row["first_s"] / table["safetensors"]["first_s"],
                "later": row["median_s"] / table["safetensors"]["median_s"],
            }
            for contender, row in table.items()
            if "safetensors" in table
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
        result: dict[str, object] = run_json(sys.executable, RUNNER.format(script=script), tmp, "--rounds", rounds)
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
    "nested_arrays": scenario_nested_arrays,
    "frame_memory": scenario_frame_memory,
    "lazy": scenario_lazy,
    "scaling": scenario_scaling,
    "distributed": scenario_distributed,
}


GOAL_RUNS = "goal_runs"
"""Where a group's run of a scenario goes when a full run of it is kept (see `main`)."""

# A group runs its scenarios with only the contenders named here (None: all of them), so a rerun
# of what an issue's goals measure stays short; `--only SCENARIO` always runs every contender.
GROUPS: dict[str, dict[str, list[str] | None]] = {
    "issue19": {
        "tensors_many": ["safetensors", "zanj", "zanj_mmap"],
        "lazy": ["safetensors", "zanj_mmap"],
        "tensors": ["safetensors", "zanj_mmap"],  # the goal is the mapped read
        "nested": ["pickle", "zanj"],
        "import": list(imports.ZANJ_TARGETS),
        "frame_memory": ["parquet", "zanj", "zanj_mmap"],
    },
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


def selected(only: list[str] | None) -> dict[str, tuple[str | None, list[str] | None]]:
    """The scenarios to run, in order, each with the group that chose it and that group's
    contenders (None: every contender). A scenario named by itself runs in full."""
    if not only:
        return dict.fromkeys(SCENARIOS, (None, None))
    chosen: dict[str, tuple[str | None, list[str] | None]] = {}
    for name in only:
        for scenario, subset in GROUPS[name].items() if name in GROUPS else [(name, None)]:
            named = name not in GROUPS or scenario in only
            if scenario not in chosen or named:
                chosen[scenario] = (None, None) if named else (name, subset)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only",
        choices=sorted(SCENARIOS) + sorted(GROUPS),
        action="append",
        help="run only these scenarios; a group (issue19) runs its scenarios with the contenders its goals need",
    )
    parser.add_argument("--rounds", type=int, default=50, help="timed repetitions per process")
    parser.add_argument("--processes", type=int, default=5, help="processes per contender (alternated)")
    parser.add_argument("--zanj06-python", default=None, help="python of an environment with zanj==0.6.0")
    parser.add_argument("--mib", type=int, default=256, help="data size of the arrays and tensors scenarios")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the frames scenarios")
    parser.add_argument("--child-rounds", type=int, default=5, help="timed rounds per process in child scenarios")
    parser.add_argument("--peer-processes", type=int, default=2, help="processes for zanj 0.6 (seconds per save)")
    parser.add_argument("--lazy-mib", type=int, default=256, help="file size of the lazy scenario")
    parser.add_argument("--lazy-rounds", type=int, default=50, help="repeated open + load per lazy process")
    parser.add_argument("--nested-rounds", type=int, default=300, help="rounds per process of the nested config")
    parser.add_argument("--import-processes", type=int, default=40, help="fresh interpreters per zanj_core import")
    parser.add_argument("--memory-rows", type=int, default=2_000_000, help="rows of the frame_memory scenario")
    parser.add_argument("--memory-processes", type=int, default=5, help="one-read processes per frame_memory contender")
    parser.add_argument("--scaling-processes", type=int, default=3, help="processes per contender and size")
    parser.add_argument("--seed", type=int, default=None, help="contender order seed (default: a new one each run)")
    parser.add_argument("--results", type=Path, default=RESULTS / "latest.json", help="the JSON to write (and keep)")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 30)
    latest: Path = args.results
    latest.parent.mkdir(parents=True, exist_ok=True)
    # with --only, the scenarios run now replace their previous results and the others are kept
    report = json.loads(latest.read_text()).get("results", {}) if latest.exists() and args.only else {}
    settings = {k: v for k, v in vars(args).items() if k not in ("only", "zanj06_python", "results")}
    for name, (group, subset) in selected(args.only).items():
        print(f"== {name}" + (f" (group {group}: {', '.join(subset)})" if group and subset else ""), flush=True)
        args.scenario, args.contenders = name, {name: subset} if subset else {}
        started, clock = time.strftime("%Y-%m-%d %H:%M:%S"), time.perf_counter()
        result = SCENARIOS[name](args)
        run = {"started": started, "elapsed_s": round(time.perf_counter() - clock, 1), "settings": settings}
        measured = {**result, "run": {**run, "group": group, "contenders": subset}}
        goal_runs = report.setdefault(GOAL_RUNS, {})
        if group and name in report and not report[name].get("run", {}).get("group"):
            # the full run's tables stay; the goals table takes this newer, shorter run
            goal_runs[name] = measured
        else:
            report[name] = measured
            goal_runs.pop(name, None)  # a newer run of the scenario supersedes an older group run
        print(json.dumps(measured, indent=2), flush=True)
        # written after every scenario, so a failure late in a long run keeps what was measured
        latest.write_text(json.dumps({"machine": machine_facts(), "results": report}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
