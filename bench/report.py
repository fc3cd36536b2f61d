"""Render bench/results/latest.json as docs/benchmarks.md and its plots (docs/bench/*.png).

Run by `nox -s bench` after run.py. Every figure on the page comes from that JSON; the text
that says where zanj leads or trails is chosen by the numbers (the reasons next to each are the
mechanisms, which do not change between runs).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLOTS = ROOT / "docs" / "bench"

HEADER = """# Benchmarks

Produced by one command, `python -m nox -s bench` (it runs `bench/run.py`, then this page's
generator `bench/report.py`, from `bench/results/latest.json`). Every contender runs in its own
processes (a save process, then a fresh read process, so peak memory is its own), contenders
alternate in a shuffled order (a new seed each run) across passes, dirty pages are flushed
before each process, every save starts with no file at its path (the previous one is deleted
outside the timer), and each figure is a median. Reads come from a warm page cache. zanj 0.6 runs
in its own environment (`zanj==0.6.0` from PyPI) with one timed round per process where it takes
seconds. The machine is shared and noisy: read the ratios between contenders of the same run,
not the absolute times, and rerun before trusting a gap under about 15 %. Peak memory is
resident memory above the baseline taken once the input exists, as a fraction of the data size
(a read allocates its result, so about 1.0 means one copy; `mmap` reads map the file); it is a
high-water mark, so a save's peak is hidden when building the data peaked higher.
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

DISPLAY_NAMES = {"zanj_durable": "zanj (durable)"}
"""How contenders whose command-line name is not the clearest label appear on the page."""


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1000:.2f} ms" if value < 0.1 else f"{value:.3f} s"


def _time(result: dict[str, Any], name: str, op: str) -> float | None:
    """A contender's median time; for saves, pooled (geometric mean) with its `_mmap` row, which
    saves the very same file: two independent measurements of one operation."""
    times = result.get("times", {})
    if name not in times:
        return None
    value = float(times[name][op]["median_s"])
    twin = times.get(f"{name}_mmap")
    if op == "save" and twin is not None:
        value = (value * float(twin["save"]["median_s"])) ** 0.5
    return value


def _ratio(result: dict[str, Any], a: str, b: str, op: str) -> float | None:
    mine, theirs = _time(result, a, op), _time(result, b, op)
    return None if mine is None or theirs is None else mine / theirs


def _child(title: str, result: dict[str, Any], floor: str, note: str) -> str:
    ratios = result.get(f"ratio_to_{floor}") or {}
    missing = {"save": float("nan"), "read": float("nan")}
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
                _seconds(row["save"]["median_s"]),
                _seconds(row["read"]["median_s"]),
                f"{ratios.get(name, missing)['save']:.2f}",
                f"{ratios.get(name, missing)['read']:.3f}",
                f"{row['save']['peak_over_data']:.2f}",
                f"{row['read']['peak_over_data']:.2f}",
                f"{row['file_bytes'] / 2**20:.1f}",
            ]
        )
    failed = "".join(f"\n- `{name}`: {why}" for name, why in result.get("failures", {}).items())
    failed = f"\n\nCould not take part:{failed}" if failed else ""
    return f"## {title}\n\n{note}\n\n{_table(rows)}{failed}\n"


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
        "form); Arrow IPC is the nearest. Save peak memory is not comparable here: building the frame peaks higher "
        "than saving it. h5py does not store frames (pandas' HDF5 support needs PyTables).",
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
        "nested",
        "Nested config: dataclasses with a few arrays (latency)",
        "pickle",
        "A run configuration: an optimizer dataclass, four block dataclasses each holding a 64x64 float32 "
        "weight, tags and a 512x32 embedding (128 KiB of arrays); saved and read 50 times per process. Peak "
        "memory over 128 KiB of data mostly measures first-use imports, so read it as absolute bytes, not a ratio.",
    ),
)


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
        save = _ratio(result, "zanj", peer, "save")
        read = _ratio(result, "zanj", peer, "read")
        mapped = _ratio(result, "zanj_mmap", mmap_peer, "read") if mmap_peer else None
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
        "## Headline ratios\n\nzanj's median time over the peer's, in the same run: below 1.00 zanj is faster. "
        "A save time here pools the plain and `_mmap` rows of a contender (they save the same file: two "
        "measurements of one operation). "
        "The mmap column compares `read(mmap=True)` with the peer's own mapped read (`torch.load(mmap=True)`, "
        "safetensors' `load_file`, which maps the file, `pyarrow.feather.read_table(memory_map=True)`). Against "
        "safetensors on tensors, the plain read column sets zanj's copying read against that mapped read: use the "
        "mmap column there. Gaps under about 15 % are within this machine's noise.\n\n" + _table(rows) + "\n"
    )


def _reading(results: dict[str, Any]) -> str:
    """Where zanj leads and trails in this run, with the mechanism behind each."""
    lines = []

    def say(scenario: str, peer: str, op: str, lead: str, trail: str, mine: str = "zanj") -> None:
        ratio = _ratio(results.get(scenario, {}), mine, peer, op)
        if ratio is None:
            return
        verb = "leads" if ratio < 0.85 else "trails" if ratio > 1.15 else "ties"
        why = lead if ratio < 0.85 else trail if ratio > 1.15 else "Within this machine's noise (15 %)."
        what = f"{op} (mmap)" if mine.endswith("_mmap") else op
        lines.append(f"- **{scenario}, {what} vs {peer}: zanj {verb} ({ratio:.2f}x).** {why}")

    say(
        "tensors",
        "torch",
        "save",
        "zanj streams each tensor's memory straight into an aligned zip member and computes the CRC in a helper "
        "thread alongside the write; torch.save also writes a zip, but checksums and copies through its own writer.",
        "Both write a zip of raw tensor bytes; the gap is the CRC and copy work per byte.",
    )
    say(
        "tensors",
        "torch",
        "read",
        "zanj reads each member once, straight into a fresh 2 MiB-aligned buffer advised for huge pages (one copy, no "
        "unpickler); torch.load's storages fault their memory in 4 KiB pages.",
        "torch.load reads storages through its zip reader in one pass; zanj pays per member for header parsing.",
    )
    say(
        "tensors",
        "safetensors",
        "save",
        "safetensors builds one header and writes each tensor, as zanj does; zanj overlaps the CRC with the write.",
        "safetensors writes no checksum at all; zanj computes a CRC-32 of every byte (at ~8 GB/s with isal).",
    )
    say(
        "tensors",
        "safetensors",
        "read",
        "Both map the file and build tensors over the mapping without touching it; zanj reads each member's local "
        "and .npy headers in one small read.",
        "safetensors' load_file maps the file too, and parses one JSON header; zanj parses its JSON tree and "
        "metadata, validates the zip directory, reads each member's local and .npy headers (one small read each) "
        "and wraps each tensor over a copy-on-write mapping (torch has no read-only tensors). zanj's default read, "
        "which copies every byte into owned tensors, is not comparable with a mapped read: see the tables.",
        mine="zanj_mmap",
    )
    say(
        "tensors",
        "torch_mmap",
        "read",
        "torch.load(mmap=True) still runs its unpickler over the file's records; zanj maps each member from a "
        "directory it has already validated.",
        "",
        mine="zanj_mmap",
    )
    say(
        "tensors_many",
        "torch",
        "save",
        "zanj writes each small member in one piece with its finished header (no seek back to patch it) through "
        "a 1 MiB buffer, with the garbage collector paused for the walk; torch.save pickles a record per storage.",
        "Both write one zip record per tensor; zanj also builds a JSON node per tensor (the readable tree), a "
        "member name from the object path, an .npy header, and dispatches each tensor through its handler table, "
        "all in Python, where torch.save's per-record work is in C++.",
    )
    say(
        "tensors_many",
        "safetensors",
        "read",
        "zanj reads each member in two system calls (its headers, then its data), with the garbage collector "
        "paused for the walk.",
        "safetensors parses one JSON header and slices one mapping; zanj parses the JSON tree, validates 10,000 zip "
        "directory entries and each .npy header before reading.",
    )
    say(
        "tensors_bf16",
        "torch",
        "read",
        "bfloat16 members are read as 16-bit integers straight into a fresh 2 MiB-aligned buffer advised for huge pages, then "
        "reinterpreted without a copy; torch.load's storages fault their memory in 4 KiB pages.",
        "bfloat16 members are read as 16-bit integers into a fresh buffer, then reinterpreted without a copy; most "
        "of either read is faulting in fresh memory.",
    )
    say(
        "tensors_many",
        "torch",
        "read",
        "zanj reads each member's headers in one small read and its data in another, with the garbage collector "
        "paused for the walk; torch.load runs its unpickler and restores 10,000 storages one by one.",
        "",
    )
    say(
        "arrays",
        "safetensors",
        "read",
        "With numpy, safetensors' load_file copies too; zanj reads each array straight into its destination.",
        "",
    )
    say(
        "arrays",
        "npz",
        "save",
        "np.savez builds a zip through zipfile, one CRC and one copy at a time; zanj overlaps the CRC with the write.",
        "",
    )
    say(
        "frames",
        "parquet",
        "save",
        "zanj writes the frame as uncompressed Arrow IPC: no encoding or compression pass.",
        "Parquet encodes and compresses; zanj writes uncompressed Arrow (bigger, faster to read, mappable).",
    )
    say(
        "frames",
        "parquet",
        "read",
        "Arrow IPC needs no decoding: columns are read (or mapped) as they lie.",
        "Parquet decompresses in parallel on several threads; zanj's Arrow read is single-stream.",
    )
    say(
        "frames",
        "arrow_ipc",
        "save",
        "zanj writes the same uncompressed Arrow IPC as `to_feather`, streamed into its member.",
        "zanj writes the same uncompressed Arrow IPC as `to_feather`, inside a zip member with a CRC of every "
        "byte, plus a JSON node recording what pandas needs back exactly (index, labels, dtypes).",
    )
    say(
        "frames",
        "arrow_ipc",
        "read",
        "Both read uncompressed Arrow IPC; zanj reads its member in one call.",
        "Both read uncompressed Arrow IPC; zanj also restores the index, labels and dtypes its JSON node "
        "records, and validates the archive first.",
    )
    for op in ("save", "read"):
        say(
            "nested",
            "pickle",
            op,
            "",
            "pickle writes (and reads) one stream of opcodes; zanj writes a zip with JSON a person can read, a "
            "metadata member and one member per array, dispatches every field through its handlers, and on reading "
            "validates the archive and resolves each dataclass among the classes the program defined.",
        )
    durable = _ratio(results.get("tensors", {}), "zanj_durable", "zanj", "save")
    if durable is not None:
        lines.append(
            f"- **tensors, save with the default `durable=True`: {durable:.2f}x the `durable=False` save.** "
            "The two fsyncs (the file before the rename, its folder after) wait for the data to reach the disk; "
            "every peer here returns once it is in the page cache."
        )
    basic = results.get("basic", {})
    if "pickle" in basic and "zanj_core" in basic:
        lines.append(
            f"- **README BasicZanj vs pickle: zanj trails ({basic['zanj_core']['save_s'] / basic['pickle']['save_s']:.1f}x "
            f"save, {basic['zanj_core']['read_s'] / basic['pickle']['read_s']:.1f}x read).** For an object this small "
            "the zip container, the metadata member and the handler dispatch are the whole cost; pickle writes 77 bytes. "
            "Both stay well under a millisecond."
        )
    lazy = results.get("lazy", {}).get("times", {})
    if "zanj_mmap" in lazy and "safetensors" in lazy:
        lines.append(
            f"- **lazy, one tensor of 1 GiB: zanj trails safetensors on repeated opens "
            f"({lazy['zanj_mmap']['median_s'] / lazy['safetensors']['median_s']:.1f}x with mmap).** Each open "
            "parses the zip directory, the JSON tree and the metadata, and checks the tensor's .npy header; "
            "safetensors reads one JSON header. The first call, which includes importing torch, is within "
            f"{abs(lazy['zanj']['first_s'] / lazy['safetensors']['first_s'] - 1) * 100:.0f} % of safetensors'."
        )
    imports = results.get("import", {})
    if "zanj_core" in imports and "numpy" in imports:
        core, discovery = imports["zanj_core"]["import_s"], imports["zanj_core + plugin discovery"]["import_s"]
        lines.append(
            f"- **import: `import zanj_core` costs {core * 1000:.0f} ms, {discovery * 1000:.0f} ms with plugin "
            f"discovery** (numpy alone: {imports['numpy']['import_s'] * 1000:.0f} ms). Discovery reads every "
            "installed distribution's entry points once per process; no framework is imported until a handler needs it."
        )
    if not lines:
        return ""
    return "## Where zanj leads and trails\n\n" + "\n".join(lines) + "\n"


def _scaling(result: dict[str, Any]) -> str:
    sizes = sorted((key for key in result if key.isdigit()), key=int)
    contenders = list(dict.fromkeys(name for mib in sizes for name in result[mib]["times"]))
    rows = [["contender"] + [f"{mib} MiB save / read" for mib in sizes]]
    for name in contenders:
        cells = [name]
        for mib in sizes:
            times = result[mib]["times"].get(name)
            cells.append(
                f"{_seconds(times['save']['median_s'])} / {_seconds(times['read']['median_s'])}" if times else ""
            )
        rows.append(cells)
    growth = []
    span = math.log(int(sizes[-1]) / int(sizes[0]))
    for name in ("zanj", "zanj_mmap", "safetensors", "torch", "torch_mmap", "raw"):
        first, last = result[sizes[0]]["times"].get(name), result[sizes[-1]]["times"].get(name)
        if first and last:
            slopes = [math.log(last[op]["median_s"] / first[op]["median_s"]) / span for op in ("save", "read")]
            growth.append(f"`{name}` save {slopes[0]:.2f}, read {slopes[1]:.2f}")
    return (
        f"## Scaling: {sizes[0]} MiB to {sizes[-1]} MiB\n\n"
        "A state dict of 64 float32 tensors at each size. A slope of 1 on the log-log plots means time "
        "proportional to size; mapped reads touch only headers and stay flat (slope near 0). Slopes from "
        f"{sizes[0]} to {sizes[-1]} MiB: " + "; ".join(growth) + ". Slopes under 1 for copying reads come from "
        "fixed per-call costs that matter at the small end; the page cache is warm throughout.\n\n"
        "![save time against size](bench/scaling_save.png)\n![read time against size](bench/scaling_read.png)\n\n"
        + _table(rows)
        + "\n"
    )


def plot_scaling(result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(parents=True, exist_ok=True)
    sizes = sorted((key for key in result if key.isdigit()), key=int)
    contenders = list(dict.fromkeys(name for mib in sizes for name in result[mib]["times"]))
    for op in ("save", "read"):
        figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=110)
        for name in contenders:
            if op == "save" and name.endswith("_mmap"):
                continue  # saves the same file as its non-mmap row
            points = [(int(m), result[m]["times"][name][op]["median_s"]) for m in sizes if name in result[m]["times"]]
            style = "-o" if name.startswith("zanj") else "--."
            axes.plot(
                [p[0] for p in points], [p[1] for p in points], style, label=name, linewidth=2 if "zanj" in name else 1
            )
        axes.set_xscale("log", base=2)
        axes.set_xticks([int(m) for m in sizes], [f"{m} MiB" for m in sizes])
        axes.set_yscale("log")
        axes.set_xlabel("state dict size (MiB)")
        axes.set_ylabel(f"{op} time (s, median)")
        axes.set_title(f"{op}: 64 float32 tensors")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(PLOTS / f"scaling_{op}.png")
        plt.close(figure)


def plot_state_dict(results: dict[str, Any]) -> None:
    """Bar chart of the 256 MiB state dict: save and read time over raw, per contender."""
    result = results.get("tensors")
    if not result:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = result["ratio_to_raw"]
    names = [n for n in ratios if n != "raw"]
    figure, axes = plt.subplots(figsize=(7.2, 4.0), dpi=110)
    width = 0.4
    positions = range(len(names))
    axes.bar([p - width / 2 for p in positions], [ratios[n]["save"] for n in names], width, label="save / raw")
    axes.bar([p + width / 2 for p in positions], [ratios[n]["read"] for n in names], width, label="read / raw")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(list(positions), [DISPLAY_NAMES.get(n, n) for n in names], rotation=30, ha="right")
    axes.set_ylabel("time over the raw baseline (log)")
    axes.set_title(f"{result['size']} MiB float32 state dict: time over the raw baseline")
    axes.legend()
    figure.tight_layout()
    PLOTS.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOTS / "state_dict.png")
    plt.close(figure)


def _distributed(result: dict[str, Any]) -> str:
    """torch.distributed.checkpoint backends (bench/distributed.py): times and ratios to FileSystemWriter."""
    rows = [["backend", "save", "load (2 ranks)", "resharded load (1 process)", "checkpoint", "ratios to filesystem"]]
    for name, row in result["times"].items():
        ratio = result.get("ratio_to_filesystem", {}).get(name, {})
        shown = " / ".join(f"{ratio[op]:.2f}" for op in ("save_s", "load_s", "resharded_load_s") if op in ratio)
        rows.append(
            [
                name,
                _seconds(row["save_s"]),
                _seconds(row["load_s"]),
                _seconds(row["resharded_load_s"]),
                f"{row['checkpoint_bytes'] / 2**20:.1f} MiB",
                shown,
            ]
        )
    return (
        f"## Sharded checkpoints: torch.distributed.checkpoint, {result['ranks']} ranks, {result['mib']} MiB\n\n"
        "An FSDP2 model and its Adam state after one step, saved by 2 gloo ranks on the CPU with `dcp.save`, "
        "loaded back by 2 ranks with `dcp.load`, and loaded whole by one process without a group (2 -> 1). "
        "`zanj` is `ZanjStorageWriter` / `ZanjStorageReader`, `filesystem` is `FileSystemWriter` / "
        "`FileSystemReader`, both with their defaults (each fsyncs); `_nosync` rows turn that off "
        "(`durable=False`, `sync_files=False`) and are compared with each other. `huggingface` "
        "(`HuggingFaceStorageWriter(save_distributed=True)`) saves the tensors only: safetensors cannot hold the "
        "optimizer's param_groups. Ratios are save / load / resharded load over the filesystem row of the same "
        f"run (below 1.00: zanj is faster).\n\n{_table(rows)}\n"
    )


def render(report: dict[str, Any]) -> str:
    results = report["results"]
    machine = dict(report["machine"])
    versions = machine.pop("versions", {})
    described = ", ".join(f"{k} {v}" for k, v in machine.items())
    if versions:
        described += "; versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())
    parts = [HEADER.format(machine=described)]
    parts.append(_headline(results))
    reading = _reading(results)
    if reading:
        parts.append(reading)
    if "tensors" in results:
        parts.append(f"![{results['tensors']['size']} MiB state dict](bench/state_dict.png)\n")
    for key, title, floor, note in CHILD_SCENARIOS:
        if key in results:
            parts.append(_child(title.format(size=results[key]["size"]), results[key], floor, note))
    if "basic" in results:
        r = results["basic"]
        rows = [["", "save", "read", "file bytes"]]
        for name in ("zanj_core", "zanj_0.6", "pickle"):
            if name in r:
                rows.append(
                    [name, _seconds(r[name]["save_s"]), _seconds(r[name]["read_s"]), str(r[name]["size_bytes"])]
                )
        extra = ""
        if "speedup_save_vs_zanj06" in r:
            extra = (
                f"\n\nzanj-core saves {r['speedup_save_vs_zanj06']:.1f}x and reads {r['speedup_read_vs_zanj06']:.1f}x "
                f"faster than zanj 0.6; the file is {r['size_ratio_vs_zanj06']:.2f} of its size."
            )
        parts.append(
            "## Latency: the README's `BasicZanj`\n\nSaved and read in a loop in one process (after one warm-up "
            f"call: imports and plugin discovery are not counted).\n\n{_table(rows)}{extra}\n"
        )
    if "lazy" in results:
        r = results["lazy"]
        rows = [["contender", "first call", "later calls", "bytes read (later)", "item MiB", "first / safetensors"]]
        for name, row in r["times"].items():
            rows.append(
                [
                    name,
                    _seconds(row["first_s"]),
                    _seconds(row["median_s"]),
                    f"{row['bytes_read'] / 2**20:.2f} MiB",
                    f"{row['item_bytes'] / 2**20:.2f}",
                    f"{r['ratio_to_safetensors'][name]['first']:.2f}",
                ]
            )
        parts.append(
            f"## Lazy: one tensor of a {r['file_bytes'] / 2**30:.2f} GiB file\n\n"
            "64 float32 tensors; each contender opens the file in a fresh process and loads tensor 17 "
            "(`_rows`: rows 100-199 of it). The first call includes importing the library (torch for zanj, "
            "safetensors and torch; numpy only for h5py and npz) and zanj's plugin discovery; later calls repeat "
            "open + load in the same process. Bytes read are counted by the kernel (`/proc/self/io`, page-cache "
            f"hits included) over one later call. `zanj ls` of the file takes {r['zanj_ls_s'] * 1000:.0f} ms "
            f"(a fresh process, median).\n\n{_table(rows)}\n"
        )
    if "distributed" in results:
        parts.append(_distributed(results["distributed"]))
    if "scaling" in results:
        parts.append(_scaling(results["scaling"]))
    if "import" in results:
        r = results["import"]
        rows = [["module", "import time over a bare interpreter", "frameworks it imports"]]
        for name, row in r.items():
            if isinstance(row, dict) and "import_s" in row:
                rows.append([name, _seconds(row["import_s"]), row["heavy_modules_imported"]])
        parts.append(
            f"## Import time\n\nA fresh interpreter per import, alternated; a bare interpreter takes "
            f"{_seconds(r['bare_python_s'])}. Plugin entry points import their framework only when a handler "
            f"needs it.\n\n{_table(rows)}\n"
        )
    return "\n".join(parts)


def main() -> int:
    report = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    results = report["results"]
    if "scaling" in results:
        plot_scaling(results["scaling"])
    plot_state_dict(results)
    (ROOT / "docs" / "benchmarks.md").write_text(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
