"""Runs child-process scenarios: each contender's save and read in processes of their own
(bench/harness.py is the child side), alternated in a shuffled order, reduced to medians."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run_json(python: str, script: str, *args: str) -> dict[str, float]:
    """Run `script` under `python`; its last line of output is JSON."""
    out = subprocess.run([python, "-c", script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# runs a bench script under whichever interpreter is given
RUNNER = "import runpy, sys; sys.argv = [{script!r}] + sys.argv[1:]; runpy.run_path({script!r}, run_name='__main__')"


def child_scenario(
    args: argparse.Namespace,
    script_name: str,
    contenders: list[str],
    size: int,
    floor: str,
    variant: str | None = None,
    skip: frozenset[str] = frozenset(),
    rounds: int | None = None,
    processes: int | None = None,
) -> dict[str, object]:
    """Run every contender of a child-process scenario, alternating contenders across passes.

    Each contender saves in one process and reads in a fresh one (so peak memory is its own);
    zanj 0.6 runs in its own environment with a single round, in at most `--peer-processes`
    passes (it takes seconds per save). Before each process the page cache's dirty data is
    flushed (os.sync, outside the timing), and the order of contenders is shuffled each pass,
    so one contender's writes are not billed to whoever runs next. Medians over passes; ratios
    against `floor` from the same run. `skip` names contenders that cannot take this data."""
    script = str(Path(__file__).with_name(script_name))
    contenders = [c for c in contenders if c not in skip and (c != "zanj06" or args.zanj06_python)]
    contenders = chosen(args, contenders)
    samples: dict[str, dict[str, list[dict[str, float]]]] = {c: {"save": [], "read": []} for c in contenders}
    failures: dict[str, str] = {}
    order = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(processes or args.processes):
            # a new order each pass, so no contender always runs after the one that wrote most
            for contender in order.sample(contenders, len(contenders)):
                python, count = sys.executable, rounds or args.child_rounds
                if contender == "zanj06":
                    if number >= args.peer_processes:
                        continue
                    python, count = args.zanj06_python, 1 if rounds is None else count
                if contender in failures:
                    continue
                extra = ["--variant", variant] if variant else []
                for op in ("save", "read"):
                    # a fast read gets more rounds (up to a second's worth) where the rounds were not set for it
                    more = ["--min-seconds", "1"] if op == "read" and rounds is None else []
                    # flush everyone's dirty pages first: writeback throttling must not bill the next writer
                    os.sync()
                    try:
                        measured = run_json(
                            python,
                            RUNNER.format(script=script),
                            contender,
                            op,
                            tmp,
                            "--size",
                            str(size),
                            "--rounds",
                            str(count),
                            *extra,
                            *more,
                        )
                    except RuntimeError as exc:  # a peer that cannot handle this data: reported, not fatal
                        failures[contender] = f"{op} fails: {str(exc).strip().splitlines()[-1]}"
                        break
                    samples[contender][op].append(measured)
    table: dict[str, dict[str, object]] = {}
    for contender, ops in samples.items():
        if contender in failures or not ops["save"]:
            continue
        row: dict[str, object] = {op: _op_row(runs) for op, runs in ops.items()}
        row["file_bytes"] = ops["save"][0]["file_bytes"]
        row["data_bytes"] = ops["save"][0]["data_bytes"]
        table[contender] = row
    if floor not in table:  # the baseline itself failed: report times without ratios
        return {"size": size, "variant": variant, "times": table, f"ratio_to_{floor}": {}, "failures": failures}
    base = table[floor]
    ratios = {
        contender: {op: row[op]["median_s"] / base[op]["median_s"] for op in ("save", "read")}  # type: ignore[index]
        for contender, row in table.items()
    }
    return {"size": size, "variant": variant, "times": table, f"ratio_to_{floor}": ratios, "failures": failures}


def _op_row(runs: list[dict[str, float]]) -> dict[str, object]:
    """One contender's save or read: medians over its processes. "minor_faults" (a timed round's
    minor page faults) is left out when a child did not report it (results of older runs)."""
    row: dict[str, object] = {
        "median_s": statistics.median(s["median_s"] for s in runs),
        "peak_over_data": statistics.median(s["peak_extra_bytes"] / s["data_bytes"] for s in runs),
        "peak_bytes": statistics.median(s["peak_extra_bytes"] for s in runs),
        "processes": len(runs),
        "rounds": statistics.median(len(s.get("rounds_s", [])) for s in runs),
        "peak_method": ", ".join(sorted({str(s.get("peak_method", "high-water mark so far")) for s in runs})),
    }
    if runs and all("minor_faults" in s for s in runs):
        row["minor_faults"] = round(statistics.median(s["minor_faults"] for s in runs))
    if runs and all("phases_s" in s for s in runs):  # each part's median over the processes
        row["phases_s"] = {part: statistics.median(s["phases_s"][part] for s in runs) for part in runs[0]["phases_s"]}
    return row


def chosen(args: argparse.Namespace, contenders: list[str]) -> list[str]:
    """The contenders a group (`--only issue19`) keeps for the scenario now running; all of them
    when the scenario was asked for by name."""
    subset = args.contenders.get(args.scenario)
    return contenders if subset is None else [c for c in contenders if c in subset]
