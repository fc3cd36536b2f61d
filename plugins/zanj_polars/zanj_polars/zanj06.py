"""zanj 0.6's form of a polars DataFrame: a `.jsonl` member of row objects.

zanj 0.6 wrote `frame.to_dicts()` and read the rows back with `polars.DataFrame(rows)` (an
empty frame as String columns named by the node's `columns`). Both directions are here:
reading that form, and writing it for `ZANJ(compat="0.6")` when zanj 0.6 reads it back equal.
"""

from __future__ import annotations

import math
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
    width = max((len(row) for row in rows), default=len(columns))
    ctx.charge(SLOT * (len(rows) + 1) * (width + 1), path, what="the polars frame built from its rows")
    frame = guarded(
        lambda: _as_zanj06_reads(rows, columns),
        lambda text: ZanjFormatError(f"{where}: polars cannot build a frame from its rows: {text}"),
    )
    if columns and set(columns) == set(frame.columns) and columns != frame.columns:
        frame = frame.select(columns)
    return frame
