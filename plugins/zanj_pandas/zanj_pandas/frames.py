"""DataFrames and Series to nodes with an Arrow member, and back, exactly.

The node describes the frame without the member being read: row count, column labels,
column dtypes, index names and dtypes, `attrs`. Arrow (through pandas' own metadata) restores
nullable, categorical, tz-aware, timedelta columns and every index kind; the few things it
changes are put back from the node: object columns of str (Arrow hands back pandas' string
dtype), object-dtype index levels, and column labels of mixed types. Frames with duplicate
column labels, or columns of Python objects Arrow cannot type, are refused with the column
named; nothing is pickled.
"""

from __future__ import annotations

import datetime
import functools
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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
from zanj_pandas import arrow
from zanj_pandas.arrow_cost import conversion_cost
from zanj_pandas.arrow_schema import shown
from zanj_pandas.checks import SERIES_COLUMN, FrameLayout, check_frame
from zanj_pandas.conversion import to_pandas


def _index_dtypes(index: pd.Index) -> list[str]:
    if isinstance(index, pd.MultiIndex):
        return [str(level.dtype) for level in index.levels]
    return [str(index.dtype)]


def _refuse_column(frame: pd.DataFrame, path: ObjectPath, kind: str, exc: Exception) -> ZanjSerializationError:
    where = "its index"
    for position in range(frame.shape[1]):
        try:
            pa.array(frame.iloc[:, position], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            where = f"column {frame.columns[position]!r} ({frame.dtypes.iloc[position]})"
            break
    return ZanjSerializationError(
        f"cannot save the {kind} at {format_path(path)}: {where} holds values Arrow cannot store ({exc}). "
        "Convert the column to one type (for example .astype(str)), or keep those objects outside the frame "
        "(a list of them is saved item by item)"
    )


# column dtypes zanj 0.6 reads back unchanged from its JSON rows (pandas infers them again)
_ZANJ06_DTYPES = frozenset({"int64", "float64", "bool"})


@functools.cache
def _inferred_str_dtype() -> Any:
    """The dtype this pandas gives a column of strings read from JSON rows."""
    return pd.DataFrame.from_records([{"x": "a"}])["x"].dtype


def _zanj06_refusal(frame: pd.DataFrame) -> str | None:
    """Why zanj 0.6 would not read `frame` back equal from JSON rows, or None."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        return "its index is not the default 0..n-1 (zanj 0.6 keeps no index)"
    if frame.index.name is not None or frame.columns.name is not None:
        return "its index or columns are named (zanj 0.6 keeps no names)"
    for label in frame.columns:
        if type(label) is not str:
            return f"column label {label!r} is not a string"
        column = frame[label]
        if str(column.dtype) in _ZANJ06_DTYPES:
            if column.dtype.kind == "f" and not np.isfinite(column.to_numpy()).all():
                return f"column {label!r} holds NaN or infinity, which JSON rows cannot carry"
            continue
        if column.dtype == _inferred_str_dtype() and all(type(value) is str for value in column):
            continue  # read back as the dtype pandas gives strings (object, or str from pandas 3)
        return f"column {label!r} has dtype {column.dtype} (zanj 0.6 keeps int64, float64, bool and str columns)"
    if frame.attrs:
        return "it has attrs"
    if len(frame) == 0 and any(str(dtype) != "object" for dtype in frame.dtypes):
        return "it is empty, and zanj 0.6 reads an empty frame's columns back as object columns"
    return None


def serialize_frame_zanj06(frame: pd.DataFrame, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    """A frame as zanj 0.6 writes it: a `.jsonl` member of row objects, for `ZANJ(compat="0.6")`."""
    refusal = _zanj06_refusal(frame)
    if refusal is not None:
        raise ZanjSerializationError(
            f"ZANJ(compat='0.6') cannot write the DataFrame at {format_path(path)} so that zanj 0.6 reads it "
            f"back: {refusal}. Save without compat to keep it exactly."
        )
    rows: list[JSONitem] = [
        {str(key): value.item() if isinstance(value, np.generic) else value for key, value in row.items()}
        for row in frame.to_dict("records")
    ]
    columns: list[JSONitem] = [str(label) for label in frame.columns]
    node: JSONdict = {FORMAT_KEY: "pandas.DataFrame:external", "len(data)": len(rows), "columns": columns}
    if rows:
        node["data[0]"] = rows[0]
    node[REF_KEY] = ctx.add_member(path, "jsonl", rows, {"format": "pandas.DataFrame:external", "len": len(rows)})
    return node


def serialize_pandas(obj: pd.DataFrame | pd.Series, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    if ctx.zanj.compat == "0.6" and isinstance(obj, pd.DataFrame):
        return serialize_frame_zanj06(obj, path, ctx)
    is_series = isinstance(obj, pd.Series)
    kind = "Series" if is_series else "DataFrame"
    frame = obj.to_frame(name=SERIES_COLUMN) if is_series else obj
    if frame.columns.has_duplicates:
        duplicated = sorted({repr(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ZanjSerializationError(
            f"cannot save the DataFrame at {format_path(path)}: duplicate column labels {', '.join(duplicated)}; "
            "rename them first"
        )
    try:
        with warnings.catch_warnings():
            # "column names of mixed type": the node keeps the exact labels and restores them
            warnings.simplefilter("ignore", UserWarning)
            # a RangeIndex goes into the metadata only (and the node); other indexes become columns
            table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError) as exc:
        raise _refuse_column(frame, path, kind, exc) from None
    tag = f"pandas.{kind}:arrow"
    dtypes: list[JSONitem] = [str(d) for d in frame.dtypes]
    labels: list[JSONitem] = [str(c) for c in frame.columns]
    index_dtypes: list[JSONitem] = list(_index_dtypes(frame.index))
    info: JSONdict = {"format": tag, "n_rows": len(frame), "columns": labels, "dtypes": dtypes}
    member = ctx.add_member(path, "arrow", table, info)
    node: JSONdict = {
        FORMAT_KEY: tag,
        REF_KEY: member,
        "n_rows": len(frame),
        "dtypes": dtypes,
        "index_dtypes": index_dtypes,
    }
    if isinstance(frame.index, pd.RangeIndex):
        node["range_index"] = [frame.index.start, frame.index.stop, frame.index.step]
    freq = getattr(frame.index, "freqstr", None)
    if isinstance(freq, str):
        node["index_freq"] = freq
    if not is_series:
        node["columns"] = ctx.serialize(list(frame.columns), (*path, "columns"))
        node["columns_dtype"] = str(frame.columns.dtype)
        node["columns_multi"] = isinstance(frame.columns, pd.MultiIndex)
    else:
        node["name"] = ctx.serialize(obj.name, (*path, "name"))
    if obj.attrs:
        node["attrs"] = ctx.serialize(dict(obj.attrs), (*path, "attrs"))
    return node


def _as_object(table: pa.Table, field: str) -> Any:
    """A column as an object array with None for nulls, as pandas had it before Arrow."""
    return table.column(field).to_numpy(zero_copy_only=False)


_FIXED_OFFSET = re.compile(r"datetime64\[(?:s|ms|us|ns), UTC([+-])(\d\d):(\d\d)\]")


def _fixed_offset_zone(recorded: str, current: Any) -> datetime.timezone | None:
    """The `datetime.timezone` a column recorded as `datetime64[unit, UTC+HH:MM]` had, when it
    reads back with another spelling of that same offset (pandas 2 with pytz installed gives
    `pytz.FixedOffset`); the instants are the same, only the zone object is put back."""
    found = _FIXED_OFFSET.fullmatch(recorded)
    if found is None or not isinstance(current, pd.DatetimeTZDtype):
        return None
    sign, hours, minutes = found.groups()
    offset = datetime.timedelta(hours=int(hours), minutes=int(minutes)) * (-1 if sign == "-" else 1)
    if abs(offset) >= datetime.timedelta(days=1) or current.tz.utcoffset(None) != offset:
        return None
    return datetime.timezone(offset)


def _restore(
    frame: pd.DataFrame, table: pa.Table, node: JSONdict, path: ObjectPath, ctx: LoadContext, layout: FrameLayout
) -> pd.DataFrame:
    """Put back what Arrow changes (object columns and index levels, column labels), from the
    node; `layout` holds the checked metadata and the labels `check_frame` loaded."""
    columns_meta = layout.metadata["columns"]
    dtypes = layout.dtypes
    if len(dtypes) != frame.shape[1] or len(columns_meta) < frame.shape[1]:
        raise ZanjFormatError(
            f"{ctx.label}: frame at {format_path(path)} declares {len(dtypes)} columns, its member holds {frame.shape[1]}"
        )
    current = list(frame.dtypes)  # once: frame.dtypes builds a Series of every column's dtype
    for position, recorded in enumerate(dtypes):
        if recorded == "object" and current[position] != np.dtype(object):
            values = _as_object(table, columns_meta[position]["field_name"])
            # a Series, so pandas keeps object dtype instead of inferring its string dtype again
            frame.isetitem(position, pd.Series(values, index=frame.index, dtype=object, copy=False))
        elif isinstance(recorded, str) and recorded != str(current[position]):
            zone = _fixed_offset_zone(recorded, current[position])
            if zone is not None:
                frame.isetitem(position, frame.iloc[:, position].dt.tz_convert(zone))
    index_dtypes = layout.index_dtypes
    index_fields = layout.metadata["index_columns"]
    if isinstance(index_dtypes, list) and "object" in index_dtypes and len(index_fields) == len(index_dtypes):
        levels = []
        for position, (recorded, field) in enumerate(zip(index_dtypes, index_fields, strict=True)):
            current_level = frame.index.get_level_values(position)
            if recorded == "object" and isinstance(field, str) and current_level.dtype != object:
                levels.append(pd.Index(_as_object(table, field), dtype=object, name=current_level.name))
            else:
                levels.append(current_level)
        frame.index = levels[0] if len(levels) == 1 else pd.MultiIndex.from_arrays(levels, names=frame.index.names)
    if "range_index" in node:
        bounds = ctx.require(node, "range_index", list, path)
        index = pd.RangeIndex(*bounds, name=frame.index.name)
        if len(index) != len(frame):
            raise ZanjFormatError(f"{ctx.label}: frame at {format_path(path)}: range_index does not match its rows")
        if not isinstance(frame.index, pd.RangeIndex) or not frame.index.equals(index):
            frame.index = index
    freq = node.get("index_freq")
    if isinstance(freq, str) and isinstance(frame.index, (pd.DatetimeIndex, pd.TimedeltaIndex)):
        try:
            frame.index = type(frame.index)(frame.index, freq=freq)
        except ValueError as exc:
            raise ZanjFormatError(
                f"{ctx.label}: frame at {format_path(path)}: index frequency {shown(freq)}: {shown(str(exc), 200)}"
            ) from None
    if layout.labels is not None and node.get("columns_multi") is False:
        labels = layout.labels
        same_labels = [type(c) for c in labels] == [type(c) for c in frame.columns] and list(labels) == list(
            frame.columns
        )
        if isinstance(frame.columns, pd.MultiIndex) or not same_labels:
            # Arrow names fields with strings and reads tuples as a MultiIndex: put the exact labels back
            dtype = "object" if node.get("columns_dtype") == "object" else None
            frame.columns = pd.Index(labels, dtype=dtype, name=frame.columns.names[0], tupleize_cols=False)
    return frame


def _load_zanj06(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> pd.DataFrame:
    """zanj 0.6 wrote frames as one JSON object per row in a .jsonl member."""
    records = ctx.read_member(node, path, "jsonl")
    columns = node.get("columns")
    if not isinstance(columns, list):
        columns = None
    if not records:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame.from_records(records)
    return frame[columns] if columns is not None and set(columns) == set(frame.columns) else frame


def _convert(
    node: JSONdict, path: ObjectPath, ctx: LoadContext, series: bool
) -> tuple[pd.DataFrame, pa.Table, FrameLayout]:
    """The member's table as a frame, in the order that keeps a hostile member cheap: read it
    zero-copy and check its layout and types; compare it with the node and check its pandas
    metadata; charge the budget an upper bound of what converting allocates; validate every
    value; convert, with the checked metadata in place of the member's own (large frames as
    views of the member: `conversion`)."""
    source = ctx.member(node, path)
    table, data, mapped = arrow.open_table(source)
    layout = check_frame(table, node, path, ctx, series)
    cost = conversion_cost(table) + layout.extra_cost
    ctx.charge(cost, path, what=f"the frame converted from member {source.name!r}")
    arrow.validate_full(table, source)
    return to_pandas(table, layout.metadata, len(layout.data_fields), data, mapped), table, layout


def load_pandas(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    kind, _, form = tag.partition(":")
    if kind == "pandas.DataFrame" and form == "external":
        return _load_zanj06(node, path, ctx)
    if form != "arrow" or kind not in ("pandas.DataFrame", "pandas.Series"):
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"pandas form {tag!r} is unknown to zanj-pandas",
            hint="upgrade zanj-pandas: pip install --upgrade zanj-pandas",
        )
    frame, table, layout = _convert(node, path, ctx, series=kind == "pandas.Series")
    if node.get("n_rows") != len(frame):
        raise ZanjFormatError(
            f"{ctx.label}: frame at {format_path(path)} declares {node.get('n_rows')!r} rows, its member holds {len(frame)}"
        )
    frame = _restore(frame, table, node, path, ctx, layout)
    result: pd.DataFrame | pd.Series = frame
    if kind == "pandas.Series":
        if list(frame.columns) != [SERIES_COLUMN]:
            raise ZanjFormatError(f"{ctx.label}: series at {format_path(path)} does not hold one column")
        result = frame[SERIES_COLUMN]
        result.name = ctx.load(node.get("name"), (*path, "name"))
    if "attrs" in node:
        attrs = ctx.load(node["attrs"], (*path, "attrs"))
        if not isinstance(attrs, dict):
            raise ZanjFormatError(f"{ctx.label}: frame at {format_path(path)} has attrs that are not a dict")
        result.attrs = attrs
    return result
