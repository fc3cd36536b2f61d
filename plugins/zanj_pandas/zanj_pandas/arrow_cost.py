"""What converting an Arrow table to pandas allocates, bounded before converting it.

A few hundred bytes of IPC can declare a 3x10^8-row column of nulls (no buffers at all) or many
columns sharing one buffer: pyarrow reads them without allocating, and pandas' conversion then
allocates gigabytes. `conversion_cost` gives an upper bound from lengths and buffer sizes alone,
for the caller to charge to the read's budget first.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from zanj_core.plugin import ZanjFormatError, ZanjLimitError
from zanj_pandas.arrow_schema import MAX_NESTING, shown

# Bytes per row converting to pandas may allocate, beyond the values themselves: a slot of an
# object array and the Python object it points to (sizes from sys.getsizeof, rounded up).
SLOT = 8
STR_OBJECT = 80  # str header, compact non-ASCII form; the characters are charged apart
DATE_OBJECT = 64  # datetime.date / datetime.time
TIMESTAMP_OBJECT = 128  # pandas Timestamp / Timedelta
DECIMAL_OBJECT = 128  # decimal.Decimal of up to 76 digits
ARRAY_OBJECT = 112  # numpy array header, one per list / fixed-size list value
DICT_OBJECT = 240  # dict of a struct row, plus `DICT_PER_FIELD` per key
DICT_PER_FIELD = 48
TUPLE_OBJECT = 64  # (key, value) of a map entry
LIST_OBJECT = 56  # list of a map row's entries
COLUMN_OVERHEAD = 2048
"""Bytes per column whatever its rows: pandas block, index entry, array header, metadata."""


def _buffer_bytes(array: pa.Array) -> int:
    """Bytes of the array's own buffers (not its children's): an upper bound of its data."""
    return sum(int(buffer.size) for buffer in array.buffers()[: array.type.num_buffers] if buffer is not None)


def _view_bytes(array: pa.Array) -> int:
    """Bytes a string or binary view array holds once its views are copied out: views may all
    point at the same bytes, so the buffers' sizes say nothing of it. Each 16-byte view starts
    with its value's length; negative (invalid) ones count as 0, and `validate_full` refuses them."""
    views = array.buffers()[1]
    if views is None or len(array) == 0:
        return 0
    lengths = np.frombuffer(views, dtype="<i4").reshape(-1, 4)[array.offset : array.offset + len(array), 0]
    return int(lengths.astype(np.int64).clip(0).sum())


def array_cost(array: pa.Array, depth: int = 0) -> int:
    """Upper bound of the bytes pandas' conversion of `array` allocates (`to_pandas`, then at
    most one conversion of the column to objects), from lengths and buffer sizes only."""
    if depth > MAX_NESTING:  # check_schema refused these already; this keeps the walk bounded
        raise ZanjLimitError(f"an Arrow array nests more than {MAX_NESTING} levels deep")
    arrow_type = array.type
    rows = len(array)
    nulls = int(array.null_count)
    if isinstance(arrow_type, pa.BaseExtensionType):  # storage, the pandas array built from it, a mask
        return 2 * array_cost(array.storage, depth + 1) + rows
    if pa.types.is_null(arrow_type):
        return rows * SLOT
    if pa.types.is_boolean(arrow_type):  # with nulls: an object array of True/False/None
        return rows * ((SLOT if nulls else 1) + 1)
    if pa.types.is_dictionary(arrow_type):  # categorical codes, and the categories
        return rows * int(arrow_type.index_type.bit_width // 8) + array_cost(array.dictionary, depth + 1)
    if pa.types.is_date(arrow_type) or pa.types.is_time(arrow_type):
        return rows * (SLOT + DATE_OBJECT)
    if pa.types.is_decimal(arrow_type) or arrow_type.id == pa.month_day_nano_interval().id:
        return rows * (SLOT + DECIMAL_OBJECT)
    if pa.types.is_string_view(arrow_type) or pa.types.is_binary_view(arrow_type):
        return rows * (SLOT + STR_OBJECT) + 4 * _view_bytes(array)
    if pa.types.is_fixed_size_binary(arrow_type):
        return rows * (SLOT + STR_OBJECT + 4 * int(arrow_type.byte_width))
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    ):  # str objects take up to 4 bytes per UTF-8 byte
        return rows * (SLOT + STR_OBJECT) + 4 * _buffer_bytes(array)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return int(rows * (SLOT + ARRAY_OBJECT) + array_cost(array.values, depth + 1))
    if pa.types.is_map(arrow_type):
        keys, items = array.keys, array.items
        return int(
            rows * (SLOT + LIST_OBJECT)
            + len(keys) * (SLOT + TUPLE_OBJECT)
            + array_cost(keys, depth + 1)
            + array_cost(items, depth + 1)
        )
    if pa.types.is_struct(arrow_type):
        fields = int(arrow_type.num_fields)
        own = rows * (SLOT + DICT_OBJECT + DICT_PER_FIELD * fields)
        return own + sum(array_cost(array.field(i), depth + 1) for i in range(fields))
    if any(test(arrow_type) for test in (pa.types.is_integer, pa.types.is_floating, pa.types.is_temporal)):
        # numbers, timestamps, durations: the values (float64 for ints with nulls), and a mask
        # for pandas' masked arrays
        width = int(arrow_type.bit_width) // 8
        return rows * (max(width, SLOT if nulls else width) + 1)
    raise ZanjFormatError(f"Arrow type {shown(str(arrow_type))} is not one zanj-pandas reads")


def conversion_cost(table: pa.Table) -> int:
    """Upper bound of what converting `table` to pandas allocates, computed without converting:
    each chunk of each column (so columns sharing buffers are each counted) plus
    `COLUMN_OVERHEAD` per column. Charge it to the read's budget before `validate_full`."""
    total = COLUMN_OVERHEAD * int(table.num_columns)
    for column in table.columns:
        for chunk in column.chunks:
            total += array_cost(chunk)
    return total
