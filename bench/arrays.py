"""Child process for the `arrays` scenario: one contender, one operation, timed and measured.

    python bench/arrays.py CONTENDER OP DIR --mib 256 --count 64 --rounds 5

Prints one JSON line: median seconds over the rounds and the peak resident memory above the
baseline taken once the input arrays exist. Run by bench/run.py, never imported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def make_arrays(mib: int, count: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    per = mib * (1 << 20) // count // 4
    side = int(per**0.5)
    return {f"layer{i:02d}.weight": rng.standard_normal((side, per // side), dtype=np.float32) for i in range(count)}


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


# -- contenders: save(arrays, dir) -> path; read(path) -> dict -----------------------------------


def raw_save(arrays: dict[str, Any], out: Path) -> Path:
    path = out / "raw.bin"
    with open(path, "wb") as fh:
        for array in arrays.values():
            fh.write(array.data)
    return path


def raw_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    result = {}
    with open(path, "rb", buffering=0) as fh:
        for name, spec in like.items():
            array = np.empty(spec.shape, spec.dtype)
            fh.readinto(array.data)
            result[name] = array
    return result


def zanj_save(arrays: dict[str, Any], out: Path) -> Path:
    from zanj_core import ZANJ

    return Path(ZANJ().save(arrays, out / "ours.zanj"))


def zanj_read(path: Path, like: dict[str, Any], mmap: bool = False) -> dict[str, Any]:
    from zanj_core import ZANJ

    result: dict[str, Any] = ZANJ().read(path, mmap=mmap)
    return result


def npz_save(arrays: dict[str, Any], out: Path) -> Path:
    path = out / "arrays.npz"
    np.savez(path, **arrays)
    return path


def npz_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def safetensors_save(arrays: dict[str, Any], out: Path) -> Path:
    from safetensors.numpy import save_file

    path = out / "arrays.safetensors"
    save_file(arrays, str(path))
    return path


def safetensors_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def zanj06_save(arrays: dict[str, Any], out: Path) -> Path:
    from zanj import ZANJ  # type: ignore[import-not-found]

    return Path(ZANJ().save(arrays, out / "zanj06.zanj"))


def zanj06_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    from zanj import ZANJ

    result: dict[str, Any] = ZANJ().read(path)
    return result


CONTENDERS = {
    "raw": (raw_save, raw_read),
    "zanj": (zanj_save, zanj_read),
    "zanj_mmap": (zanj_save, lambda p, like: zanj_read(p, like, mmap=True)),
    "npz": (npz_save, npz_read),
    "safetensors": (safetensors_save, safetensors_read),
    "zanj06": (zanj06_save, zanj06_read),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("op", choices=["save", "read"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    save, read = CONTENDERS[args.contender]
    args.dir.mkdir(parents=True, exist_ok=True)
    spec_path = args.dir / f"{args.contender}.spec.json"
    times = []
    if args.op == "save":
        arrays = make_arrays(args.mib, args.count)
        baseline = peak_rss()  # the arrays exist: what saving adds is on top
        for _ in range(args.rounds):
            start = time.perf_counter()
            path = save(arrays, args.dir)
            times.append(time.perf_counter() - start)
        extra = peak_rss() - baseline
        spec = {"path": str(path), "arrays": {k: [list(a.shape), a.dtype.str] for k, a in arrays.items()}}
        spec_path.write_text(json.dumps(spec))
    else:  # a fresh process: the peak is what reading allocates
        spec = json.loads(spec_path.read_text())
        path = Path(spec["path"])
        like = {
            k: np.lib.stride_tricks.as_strided(np.empty(1, dtype), tuple(shape), (0,) * len(shape))
            for k, (shape, dtype) in spec["arrays"].items()
        }
        baseline = peak_rss()
        for _ in range(args.rounds):
            start = time.perf_counter()
            loaded = read(path, like)
            times.append(time.perf_counter() - start)
            assert len(loaded) == len(like)
            del loaded
        extra = peak_rss() - baseline
    print(
        json.dumps(
            {
                "median_s": statistics.median(times),
                "peak_extra_bytes": extra,
                "file_bytes": os.path.getsize(path),
                "data_bytes": args.mib << 20,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
