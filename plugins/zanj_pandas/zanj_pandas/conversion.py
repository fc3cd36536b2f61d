"""A checked Arrow table converted to pandas without holding the frame's data twice.

pyarrow's default `to_pandas` copies every column into consolidated 2D blocks while the table,
all of it one buffer holding the member, is alive: a read peaked at the member plus the frame
plus pandas' temporaries (2.3x the frame on a typed 2M-row frame). With `split_blocks=True`
pyarrow hands out columns of numbers, timestamps, durations and categorical codes without nulls
as views of the member's bytes instead, but read-only, and pandas cannot write into those. Each
such view is replaced here by a writable view of the same bytes: of the buffer this read alone
filled, or of the copy-on-write map (`mmap=True`; writes stay private, the file never changes).
Nullable integer columns are built the same way: pandas' own conversion copies their values
twice. Every value is the byte pyarrow would have given (the same memory, the same dtype);
anything else is left as pyarrow converted it, and a read-only view this cannot replace is
copied, so the frame is as writable as a copy.

A writable view is made only of bytes that no other Arrow buffer of the member overlaps: a
forged member may point two columns, or a column and a string column's offsets, at the same
bytes, and writing through one must not change (or corrupt) another. When the views would keep
a mostly dead buffer alive (most of the member converted into other objects, such as strings
into Python objects), they are copied after all and the buffer freed. Small or wide frames,
whose per-column work would cost more than it saves, keep pyarrow's default conversion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

SPLIT_MIN_COLUMN_BYTES = 1 << 16
"""Member bytes per column from which columns are converted one by one as views."""

_NULLABLE_INTEGERS = (
    pd.Int8Dtype,
    pd.Int16Dtype,
    pd.Int32Dtype,
    pd.Int64Dtype,
    pd.UInt8Dtype,
    pd.UInt16Dtype,
    pd.UInt32Dtype,
    pd.UInt64Dtype,
)
_NUMPY_BACKED = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray  # renamed in pandas 2.1
_DATETIME_LIKE = (pd.arrays.DatetimeArray, pd.arrays.TimedeltaArray)


def _dictionaries(array: pa.Array) -> Iterator[pa.Array]:
    """The dictionaries in `array`, at any depth (`Array.buffers()` leaves them out)."""
    arrow_type = array.type
    if isinstance(array, pa.ExtensionArray):
        yield from _dictionaries(array.storage)
    elif pa.types.is_dictionary(arrow_type):
        yield array.dictionary
        yield from _dictionaries(array.dictionary)
    elif pa.types.is_map(arrow_type):
        yield from _dictionaries(array.keys)
        yield from _dictionaries(array.items)
    elif pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        yield from _dictionaries(array.values)
    elif pa.types.is_struct(arrow_type):
        for index in range(arrow_type.num_fields):
            yield from _dictionaries(array.field(index))


class _Member:
    """The member's bytes, and which of them exactly one Arrow buffer of its table covers."""

    def __init__(self, data: memoryview, table: pa.Table) -> None:
        self.bytes = np.frombuffer(data, dtype=np.uint8)
        self.start = int(self.bytes.ctypes.data)
        spans = [
            (int(buffer.address), int(buffer.address) + int(buffer.size))
            for column in table.columns
            for chunk in column.chunks
            for array in (chunk, *_dictionaries(chunk))
            for buffer in array.buffers()
            if buffer is not None and buffer.size > 0
        ]
        ordered = sorted(spans)
        self.starts = np.array([start for start, _ in ordered], dtype=np.int64)
        self.ends = np.array([end for _, end in ordered], dtype=np.int64)
        before = np.maximum.accumulate(np.concatenate([[np.iinfo(np.int64).min], self.ends[:-1]]))
        after = np.concatenate([self.starts[1:], [np.iinfo(np.int64).max]])
        self.shared = (before > self.starts) | (after < self.ends)  # sorted by start: exact

    def writable_view(self, values: np.ndarray) -> np.ndarray | None:
        """The bytes of `values` again as a writable array over the member, or None unless they
        lie in it, inside one Arrow buffer that no other buffer overlaps."""
        if values.dtype.hasobject or values.ndim != 1 or not values.flags.c_contiguous or values.nbytes == 0:
            return None
        if not self.bytes.flags.writeable or not len(self.starts):
            return None
        start = int(values.ctypes.data)
        end = start + values.nbytes
        found = int(np.searchsorted(self.starts, start, side="right")) - 1
        if found < 0 or self.ends[found] < end or self.shared[found]:
            return None
        offset = start - self.start
        if offset < 0 or offset + values.nbytes > self.bytes.nbytes:
            return None
        return self.bytes[offset : offset + values.nbytes].view(values.dtype)

    def holds(self, values: np.ndarray) -> bool:
        return 0 <= int(values.ctypes.data) - self.start < self.bytes.nbytes

    def bytes_in(self, array: Any) -> int:
        """Bytes of an Arrow-backed pandas array (`str`, `string`, ArrowDtype) in the member."""
        if not isinstance(array, pd.arrays.ArrowExtensionArray):
            return 0
        arrow_data = pa.array(array)  # through `__arrow_array__`: pandas hands over its own Arrow data
        chunks = arrow_data.chunks if isinstance(arrow_data, pa.ChunkedArray) else [arrow_data]
        end = self.start + self.bytes.nbytes
        return sum(
            int(buffer.size)
            for chunk in chunks
            for buffer in chunk.buffers()
            if buffer is not None and self.start <= buffer.address < end
        )


def _same_memory(twin: np.ndarray, values: np.ndarray) -> bool:
    return bool(twin.ctypes.data == values.ctypes.data and twin.nbytes == values.nbytes)


def _writable_twin(array: Any, member: _Member) -> Any:
    """A writable array equal to `array`, a read-only view of the member, over the same bytes;
    or None when `array` is not such a view (or rebuilding it would not keep its dtype)."""
    if isinstance(array, _NUMPY_BACKED):
        values = np.asarray(array)
        return member.writable_view(values)
    if isinstance(array, _DATETIME_LIKE):
        values = array.asi8
        view = member.writable_view(values)
        if view is None:
            return None
        # a zone's dtype takes the UTC instants as integers; naive ones their own datetime64 / timedelta64
        data = view if isinstance(array.dtype, pd.DatetimeTZDtype) else view.view(array.dtype)
        rebuilt = pd.array(data, dtype=array.dtype, copy=False)
        return rebuilt if rebuilt.dtype == array.dtype and _same_memory(rebuilt.asi8, values) else None
    if isinstance(array, pd.Categorical):
        codes = array.codes
        view = member.writable_view(codes)
        if view is None:
            return None
        rebuilt = pd.Categorical.from_codes(view, dtype=array.dtype)
        return rebuilt if rebuilt.dtype == array.dtype and _same_memory(rebuilt.codes, codes) else None
    return None


def _masked_integer_dtype(column: pa.ChunkedArray, numpy_type: str) -> Any:
    """The pandas nullable integer dtype (`Int64`, `UInt8`, ...) the metadata gives a column of
    exactly that Arrow integer type in one chunk, or None: such a column is built here."""
    if column.num_chunks != 1 or not pa.types.is_integer(column.type) or column.chunk(0).offset != 0:
        return None
    try:  # numpy_type passed the allowlist of dtype names (checks.py)
        dtype = pd.api.types.pandas_dtype(numpy_type)
    except (TypeError, ValueError):
        return None
    if not isinstance(dtype, _NULLABLE_INTEGERS):
        return None
    return dtype if column.type.equals(pa.from_numpy_dtype(dtype.numpy_dtype)) else None


def _values_only(chunk: pa.Array) -> pa.Array:
    """`chunk` without its validity bitmap: pyarrow converts it as a read-only view of its values."""
    return pa.Array.from_buffers(chunk.type, len(chunk), [None, chunk.buffers()[1]], offset=chunk.offset)


def _masked_twin(array: Any, chunk: pa.Array, member: _Member) -> tuple[Any, bool]:
    """The nullable integer array pandas makes of `chunk` (its values, `~validity` as the mask),
    its values the writable view of the member that `array` (their read-only view) is, when
    they may be; and whether they are."""
    values = np.asarray(array)
    view = member.writable_view(values)
    validity = chunk.buffers()[0]
    if validity is None:
        mask = np.zeros(len(chunk), dtype=bool)
    else:
        mask = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=len(chunk), bitorder="little").view(bool)
        np.logical_not(mask, out=mask)
    return pd.arrays.IntegerArray(values.copy() if view is None else view, mask), view is not None


def _read_only_view(array: Any, member: _Member) -> bool:
    """Whether pyarrow gave `array` as a view that pandas cannot write into."""
    if isinstance(array, _NUMPY_BACKED):
        return not np.asarray(array).flags.writeable
    if isinstance(array, _DATETIME_LIKE):
        return not array.asi8.flags.writeable
    if isinstance(array, pd.Categorical):  # its codes always show read-only: a view of the member is
        return member.holds(array.codes)
    return False


def _as_metadata(metadata: dict[str, Any]) -> dict[bytes, bytes]:
    return {b"pandas": json.dumps(metadata).encode()}


def to_pandas(table: pa.Table, metadata: dict[str, Any], n_data: int, data: memoryview, mapped: bool) -> pd.DataFrame:
    """`table` (checked, validated, a zero-copy view of `data`) as pandas converts it with the
    checked pandas `metadata`; its first `n_data` fields are the frame's columns. Columns pyarrow
    can give as views of `data` are writable views of it (see the module's docstring)."""
    if n_data == 0 or data.nbytes < SPLIT_MIN_COLUMN_BYTES * table.num_columns:
        return table.replace_schema_metadata(_as_metadata(metadata)).to_pandas()
    member = _Member(data, table)
    columns_metadata = [dict(entry) for entry in metadata["columns"]]
    masked: dict[int, pa.Array] = {}
    for position in range(n_data):
        column = table.column(position)
        dtype = _masked_integer_dtype(column, str(columns_metadata[position]["numpy_type"]))
        if dtype is not None:
            masked[position] = column.chunk(0)
            table = table.set_column(position, table.field(position), _values_only(column.chunk(0)))
            columns_metadata[position]["numpy_type"] = str(dtype.numpy_dtype)
    frame = table.replace_schema_metadata(_as_metadata({**metadata, "columns": columns_metadata})).to_pandas(
        split_blocks=True
    )
    arrays: list[Any] = []
    views: list[int] = []  # positions of the columns that are writable views of the member
    kept = 0  # bytes of the member the frame keeps alive
    for position in range(frame.shape[1]):
        array = frame.iloc[:, position].array
        if position in masked:
            twin, is_view = _masked_twin(array, masked[position], member)
        else:
            twin = _writable_twin(array, member)
            is_view = twin is not None
            if twin is None and _read_only_view(array, member):
                twin = array.copy()
        if is_view:
            views.append(position)
            kept += int(array.codes.nbytes if isinstance(array, pd.Categorical) else array.nbytes)
        if columns_metadata[position]["numpy_type"] != "object":  # else frames.py makes objects of it
            kept += member.bytes_in(array)
        arrays.append(array if twin is None else twin)
    if not mapped and 2 * kept < data.nbytes:  # the views would keep a mostly dead buffer alive
        for position in views:
            arrays[position] = arrays[position].copy()
    result = pd.DataFrame(dict(enumerate(arrays)), index=frame.index, copy=False)
    result.columns = frame.columns
    result.attrs = frame.attrs
    return result
