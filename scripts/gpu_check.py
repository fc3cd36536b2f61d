"""Round-trip tensors that live on an accelerator: the check to run when a GPU is available.

    python scripts/gpu_check.py            # uses cuda:0 (exits 2 if there is none)
    python scripts/gpu_check.py --device cpu   # the same checks on the CPU

Saves CUDA tensors of several dtypes (bfloat16 and float8 included), tied weights and a view,
reads them back onto the device with map_location, and onto the CPU, comparing bits and checking
that shared storage is shared again. Prints one line per check; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from zanj_core import ZANJ


def bits(tensor: torch.Tensor) -> torch.Tensor:
    fresh = torch.empty_like(tensor.detach(), memory_format=torch.contiguous_format).copy_(tensor.detach())
    return fresh.cpu().reshape(-1).view(torch.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda:0")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device available", file=sys.stderr)
        return 2
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(512, 256, generator=generator).to(device)
    tensors = {
        name: torch.randn(300, 40, generator=generator).to(getattr(torch, name)).to(device)
        for name in ("float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")
        if hasattr(torch, name)
    }
    obj = {"tensors": tensors, "embed": weight, "head": weight, "rows": weight[10:20], "step": 7}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = ZANJ().save(obj, Path(tmp) / "gpu")
        for where in (str(device), "cpu"):
            back = ZANJ().read(path, map_location=where)
            for name, tensor in tensors.items():
                got = back["tensors"][name]
                ok = (
                    got.device.type == torch.device(where).type
                    and got.dtype == tensor.dtype
                    and torch.equal(bits(got), bits(tensor))
                )
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {name} -> {where}")
            tied = back["embed"].untyped_storage().data_ptr() == back["head"].untyped_storage().data_ptr()
            view = back["rows"].untyped_storage().data_ptr() == back["embed"].untyped_storage().data_ptr()
            same = torch.equal(bits(back["rows"]), bits(weight[10:20]))
            for label, ok in (("tied weights shared", tied), ("view shares storage", view), ("view values", same)):
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {label} -> {where}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
