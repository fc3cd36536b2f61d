"""Child process for the `lazy` scenario: open a 256 MiB file and load one 4 MiB tensor.

    python bench/lazy.py make DIR [--mib 256]
    python bench/lazy.py CONTENDER DIR --rounds N

`make` writes the same 64 float32 tensors (4 MiB each at 256 MiB) as a .zanj, a .safetensors,
a torch.save .pt, an HDF5 (h5py, as numpy arrays) and an .npz file. A contender run opens its
file and loads item 17, `rounds` times; it prints
the first call's time (a fresh process: imports and plugin discovery included), the median
of the later calls, and the bytes the process read through system calls (from /proc/self/io,
so reads served from the page cache count too): for the first call (module files included)
and the median of the later ones (the data file alone). Run by bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COUNT = 64
ITEM = 17


def bytes_read() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))


def make(out: Path, mib: int) -> None:
    import h5py
    import numpy as np
    import torch
    from safetensors.torch import save_file

    from zanj_core import ZANJ

    generator = torch.Generator().manual_seed(0)
    per = mib * (1 << 20) // COUNT // 4
    side = int(per**0.5)
    tensors = [torch.randn((side, per // side), generator=generator) for _ in range(COUNT)]
    named = {f"layers.{i}.w": t for i, t in enumerate(tensors)}
    ZANJ().save({"layers": [{"w": t} for t in tensors]}, out / "lazy.zanj")
    save_file(named, str(out / "lazy.safetensors"))
    torch.save(named, out / "lazy.pt")
    with h5py.File(out / "lazy.h5", "w") as fh:
        for name, t in named.items():
            fh.create_dataset(name, data=t.numpy())
    np.savez(out / "lazy.npz", **{name: t.numpy() for name, t in named.items()})


def zanj_item(out: Path) -> Any:
    from zanj_core import ZANJ

    with ZANJ().open(out / "lazy.zanj") as f:
        return f[f"layers/{ITEM}/w"]


def zanj_item_mmap(out: Path) -> Any:
    from zanj_core import ZANJ

    with ZANJ().open(out / "lazy.zanj", mmap=True) as f:
        return f[f"layers/{ITEM}/w"]


def zanj_rows(out: Path) -> Any:
    from zanj_core import ZANJ

    with ZANJ().open(out / "lazy.zanj") as f:
        return f.slice(f"layers/{ITEM}/w")[100:200]


def safetensors_item(out: Path) -> Any:
    from safetensors import safe_open

    with safe_open(str(out / "lazy.safetensors"), framework="pt") as f:
        return f.get_tensor(f"layers.{ITEM}.w")


def safetensors_rows(out: Path) -> Any:
    from safetensors import safe_open

    with safe_open(str(out / "lazy.safetensors"), framework="pt") as f:
        return f.get_slice(f"layers.{ITEM}.w")[100:200]


def torch_mmap_item(out: Path) -> Any:
    import torch

    return torch.load(out / "lazy.pt", mmap=True, weights_only=True)[f"layers.{ITEM}.w"]


def h5py_item(out: Path) -> Any:
    import h5py

    with h5py.File(out / "lazy.h5", "r") as fh:
        return fh[f"layers.{ITEM}.w"][()]


def npz_item(out: Path) -> Any:
    import numpy as np

    with np.load(out / "lazy.npz") as data:
        return data[f"layers.{ITEM}.w"]


CONTENDERS: dict[str, Callable[[Path], Any]] = {
    "zanj": zanj_item,
    "zanj_mmap": zanj_item_mmap,
    "zanj_rows": zanj_rows,
    "safetensors": safetensors_item,
    "safetensors_rows": safetensors_rows,
    "torch_mmap": torch_mmap_item,
    "h5py": h5py_item,
    "npz": npz_item,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["make", *CONTENDERS])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    if args.what == "make":
        make(args.dir, args.mib)
        print(json.dumps({"file_bytes": (args.dir / "lazy.zanj").stat().st_size}))
        return 0
    load = CONTENDERS[args.what]
    before = bytes_read()
    start = time.perf_counter()
    value = load(args.dir)
    first = time.perf_counter() - start
    first_bytes = bytes_read() - before
    item_bytes = int(value.nbytes) if hasattr(value, "nbytes") else value.numel() * value.element_size()
    later, later_bytes = [], []
    for _ in range(args.rounds):
        before = bytes_read()
        start = time.perf_counter()
        load(args.dir)
        later.append(time.perf_counter() - start)
        later_bytes.append(bytes_read() - before)
    print(
        json.dumps(
            {
                "first_s": first,
                "median_s": statistics.median(later),
                "first_bytes_read": first_bytes,
                "bytes_read": statistics.median(later_bytes),
                "item_bytes": item_bytes,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
