"""A frame's Arrow table checked against its node, and its pandas metadata made safe, before
anything converts it.

The node (JSON) says what the frame is: rows, column labels and dtypes, index dtypes. The
member's table must agree, or the read stops with a `ZanjFormatError` naming both, before
pandas allocates anything. The table's own pandas metadata (the schema's `b"pandas"` JSON) is
what pyarrow's `to_pandas` rebuilds the frame from, and it names dtypes by string: pyarrow hands
them to `pandas.api.types.pandas_dtype` (registered extension dtypes, time zone resolvers) and
`Index.astype` (so `"V1000000000"` would allocate a gigabyte per column label). Every value is
therefore checked against what pyarrow writes (an allowlist grammar of dtype names, in
`dtype_names`; plain time zone names; field names equal to the schema's) and a clean copy
holding only the checked keys replaces it; `attributes` is dropped (zanj restores attrs from the
node).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from zanj_core.plugin import JSON_OBJECT_FACTOR, JSONdict, LoadContext, ObjectPath, ZanjFormatError, format_path
from zanj_pandas.arrow_cost import SLOT, STR_OBJECT, TIMESTAMP_OBJECT
from zanj_pandas.arrow_schema import TIME_ZONE, shown
from zanj_pandas.dtype_names import (
    column_index_dtype_ok,
    column_index_type_ok,
    dtype_fits,
    index_dtype_fits,
    metadata_dtype_fits,
)

SERIES_COLUMN = "__zanj_series__"

_PANDAS_TYPE = re.compile(r"[a-z0-9_\-\[\]]{1,512}")
"""`pandas_type` of a column: pyarrow's logical type name (`int64`, `list[unicode]`); pyarrow
reads it only to compare with `datetimetz`."""


def field_name(label: Any) -> str | None:
    """The Arrow field name pyarrow gives a column label (as `_column_name_to_strings`, then
    `str`), or None for labels whose spelling may change between versions (floats, dates)."""

    def spelled(value: Any) -> str | None:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, tuple):
            parts = [spelled(part) for part in value]
            return None if any(part is None for part in parts) else str(tuple(parts))
        return None

    return spelled(label)


def _is_name(value: Any) -> bool:
    """A column or index name as pyarrow writes it: a string, None, or NaN."""
    return value is None or isinstance(value, str) or (isinstance(value, float) and math.isnan(value))


def _is_level_name(value: Any) -> bool:
    """A column index level's name: any JSON scalar, or a flat list of them (from a tuple)."""
    scalar = (str, int, float, bool, type(None))
    return isinstance(value, scalar) or (isinstance(value, list) and all(isinstance(v, scalar) for v in value))


def _is_int64(value: Any) -> bool:
    return type(value) is int and -(2**63) <= value < 2**63


def range_length(bounds: Any) -> int | None:
    """Rows of a range index given as [start, stop, step] of int64s, or None if it is not one.
    Computed, not `len(range(...))`, which overflows past 2**63 rows."""
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 3 or not all(_is_int64(b) for b in bounds):
        return None
    start, stop, step = (int(b) for b in bounds)
    if step == 0:
        return None
    span = stop - start if step > 0 else start - stop
    return max(0, -(-span // abs(step)))


@dataclass
class FrameLayout:
    """What the checks found, for the conversion and `restore`."""

    metadata: dict[str, Any]
    """The clean pandas metadata to convert with (only checked keys and values)."""
    data_fields: list[pa.Field]
    index_fields: list[pa.Field]
    dtypes: list[str]
    labels: list[Any] | None = None
    """The node's column labels, loaded (None for a series, or a node without them)."""
    index_dtypes: list[str] | None = None
    extra_cost: int = field(default=0)
    """Bytes `restore` and the index rebuild allocate beyond `arrow_cost.conversion_cost`."""


class _Checker:
    def __init__(self, table: pa.Table, node: JSONdict, path: ObjectPath, ctx: LoadContext) -> None:
        self.table = table
        self.node = node
        self.path = path
        self.ctx = ctx
        self.where = f"{ctx.label}: the frame at {format_path(path)}"

    def refuse(self, detail: str) -> ZanjFormatError:
        return ZanjFormatError(
            f"{self.where}: {detail}; the member does not hold the frame its node describes (the file was "
            "altered or is corrupt: re-save the frame)"
        )

    def bad_metadata(self, detail: str) -> ZanjFormatError:
        return ZanjFormatError(
            f"{self.where}: its member's pandas metadata {detail}; zanj writes no such metadata, so the "
            "member was altered or forged (re-save the frame with zanj)"
        )

    def pandas_metadata(self) -> dict[str, Any]:
        raw = (self.table.schema.metadata or {}).get(b"pandas")
        if raw is None:
            raise self.refuse("its member lacks the pandas metadata zanj writes (schema key b'pandas')")
        self.ctx.charge(JSON_OBJECT_FACTOR * len(raw), self.path, what="the pandas metadata of the frame")
        try:
            metadata = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise self.bad_metadata(f"is not valid JSON ({exc})") from None
        if not isinstance(metadata, dict):
            raise self.bad_metadata(f"is a {type(metadata).__name__}, not an object")
        return metadata


def _index_descriptors(check: _Checker, metadata: dict[str, Any], names: list[str]) -> tuple[list[Any], int]:
    """The checked `index_columns` and the number of data fields (those before the index's)."""
    descriptors = metadata.get("index_columns")
    if not isinstance(descriptors, list):
        raise check.bad_metadata("has no list of index columns")
    strings = [d for d in descriptors if isinstance(d, str)]
    ranges = [d for d in descriptors if isinstance(d, dict)]
    if len(strings) + len(ranges) != len(descriptors) or len(ranges) > 1 or (ranges and strings):
        raise check.bad_metadata(f"describes its index as {shown(descriptors)}")
    n_data = len(names) - len(strings)
    if n_data < 0 or names[n_data:] != strings:
        raise check.bad_metadata(
            f"names index columns {shown(strings)}, but the member's last fields are {shown(names[max(n_data, 0) :])}"
        )
    clean: list[Any] = list(strings)
    for descriptor in ranges:
        start, stop, step = descriptor.get("start"), descriptor.get("stop"), descriptor.get("step")
        name = descriptor.get("name")
        length = range_length([start, stop, step])
        if descriptor.get("kind") != "range" or length is None or not _is_name(name):
            raise check.bad_metadata(f"has the index descriptor {shown(descriptor)}")
        if length != check.table.num_rows:
            raise check.bad_metadata(f"has a range index of {length} rows for {check.table.num_rows}")
        clean.append({"kind": "range", "name": name, "start": start, "stop": stop, "step": step})
    return clean, n_data


def _columns(check: _Checker, metadata: dict[str, Any], schema: pa.Schema) -> list[dict[str, Any]]:
    """The checked `columns` entries, one per field in the schema's order, `metadata` dropped
    (pyarrow reads it only to re-zone a timestamp, which converts the column twice)."""
    entries = metadata.get("columns")
    if not isinstance(entries, list) or len(entries) != len(schema):
        count = len(entries) if isinstance(entries, list) else "no"
        raise check.bad_metadata(f"describes {count} columns for the member's {len(schema)} fields")
    clean = []
    for entry, arrow_field in zip(entries, schema, strict=True):
        if not isinstance(entry, dict) or entry.get("field_name") != arrow_field.name:
            raise check.bad_metadata(f"describes field {shown(arrow_field.name)} as {shown(entry)}")
        name, pandas_type, numpy_type = entry.get("name"), entry.get("pandas_type"), entry.get("numpy_type")
        if not _is_name(name):
            raise check.bad_metadata(f"names field {shown(arrow_field.name)} {shown(name)}")
        if not isinstance(pandas_type, str) or not _PANDAS_TYPE.fullmatch(pandas_type):
            raise check.bad_metadata(f"gives field {shown(arrow_field.name)} the pandas type {shown(pandas_type)}")
        if not isinstance(numpy_type, str) or not metadata_dtype_fits(numpy_type, arrow_field.type):
            raise check.bad_metadata(
                f"gives field {shown(arrow_field.name)} (Arrow type {shown(str(arrow_field.type))}) the dtype "
                f"{shown(numpy_type)}, which is not one pandas writes for it"
            )
        clean.append(
            {
                "name": name,
                "field_name": arrow_field.name,
                "pandas_type": pandas_type,
                "numpy_type": numpy_type,
                "metadata": None,
            }
        )
    return clean


def _column_indexes(check: _Checker, metadata: dict[str, Any], multi: bool) -> list[dict[str, Any]]:
    """The checked `column_indexes`: one per level of the column labels (several only for a
    MultiIndex, whose field names pyarrow then parses with `ast.literal_eval`)."""
    entries = metadata.get("column_indexes", [])
    if not isinstance(entries, list) or len(entries) > 64 or (not multi and len(entries) > 1):
        raise check.bad_metadata(f"describes the column labels as {shown(entries)}")
    clean = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise check.bad_metadata(f"describes a column label level as {shown(entry)}")
        name, pandas_type, numpy_type = entry.get("name"), entry.get("pandas_type"), entry.get("numpy_type")
        extra = entry.get("metadata")
        level_metadata: dict[str, Any] | None = None
        if not _is_level_name(name) or not column_index_type_ok(pandas_type):
            raise check.bad_metadata(f"describes a column label level as {shown(entry)}")
        if not column_index_dtype_ok(numpy_type):
            raise check.bad_metadata(f"gives the column labels the dtype {shown(numpy_type)}")
        if pandas_type == "datetimetz":
            zone = extra.get("timezone") if isinstance(extra, dict) else None
            if not isinstance(zone, str) or not TIME_ZONE.fullmatch(zone):
                raise check.bad_metadata(f"gives the column labels the time zone {shown(zone)}")
            level_metadata = {"timezone": zone}
        clean.append(
            {
                "name": name,
                "field_name": name,
                "pandas_type": pandas_type,
                "numpy_type": numpy_type,
                "metadata": level_metadata,
            }
        )
    return clean


def _object_cost(arrow_type: pa.DataType) -> int:
    """Bytes per row `restore` adds turning a column pandas did not give as objects into
    objects (its node says `object`): a slot and a Python object per value."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return SLOT + STR_OBJECT
    if pa.types.is_boolean(arrow_type):
        return SLOT
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return SLOT + 32
    if pa.types.is_timestamp(arrow_type) or pa.types.is_duration(arrow_type):
        return SLOT + 8 + TIMESTAMP_OBJECT  # the datetime64 values, then a Timestamp each
    return 0  # the conversion gives these as objects already


def check_frame(table: pa.Table, node: JSONdict, path: ObjectPath, ctx: LoadContext, series: bool) -> FrameLayout:
    """Compare the member's table with its node (rows, column count, labels and dtypes, index
    dtypes) and check its pandas metadata, from the schema and row count alone: nothing is
    converted. Raises `ZanjFormatError` naming what disagrees."""
    check = _Checker(table, node, path, ctx)
    rows = ctx.require(node, "n_rows", int, path)
    if rows != table.num_rows:
        raise check.refuse(f"declares {rows} rows, its member holds {table.num_rows}")
    schema = table.schema
    names = schema.names
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise check.refuse(f"its member has the field {shown(name)} twice")
        seen.add(name)
    metadata = check.pandas_metadata()
    index_columns, n_data = _index_descriptors(check, metadata, names)
    columns = _columns(check, metadata, schema)
    data_fields, index_fields = list(schema)[:n_data], list(schema)[n_data:]

    dtypes = ctx.require(node, "dtypes", list, path)
    if len(dtypes) != n_data:
        raise check.refuse(f"declares {len(dtypes)} columns, its member holds {n_data}")
    labels: list[Any] | None = None
    if series:
        if [f.name for f in data_fields] != [SERIES_COLUMN]:
            raise check.refuse(f"is a series, but its member holds the columns {shown([f.name for f in data_fields])}")
    elif "columns" in node:
        loaded = ctx.load(node["columns"], (*path, "columns"))
        if not isinstance(loaded, list) or len(loaded) != n_data:
            count = len(loaded) if isinstance(loaded, list) else "no list of"
            raise check.refuse(f"declares {count} column labels, its member holds {n_data} columns")
        labels = loaded
        for label, arrow_field in zip(labels, data_fields, strict=True):
            expected = field_name(label)
            if expected is not None and expected != arrow_field.name:
                raise check.refuse(
                    f"declares the column {shown(label)} where its member holds {shown(arrow_field.name)}"
                )
    for position, (declared, arrow_field) in enumerate(zip(dtypes, data_fields, strict=True)):
        if not isinstance(declared, str) or not dtype_fits(declared, arrow_field.type):
            raise check.refuse(
                f"declares column {position} ({shown(arrow_field.name)}) of dtype {shown(declared)}, but its "
                f"member holds Arrow type {shown(str(arrow_field.type))}"
            )

    index_dtypes = node.get("index_dtypes")
    if index_dtypes is not None:
        levels = index_fields or [pa.field("<range index>", pa.int64())]
        if not isinstance(index_dtypes, list) or len(index_dtypes) != len(levels):
            raise check.refuse(f"declares the index dtypes {shown(index_dtypes)} for {len(levels)} index levels")
        for declared, arrow_field in zip(index_dtypes, levels, strict=True):
            if not isinstance(declared, str) or not index_dtype_fits(declared, arrow_field.type):
                raise check.refuse(
                    f"declares an index level of dtype {shown(declared)}, but its member holds Arrow type "
                    f"{shown(str(arrow_field.type))}"
                )
    if "range_index" in node:
        bounds = node["range_index"]
        if range_length(bounds) != rows:
            raise check.refuse(f"has a range_index {shown(bounds)} that does not fit its {rows} rows")

    multi = not series and node.get("columns_multi") is True
    clean = {
        "index_columns": index_columns,
        "column_indexes": _column_indexes(check, metadata, multi),
        "columns": columns,
        "attributes": {},
    }
    extra = sum(rows * _object_cost(f.type) for d, f in zip(dtypes, data_fields, strict=True) if d == "object")
    if len(index_fields) > 1:  # MultiIndex: codes and a hash table per level
        extra += rows * 24 * len(index_fields)
    if isinstance(index_dtypes, list) and "object" in index_dtypes and index_fields:
        extra += rows * SLOT * len(index_fields)
        extra += sum(
            rows * _object_cost(f.type) for d, f in zip(index_dtypes, index_fields, strict=True) if d == "object"
        )
    if isinstance(node.get("index_freq"), str):  # checking a frequency builds the range it implies
        extra += rows * 2 * SLOT
    return FrameLayout(
        metadata=clean,
        data_fields=data_fields,
        index_fields=index_fields,
        dtypes=dtypes,
        labels=labels,
        index_dtypes=[str(d) for d in index_dtypes] if isinstance(index_dtypes, list) else None,
        extra_cost=extra,
    )
