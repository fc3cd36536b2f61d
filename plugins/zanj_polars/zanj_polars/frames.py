"""polars DataFrames, Series and LazyFrames to nodes with an Arrow member, and back, exactly.

The node describes the frame without the member: row count, column names, dtypes as polars
prints them, and the schema in `dtypes`' JSON form. Reading trusts none of the member until it
agrees with the node: its Arrow schema must equal, field metadata included, the one polars
writes for the declared schema (polars parses its own metadata, such as enum categories,
without bounds checks, and panics on forged values), then its values are validated, and only
then does polars take the table over (zero-copy where Arrow and polars agree).

A LazyFrame is collected when saved: its result is stored, not its query plan (which may name
files and Python functions), and it reads back as the LazyFrame of that result.
"""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl
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
from zanj_polars import categories, dtypes, ipc, streamed
from zanj_polars.compat import ZANJ06, ZANJ06_FRAME_TAG
from zanj_polars.panics import guarded
from zanj_polars.zanj06 import load_zanj06, serialize_frame_zanj06

FORMAT = "polars-arrow"
KINDS = ("DataFrame", "Series", "LazyFrame")
MAX_CHUNKS = 64
"""Frames in more chunks are rechunked before saving: each chunk is a record batch, and the
reader bounds how many a member may hold."""


def _schema_json(frame: pl.DataFrame, path: ObjectPath) -> list[JSONitem]:
    encoded: list[JSONitem] = []
    for name, dtype in frame.schema.items():
        try:
            encoded.append(dtypes.encode(dtype))
        except dtypes.UnsupportedDtype as exc:
            raise ZanjSerializationError(
                f"cannot save the polars frame at {format_path(path)}: column {name!r}: {exc}"
            ) from None
    return encoded


def serialize_polars(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    kind = type(obj).__name__
    if isinstance(obj, pl.LazyFrame):
        kind = "LazyFrame"
        obj = guarded(
            obj.collect,
            lambda text: ZanjSerializationError(
                f"cannot save the LazyFrame at {format_path(path)}: collecting it failed: {text}"
            ),
        )
    if ctx.zanj.compat == ZANJ06 and kind == "DataFrame":
        return serialize_frame_zanj06(obj, path, ctx)
    frame: pl.DataFrame = obj.to_frame() if isinstance(obj, pl.Series) else obj
    schema = _schema_json(frame, path)
    most_chunks = max(frame.n_chunks("all"), default=1)
    if most_chunks > MAX_CHUNKS or most_chunks * frame.width > ipc.MAX_COLUMN_CHUNKS:
        frame = frame.rechunk()
    tag = f"polars.{kind}:arrow"
    columns: list[JSONitem] = list(frame.columns)
    printed: list[JSONitem] = [str(dtype) for dtype in frame.dtypes]
    info: JSONdict = {"format": tag, "n_rows": frame.height, "columns": columns, "dtypes": printed}
    member = ctx.add_member(path, FORMAT, frame, info)
    node: JSONdict = {
        FORMAT_KEY: tag,
        REF_KEY: member,
        "n_rows": frame.height,
        "columns": columns,
        "dtypes": printed,
        "schema": schema,
    }
    return node


def declared_schema(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> tuple[int, dict[str, Any]]:
    """(rows, {column: dtype}) as the node declares them, every part checked."""
    where = f"{ctx.label}: the polars frame at {format_path(path)}"
    rows = ctx.require(node, "n_rows", int, path)
    columns = ctx.require(node, "columns", list, path)
    printed = ctx.require(node, "dtypes", list, path)
    schema = ctx.require(node, "schema", list, path)
    if rows < 0 or not len(columns) == len(printed) == len(schema):
        raise ZanjFormatError(f"{where} declares {rows} rows, {len(columns)} columns, {len(schema)} dtypes")
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise ZanjFormatError(f"{where} declares column names that are not distinct strings")
    declared: dict[str, Any] = {}
    for name, encoded, text in zip(columns, schema, printed, strict=True):
        try:
            dtype = dtypes.decode(encoded)
        except dtypes.BadDtype as exc:
            raise ZanjFormatError(f"{where}: column {name[:80]!r}: {exc}") from None
        if str(dtype) != text:
            raise ZanjFormatError(f"{where}: column {name[:80]!r} is declared as {str(text)[:80]!r} and {dtype}")
        declared[name] = dtype
    return rows, declared


def expected_arrow_schema(declared: dict[str, Any], where: str) -> pa.Schema:
    """The Arrow schema polars writes for a frame of schema `declared` (metadata included)."""
    key = json.dumps([[name, dtypes.encode(dtype)] for name, dtype in declared.items()])
    cached = _WRITTEN_SCHEMAS.get(key)
    if cached is not None:
        return cached

    def written() -> pa.Schema:
        buffer = io.BytesIO()
        pl.DataFrame(schema=declared).write_ipc(buffer, compression="uncompressed")
        return pa.ipc.open_file(pa.py_buffer(buffer.getvalue())).schema

    schema = guarded(
        written, lambda text: ZanjFormatError(f"{where}: its declared schema is not one polars writes: {text}")
    )
    if len(key) <= _CACHED_KEY_MAX:
        if len(_WRITTEN_SCHEMAS) >= _CACHED_SCHEMAS:
            _WRITTEN_SCHEMAS.pop(next(iter(_WRITTEN_SCHEMAS)))
        _WRITTEN_SCHEMAS[key] = schema
    return schema


_WRITTEN_SCHEMAS: dict[str, pa.Schema] = {}
"""Schemas polars wrote for declared ones (a file of many small frames of one schema asks once)."""
_CACHED_SCHEMAS = 256
_CACHED_KEY_MAX = 1 << 16


def _refuse_schema(found: pa.Schema, expected: pa.Schema, where: str) -> ZanjFormatError:
    detail = f"it holds {len(found)} fields for the {len(expected)} declared"
    for got, want in zip(found, expected, strict=False):
        if not got.equals(want, check_metadata=True):
            detail = (
                f"field {got.name[:80]!r} is {str(got.type)[:120]!r} where the node declares {str(want.type)[:120]!r}"
            )
            if got.equals(want):
                detail = f"field {got.name[:80]!r} has metadata polars does not write for its declared dtype"
            break
    return ZanjFormatError(
        f"{where}: its member does not hold the frame its node describes ({detail}); the file was altered "
        "or is corrupt: re-save the frame"
    )


def read_frame(node: JSONdict, path: ObjectPath, ctx: LoadContext, rows: slice | None = None) -> pl.DataFrame:
    """The node's frame (or only `rows` of it, validating and converting only those)."""
    where = f"{ctx.label}: the polars frame at {format_path(path)}"
    n_rows, declared = declared_schema(node, path, ctx)
    source = ctx.member(node, path)
    expected = expected_arrow_schema(declared, where)
    what = f"the frame converted from member {source.name!r}"

    def check_schema(found: pa.Schema) -> None:
        if not found.equals(expected, check_metadata=True):
            raise _refuse_schema(found, expected, where)

    streaming = rows is None and streamed.streams(source)
    if streaming:  # copied batch by batch, each checked (values on a helper thread) as it comes
        table = streamed.read_streamed(source, check_schema, n_rows, lambda cost: ctx.charge(cost, path, what=what))
    else:
        reader = ipc.open_reader(source)
        check_schema(reader.schema)
        table = ipc.read_all(reader, source)
    if table.num_rows != n_rows:
        raise ZanjFormatError(f"{where} declares {n_rows} rows, its member holds {table.num_rows}")
    if rows is not None:
        start, stop, _ = rows.indices(n_rows)
        table = table.slice(start, max(stop - start, 0))
    if not streaming:  # read_streamed charged and validated each batch
        ctx.charge(ipc.conversion_cost(table), path, what=what)
        ipc.validate_values(table, source)
    categories.check_dictionaries(table, declared, where)
    frame = guarded(
        lambda: pl.from_arrow(table, rechunk=False),
        lambda text: ZanjFormatError(f"{where}: polars could not take the member's table over: {text}"),
    )
    if not isinstance(frame, pl.DataFrame):
        raise ZanjFormatError(f"{where}: its member did not read as a frame")
    if frame.width == 0 and frame.height != table.num_rows:
        frame = pl.DataFrame(height=table.num_rows)
    if frame.columns != list(declared):  # from_arrow names an empty-named field "column_0"
        frame.columns = list(declared)
    if frame.schema != pl.Schema(declared) or frame.height != table.num_rows:
        raise ZanjFormatError(f"{where}: its member read as {str(frame.schema)[:200]}, not the declared schema")
    return frame


def load_polars(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    module_kind, _, form = tag.partition(":")
    kind = module_kind.removeprefix("polars.")
    if tag == ZANJ06_FRAME_TAG:
        return load_zanj06(node, path, ctx)
    if form != "arrow" or kind not in KINDS or not module_kind.startswith("polars."):
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"polars form {tag!r} is unknown to zanj-polars",
            hint="upgrade zanj-polars: pip install --upgrade zanj-polars",
        )
    frame = read_frame(node, path, ctx)
    return _as_kind(frame, kind, node, path, ctx)


def _as_kind(frame: pl.DataFrame, kind: str, node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    if kind == "Series":
        if frame.width != 1:
            raise ZanjFormatError(f"{ctx.label}: the series at {format_path(path)} does not hold one column")
        return frame.to_series()
    return frame.lazy() if kind == "LazyFrame" else frame


def _row_slice(key: Any, n_rows: int) -> slice | None:
    """`key` as a slice of rows with step 1, or None (then the frame is loaded and indexed)."""
    if isinstance(key, slice) and key.step in (None, 1):
        return key
    if type(key) is int and -n_rows <= key < n_rows:
        position = key % n_rows if n_rows else key
        return slice(position, position + 1)
    return None


def load_polars_part(node: JSONdict, path: ObjectPath, ctx: LoadContext, key: Any) -> Any:
    """`item[key]`: a slice of rows validates and converts only those rows (with `mmap=True`
    only their pages are read); any other key loads the item and indexes it."""
    tag = str(node.get(FORMAT_KEY))
    kind = tag.partition(":")[0].removeprefix("polars.")
    n_rows = node.get("n_rows")
    rows = _row_slice(key, n_rows) if tag.endswith(":arrow") and type(n_rows) is int and kind in KINDS else None
    if rows is None or (kind == "LazyFrame" and type(key) is int):
        whole = ctx.load(node, path)
        return whole[key]
    frame = read_frame(node, path, ctx, rows)
    if type(key) is int and kind == "Series":
        return frame.to_series()[0]
    return _as_kind(frame, kind, node, path, ctx)
