"""The child-process side of a benchmark scenario: one contender, one operation, measured.

    python bench/<scenario>.py CONTENDER OP DIR --rounds N [--size S]

`save` builds the data, times `rounds` saves and records what it wrote; `read` runs in a fresh
process (so its peak memory is its own) and times `rounds` reads. Prints one JSON line: the
median seconds and the peak resident memory above the baseline taken before the timed work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Save = Callable[[Any, Path], Path]
Read = Callable[[Path, dict[str, Any]], Any]


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run(
    contenders: dict[str, tuple[Save, Read]],
    make_data: Callable[..., Any],
    describe: Callable[[Any], dict[str, Any]],
    data_bytes: Callable[[int], int],
    default_size: int,
    variants: tuple[str, ...] = ("default",),
) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=sorted(contenders))
    parser.add_argument("op", choices=["save", "read"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--size", type=int, default=default_size)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", choices=variants, default=variants[0])
    args = parser.parse_args()
    save, read = contenders[args.contender]
    args.dir.mkdir(parents=True, exist_ok=True)
    spec_path = args.dir / f"{args.contender}.{args.variant}.spec.json"
    times = []
    if args.op == "save":
        data = make_data(args.size) if len(variants) == 1 else make_data(args.size, args.variant)
        if spec_path.exists():  # a file from an earlier pass: every save starts with no file there
            Path(json.loads(spec_path.read_text())["path"]).unlink(missing_ok=True)
        baseline = peak_rss()  # the data exists: what saving adds is on top
        for round_number in range(args.rounds):
            start = time.perf_counter()
            path = save(data, args.dir)
            times.append(time.perf_counter() - start)
            if round_number < args.rounds - 1:
                # outside the timer: no contender pays (or, renaming over it, dodges) freeing the old file
                path.unlink()
        extra = peak_rss() - baseline
        spec_path.write_text(json.dumps({"path": str(path), "describe": describe(data)}))
    else:
        spec = json.loads(spec_path.read_text())
        path = Path(spec["path"])
        baseline = peak_rss()
        for _ in range(args.rounds):
            start = time.perf_counter()
            loaded = read(path, spec["describe"])
            times.append(time.perf_counter() - start)
            del loaded
        extra = peak_rss() - baseline
    print(
        json.dumps(
            {
                "median_s": statistics.median(times),
                "peak_extra_bytes": extra,
                "file_bytes": os.path.getsize(path),
                "data_bytes": data_bytes(args.size),
            }
        )
    )
    return 0
