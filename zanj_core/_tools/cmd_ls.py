"""Layer 5, the tools: `zanj ls`, the items of a file as a tree, from the JSON alone.

Each item with its type tag, shape and dtype (or item count, or value), data size and the
member holding its data; items whose plugin is missing say what to install. At most `--limit`
items are described; the rest are counted. A location a plugin's `LocationLister` recognizes
(a directory of checkpoint shards, say) is listed by that plugin, in the same columns.
"""

from __future__ import annotations

import argparse
import sys

from zanj_core._contract.commands import ListedItem, LocationLister
from zanj_core._contract.nodes import format_path
from zanj_core._contract.textsafe import safe_text
from zanj_core._tools.exits import EXIT_OK
from zanj_core._tools.extensions import location_lister
from zanj_core._tools.output import (
    HINT_CHARS,
    NAME_CHARS,
    VALUE_CHARS,
    Output,
    human_bytes,
    print_json,
    short_repr,
    warn_lines,
    word_text,
)
from zanj_core._tools.reading import list_items, open_file
from zanj_core._walk.items import ItemInfo
from zanj_core.errors import ZanjError

LIST_LIMIT = 1000
"""Lines `ls` prints unless `--limit` says otherwise."""


def shape_text(shape: tuple[int, ...] | None, dtype: str | None) -> str:
    """`float32 (3, 4)`: a dtype and a shape, escaped and bounded."""
    shown = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")" if shape is not None else ""
    return safe_text(" ".join(part for part in (dtype or "", shown) if part), VALUE_CHARS)


def shape_or_value(info: ItemInfo) -> str:
    """The middle column of `ls`: shape and dtype, item count, or a scalar's value (escaped)."""
    if info.shape is not None or info.dtype is not None:
        return shape_text(info.shape, info.dtype)
    if info.length is not None:
        return f"{info.length} item{'s' if info.length != 1 else ''}"
    if not info.tagged and info.kind not in ("dict", "list"):
        return "= " + short_repr(info.value)
    if info.value is not None:
        return "= " + safe_text(str(info.value)[:61], 60)
    return ""


def _more_line(more: int, beyond: bool, what: str) -> str:
    count = f"at least {more}" if beyond else str(more)
    return f"... {count} more {what} (use --limit 0 for all)"


def cmd_ls(args: argparse.Namespace) -> int:
    """List the items of a file (or of the item at PATH) from the JSON alone, `--limit` lines;
    a location a plugin's `LocationLister` recognizes (a checkpoint directory) is listed by it."""
    lister = location_lister(args.file, args.storage_options)
    if lister is not None:
        return _ls_listed(args, lister)
    with open_file(args) as opened:
        items, more, beyond = list_items(opened, args.path, args.depth, args.members, args.limit, opened.open_budget)
    if args.json:
        base = len(items[0].path) if items else 0
        print_json([{**info.as_json(), "depth": len(info.path) - base} for info in items])
        if more:
            warn_lines([_more_line(more, beyond, "items were not listed")])
        return EXIT_OK
    base = len(items[0].path) if items else 0
    rows: list[Row] = []
    for info in items:
        label = format_path(info.path) if len(info.path) == base else info.name
        name = ("  " * min(len(info.path) - base, 40)) + word_text(label, NAME_CHARS)
        size = human_bytes(info.data_bytes) if info.data_bytes else ""
        where = safe_text(info.member or "", NAME_CHARS)
        if not info.loadable:
            where = safe_text(f"MISSING PLUGIN: {info.install_hint}", HINT_CHARS)
        rows.append((name, word_text(info.kind, NAME_CHARS), shape_or_value(info), size, where, info.loadable))
    _print_rows(rows, _more_line(more, beyond, "items") if more else "")
    return EXIT_OK


Row = tuple[str, str, str, str, str, bool]
"""name, kind, shape and dtype (or value), size, last column, and whether that column is fine."""


def _print_rows(rows: list[Row], more: str) -> None:
    out = Output(sys.stdout)
    widths = [
        min(max((len(row[:4][i]) for row in rows), default=0), cap) for i, cap in ((0, 48), (1, 40), (2, 40), (3, 10))
    ]
    for name, kind, described, size, where, fine in rows:
        out.line(
            out.bold(name.ljust(widths[0])),
            "  ",
            out.kind(kind.ljust(widths[1])),
            f"  {described.ljust(widths[2])}  {size.rjust(widths[3])}  ",
            out.dim(where) if fine else out.bad(where),
        )
    if more:
        out.line(out.dim(more))


def _ls_listed(args: argparse.Namespace, lister: LocationLister) -> int:
    """`ls` of a location a plugin lists: its rows under PATH and within `--depth`, `--limit` of them."""
    if args.members:
        raise ZanjError(f"--members applies to .zanj files; {lister.name} lists {safe_text(args.file)} as a whole")
    within = tuple(part for part in (args.path or "").split("/") if part)
    items = [
        item
        for item in lister.list_items(args.file, args.storage_options)
        if item.path[: len(within)] == within and (args.depth is None or len(item.path) - len(within) <= args.depth)
    ]
    shown = items[: args.limit] if args.limit else items
    more = len(items) - len(shown)
    if args.json:
        print_json([_listed_json(item, len(within)) for item in shown])
        if more:
            warn_lines([_more_line(more, False, "items were not listed")])
        return EXIT_OK
    rows: list[Row] = []
    for item in shown:
        size = human_bytes(item.data_bytes) if item.data_bytes else ""
        rows.append(
            (
                "/".join(word_text(part, NAME_CHARS) for part in item.path),
                word_text(item.kind, NAME_CHARS),
                shape_text(item.shape, item.dtype),
                size,
                safe_text(item.detail, NAME_CHARS),
                True,
            )
        )
    _print_rows(rows, _more_line(more, False, "items") if more else "")
    return EXIT_OK


def _listed_json(item: ListedItem, base: int) -> dict[str, object]:
    return {
        "path": list(item.path),
        "kind": item.kind,
        "shape": list(item.shape) if item.shape is not None else None,
        "dtype": item.dtype,
        "data_bytes": item.data_bytes,
        "detail": item.detail,
        "depth": len(item.path) - base,
    }
