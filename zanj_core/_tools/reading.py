"""Layer 5, the tools: reading a file under the command's one budget.

`ZanjFile`'s public methods each take a budget of their own; a command charges everything it
reads to the budget its open started (`ZanjFile.open_budget`, `zanj_core._contract.budget`),
through the same steps those methods take, so no file, however it is built, makes a command
use more than a fixed multiple of the file's size.
"""

from __future__ import annotations

import argparse
from typing import Any

from zanj_core._contract.budget import ReadBudget
from zanj_core._contract.nodes import FORMAT_KEY, ObjectPath, format_path
from zanj_core._contract.textsafe import quoted, safe_text
from zanj_core._tools.extensions import location_lister
from zanj_core._walk.items import ItemInfo, ItemPath, RefMemo
from zanj_core._walk.lazy import ZanjFile
from zanj_core._walk.zanj import ZANJ
from zanj_core.errors import ZanjError, ZanjIndexError

COUNT_BEYOND_LIMIT = 1_000_000
"""Items past the limit that `ls` counts exactly before it says "more than"."""


def open_file(args: argparse.Namespace) -> ZanjFile:
    refuse_listed_location(args)
    return ZANJ().open(args.file, storage_options=args.storage_options)


def refuse_listed_location(args: argparse.Namespace) -> None:
    """A command that reads one `.zanj` file, given a location a plugin lists (a checkpoint
    folder): say what it is and that `zanj ls` lists it, rather than fail to open it as a file."""
    lister = location_lister(args.file, args.storage_options)
    if lister is not None:
        what = f" ({safe_text(lister.description)})" if lister.description else ""
        raise ZanjError(
            f"{safe_text(args.file)} is not one .zanj file: {lister.source.distribution} lists it as "
            f"{quoted(lister.name)}{what}; `zanj ls {safe_text(args.file)}` shows its items, and `zanj --help` "
            "the commands plugins add"
        )


def resolve_item(opened: ZanjFile, path: ItemPath, budget: ReadBudget) -> tuple[ObjectPath, Any]:
    return opened._resolve(path, opened.context(budget))


def info_of(opened: ZanjFile, resolved: ObjectPath, node: Any, budget: ReadBudget) -> ItemInfo:
    ctx = opened.context(budget)
    return opened._info(node, resolved, ctx, opened._children(node, resolved, ctx, for_lookup=False))


def load_node(opened: ZanjFile, path: ObjectPath, node: Any, budget: ReadBudget) -> Any:
    return opened._load(node, path, opened.context(budget))


def load_part(opened: ZanjFile, path: ObjectPath, node: Any, key: slice, budget: ReadBudget) -> Any:
    """`opened.slice(path)[key]` under `budget`: only those rows where the loader can."""
    ctx = opened.context(budget)
    handler = ctx.loader_for(node[FORMAT_KEY]) if type(node) is dict and isinstance(node.get(FORMAT_KEY), str) else None
    try:
        if handler is not None and handler.load_part is not None:
            return handler.load_part(node, path, ctx, key)
        return opened._load(node, path, ctx)[key]
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ZanjError):
            raise
        raise ZanjIndexError(
            f"{opened.location}: cannot index the item at {format_path(path)} with {key!r}: {exc}"
        ) from exc


def list_items(
    opened: ZanjFile, path: ItemPath, max_depth: int | None, expand_members: bool, limit: int, budget: ReadBudget
) -> tuple[list[ItemInfo], int, bool]:
    """`opened.tree(...)` under `budget`, describing at most `limit` items (0: all).

    Returns the items, how many more there are (counted, not described, up to
    `COUNT_BEYOND_LIMIT`) and whether there are more than that.
    """
    ctx = opened.context(budget)
    items: list[ItemInfo] = []
    memo: RefMemo = {}
    more = 0
    for item_path, item, children in opened._walk(path, max_depth, expand_members, ctx):
        if limit and len(items) >= limit:
            more += 1  # counted, not described
            if more >= COUNT_BEYOND_LIMIT:
                return items, more, True
        else:
            items.append(opened._info(item, item_path, ctx, children, memo))
    return items, more, False
