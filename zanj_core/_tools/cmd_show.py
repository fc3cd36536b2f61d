"""Layer 5, the tools: `zanj show`, loading and printing one item.

Large arrays and tensors are shown by their first and last rows (only those rows are read),
everything else whole but cut to the terminal's width and `--max-lines` (`zanj_core._tools.pretty`).
A dataclass or model whose class this process lacks is shown as its fields: the command line
never imports a module a file names.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from typing import Any

from zanj_core._contract.budget import ReadBudget
from zanj_core._contract.nodes import ObjectPath, format_path
from zanj_core._contract.records import ZanjUnloaded
from zanj_core._contract.textsafe import safe_text
from zanj_core._tools.cmd_ls import shape_or_value
from zanj_core._tools.exits import EXIT_OK
from zanj_core._tools.output import NAME_CHARS, SHOWN_NOTES, Output, human_bytes, warn_lines, word_text
from zanj_core._tools.pretty import pretty
from zanj_core._tools.reading import info_of, load_node, load_part, open_file, resolve_item
from zanj_core._walk.lazy import ZanjFile
from zanj_core.errors import ZanjError, ZanjMissingClassWarning

MiB = 1 << 20
SHOW_SUMMARY_BYTES = 1 * MiB  # larger items with rows are shown by their first and last rows


def _fields_of_unloaded(
    opened: ZanjFile, path: ObjectPath, node: Any, value: Any, notes: list[str], budget: ReadBudget
) -> Any:
    """A dataclass or model whose class this process lacks, as a dict of its fields loaded one
    by one (the command line never imports a module a file names)."""
    if not isinstance(value, ZanjUnloaded):
        return value
    try:
        children = opened._children(node, path, opened.context(budget), for_lookup=True)
    except ZanjError:
        return value
    if children is None:
        return value
    notes.append(
        f"{word_text(format_path(path), NAME_CHARS)} is a {word_text(value.tag, NAME_CHARS)}; "
        "its class is not defined here, so it is shown as its fields"
    )
    fields = {}
    for key, child in children:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load_node(opened, (*path, key), child, budget)
        fields[key] = _fields_of_unloaded(opened, (*path, key), child, loaded, notes, budget)
    return fields


def _terminal_width() -> int:
    return max(40, min(shutil.get_terminal_size((100, 24)).columns, 200))


def cmd_show(args: argparse.Namespace) -> int:
    """Print one item: large arrays by their first and last rows, everything else whole but
    cut to the terminal's width and `--max-lines`."""
    width = _terminal_width()
    bounded = args.max_lines != 0
    out = Output(sys.stdout)
    notes: list[str] = []
    with open_file(args) as opened:
        budget = opened.open_budget
        resolved, node = resolve_item(opened, args.path, budget)
        info = info_of(opened, resolved, node, budget)
        facts = [word_text(info.kind, NAME_CHARS), shape_or_value(info)]
        if info.data_bytes:
            facts.append(human_bytes(info.data_bytes))
        if info.member:
            facts.append(f"member {safe_text(info.member, NAME_CHARS)}")
        header = word_text(format_path(info.path), max(10, width // 2))
        rows = args.rows
        length = info.shape[0] if info.shape else 0
        summarise = info.data_bytes > SHOW_SUMMARY_BYTES and length > 2 * rows
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if summarise:
                head = load_part(opened, resolved, node, slice(None, rows), budget)
                tail = load_part(opened, resolved, node, slice(-rows, None), budget)
            else:
                loaded = load_node(opened, resolved, node, budget)
                value = _fields_of_unloaded(opened, resolved, node, loaded, notes, budget)
        if notes:  # the notes say which classes are missing; their warnings would repeat it
            caught = [w for w in caught if not issubclass(w.category, ZanjMissingClassWarning)]
        warn_lines([str(w.message) for w in caught])
    out.line(
        out.bold(header), "  ", out.dim(safe_text("  ".join(f for f in facts if f), max(10, width - len(header) - 2)))
    )
    if summarise:
        text = (
            f"first {rows} of {length} rows:\n{pretty(head, width, bounded)}\n"
            f"...\nlast {rows} rows:\n{pretty(tail, width, bounded)}"
        )
    else:
        text = pretty(value, width, bounded)
    lines = text.splitlines()
    hidden = 0
    if bounded and len(lines) > args.max_lines:
        hidden = len(lines) - args.max_lines
        lines = lines[: args.max_lines]
    for note in notes[:SHOWN_NOTES]:
        out.line(out.dim(f"note: {note}"))
    if len(notes) > SHOWN_NOTES:
        out.line(out.dim(f"note: ... {len(notes) - SHOWN_NOTES} more such items"))
    out.block("\n".join(lines), width if bounded else None)
    if hidden:
        out.line(out.dim(f"... {hidden} more lines (--max-lines 0 shows all)"))
    return EXIT_OK
