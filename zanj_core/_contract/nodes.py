"""The vocabulary of a `.zanj` JSON tree that the core and every plugin share: the two marker
keys, the JSON type aliases, object paths and how they are shown, and small node helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from zanj_core._contract.textsafe import safe_text
from zanj_core.errors import ZanjError, ZanjFormatError, ZanjLimitError

if TYPE_CHECKING:
    from zanj_core._walk.loading import LoadContext

FORMAT_KEY: str = "__muutils_format__"
"""Key marking a typed JSON node; its value is the node's format tag (shared with zanj 0.6)."""

UNSERIALIZABLE_TAG: str = "zanj.unserializable"
"""Tag of an object saved as its `repr()` under `ZANJ(error_mode="warn"/"ignore")`."""

REF_KEY: str = "$ref"
"""Key of a node whose data lives in a binary or jsonl member; its value is the member name."""

JSONitem = Union[None, bool, int, float, str, list["JSONitem"], dict[str, "JSONitem"]]
"""Any JSON value: what serializers return and loaders receive."""
JSONdict = dict[str, JSONitem]
"""A JSON object: a node of the data tree."""
ObjectPath = tuple[str | int, ...]
"""Where an item is in the saved object: dict keys and list indices from the root."""
TypeSpec = Union[type, str]
"""A class, or its dotted `module.QualName` so a plugin can name a type without importing it."""


PATH_PART_CHARS = 60
PATH_SHOWN_PARTS = 12


def format_path(path: ObjectPath) -> str:
    """Object paths are shown as `a/0/b`, the same names members are made from.

    Keys come from files, and paths end up in messages a terminal prints: each key is escaped
    and cut (`zanj_core._contract.textsafe`), and a deep path shows its first and last keys only."""
    if not path:
        return "<root>"
    texts = [str(p) for p in path]
    if len(texts) <= PATH_SHOWN_PARTS and all(
        len(t) <= PATH_PART_CHARS and t.isascii() and t.isprintable() for t in texts
    ):
        return "/".join(texts)  # the usual path: nothing to escape or cut (messages build many)
    parts = [safe_text(t, PATH_PART_CHARS) for t in texts[:PATH_SHOWN_PARTS]]
    if len(path) > PATH_SHOWN_PARTS:
        tail = [safe_text(t, PATH_PART_CHARS) for t in texts[-3:]]
        parts = [*parts[: PATH_SHOWN_PARTS - 3], f"...({len(path) - PATH_SHOWN_PARTS} more)...", *tail]
    return "/".join(parts)


def node_fields(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    """`children` for nodes whose keys are their fields (dataclasses, models): every key but
    the markers (`__muutils_format__`, `__zanj_...`)."""
    return [(key, value) for key, value in node.items() if key != FORMAT_KEY and not key.startswith("__zanj")]


@contextlib.contextmanager
def json_errors(path: str | Path, name: str) -> Iterator[None]:
    """Turn what decoding and parsing a JSON member can raise into `ZanjError`s naming it."""
    try:
        yield
    except ZanjError:
        raise
    except RecursionError as exc:
        raise ZanjLimitError(f"{path}: member {name!r} is nested too deeply to parse") from exc
    except UnicodeDecodeError as exc:
        raise ZanjFormatError(f"{path}: member {name!r} is not UTF-8 text: {exc}") from exc
    except ValueError as exc:  # invalid JSON, or an integer longer than Python converts
        raise ZanjFormatError(f"{path}: member {name!r} is not valid JSON: {exc}") from exc


NodeItems = Callable[[ObjectPath, Any], Union[Sequence[tuple[Union[str, int], Any]], None]]
"""What `walk_nodes` steps into under a node: its `(key, child)` pairs in order, or None."""


def walk_nodes(tree: Any, path: ObjectPath = (), items: NodeItems | None = None) -> Iterator[tuple[ObjectPath, Any]]:
    """Every node of `tree` with its object path, each before what it holds, keys and indices in
    document order: the one walk of a JSON tree (`verify_file`'s checks, `ZanjFile.tree`).

    By default a node holds a dict's values and a list's entries. `items(path, node)` says
    otherwise (skip marker keys, open a member, step through a loader's `children`, stop at a
    depth); it is called once per node, after the node is yielded and before the next one is,
    so what the loop has just learnt about a node may decide.

    Iterative, with one frame per level (a node's path and an iterator over what it holds): no
    tree is too deep for it, and a path is made only for the node being visited, so a wide list
    deep down costs one path at a time, not one per entry. Each path is a new tuple, which costs
    its length, so a tree from a file is walked with an `items` that stops at `ZANJ.max_depth`:
    the walk stays linear in the nodes (docs/security.md, principle 2).
    """
    yield path, tree
    frames: list[tuple[ObjectPath, Iterator[tuple[str | int, Any]]]] = []
    held = _held(path, tree, items)
    if held is not None:
        frames.append((path, held))
    while frames:
        parent, pending = frames[-1]
        step = next(pending, None)
        if step is None:
            frames.pop()
            continue
        key, child = step
        child_path = (*parent, key)
        yield child_path, child
        held = _held(child_path, child, items)
        if held is not None:
            frames.append((child_path, held))


def _held(path: ObjectPath, node: Any, items: NodeItems | None) -> Iterator[tuple[str | int, Any]] | None:
    """What `walk_nodes` steps into under `node`, as an iterator, or None for nothing."""
    if items is not None:
        found = items(path, node)
        return iter(found) if found else None
    if type(node) is dict:
        return iter(node.items()) if node else None
    if type(node) is list:
        return enumerate(node) if node else None
    return None
