"""Render bench/results/latest.json as docs/benchmarks.md and its plots (docs/bench/*.png).

Run by `nox -s bench` after run.py. Every figure on the page comes from that JSON; the text
that says where zanj leads or trails is chosen by the numbers (the reasons next to each are the
mechanisms, which do not change between runs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLOTS = ROOT / "docs" / "bench"

HEADER = """# Benchmarks

Produced by one command, `python -m nox -s bench` (it runs `bench/run.py`, then this page's
generator `bench/report.py`, from `bench/results/latest.json`). Every contender runs in its own
processes (a save process, then a fresh read process, so peak memory is its own), contenders
alternate in a shuffled order across passes, dirty pages are flushed before each process, and
each figure is a median. zanj 0.6 runs in its own environment (`zanj==0.6.0` from PyPI), one
round per process. The machine is shared and noisy: read the ratios between contenders of the
same run, not the absolute times, and rerun before trusting a gap under about 15 %. Peak memory
is resident memory above the baseline taken once the input exists, as a fraction of the data
size (a read allocates its result, so about 1.0 means one copy; `mmap` reads map the file).
`raw` writes and reads the same bytes with plain file calls (one call per tensor, into freshly
allocated arrays): a simple baseline rather than a strict floor, since a reader that maps the
file, or whose allocator hands back memory already faulted in, can beat it.

Machine: {machine}.
"""


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
    ratios = result[f"ratio_to_{floor}"]
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
                f"**{name}**" if name.startswith("zanj") and name != "zanj06" else name,
                _seconds(row["save"]["median_s"]),
                _seconds(row["read"]["median_s"]),
                f"{ratios[name]['save']:.2f}",
                f"{ratios[name]['read']:.3f}",
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
        "`df.to_parquet` / `pd.read_parquet`; `arrow_ipc` is `to_feather` uncompressed; zanj 0.6 saves only the "
        "int/float/str columns (it fails on datetimes). A frame has no raw floor (its strings have no plain byte "
        "form); Arrow IPC is the nearest. Save peak memory is not comparable here: building the frame peaks higher "
        "than saving it. h5py does not store frames (pandas' HDF5 support needs PyTables).",
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
        ("frames", "parquet", "parquet"),
        ("frames", "arrow_ipc", "arrow_ipc"),
        ("frames", "zanj06", None),
        ("nested", "pickle", None),
        ("nested", "zanj06", None),
    )
    for scenario, peer, mmap_peer in pairs:
        result = results.get(scenario)
        if not result or peer not in result.get("times", {}):
            if result and peer in result.get("failures", {}):
                rows.append([scenario, peer, f"{peer} fails", "", ""])
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
        "The mmap column compares `read(mmap=True)` with the peer's own lazy or mapped read (`torch.load(mmap=True)`, "
        "safetensors' `load_file`, which maps the file too).\n\n" + _table(rows) + "\n"
    )


def _reading(results: dict[str, Any]) -> str:
    """Where zanj leads and trails in this run, with the mechanism behind each."""
    lines = []

    def say(scenario: str, peer: str, op: str, lead: str, trail: str, mine: str = "zanj") -> None:
        ratio = _ratio(results.get(scenario, {}), mine, peer, op)
        if ratio is None:
            return
        verb = "leads" if ratio < 0.95 else "trails" if ratio > 1.05 else "ties"
        why = lead if ratio < 0.95 else trail if ratio > 1.05 else lead
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
        "zanj reads each member once, straight into a freshly allocated tensor (one copy, no unpickler).",
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
        "Both map the file and build tensors over the mapping; zanj reads its JSON tree and each .npy header from "
        "the map without copying.",
        "safetensors' load_file maps the file too, and parses one JSON header; zanj parses its JSON tree and "
        "metadata, validates the zip directory and each .npy header, and wraps each tensor over a copy-on-write "
        "mapping (torch has no read-only tensors). zanj's default read, which copies every byte into owned "
        "tensors, is not comparable with a mapped read: see the tables.",
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
        "Per-member work is small: fixed-date headers, no zip64 records for small members.",
        "Each of the 10,000 members costs a JSON node, a member name, a local header, a central directory entry "
        "and a dispatch through the handler table; torch.save pickles one dict and writes one record per storage.",
    )
    say(
        "tensors_many",
        "safetensors",
        "read",
        "zanj reads small members through a window of the file rather than one system call each.",
        "safetensors parses one JSON header and slices one mapping; zanj parses the JSON tree, validates 10,000 zip "
        "directory entries and each .npy header before reading.",
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
    say(
        "nested",
        "pickle",
        "save",
        "",
        "pickle writes one stream of opcodes; zanj writes a zip with JSON a person can read, a metadata member and "
        "one member per array, and dispatches every field through its handlers.",
    )
    if not lines:
        return ""
    return "## Where zanj leads and trails\n\n" + "\n".join(lines) + "\n"


def _scaling(result: dict[str, Any]) -> str:
    sizes = sorted(result, key=int)
    contenders = list(result[sizes[0]]["times"])
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
    for name in ("zanj", "zanj_mmap", "safetensors", "torch", "torch_mmap", "raw"):
        first, last = result[sizes[0]]["times"].get(name), result[sizes[-1]]["times"].get(name)
        if first and last:
            growth.append(
                f"`{name}` read {last['read']['median_s'] / first['read']['median_s']:.1f}x, "
                f"save {last['save']['median_s'] / first['save']['median_s']:.1f}x"
            )
    return (
        f"## Scaling: {sizes[0]} MiB to {sizes[-1]} MiB\n\n"
        "A state dict of 64 float32 tensors at each size. Time grows linearly with size for reads that copy "
        "(slope 1 on the log-log plot) and stays nearly flat for mapped reads, which touch only headers. "
        f"From {sizes[0]} to {sizes[-1]} MiB ({int(sizes[-1]) // int(sizes[0])}x the data): "
        + "; ".join(growth)
        + ".\n\n"
        "![save time against size](bench/scaling_save.png)\n![read time against size](bench/scaling_read.png)\n\n"
        + _table(rows)
        + "\n"
    )


def plot_scaling(result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(parents=True, exist_ok=True)
    sizes = sorted(result, key=int)
    contenders = list(result[sizes[0]]["times"])
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
    axes.set_xticks(list(positions), names, rotation=30, ha="right")
    axes.set_ylabel("time over the raw baseline (log)")
    axes.set_title(f"{result['size']} MiB float32 state dict: time over the raw baseline")
    axes.legend()
    figure.tight_layout()
    PLOTS.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOTS / "state_dict.png")
    plt.close(figure)


def render(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = [HEADER.format(machine=", ".join(f"{k} {v}" for k, v in report["machine"].items()))]
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
    if "scaling" in results:
        parts.append(_scaling(results["scaling"]))
    if "import" in results:
        r = results["import"]
        rows = [["module", "import time over a bare interpreter", "frameworks it imports"]]
        for name, row in r.items():
            if isinstance(row, dict):
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
