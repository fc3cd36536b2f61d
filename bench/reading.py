"""The page's "where zanj leads and trails": for each pair measured, lead, tie or trail as this
run's ratio says, with the mechanism behind it (mechanisms do not change between runs)."""

from __future__ import annotations

from typing import Any

from figures import ratio


def _verb(value: float) -> str:
    return "leads" if value < 0.85 else "trails" if value > 1.15 else "ties"


def where_zanj_leads_and_trails(results: dict[str, Any]) -> str:
    """Where zanj leads and trails in this run, with the mechanism behind each."""
    lines = []

    def say(scenario: str, peer: str, op: str, lead: str, trail: str, mine: str = "zanj") -> None:
        value = ratio(results.get(scenario, {}), mine, peer, op)
        if value is None:
            return
        verb = _verb(value)
        why = lead if value < 0.85 else trail if value > 1.15 else "Within this machine's noise (15 %)."
        what = f"{op} (mmap)" if mine.endswith("_mmap") else op
        lines.append(f"- **{scenario}, {what} vs {peer}: zanj {verb} ({value:.2f}x).** {why}")

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
        "zanj reads each member once, straight into a fresh 2 MiB-aligned buffer advised for huge pages (one copy, no "
        "unpickler); torch.load's storages fault their memory in 4 KiB pages.",
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
        "Both map the file and build tensors over the mapping without touching it; zanj reads each member's local "
        "and .npy headers in one small read.",
        "safetensors' load_file maps the file too, and parses one JSON header; zanj parses its JSON tree and "
        "metadata, validates the zip directory, reads each member's local and .npy headers (one small read each) "
        "and wraps each tensor over a copy-on-write mapping (torch has no read-only tensors). zanj's default read, "
        "which copies every byte into owned tensors, is not comparable with a mapped read: see the tables.",
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
        "zanj writes each small member in one piece with its finished header (no seek back to patch it) through "
        "a 1 MiB buffer, with the garbage collector paused for the walk; torch.save pickles a record per storage.",
        "Both write one zip record per tensor; zanj also builds a JSON node per tensor (the readable tree), a "
        "member name from the object path, an .npy header, and dispatches each tensor through its handler table, "
        "all in Python, where torch.save's per-record work is in C++.",
    )
    say(
        "tensors_many",
        "safetensors",
        "read",
        "zanj reads each member in two system calls (its headers, then its data), with the garbage collector "
        "paused for the walk.",
        "safetensors parses one JSON header and slices one mapping; zanj parses the JSON tree, validates 10,000 zip "
        "directory entries and each .npy header before reading.",
    )
    say(
        "tensors_bf16",
        "torch",
        "read",
        "bfloat16 members are read as 16-bit integers straight into a fresh 2 MiB-aligned buffer advised for huge pages, then "
        "reinterpreted without a copy; torch.load's storages fault their memory in 4 KiB pages.",
        "bfloat16 members are read as 16-bit integers into a fresh buffer, then reinterpreted without a copy; most "
        "of either read is faulting in fresh memory.",
    )
    say(
        "tensors_many",
        "torch",
        "read",
        "zanj reads each member's headers in one small read and its data in another, with the garbage collector "
        "paused for the walk; torch.load runs its unpickler and restores 10,000 storages one by one.",
        "",
    )
    say(
        "arrays",
        "safetensors",
        "read",
        "With numpy, safetensors' load_file copies too; zanj reads each array straight into its destination.",
        "",
    )
    say(
        "arrays",
        "npz",
        "save",
        "np.savez builds a zip through zipfile, one CRC and one copy at a time; zanj overlaps the CRC with the write.",
        "",
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
    for scenario, members in (
        ("nested", " and a metadata member"),
        ("nested_arrays", ", a metadata member and one member per array"),
    ):
        for op in ("save", "read"):
            say(
                scenario,
                "pickle",
                op,
                "pickle runs one stream of opcodes; zanj's zip, JSON tree and handler dispatch cost less here.",
                "pickle writes (and reads) one stream of opcodes; zanj writes a zip with JSON a person can read"
                f"{members}, dispatches every field through its handlers, and on reading validates the archive and "
                "resolves each dataclass among the classes the program defined.",
            )
    durable = ratio(results.get("tensors", {}), "zanj_durable", "zanj", "save")
    if durable is not None:
        lines.append(
            f"- **tensors, save with the default `durable=True`: {durable:.2f}x the `durable=False` save.** "
            "The two fsyncs (the file before the rename, its folder after) wait for the data to reach the disk; "
            "every peer here returns once it is in the page cache."
        )
    basic = results.get("basic", {})
    if "pickle" in basic and "zanj_core" in basic:
        ours, theirs = basic["zanj_core"], basic["pickle"]
        save, read = ours["save_s"] / theirs["save_s"], ours["read_s"] / theirs["read_s"]
        slowest = max(ours["save_s"], ours["read_s"]) * 1000
        lines.append(
            f"- **README BasicZanj vs pickle: zanj {_verb(max(save, read))} ({save:.1f}x save, {read:.1f}x read).** "
            "For an object this small the zip container, the metadata member and the handler dispatch are the whole "
            f"cost: zanj's file is {ours['size_bytes']} bytes, pickle's {theirs['size_bytes']}. zanj's slower "
            f"operation takes {slowest:.2f} ms."
        )
    lazy = results.get("lazy", {}).get("times", {})
    if "zanj_mmap" in lazy and "safetensors" in lazy:
        value = lazy["zanj_mmap"]["median_s"] / lazy["safetensors"]["median_s"]
        first = lazy["zanj_mmap"]["first_s"] / lazy["safetensors"]["first_s"]
        size = results["lazy"]["file_bytes"] / 2**20
        lines.append(
            f"- **lazy, one tensor of a {size:.0f} MiB file: zanj {_verb(value)} safetensors on repeated opens "
            f"({value:.2f}x with mmap).** Each open parses the zip directory, the JSON tree and the metadata, and "
            "checks the tensor's .npy header; safetensors reads one JSON header. The first call, which includes "
            f"importing torch and zanj's plugin discovery, takes {first:.2f}x safetensors' first call."
        )
    imports = results.get("import", {})
    if "zanj_core" in imports and "zanj_core + plugin discovery" in imports:
        core, discovery = imports["zanj_core"]["import_s"], imports["zanj_core + plugin discovery"]["import_s"]
        numpy = f" (numpy alone: {imports['numpy']['import_s'] * 1000:.0f} ms)" if "numpy" in imports else ""
        lines.append(
            f"- **import: `import zanj_core` costs {core * 1000:.0f} ms, {discovery * 1000:.0f} ms with plugin "
            f"discovery**{numpy}. Discovery finds the installed plugins' entry points once per process; no framework "
            "is imported until a handler needs it."
        )
    if not lines:
        return ""
    return "## Where zanj leads and trails\n\n" + "\n".join(lines) + "\n"
