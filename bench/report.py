"""Render bench/results/latest.json as docs/benchmarks.md and its plots (docs/bench/*.png).

    python bench/report.py [--results JSON] [--out PAGE]

Run by `nox -s bench` after run.py. Every figure on the page comes from that JSON; the text
that says where zanj leads or trails, or meets a goal, is chosen by the numbers (the reasons
next to each are the mechanisms, which do not change between runs, and the run's own figures).
The page opens with issue 19's goals (goals.py); the plots go to `bench/` beside the page.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import goals
from figures import DISPLAY_NAMES, ratio, seconds, table
from plots import plot_scaling, plot_state_dict
from reading import where_zanj_leads_and_trails
from sections import distributed_section, scaling_section

ROOT = Path(__file__).resolve().parents[1]

TITLE = """# Benchmarks

Produced by one command, `python -m nox -s bench` (it runs `bench/run.py`, then this page's
generator `bench/report.py`, from `bench/results/latest.json`); how it measures is under
[How these are measured](#how-these-are-measured).
"""

HEADER = """## How these are measured

Every contender runs in its own processes (a save process, then a fresh read process, so peak
memory is its own), contenders
alternate in a shuffled order (a new seed each run) across passes, dirty pages are flushed
before each process, every save starts with no file at its path (the previous one is deleted
outside the timer), and each figure is a median (a read repeats until a second has been timed, so a
fast read's median rests on many samples). Reads come from a warm page cache. zanj 0.6 runs
in its own environment (`zanj==0.6.0` from PyPI) with one timed round per process where it takes
seconds. The machine is shared and noisy: read the ratios between contenders of the same run,
not the absolute times, and rerun before trusting a gap under about 15 %. Peak memory is
resident memory above the baseline taken once the input exists, as a fraction of the data size
(a read allocates its result, so about 1.0 means one copy; `mmap` reads map the file). {peak_method}
Each read is checked against what was saved
(names, shapes and dtypes; a config compares equal), outside the timer. Each timed round's minor
page faults are counted too (the kernel's count around the timed call): memory fresh from the
kernel costs one per page on first touch, which is where a read that copies into new buffers
differs from one that maps the file and leaves the data untouched. After its timed rounds the
nested config's save and read are also timed in parts (zanj's walk, JSON text, zip and
publishing; its opening, JSON parsing and walk; pickle's codec and its file calls), so its goal
rows say where the time goes.
`raw` is the baseline: one plain write per tensor or array, and the whole file read by one call
into one freshly allocated buffer with every tensor a view of it. It is not a strict floor: the
buffer's pages are faulted in on every read, so a reader whose allocator reuses memory already
faulted in (h5py's per-array reads here) can come in under it.
No peer here calls `fsync`, so the `zanj` rows save with `ZANJ(durable=False)`: like theirs, the
save returns once the data is in the page cache. The **zanj (durable)** row of the state-dict
tables saves with the default settings, which `fsync` the file before renaming it into place and
its folder after (so a power cut leaves the old or the new file): the difference between the two
rows is the price of that guarantee on this machine's disk.

Machine: {machine}.
"""


def _child(title: str, result: dict[str, Any], floor: str, note: str) -> str:
    ratios = result.get(f"ratio_to_{floor}") or {}
    missing: dict[str, float | None] = {"save": None, "read": None}

    def shown(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    rows = [
        [
            "contender",
            "save",
            "read",
            f"save / {floor}",
            f"read / {floor}",
            "save peak / data",
            "read peak / data",
            "file MiB",
        ]
    ]
    for name, row in result["times"].items():
        rows.append(
            [
                f"**{DISPLAY_NAMES.get(name, name)}**" if name.startswith("zanj") and name != "zanj06" else name,
                seconds(row["save"]["median_s"]),
                seconds(row["read"]["median_s"]),
                shown(ratios.get(name, missing)["save"], 2),
                shown(ratios.get(name, missing)["read"], 3),
                f"{row['save']['peak_over_data']:.2f}",
                f"{row['read']['peak_over_data']:.2f}",
                f"{row['file_bytes'] / 2**20:.1f}",
            ]
        )
    failed = "".join(f"\n- `{name}`: {why}" for name, why in result.get("failures", {}).items())
    failed = f"\n\nCould not take part:{failed}" if failed else ""
    return f"## {title}\n\n{note}{_limited(result)}\n\n{table(rows)}{failed}\n"


def _limited(result: dict[str, Any]) -> str:
    """Says so when a group ran the scenario with some contenders only, so a short table is not read as the
    full one."""
    run = result.get("run", {})
    if not run.get("contenders"):
        return ""
    return f" This run (group `{run['group']}`) measured only {', '.join(run['contenders'])}."


# (scenario, title, floor, note)
CHILD_SCENARIOS = (
    (
        "tensors",
        "State dict: 64 float32 tensors, {size} MiB",
        "raw",
        "`torch` is `torch.save` / `torch.load(weights_only=True)`; `_mmap` rows read with `mmap=True`; "
        "`h5py` writes one dataset per tensor; `pickle` pickles the dict of tensors.",
    ),
    (
        "tensors_bf16",
        "State dict: 64 bfloat16 tensors, {size} MiB",
        "raw",
        "zanj 0.6 cannot save bfloat16 and h5py has no bfloat16 type, so both are absent.",
    ),
    (
        "tensors_many",
        "Many small tensors: 10,000 float32 tensors of 4 KiB (40 MiB)",
        "raw",
        "The per-member overhead: every format here stores each tensor separately.",
    ),
    (
        "arrays",
        "64 float32 numpy arrays, {size} MiB",
        "raw",
        "`npz` is `np.savez` / `np.load`.",
    ),
    (
        "frames",
        "DataFrame: {size:,} typed rows",
        "parquet",
        "Columns: int64, float64, str, datetime (naive and tz), categorical, nullable Int64. `parquet` is "
        "`df.to_parquet` / `pd.read_parquet`; `arrow_ipc` is `to_feather` uncompressed (`_mmap`: read with "
        "`pyarrow.feather.read_table(memory_map=True).to_pandas()`); zanj 0.6 saves only the "
        "int/float/str columns (it fails on datetimes). A frame has no raw floor (its strings have no plain byte "
        "form); Arrow IPC is the nearest. h5py does not store frames (pandas' HDF5 support needs PyTables).",
    ),
    (
        "polars_frames",
        "polars DataFrame: {size:,} typed rows",
        "polars_ipc",
        "Columns: Int64, Float64, String, Datetime (us, Europe/Paris), Categorical, Boolean, nullable Int32. "
        "`polars_ipc` is `write_ipc(compression='uncompressed')` / `pl.read_ipc`, which maps the file; "
        "`polars_parquet` is `write_parquet` / `pl.read_parquet`. zanj's plain read copies the member into memory "
        "and validates every value before polars sees it; `zanj_mmap` maps it, as `read_ipc` does.",
    ),
    (
        "frame_memory",
        "DataFrame read memory: {size:,} typed rows, one read per process",
        "parquet",
        "Columns: int64, float64, tz-aware datetime, categorical, bool, nullable Int64 (no strings: the frame's "
        "`memory_usage(deep=True)` is what a read must hold). Each process first saves and reads a 1,000-row frame, "
        "so imports, plugin discovery and allocator set-up are outside both the time and the peak, then saves or "
        "reads once: `read peak / data` is the figure issue 19 bounds.",
    ),
    (
        "nested",
        "Nested config: 26 dataclasses, no arrays (latency)",
        "pickle",
        "Issue 19's run configuration: a name, a seed, an optimizer dataclass (name, lr, betas, weight decay), a list "
        "of 24 layer dataclasses (kind, width, dropout, activation) and a dict of 3 str tags; saved and read "
        "{nested_rounds} times per process with one `ZANJ` each (saving with `durable=False`). `data` is the "
        "pickle's size; peak memory here is a few pages, so read it as absolute bytes, not a ratio.",
    ),
    (
        "nested_arrays",
        "Nested config: dataclasses with a few arrays (latency)",
        "pickle",
        "A run configuration: an optimizer dataclass, four block dataclasses each holding a 64x64 float32 "
        "weight, tags and a 512x32 embedding (128 KiB of arrays); saved and read {rounds} times per process. Peak "
        "memory over 128 KiB of data is a few pages, so read it as absolute bytes, not a ratio.",
    ),
)


class _Unknown(dict[str, object]):
    """Settings an older run did not record show as `?`."""

    def __missing__(self, key: str) -> str:
        return "?"


def _headline(results: dict[str, Any]) -> str:
    """The ratios the issue asks for, zanj over each peer (below 1: zanj is faster)."""
    rows = [["scenario", "peer", "save: zanj / peer", "read: zanj / peer", "mmap read: zanj / peer"]]
    pairs = (
        ("tensors", "safetensors", "safetensors"),
        ("tensors", "torch", "torch_mmap"),
        ("tensors_bf16", "safetensors", "safetensors"),
        ("tensors_bf16", "torch", "torch_mmap"),
        ("tensors_many", "safetensors", "safetensors"),
        ("tensors_many", "torch", "torch_mmap"),
        ("tensors", "zanj06", None),
        ("arrays", "safetensors", None),
        ("arrays", "npz", None),
        ("frames", "parquet", None),
        ("frames", "arrow_ipc", "arrow_ipc_mmap"),
        ("frames", "zanj06", None),
        ("polars_frames", "polars_ipc", "polars_ipc"),
        ("polars_frames", "polars_parquet", None),
        ("nested", "pickle", None),
        ("nested", "zanj06", None),
        ("nested_arrays", "pickle", None),
        ("nested_arrays", "zanj06", None),
        ("frame_memory", "parquet", None),
    )
    for scenario, peer, mmap_peer in pairs:
        result = results.get(scenario)
        if not result:
            continue
        failed = [who for who in ("zanj", peer) if who in result.get("failures", {})]
        if failed:
            rows.append([scenario, peer, " and ".join(failed) + " failed", "", ""])
            continue
        if peer not in result.get("times", {}):
            continue
        save = ratio(result, "zanj", peer, "save")
        read = ratio(result, "zanj", peer, "read")
        mapped = ratio(result, "zanj_mmap", mmap_peer, "read") if mmap_peer else None
        rows.append(
            [
                scenario,
                peer,
                f"{save:.2f}" if save is not None else "",
                f"{read:.2f}" if read is not None else "",
                f"{mapped:.2f}" if mapped is not None else "",
            ]
        )
        if scenario == "frames" and peer == "zanj06":
            rows[-1][1] = "zanj06 (3 of the 7 columns: all it can save)"
    basic = results.get("basic", {})
    if "zanj_0.6" in basic:
        rows.append(
            [
                "README BasicZanj",
                "zanj06",
                f"{1 / basic['speedup_save_vs_zanj06']:.2f}",
                f"{1 / basic['speedup_read_vs_zanj06']:.2f}",
                "",
            ]
        )
    return (
        "## Ratios against each peer\n\nzanj's median time over the peer's, in the same run: below 1.00 zanj is faster. "
        "A save time here pools the plain and `_mmap` rows of a contender (they save the same file: two "
        "measurements of one operation). "
        "The mmap column compares `read(mmap=True)` with the peer's own mapped read (`torch.load(mmap=True)`, "
        "safetensors' `load_file`, which maps the file, `pyarrow.feather.read_table(memory_map=True)`). Against "
        "safetensors on tensors, the plain read column sets zanj's copying read against that mapped read: use the "
        "mmap column there. Gaps under about 15 % are within this machine's noise.\n\n" + table(rows) + "\n"
    )


def _peak_method(results: dict[str, Any]) -> str:
    """How this run's children measured peaks (harness.start_peak), said as the page should."""
    methods = {
        row[op].get("peak_method", "high-water mark so far")
        for result in results.values()
        if isinstance(result, dict)
        for row in result.get("times", {}).values()
        if isinstance(row, dict)
        for op in ("save", "read")
        if isinstance(row.get(op), dict)
    }
    if methods == {"reset high-water mark"}:
        return (
            "It is the kernel's high-water mark, reset to the resident size at the baseline, so building the data "
            "does not hide a save's peak."
        )
    return (
        "It is the process's high-water mark (not reset at the baseline in some of this run's processes), so a "
        "save's peak is hidden where building the data peaked higher."
    )


def render(report: dict[str, Any]) -> str:
    results = dict(report["results"])
    if results.get("nested", {}).get("variant") not in (None, "config") or (
        "nested" in results and results["nested"].get("variant") is None and "nested_arrays" not in results
    ):  # an older run's `nested` measured the config holding arrays
        results["nested_arrays"] = results.pop("nested")
    # a group's later run of a scenario (bench/run.py's goal_runs) feeds the goals table; the
    # tables below stay those of the last full run
    goal_results = {**results, **results.pop("goal_runs", {})}
    machine = dict(report["machine"])
    versions = machine.pop("versions", {})
    described = ", ".join(f"{k} {v}" for k, v in machine.items())
    if versions:
        described += "; versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())
    parts = [TITLE, goals.section(goal_results), HEADER.format(machine=described, peak_method=_peak_method(results))]
    parts.append(_headline(results))
    reading = where_zanj_leads_and_trails(results)
    if reading:
        parts.append(reading)
    if results.get("tensors", {}).get("ratio_to_raw"):
        parts.append(f"![{results['tensors']['size']} MiB state dict](bench/state_dict.png)\n")
    for key, title, floor, note in CHILD_SCENARIOS:
        if key in results:
            settings = _Unknown(results[key].get("run", {}).get("settings", {}))
            parts.append(
                _child(title.format(size=results[key]["size"]), results[key], floor, note.format_map(settings))
            )
    if "basic" in results:
        r = results["basic"]
        rows = [["", "save", "read", "file bytes"]]
        for name in ("zanj_core", "zanj_0.6", "pickle"):
            if name in r:
                rows.append([name, seconds(r[name]["save_s"]), seconds(r[name]["read_s"]), str(r[name]["size_bytes"])])
        extra = ""
        if "speedup_save_vs_zanj06" in r:
            extra = (
                f"\n\nzanj-core saves {r['speedup_save_vs_zanj06']:.1f}x and reads {r['speedup_read_vs_zanj06']:.1f}x "
                f"faster than zanj 0.6; the file is {r['size_ratio_vs_zanj06']:.2f} of its size."
            )
        parts.append(
            "## Latency: the README's `BasicZanj`\n\nSaved and read in a loop in one process (after one warm-up "
            f"call: imports and plugin discovery are not counted).\n\n{table(rows)}{extra}\n"
        )
    if "lazy" in results:
        r = results["lazy"]
        rows = [["contender", "first call", "later calls", "bytes read (later)", "item MiB", "first / safetensors"]]
        for name, row in r["times"].items():
            rows.append(
                [
                    name,
                    seconds(row["first_s"]),
                    seconds(row["median_s"]),
                    f"{row['bytes_read'] / 2**20:.2f} MiB",
                    f"{row['item_bytes'] / 2**20:.2f}",
                    f"{r['ratio_to_safetensors'][name]['first']:.2f}" if r["ratio_to_safetensors"] else "",
                ]
            )
        parts.append(
            f"## Lazy: one tensor of a {r['file_bytes'] / 2**20:.0f} MiB file\n\n"
            f"64 float32 tensors; each contender opens the file in a fresh process and loads tensor 17 "
            "(`_rows`: rows 100-199 of it). The first call includes importing the library (torch for zanj, "
            "safetensors and torch; numpy only for h5py and npz) and zanj's plugin discovery; later calls repeat "
            f"open + load {r.get('rounds', 20)} times in the same process (the median is shown). Bytes read are counted by the kernel (`/proc/self/io`, page-cache "
            f"hits included) over one later call. `zanj ls` of the file takes {r['zanj_ls_s'] * 1000:.0f} ms "
            f"(a fresh process, median).{_limited(r)}\n\n{table(rows)}\n"
        )
    if "distributed" in results:
        parts.append(distributed_section(results["distributed"]))
    if "scaling" in results:
        parts.append(scaling_section(results["scaling"]))
    if "import" in results:
        r = results["import"]
        rows = [["module", "import time over a bare interpreter", "frameworks it imports"]]
        for name, row in r.items():
            if isinstance(row, dict) and "import_s" in row:
                rows.append([name, seconds(row["import_s"]), row["heavy_modules_imported"]])
        parts.append(
            f"## Import time\n\nA fresh interpreter per import, alternated; a bare interpreter takes "
            f"{seconds(r['bare_python_s'])}. Plugin entry points import their framework only when a handler "
            f"needs it.{_limited(r)}\n\n{table(rows)}\n"
        )
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md", help="the page to write")
    args = parser.parse_args()
    report = json.loads(args.results.read_text())
    results = report["results"]
    plots = args.out.parent / "bench"
    if "scaling" in results:
        plot_scaling(results["scaling"], plots)
    plot_state_dict(results, plots)
    args.out.write_text(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
