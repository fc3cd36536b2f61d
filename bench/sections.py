"""Page sections for the scenarios whose results have a shape of their own: the scaling sweep
and torch.distributed.checkpoint's backends."""

from __future__ import annotations

import math
from typing import Any

from figures import seconds, table


def scaling_section(result: dict[str, Any]) -> str:
    sizes = sorted((key for key in result if key.isdigit()), key=int)
    contenders = list(dict.fromkeys(name for mib in sizes for name in result[mib]["times"]))
    rows = [["contender"] + [f"{mib} MiB save / read" for mib in sizes]]
    for name in contenders:
        cells = [name]
        for mib in sizes:
            times = result[mib]["times"].get(name)
            cells.append(
                f"{seconds(times['save']['median_s'])} / {seconds(times['read']['median_s'])}" if times else ""
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
        + table(rows)
        + "\n"
    )


def distributed_section(result: dict[str, Any]) -> str:
    """torch.distributed.checkpoint backends (bench/distributed.py): times and ratios to FileSystemWriter."""
    rows = [["backend", "save", "load (2 ranks)", "resharded load (1 process)", "checkpoint", "ratios to filesystem"]]
    for name, row in result["times"].items():
        ratio = result.get("ratio_to_filesystem", {}).get(name, {})
        shown = " / ".join(f"{ratio[op]:.2f}" for op in ("save_s", "load_s", "resharded_load_s") if op in ratio)
        rows.append(
            [
                name,
                seconds(row["save_s"]),
                seconds(row["load_s"]),
                seconds(row["resharded_load_s"]),
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
        f"run (below 1.00: zanj is faster).\n\n{table(rows)}\n"
    )
