"""zanj 0.6's form of a polars DataFrame: a `.jsonl` member of row objects.

zanj 0.6 wrote `frame.to_dicts()` and read the rows back with `polars.DataFrame(rows)` (an
empty frame as String columns named by the node's `columns`). Both directions are here:
reading that form, and writing it for `ZANJ(compat="0.6")` when zanj 0.6 reads it back equal.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any

import polars as pl

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    JSONitem,
    LoadContext,
    ObjectPath,
    SaveContext,
    ZanjFormatError,
    ZanjSerializationError,
    format_path,
)
from zanj_polars.compat import ZANJ06_FRAME_TAG
from zanj_polars.panics import guarded

_JSON_DTYPES = (pl.Int64, pl.Float64, pl.Boolean, pl.String)
"""Column dtypes whose values are plain JSON and that `polars.DataFrame(rows)` infers again."""
SLOT = 16
"""Bytes per value polars may allocate building a frame from rows (value, offsets, validity)."""
COLUMN_COST = 2048
"""Bytes per column or struct field polars may allocate besides its values (its Series, name, schema)."""
STRING_GROWTH = 2
"""polars grows string buffers by doubling while it builds a column: up to twice their bytes."""
_CONTAINERS = frozenset({dict, list})


class _Shape:
    """The union of the JSON values found at one place in the rows: the keys of its objects and
    the shape of its lists' items. polars gives each key a column (a struct field, nested) that
    every row holds a value in, present or not; `width` counts those values for one row."""

    __slots__ = ("fields", "items", "width")

    def __init__(self) -> None:
        self.fields: dict[str, _Shape] = {}
        self.items: _Shape | None = None
        self.width = 1


def _merge(value: dict[str, Any] | list[Any], shape: _Shape) -> None:
    """Grow `shape`, and the ones below it, to cover `value`."""
    pending: list[tuple[Any, _Shape]] = [(value, shape)]
    while pending:
        item, at = pending.pop()
        if isinstance(item, list):
            at.items = below = at.items or _Shape()
            pending += [(child, below) for child in item if isinstance(child, (dict, list))]
        else:
            for key, child in item.items():
                below = at.fields.get(key) or at.fields.setdefault(key, _Shape())
                if isinstance(child, (dict, list)):
                    pending.append((child, below))


def _set_widths(top: _Shape) -> int:
    """Fill in every shape's `width` (one slot for its own value, plus every field's); return how
    many shapes there are (columns and struct fields polars may make)."""
    order: list[_Shape] = []
    pending = [top]
    while pending:
        shape = pending.pop()
        order.append(shape)
        pending += shape.fields.values()
        if shape.items is not None:
            pending.append(shape.items)
    for shape in reversed(order):  # every shape after the ones it holds
        shape.width = 1 + sum(field.width for field in shape.fields.values())
    return len(order)


def _extra_slots(value: dict[str, Any] | list[Any], shape: _Shape) -> int:
    """Slots `value` needs beyond `shape.width`: its lists' items, each as wide as their shape."""
    extra = 0
    pending: list[tuple[Any, _Shape]] = [(value, shape)]
    while pending:
        item, at = pending.pop()
        if isinstance(item, list):
            below = at.items
            if below is None:
                continue
            extra += len(item) * below.width
            pending += [(child, below) for child in item if isinstance(child, (dict, list))]
        else:
            pending += [(child, at.fields[key]) for key, child in item.items() if isinstance(child, (dict, list))]
    return extra


def build_cost(rows: list[dict[str, Any]], columns: list[str], text_bytes: int) -> int:
    """Upper bound of the bytes `polars.DataFrame(rows)` allocates, from the rows alone and in
    time linear in them: every key found anywhere becomes a column (or a struct field) that
    every row (or list item) holds a slot in, present or not, so a few wide rows among a
    million empty ones ask for their width a million times. `text_bytes` bounds the UTF-8 of
    every string in the rows (the member's size: JSON spells each at least as long)."""
    top = _Shape()
    keys = set(chain.from_iterable(rows)) if rows else set(columns)
    nested: list[dict[str, Any]] = []
    if not _CONTAINERS.isdisjoint(map(type, chain.from_iterable(map(dict.values, rows)))):  # loops in C
        nested = [row for row in rows if not _CONTAINERS.isdisjoint(map(type, row.values()))]
    top.fields = {key: _Shape() for key in keys}
    for row in nested:
        _merge(row, top)
    shapes = _set_widths(top)
    slots = max(len(rows), 1) * top.width + sum(_extra_slots(row, top) for row in nested)
    return SLOT * slots + STRING_GROWTH * text_bytes + COLUMN_COST * shapes


def _as_zanj06_reads(rows: list[dict[str, Any]], columns: list[str]) -> pl.DataFrame:
    """What zanj 0.6's loader builds from these rows."""
    if rows:
        return pl.DataFrame(rows)
    return pl.DataFrame(schema={column: str for column in columns})


def _zanj06_refusal(frame: pl.DataFrame, rows: list[dict[str, Any]]) -> str | None:
    """Why zanj 0.6 would not read `frame` back equal from its rows, or None."""
    for name, dtype in frame.schema.items():
        if dtype not in _JSON_DTYPES:
            return f"column {name!r} has dtype {dtype} (zanj 0.6's rows keep Int64, Float64, Boolean and String)"
        if dtype == pl.Float64 and not all(v is None or math.isfinite(v) for v in frame[name]):
            return f"column {name!r} holds NaN or infinity, which JSON rows cannot carry"
    try:
        back = _as_zanj06_reads(rows, frame.columns)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        return f"polars.DataFrame(rows) fails on its rows ({str(exc)[:120]})"
    if back.columns != frame.columns or back.schema != frame.schema or not back.equals(frame):
        return "polars.DataFrame(rows) infers other dtypes from its rows (all-null or empty columns)"
    return None


def serialize_frame_zanj06(frame: pl.DataFrame, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    """A frame as zanj 0.6 writes it, for `ZANJ(compat="0.6")`."""
    rows = frame.to_dicts()
    refusal = _zanj06_refusal(frame, rows)
    if refusal is not None:
        raise ZanjSerializationError(
            f"ZANJ(compat='0.6') cannot write the polars DataFrame at {format_path(path)} so that zanj 0.6 "
            f"reads it back: {refusal}. Save without compat to keep it exactly."
        )
    data: list[JSONitem] = list(rows)
    columns: list[JSONitem] = list(frame.columns)
    node: JSONdict = {FORMAT_KEY: ZANJ06_FRAME_TAG, "len(data)": len(rows), "columns": columns}
    if rows:
        node["data[0]"] = data[0]
    node[REF_KEY] = ctx.add_member(path, "jsonl", data, {"format": ZANJ06_FRAME_TAG, "len": len(rows)})
    return node


def load_zanj06(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> pl.DataFrame:
    """The frame zanj 0.6 reads from its rows; rows that do not make a frame are refused."""
    where = f"{ctx.label}: the zanj 0.6 polars frame at {format_path(path)}"
    rows = ctx.read_member(node, path, "jsonl")
    declared = node.get("columns")
    columns = [c for c in declared if isinstance(c, str)] if isinstance(declared, list) else []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ZanjFormatError(f"{where}: its member does not hold a list of row objects")
    text_bytes = ctx.member(node, path).size
    ctx.charge(build_cost(rows, columns, text_bytes), path, what="the polars frame built from its rows")
    frame = guarded(
        lambda: _as_zanj06_reads(rows, columns),
        lambda text: ZanjFormatError(f"{where}: polars cannot build a frame from its rows: {text}"),
    )
    if columns and set(columns) == set(frame.columns) and columns != frame.columns:
        frame = frame.select(columns)
    return frame
