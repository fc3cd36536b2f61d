"""The child-process side of a benchmark scenario: one contender, one operation, measured.

    python bench/<scenario>.py CONTENDER OP DIR --rounds N [--size S] [--variant V]

`save` builds the data, times `rounds` saves and records what it wrote; `read` runs in a fresh
process (so its peak memory is its own) and times `rounds` reads, checking the first result
against what was saved (outside the timer). Prints one JSON line: the median seconds, the
peak resident memory above the baseline taken just before the timed work, and the median minor
page faults of a timed round ("minor_faults", the kernel's count around the timed call alone).
Faults are part of the time: memory fresh from the kernel costs a fault per page on first touch
(and the allocator may hand freed memory back between rounds), so a read that copies into new
buffers takes one per page of its result, while one that maps the file and leaves the data
untouched takes few.

Where a scenario asks for it (`warm_size`), the contender first saves and reads a small copy of
the data, so imports, plugin discovery and allocator set-up are neither timed nor counted in the
peak: a one-round process then measures the operation alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Save = Callable[[Any, Path], Path]
Read = Callable[[Path, dict[str, Any]], Any]
Verify = Callable[[Any, Any], None]
Phases = Callable[[str, str, Any, Path], dict[str, float]]
"""`phases(contender, op, data_or_description, path)`: seconds by part of the operation, measured
after the timed rounds (outside them), for a scenario whose goal report explains where the time
goes; {} for contenders it does not break down."""


def peak_rss() -> int:
    """The process's resident high-water mark in bytes."""
    try:
        return _status_bytes("VmHWM")
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(next(line.split()[1] for line in fh if line.startswith(field + ":"))) * 1024


def minor_faults() -> int:
    """The process's minor page faults so far: pages mapped in without disk I/O (fresh memory,
    or file pages already in the page cache), each a trip into the kernel."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def start_peak() -> tuple[int, str]:
    """The baseline a peak is measured from, and how: on Linux the kernel's high-water mark is
    reset to the current resident size (/proc/self/clear_refs), so a peak reached earlier (building
    the data, importing) hides nothing; elsewhere the high-water mark so far is the baseline."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_bytes("VmRSS"), "reset high-water mark"
    except (OSError, StopIteration):
        return peak_rss(), "high-water mark so far"


def run(
    contenders: dict[str, tuple[Save, Read]],
    make_data: Callable[..., Any],
    describe: Callable[[Any], dict[str, Any]],
    data_bytes: Callable[[int], int],
    default_size: int,
    variants: tuple[str, ...] = ("default",),
    warm_size: int | None = None,
    verify: Verify | None = None,
    phases: Phases | None = None,
) -> int:
    """Measure one contender's save or read. `describe` records what a read needs to know (and
    may record the exact "data_bytes", else `data_bytes(size)` estimates it); `verify(result,
    description)` raises if a read gave back something other than what was saved; `phases`, where
    given, adds "phases_s" (seconds by part, see `Phases`) once the timing is done."""
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=sorted(contenders))
    parser.add_argument("op", choices=["save", "read"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--size", type=int, default=default_size)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=0.0,
        help="reads: keep timing rounds until this long has been timed (at most 20x --rounds), so a fast read's "
        "median rests on more than a handful of samples",
    )
    parser.add_argument("--variant", choices=variants, default=variants[0])
    args = parser.parse_args()
    save, read = contenders[args.contender]

    def build(size: int) -> Any:
        return make_data(size) if len(variants) == 1 else make_data(size, args.variant)

    args.dir.mkdir(parents=True, exist_ok=True)
    spec_path = args.dir / f"{args.contender}.{args.variant}.spec.json"
    if warm_size is not None:
        warm_dir = args.dir / "warm-up"
        warm_dir.mkdir(parents=True, exist_ok=True)
        small = build(warm_size)
        read(save(small, warm_dir), describe(small))
        shutil.rmtree(warm_dir)
    times: list[float] = []
    faults: list[int] = []  # minor page faults of each timed round
    if args.op == "save":
        data = build(args.size)
        if spec_path.exists():  # a file from an earlier pass: every save starts with no file there
            Path(json.loads(spec_path.read_text())["path"]).unlink(missing_ok=True)
        baseline, method = start_peak()  # the data exists: what saving adds is on top
        for round_number in range(args.rounds):
            before = minor_faults()
            start = time.perf_counter()
            path = save(data, args.dir)
            times.append(time.perf_counter() - start)
            faults.append(minor_faults() - before)
            if round_number < args.rounds - 1:
                # outside the timer: no contender pays (or, renaming over it, dodges) freeing the old file
                path.unlink()
        extra = peak_rss() - baseline
        described = describe(data)
        spec_path.write_text(json.dumps({"path": str(path), "describe": described}))
        parts = phases(args.contender, "save", data, path) if phases is not None else {}
    else:
        spec = json.loads(spec_path.read_text())
        path, described = Path(spec["path"]), spec["describe"]
        baseline, method = start_peak()
        round_number = 0
        while round_number < args.rounds or (sum(times) < args.min_seconds and round_number < 20 * args.rounds):
            before = minor_faults()
            start = time.perf_counter()
            loaded = read(path, described)
            times.append(time.perf_counter() - start)
            faults.append(minor_faults() - before)
            if verify is not None and round_number == 0:
                try:
                    verify(loaded, described)
                except AssertionError as exc:
                    raise SystemExit(f"{args.contender} read back something else than was saved: {exc}") from None
            del loaded
            round_number += 1
        extra = peak_rss() - baseline
        parts = phases(args.contender, "read", described, path) if phases is not None else {}
    exact = described.get("data_bytes") if isinstance(described, dict) else None
    print(
        json.dumps(
            {
                "median_s": statistics.median(times),
                "rounds_s": times,  # every round, to see the noise behind a median
                "peak_extra_bytes": extra,
                "peak_method": method,
                "file_bytes": os.path.getsize(path),
                "data_bytes": int(exact) if exact is not None else data_bytes(args.size),
                "minor_faults": round(statistics.median(faults)),  # per timed round
                **({"phases_s": parts} if parts else {}),
            }
        )
    )
    return 0
