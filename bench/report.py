"""Render bench/results/latest.json as docs/benchmarks.md (run by `nox -s bench` after run.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

HEADER = """# Benchmarks

Produced by `python -m nox -s bench` (which runs `bench/run.py`, then this page's generator
`bench/report.py`) from `bench/results/latest.json`. Every contender runs in its own processes
(a save process, then a fresh read process, so peak memory is its own), contenders alternate
across passes, and each figure is a median. The machines are shared and noisy: read the ratios
between contenders of the same run, not the absolute times; rerun before trusting a gap under
about 15 %. Peak memory is resident memory above the baseline taken once the input exists, as a
fraction of the data size (reads allocate their result, so about 1.0 means one copy; `mmap`
reads map the file instead).

Machine: {machine}.
"""


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _child(title: str, result: dict[str, Any], floor: str, note: str) -> str:
    ratios = result[f"ratio_to_{floor}"]
    rows = [["contender", "save s", "read s", f"save / {floor}", f"read / {floor}", "read peak / data", "file MiB"]]
    for name, row in result["times"].items():
        rows.append(
            [
                name,
                f"{row['save']['median_s']:.3f}",
                f"{row['read']['median_s']:.4f}",
                f"{ratios[name]['save']:.2f}",
                f"{ratios[name]['read']:.3f}",
                f"{row['read']['peak_over_data']:.2f}",
                f"{row['file_bytes'] / 2**20:.1f}",
            ]
        )
    return f"## {title}\n\n{note}\n\n{_table(rows)}\n"


def render(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = [HEADER.format(machine=", ".join(f"{k} {v}" for k, v in report["machine"].items()))]
    if "import" in results:
        r = results["import"]
        parts.append(
            "## Import\n\n"
            f"`import zanj_core` costs {r['import_cost_s'] * 1000:.0f} ms over a bare interpreter "
            f"({r['import_zanj_core_s'] * 1000:.0f} ms vs {r['bare_python_s'] * 1000:.0f} ms, editable install); "
            f"heavy frameworks imported: {r['heavy_modules_imported']}.\n"
        )
    if "basic" in results:
        r = results["basic"]
        rows = [["", "save ms", "read ms", "file bytes"]]
        for name in ("zanj_core", "zanj_0.6"):
            if name in r:
                rows.append(
                    [
                        name,
                        f"{r[name]['save_s'] * 1000:.2f}",
                        f"{r[name]['read_s'] * 1000:.2f}",
                        str(r[name]["size_bytes"]),
                    ]
                )
        extra = ""
        if "speedup_save_vs_zanj06" in r:
            extra = (
                f"\n\nzanj-core saves {r['speedup_save_vs_zanj06']:.1f}x and reads {r['speedup_read_vs_zanj06']:.1f}x "
                f"faster than zanj 0.6; the file is {r['size_ratio_vs_zanj06']:.2f} of its size."
            )
        parts.append(f"## The README's `BasicZanj`\n\n{_table(rows)}{extra}\n")
    for key, title, floor, note in (
        (
            "arrays",
            "64 float32 arrays, 256 MiB",
            "raw",
            "`raw` writes and reads the same bytes with plain file calls: the floor.",
        ),
        (
            "tensors",
            "State dict: 64 float32 tensors, 256 MiB",
            "torch",
            "`torch` is `torch.save` / `torch.load(weights_only=True)`; `_mmap` rows read with `mmap=True`.",
        ),
        (
            "tensors_bf16",
            "State dict: 64 bfloat16 tensors, 256 MiB",
            "torch",
            "zanj 0.6 cannot save bfloat16, so it is absent.",
        ),
        (
            "frames",
            "DataFrame: 1,000,000 typed rows",
            "parquet",
            "Columns: int64, float64, str, datetime (naive and tz), categorical, nullable Int64. `parquet` is "
            "`df.to_parquet` / `pd.read_parquet`; `arrow_ipc` is `to_feather` uncompressed; zanj 0.6 saves only the "
            "int/float/str columns (it fails on datetimes). Save peak memory is not comparable here: building the "
            "frame peaks higher than saving it.",
        ),
    ):
        if key in results:
            parts.append(_child(title, results[key], floor, note))
    if "mmap_scaling" in results:
        r = results["mmap_scaling"]
        rows = [["file", "read(mmap=True) ms"]] + [
            [k.replace("_read_s", "").replace("_", " "), f"{v * 1000:.1f}"] for k, v in r.items()
        ]
        parts.append(f"## mmap as the file grows (64 arrays)\n\n{_table(rows)}\n")
    if "lazy" in results:
        r = results["lazy"]
        rows = [
            ["contender", "first call ms", "later calls ms", "bytes read (later)", "item bytes", "first / safetensors"]
        ]
        for name, row in r["times"].items():
            rows.append(
                [
                    name,
                    f"{row['first_s'] * 1000:.1f}",
                    f"{row['median_s'] * 1000:.2f}",
                    f"{row['bytes_read'] / 2**20:.2f} MiB",
                    f"{row['item_bytes'] / 2**20:.2f} MiB",
                    f"{r['ratio_to_safetensors'][name]['first']:.2f}",
                ]
            )
        parts.append(
            f"## Lazy: one item of a {r['file_bytes'] / 2**20:.0f} MiB file\n\n"
            "64 float32 arrays of 4 MiB; each contender opens the file in a fresh process and loads item 17 "
            "(`_rows`: rows 100-199 of it). The first call includes importing the library (and numpy) and "
            "zanj's plugin discovery; later calls repeat open + load in the same process. Bytes read are "
            "counted by the kernel (`/proc/self/io`, page-cache hits included) over one later call. "
            f"`zanj ls` of the file takes {r['zanj_ls_s'] * 1000:.0f} ms (a fresh process, median).\n\n"
            f"{_table(rows)}\n"
        )
    return "\n".join(parts)


def main() -> int:
    report = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    (ROOT / "docs" / "benchmarks.md").write_text(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
