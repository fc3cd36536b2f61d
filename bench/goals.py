"""Issue 19's goals, the page's first table: for each scenario zanj's median and its peer's from
the same run, the figure the goal bounds, the goal, and met or missed, each with the reason as
this run measured it. A scenario the run did not measure is listed as such, never guessed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from figures import seconds, table, time_of

NOISE = 0.15
"""Ratios within this fraction of their goal are flagged: this machine's run-to-run noise."""

NESTED_DATACLASSES = 26
"""bench/nested.py's config: itself, its optimizer and 24 layers."""


@dataclass(frozen=True)
class Row:
    label: str
    zanj: str
    peer: str
    value: float
    shown: str
    limit: float
    goal: str
    why_met: str
    why_missed: str
    timed_ratio: bool = True

    def verdict(self) -> str:
        met = "met" if self.value <= self.limit else "missed"
        near = self.timed_ratio and abs(self.value / self.limit - 1) < NOISE
        return f"{met}, within noise" if near else met

    def why(self) -> str:
        return self.why_met if self.value <= self.limit else self.why_missed


def _mib(value: float) -> str:
    return f"{value / 2**20:.1f}".removesuffix(".0") + " MiB"


def _per(zanj: float, peer: float, count: int) -> str:
    difference = (zanj - peer) / count
    return f"{abs(difference) * 1e6:.1f} µs {'more' if difference > 0 else 'less'} per tensor"


def faults_of(result: dict[str, Any], name: str, op: str) -> int | None:
    """A contender's minor page faults per timed round (median over its processes), as `time_of`
    finds its time; None where the run did not record them (runs before they were counted)."""
    value = result.get("times", {}).get(name, {}).get(op, {}).get("minor_faults")
    return None if value is None else int(value)


def _faults(result: dict[str, Any], mine: str) -> str:
    """A read row's sentence on page faults, measured: a copy into fresh memory faults in every
    page of its result; `load_file` maps the file and touches no tensor data. Empty when either
    contender's count is missing."""
    zanj, peer = faults_of(result, mine, "read"), faults_of(result, "safetensors", "read")
    if zanj is None or peer is None:
        return ""
    if mine == "zanj":
        return (
            f" zanj's read takes {zanj:,} minor page faults per round, safetensors' {peer:,}: `load_file` maps the "
            "file and leaves tensor data untouched until used, a copy fills fresh pages."
        )
    return f" zanj's mapped read takes {zanj:,} minor page faults per round, safetensors' {peer:,}."


Build = Callable[[dict[str, Any], str], "Row | None"]
"""Makes a goal's row from a run's results and the goal's label (which it may make exact: the
sizes a run used); None when the run did not measure it."""


def _many(op: str, mine: str) -> Build:
    def build(results: dict[str, Any], label: str) -> Row | None:
        result = results.get("tensors_many", {})
        zanj, peer = time_of(result, mine, op), time_of(result, "safetensors", op)
        if zanj is None or peer is None:
            return None
        count = int(result.get("tensors", 10_000))
        measured = f"{seconds(zanj)} against {seconds(peer)} for {count:,} tensors: {_per(zanj, peer, count)}"
        raw = time_of(result, "raw", op)
        floor = f" Plain file calls on the same bytes (`raw`) take {seconds(raw)}." if raw else ""
        mapped = time_of(result, "zanj_mmap", "read")
        if op == "save":
            missed = (
                f"{measured}. Per tensor zanj builds a JSON node, a member name, an `.npy` header and a zip local "
                "header in Python and computes a CRC-32 of its bytes; safetensors writes one JSON header, then the "
                f"bytes, from Rust, with no checksum.{floor}"
            )
            met = f"{measured}: zanj's per-tensor work (JSON node, member name, headers, CRC-32) fits.{floor}"
        elif mine == "zanj":
            also = f" Mapped instead of copied, zanj's read takes {seconds(mapped)}." if mapped else ""
            also += _faults(result, mine)
            missed = (
                f"{measured}. `load_file` maps the file and slices it; zanj's plain read copies each member into a "
                f"tensor of its own after checking its local and `.npy` headers against the zip directory.{also}"
            )
            met = f"{measured}: copying each member costs zanj less than safetensors' whole read.{also}"
        else:
            faults = _faults(result, mine)
            missed = (
                f"{measured}. zanj checks each member's directory entry, local header and `.npy` header, parses a "
                f"JSON node per tensor and builds each tensor over the mapping; safetensors parses one JSON header.{faults}"
            )
            met = f"{measured}: zanj's checks of each member (directory entry, local and `.npy` headers) fit.{faults}"
        return Row(label, seconds(zanj), seconds(peer), zanj / peer, f"{zanj / peer:.2f}", 1.0, "<= 1.0", met, missed)

    return build


def _lazy(results: dict[str, Any], label: str) -> Row | None:
    result = results.get("lazy", {})
    times = result.get("times", {})
    if "zanj_mmap" not in times or "safetensors" not in times:
        return None
    mine, theirs = times["zanj_mmap"], times["safetensors"]
    zanj, peer = mine["median_s"], theirs["median_s"]
    label = (
        f"`open(path, mmap=True)` + one {_mib(mine['item_bytes'])} tensor of a {_mib(result['file_bytes'])} file "
        "/ `safe_open` + `get_tensor`"
    )
    rounds, processes = result.get("rounds", 20), result.get("run", {}).get("settings", {}).get("processes", "?")
    measured = (
        f"One open + load takes {seconds(zanj)} against {seconds(peer)} (medians of {rounds} repeats in each of "
        f"{processes} processes); per "
        f"open zanj reads {mine['bytes_read'] / 1024:.1f} KiB through system calls, safetensors "
        f"{theirs['bytes_read'] / 1024:.1f} KiB"
    )
    missed = (
        f"{measured}. Before returning the tensor zanj reads and checks the zip directory, parses the JSON tree and "
        "the metadata member and checks the member's headers; safetensors reads one JSON header."
    )
    met = f"{measured}: zanj's checks of the directory, the JSON tree and the member's headers fit."
    return Row(label, seconds(zanj), seconds(peer), zanj / peer, f"{zanj / peer:.2f}", 1.0, "<= 1.0", met, missed)


def _big_mmap(results: dict[str, Any], label: str) -> Row | None:
    result = results.get("tensors", {})
    zanj, peer = time_of(result, "zanj_mmap", "read"), time_of(result, "safetensors", "read")
    if zanj is None or peer is None:
        return None
    label = f"{result['size']} MiB, 64 tensors: `read(mmap=True)` / `load_file`"
    measured = f"{seconds(zanj)} against {seconds(peer)}: {_per(zanj, peer, 64)}"
    missed = (
        f"{measured}. Both map the file and build tensors over it; zanj also parses its JSON tree and metadata, checks "
        "the zip directory and each member's local and `.npy` headers, and maps each member copy-on-write (torch has "
        "no read-only tensors)."
    )
    met = f"{measured}: zanj's checks of the directory and of each member's headers fit."
    return Row(label, seconds(zanj), seconds(peer), zanj / peer, f"{zanj / peer:.2f}", 1.0, "<= 1.0", met, missed)


def _nested(op: str) -> Build:
    def build(results: dict[str, Any], label: str) -> Row | None:
        result = results.get("nested", {})
        zanj, peer = time_of(result, "zanj", op), time_of(result, "pickle", op)
        if result.get("variant") != "config" or zanj is None or peer is None:
            return None  # an older run measured a config holding arrays: not this goal's scenario
        times = result["times"]
        measured = (
            f"{seconds(zanj)} against {seconds(peer)} ({seconds(abs(zanj - peer))} {'more' if zanj > peer else 'less'}), "
            f"a {times['zanj']['file_bytes']:,}"
            f"-byte file against pickle's {times['pickle']['file_bytes']:,} bytes"
        )
        if op == "save":
            work = (
                "To save, zanj walks the config through its handlers (a JSON node per field) and writes a zip holding "
                "the JSON tree and a metadata member"
            )
        else:
            work = (
                "To read, zanj checks the zip directory and headers, parses the JSON tree and metadata, and resolves "
                f"each of the {NESTED_DATACLASSES} dataclass nodes among the classes the program defined"
            )
        parts = _nested_parts(op, phases_of(result, "zanj", op), phases_of(result, "pickle", op), peer)
        missed = f"{measured}. {work}; pickle runs one opcode stream from C.{parts}"
        met = f"{measured}. {work}, and that fits.{parts}"
        return Row(label, seconds(zanj), seconds(peer), zanj / peer, f"{zanj / peer:.2f}", 3.0, "<= 3.0", met, missed)

    return build


def phases_of(result: dict[str, Any], name: str, op: str) -> dict[str, float]:
    """A contender's operation timed in parts (bench/nested.py `phases`); {} for runs before them."""
    found = result.get("times", {}).get(name, {}).get(op, {}).get("phases_s", {})
    return found if isinstance(found, dict) else {}


def _nested_parts(op: str, mine: dict[str, float], theirs: dict[str, float], peer: float) -> str:
    """Where zanj's time goes, measured in the same processes after the timed rounds; "" when the
    run did not time the parts."""
    goal = 3 * peer
    if op == "save" and {"walk", "json", "zip", "publish", "file"} <= set(mine) and {"codec", "file"} <= set(theirs):
        core = mine["walk"] + mine["json"] + mine["publish"]
        return (
            f" Timed in parts: the walk (a JSON node per field, the metadata) takes {seconds(mine['walk'])}, the JSON "
            f"text {seconds(mine['json'])}, the zip in memory {seconds(mine['zip'])}, and writing it as every save "
            f"does (a private temporary file, given its final mode, renamed into place) {seconds(mine['publish'])}, "
            f"where `open`/`write`/`close` of the same bytes take {seconds(mine['file'])}. pickle's `dumps` takes "
            f"{seconds(theirs['codec'])} and its file {seconds(theirs['file'])}. The walk, the JSON text and the "
            f"publishing alone take {seconds(core)}, against the goal's {seconds(goal)} for everything."
        )
    if op == "read" and {"open", "json", "walk", "file"} <= set(mine) and {"codec", "file"} <= set(theirs):
        return (
            f" Timed in parts: opening (the zip directory and headers, both JSON members read and parsed) takes "
            f"{seconds(mine['open'])}, of which `json.loads` of the two texts alone {seconds(mine['json'])}, and the "
            f"walk (each dataclass node resolved and constructed) {seconds(mine['walk'])}; reading the file's bytes "
            f"takes {seconds(mine['file'])}. pickle's `loads` alone takes {seconds(theirs['codec'])}, "
            f"`json.loads` of zanj's two texts alone {mine['json'] / theirs['codec']:.1f}x that; opening and the walk "
            f"alone take {seconds(mine['open'] + mine['walk'])}, "
            f"against the goal's {seconds(goal)} for everything."
        )
    return ""


def _import(results: dict[str, Any], label: str) -> Row | None:
    result = results.get("import", {})
    row = result.get("zanj_core + read a small file")
    if not row or "median_s" not in row:
        return None
    spent, bare = row["import_s"], row["bare_s"]
    parts = []
    if "zanj_core" in result:
        parts.append(f"`import zanj_core` alone costs {result['zanj_core']['import_s'] * 1000:.0f} ms")
    if "zanj_core + plugin discovery" in result:
        parts.append(f"with plugin discovery {result['zanj_core + plugin discovery']['import_s'] * 1000:.0f} ms")
    plugins = ", ".join(result.get("plugins", [])) or "none"
    measured = (
        "; ".join(parts) + (" (each over a bare interpreter); " if parts else "") + f"importing and reading the "
        f"{result.get('small_file_bytes', 0)}-byte file costs {spent * 1000:.0f} ms, with these plugins installed: "
        f"{plugins} (medians of {result.get('processes', '?')} alternated fresh processes)"
    )
    why = measured[0].upper() + measured[1:] + "."
    return Row(
        label,
        seconds(row["median_s"]),
        f"{seconds(bare)} (`python -c pass`)",
        spent * 1000,
        f"{spent * 1000:.0f} ms",
        60.0,
        "<= 60 ms",
        why,
        why,
        timed_ratio=False,
    )


def _frame(mine: str, how: str) -> Build:
    def build(results: dict[str, Any], label: str) -> Row | None:
        result = results.get("frame_memory", {})
        times = result.get("times", {})
        if mine not in times or "parquet" not in times:
            return None
        frame = times[mine]["data_bytes"]
        peak, parquet = times[mine]["read"]["peak_bytes"], times["parquet"]["read"]["peak_bytes"]
        value = peak / frame
        label = f"{result['size'] / 1e6:g}M-row typed DataFrame: {how}'s peak memory / the frame's size"
        measured = (
            f"The read peaks {_mib(peak)} above the process's baseline for a {_mib(frame)} frame "
            f"(`memory_usage(deep=True)`); Parquet's read peaks {_mib(parquet)} ({parquet / frame:.2f}x)"
        )
        copies = f"{measured}: {value:.1f} times the frame is resident at the peak, more than one copy at once"
        if mine == "zanj":
            missed = f"{copies} (the Arrow data read from the file and the pandas frame converted from it)."
        else:
            missed = (
                f"{copies} (the mapped file's pages, resident once the conversion reads them, and the converted frame)."
            )
        if value >= 0.5:
            met = f"{measured}: about one copy of the frame, held once."
        else:
            met = (
                f"{measured}: the frame's columns are views of the mapped file, whose pages become resident (as page "
                "cache) only as they are used, not during the read."
            )
        zanj_text, peer_text = _mib(peak), f"{_mib(parquet)} (Parquet)"
        return Row(label, zanj_text, peer_text, value, f"{value:.2f}", 1.3, "<= 1.3", met, missed, timed_ratio=False)

    return build


GOALS: tuple[tuple[str, str, Build], ...] = (
    ("10,000 tensors of 4 KiB: `save` / safetensors `save_file`", "tensors_many", _many("save", "zanj")),
    ("same: `read` / `load_file`", "tensors_many", _many("read", "zanj")),
    ("same: `read(mmap=True)` / `load_file`", "tensors_many", _many("read", "zanj_mmap")),
    ("`open(path, mmap=True)` + one 4 MiB tensor of a 256 MiB file / `safe_open` + `get_tensor`", "lazy", _lazy),
    ("256 MiB, 64 tensors: `read(mmap=True)` / `load_file`", "tensors", _big_mmap),
    (
        "nested config (24 layer dataclasses in a list, a dict): `save` / `pickle.dump` to a file",
        "nested",
        _nested("save"),
    ),
    ("same: `read` / `pickle.load`", "nested", _nested("read")),
    ("fresh process: `import zanj_core` + read a small file, minus `python -c pass`", "import", _import),
    ("2M-row typed DataFrame: `read`'s peak memory / the frame's size", "frame_memory", _frame("zanj", "`read`")),
    (
        "same: `read(mmap=True)`'s peak memory / the frame's size",
        "frame_memory",
        _frame("zanj_mmap", "`read(mmap=True)`"),
    ),
)
"""Issue 19's table, in its order: label, the scenario measuring it (run.py's group `issue19`), builder."""


def _processes(count: object) -> str:
    return f"{count} process" if count == 1 else f"{count} processes"


def _rounds(result: dict[str, Any], settings: dict[str, Any]) -> str:
    """Rounds per process: as set for saves; reads may have run more (harness.py's --min-seconds)."""
    reads = [row.get("read", {}).get("rounds") for row in result.get("times", {}).values()]
    shown = f"{settings.get('child_rounds', '?')} rounds"
    if reads and all(reads):
        low, high = min(reads), max(reads)
        shown += f" (reads: {low:.0f}" + (f"-{high:.0f})" if high != low else ")")
    return shown


def _repeats(name: str, settings: dict[str, Any], result: dict[str, Any]) -> str:
    processes = _processes(settings.get("processes", "?"))
    return {
        "tensors_many": f"{processes} x {_rounds(result, settings)}",
        "tensors": f"{processes} x {_rounds(result, settings)}",
        "lazy": f"{processes} x {result.get('rounds', 20)} opens",
        "nested": f"{processes} x {settings.get('nested_rounds', '?')} rounds",
        "import": _processes(result.get("processes", "?")),
        "frame_memory": f"{_processes(settings.get('memory_processes', '?'))} of one read each",
    }[name]


def _provenance(results: dict[str, Any], names: list[str]) -> str:
    """When and how each scenario behind the table ran, so a short run is not mistaken for a full one."""
    lines = []
    for name in names:
        result = results[name]
        if "run" not in result:
            continue
        run = result["run"]
        took = f", {run['elapsed_s']:.0f} s" if "elapsed_s" in run else ""
        limited = f", contenders limited to {', '.join(run['contenders'])}" if run.get("contenders") else ""
        lines.append(f"`{name}` {run['started']}: {_repeats(name, run['settings'], result)}{took}{limited}")
    took = [results[name]["run"].get("elapsed_s") for name in names if "run" in results[name]]
    total = f" In all {sum(took) / 60:.1f} minutes." if took and None not in took else ""
    return "Measured: " + "; ".join(lines) + "." + total if lines else ""


def section(results: dict[str, Any]) -> str:
    """The `## issue 19 goals` section: the table, then a line per row saying why it stands where it does."""
    rows = [["scenario", "zanj", "peer", "measured", "goal", "verdict"]]
    reasons = []
    used: list[str] = []
    for label, scenario, build in GOALS:
        row = build(results, label)
        if row is None:
            rows.append([label, "", "", "", "", "not measured in this run"])
            continue
        used += [scenario] if scenario not in used else []
        rows.append([row.label, row.zanj, row.peer, row.shown, row.goal, f"**{row.verdict()}**"])
        reasons.append(f"- **{row.label}: {row.verdict()} ({row.shown}, goal {row.goal}).** {row.why()}")
    met = sum(1 for row in rows[1:] if row[5].startswith("**met"))
    measured = sum(1 for row in rows[1:] if row[5] != "not measured in this run")
    return (
        "## issue 19 goals\n\n"
        f"{met} of the {measured} goals measured are met. `measured` is zanj's median time over the "
        "peer's, except for the fresh process (the difference, in ms) and the DataFrame (zanj's peak resident "
        "memory above the baseline over the frame's `memory_usage(deep=True)`; Parquet's peak is shown beside "
        f"it). Ratios within {NOISE * 100:.0f} % of their goal are within this machine's noise: rerun before trusting "
        "them. `python bench/run.py --only issue19` reruns just these scenarios.\n\n"
        + table(rows)
        + "\n\n"
        + _provenance(results, used)
        + "\n\n"
        + "\n".join(reasons)
        + "\n"
    )
