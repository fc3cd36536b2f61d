"""Saying which handler returned a value that is not plain JSON, and where, once encoding failed.

The save walk does not check what handlers return (that would cost every node of every save);
when encoding the finished tree fails, this walks it once, in the encoder's order, to find the
first value the encoder refuses. The tagged node around it names the handler that wrote it:
`SaveContext.tag_writers` records the handler behind each tag.

It walks on its own (recursively) rather than with `walk_nodes`: it must see dict keys
themselves (the encoder refuses some), follow tuples, stop at a value that contains itself and
carry the nearest tagged node down. The tree was bounded by `ZANJ.max_depth` when it was built;
a `RecursionError` costs only the precise message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zanj_core._contract.classes import type_name
from zanj_core._contract.nodes import FORMAT_KEY, ObjectPath, format_path
from zanj_core.errors import ZanjSerializationError

if TYPE_CHECKING:
    from zanj_core._walk.saving import SaveContext

_SCALARS = (int, bool, type(None))
_KEYS = (str, int, float, bool, type(None))
PLAIN_JSON = "dict (str keys), list, str, int, finite float, bool or None"


@dataclass(frozen=True)
class NotJSON:
    """The first value of a tree the JSON encoder refuses."""

    path: ObjectPath
    value: Any
    why: str
    tagged_path: ObjectPath | None
    """Where the nearest tagged node around the value is; None when none encloses it."""
    tag: str | None


def find_not_json(tree: Any) -> NotJSON | None:
    """The first value in `tree` that `json.dumps(allow_nan=False)` refuses, or None."""
    try:
        return _walk(tree, (), None, None, set())
    except RecursionError:
        return None


def _walk(value: Any, path: ObjectPath, tagged: ObjectPath | None, tag: str | None, active: set[int]) -> NotJSON | None:
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, str):
        return None if _utf8(value) else NotJSON(path, value, "its text holds a lone surrogate", tagged, tag)
    if isinstance(value, float):
        return None if math.isfinite(value) else NotJSON(path, value, f"{value!r} is not a JSON number", tagged, tag)
    if not isinstance(value, (dict, list, tuple)):
        return NotJSON(path, value, f"a {type_name(type(value))} is not a JSON type", tagged, tag)
    if id(value) in active:
        return NotJSON(path, value, f"this {type(value).__name__} contains itself", tagged, tag)
    active.add(id(value))
    try:
        if isinstance(value, dict):
            if isinstance(value.get(FORMAT_KEY), str):
                tagged, tag = path, value[FORMAT_KEY]
            for key, item in value.items():
                if (
                    not isinstance(key, _KEYS)
                    or (isinstance(key, float) and not math.isfinite(key))
                    or (isinstance(key, str) and not _utf8(key))
                ):
                    return NotJSON(
                        path, key, f"its key {key!r} ({type_name(type(key))}) is not a JSON key", tagged, tag
                    )
                found = _walk(item, (*path, key if isinstance(key, (str, int)) else str(key)), tagged, tag, active)
                if found is not None:
                    return found
        else:
            for index, item in enumerate(value):
                found = _walk(item, (*path, index), tagged, tag, active)
                if found is not None:
                    return found
        return None
    finally:
        active.discard(id(value))


def not_json_error(label: str, tree: Any, meta: Any, ctx: SaveContext, cause: Exception) -> ZanjSerializationError:
    """The error for a save whose tree or metadata the encoder refused: what, where and who."""
    fix = (
        f"Handlers must return plain JSON ({PLAIN_JSON}): convert the value in that handler "
        "(float(x) or int(x) for a numpy scalar, a list for a set or an array; NaN and infinities as "
        "strings or in a binary member)."
    )
    found = find_not_json(tree)
    if found is not None:
        return ZanjSerializationError(f"saving {label}: {_where(found, ctx)}. {fix}")
    found = find_not_json(meta)
    if found is not None and found.path[:1] == ("externals_info",) and len(found.path) > 1:
        return ZanjSerializationError(
            f"saving {label}: the info given to add_member for member {found.path[1]!r} is not plain JSON at "
            f"{format_path(found.path[2:])}: {found.why}. Give add_member plain JSON ({PLAIN_JSON})."
        )
    return ZanjSerializationError(f"saving {label}: a handler produced a value that is not plain JSON ({cause}). {fix}")


def _where(found: NotJSON, ctx: SaveContext) -> str:
    what = f"the value at {format_path(found.path)} is not plain JSON: {found.why}"
    if found.tag is None or found.tagged_path is None:
        return (
            f"{what}; no tagged node encloses it, so it came from a handler that writes untagged JSON "
            "(tag='') or from a container's items"
        )
    writer = ctx.tag_writers.get(found.tag)
    source = writer.source if writer is not None else None
    name = (writer.tag or writer.description) if writer is not None else found.tag
    origin = f" from {source.distribution} {source.version}".rstrip() if source is not None else ""
    return f"{what}; it is inside the {found.tag!r} node at {format_path(found.tagged_path)}, written by handler {name!r}{origin}"


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
