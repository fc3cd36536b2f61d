"""The `arrow` member format: an Arrow IPC file, streamed out and read without extra copies.

Why IPC and not Parquet: on the 1M-row typed frame of bench/ it saves about 3x and reads
about 4x faster than Parquet here, it keeps every Arrow type as is (no encoding choices), and an
uncompressed member can be mapped and read in place. Parquet is smaller on disk; zanj favours
speed and exactness, and `compress=True` deflates the member when size matters.

Reading is bounded by what the member holds, not by what it declares. A few hundred bytes of
IPC can declare a 3x10^8-row column of nulls (no buffers at all), a struct column of empty
structs, a compressed buffer that inflates to terabytes, or many columns sharing one buffer;
pyarrow reads all of these without allocating, and converting them to pandas allocates
gigabytes. So, in this order and before any conversion: the file's layout is checked by hand
(footer, record batches, no body compression), the table is read zero-copy and checked
structurally, its types are checked against what zanj writes (nesting, extension types, time
zones), `conversion_cost` gives an upper bound of what converting it allocates for the caller
to charge to the read's budget, and only then is every value validated (`validate_full`).
"""

from __future__ import annotations

import re
import reprlib
import struct
from typing import IO, Any

import numpy as np
import pyarrow as pa

from zanj_core.plugin import MemberSource, ZanjFormatError, ZanjLimitError, format_path

MAGIC = b"ARROW1"

MAX_RECORD_BATCHES = 4096
"""Most record batches plus dictionary batches one member may hold. zanj writes one record
batch per frame (and one dictionary batch per categorical column); every batch costs pyarrow and
pandas work for every column, and the chunks of a categorical column are unified."""
MAX_FIELDS = 1 << 20
"""Most fields (columns and the fields nested in them) one member's schema may hold."""
MAX_NESTING = 32
"""Deepest nesting of list, struct, map and dictionary types (pyarrow itself stops at 64)."""

PANDAS_EXTENSIONS = frozenset({"pandas.period", "pandas.interval"})
"""The Arrow extension types zanj writes (pandas' own, for period and interval columns). Any
other would run the to_pandas code of whatever library registered that name in this process."""

TIME_ZONE = re.compile(r"[A-Za-z0-9_+\-:]{1,64}(/[A-Za-z0-9_+\-:]{1,64}){0,3}")
"""A time zone as a name (`Europe/Paris`, `UTC`) or an offset (`+01:00`): relative, no dots, no
empty parts, so no resolver can be sent to a file path or a package of the file's choosing."""
_PERIOD_FREQ = re.compile(r"[A-Za-z0-9\-]{1,32}")

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


def shown(value: Any, limit: int = 80) -> str:
    """`value` from a file as its repr, cut to about `limit` characters: a message stays short
    and a hostile string (control characters, megabytes) shows as data. `reprlib` bounds the
    work too: it cuts strings before quoting them and stops at a few items and levels."""
    cut = reprlib.Repr()
    cut.maxstring = cut.maxother = limit
    cut.maxlevel, cut.maxlist, cut.maxdict = 3, 6, 6
    return cut.repr(value)


class _Sink:
    """What pyarrow needs of a file to write to; closing it leaves the member open for zanj."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        written = self._stream.write(data)
        self._position += memoryview(data).nbytes
        return written

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def write_table(table: pa.Table, stream: IO[bytes]) -> None:
    """Uncompressed IPC (the default options): the reader refuses body compression."""
    sink = pa.PythonFile(_Sink(stream), mode="w")
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _where(source: MemberSource) -> str:
    return f"{source.reader.path}: member {source.name!r} (at {format_path(source.path)})"


class _Malformed(Exception):
    """A flatbuffer offset or length pointing outside its buffer."""


def _read(data: memoryview, at: int, fmt: str) -> int:
    size = struct.calcsize(fmt)
    if at < 0 or at + size > len(data):
        raise _Malformed(f"an offset ({at}) points outside its {len(data)}-byte block")
    value: int = struct.unpack_from(fmt, data, at)[0]
    return value


class _FlatTable:
    """One table of a flatbuffer, every offset checked against the buffer's end: just enough of
    the format to list an IPC file's batches and see whether they are compressed."""

    def __init__(self, data: memoryview, at: int) -> None:
        self.data = data
        self.at = at
        self.vtable = at - _read(data, at, "<i")
        size = _read(data, self.vtable, "<H")
        if size < 4 or size % 2 or self.vtable + size > len(data):
            raise _Malformed(f"a table layout of {size} bytes at {self.vtable} does not fit")
        self.n_fields = (size - 4) // 2

    @classmethod
    def root(cls, data: memoryview) -> _FlatTable:
        return cls(data, _read(data, 0, "<I"))

    def field(self, index: int) -> int | None:
        """Where field `index` is stored, or None when it is absent (its default)."""
        if index >= self.n_fields:
            return None
        offset = _read(self.data, self.vtable + 4 + 2 * index, "<H")
        return None if offset == 0 else self.at + offset

    def scalar(self, index: int, fmt: str, default: int) -> int:
        at = self.field(index)
        return default if at is None else _read(self.data, at, fmt)

    def table(self, index: int) -> _FlatTable | None:
        at = self.field(index)
        return None if at is None else _FlatTable(self.data, at + _read(self.data, at, "<I"))

    def vector(self, index: int, item_size: int) -> tuple[int, int]:
        """(start, count) of a vector of `item_size`-byte structs; (0, 0) when absent."""
        at = self.field(index)
        if at is None:
            return 0, 0
        start = at + _read(self.data, at, "<I")
        count = _read(self.data, start, "<I")
        if start + 4 + count * item_size > len(self.data):
            raise _Malformed(f"a vector of {count} items at {start} does not fit")
        return start + 4, count


# flatbuffer layout (format/File.fbs, format/Message.fbs)
_FOOTER_DICTIONARIES, _FOOTER_RECORD_BATCHES = 2, 3
_BLOCK = struct.Struct("<qi4xq")  # offset, metaDataLength, (padding), bodyLength
_MESSAGE_HEADER_TYPE, _MESSAGE_HEADER = 1, 2
_HEADER_DICTIONARY_BATCH, _HEADER_RECORD_BATCH = 2, 3
_DICTIONARY_BATCH_DATA = 1
_RECORD_BATCH_COMPRESSION = 3


def check_layout(data: memoryview, where: str) -> None:
    """Check the IPC file's footer and every batch it lists before pyarrow reads any of them:
    batches within the member, at most `MAX_RECORD_BATCHES`, none compressed.

    Body compression (LZ4/ZSTD buffers inside the member) is refused outright: zanj never
    writes it, and each compressed buffer states its own uncompressed length, which pyarrow
    allocates before inflating: a decompression bomb inside a stored member, out of reach of
    the zip-level ratio check."""
    size = len(data)
    tail = len(MAGIC) + 4
    if size < 8 + tail or bytes(data[size - len(MAGIC) :]) != MAGIC:
        raise ZanjFormatError(f"{where} is not a valid Arrow IPC file: it lacks the closing ARROW1 magic")
    try:
        footer_length = _read(data, size - tail, "<i")
        footer_start = size - tail - footer_length
        if footer_length <= 0 or footer_start < 8:
            raise _Malformed(f"its footer length {footer_length} does not fit the {size}-byte member")
        footer = _FlatTable.root(data[footer_start : size - tail])
        blocks: list[tuple[str, int]] = []
        for kind, index in (("dictionary", _FOOTER_DICTIONARIES), ("record", _FOOTER_RECORD_BATCHES)):
            start, count = footer.vector(index, _BLOCK.size)
            blocks += [(kind, start + i * _BLOCK.size) for i in range(min(count, MAX_RECORD_BATCHES + 1))]
            if len(blocks) > MAX_RECORD_BATCHES:
                raise ZanjLimitError(
                    f"{where} lists more than {MAX_RECORD_BATCHES} record and dictionary batches; zanj "
                    "writes one record batch per frame, and each costs work for every column. The member "
                    "was not written by zanj, or was altered"
                )
        for number, (kind, at) in enumerate(blocks):
            offset, meta_length, body_length = _BLOCK.unpack_from(footer.data, at)
            if offset < 8 or meta_length < 8 or body_length < 0 or offset + meta_length + body_length > footer_start:
                raise _Malformed(
                    f"{kind} batch {number} lies at bytes {offset}..{offset + meta_length + body_length}, "
                    f"outside the data part (8..{footer_start})"
                )
            first = _read(data, offset, "<i")
            length, start = (_read(data, offset + 4, "<i"), offset + 8) if first == -1 else (first, offset + 4)
            if length <= 0 or start + length > offset + meta_length:
                raise _Malformed(f"{kind} batch {number} has a message of {length} bytes that does not fit")
            message = _FlatTable.root(data[start : start + length])
            header_type = message.scalar(_MESSAGE_HEADER_TYPE, "<B", 0)
            if header_type not in (_HEADER_DICTIONARY_BATCH, _HEADER_RECORD_BATCH):
                raise _Malformed(f"{kind} batch {number} holds a message of type {header_type}, not a batch")
            header = message.table(_MESSAGE_HEADER)
            if header_type == _HEADER_DICTIONARY_BATCH and header is not None:
                header = header.table(_DICTIONARY_BATCH_DATA)
            if header is None:
                raise _Malformed(f"{kind} batch {number} has no body description")
            if header.field(_RECORD_BATCH_COMPRESSION) is not None:
                raise ZanjFormatError(
                    f"{where} uses Arrow IPC body compression (LZ4/ZSTD buffers, in {kind} batch {number}), "
                    "which zanj never writes: a compressed buffer declares its own inflated size, so a small "
                    "member could ask for any amount of memory. Re-save the frame with zanj (use "
                    "ZANJ(compress=True) to make the member smaller)"
                )
    except _Malformed as exc:
        raise ZanjFormatError(f"{where} is not a valid Arrow IPC file: {exc}") from None


_FLAT_TYPES = (
    pa.types.is_null,
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_string_view,
    pa.types.is_binary,
    pa.types.is_large_binary,
    pa.types.is_binary_view,
    pa.types.is_fixed_size_binary,
    pa.types.is_date,
    pa.types.is_time,
    pa.types.is_timestamp,
    pa.types.is_duration,
    lambda t: t.id == pa.month_day_nano_interval().id,
)


def _children(arrow_type: pa.DataType) -> list[pa.DataType] | None:
    """The types nested in `arrow_type`, or None when zanj never writes that kind of type."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return [arrow_type.storage_type]
    if pa.types.is_dictionary(arrow_type):
        return [arrow_type.value_type] if pa.types.is_integer(arrow_type.index_type) else None
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return [arrow_type.value_type]
    if pa.types.is_map(arrow_type):
        return [arrow_type.key_type, arrow_type.item_type]
    if pa.types.is_struct(arrow_type):
        return [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
    if any(test(arrow_type) for test in _FLAT_TYPES):
        return []
    return None


def check_schema(schema: pa.Schema, where: str) -> None:
    """Refuse types zanj never writes (unions, run-end encoded, list views, foreign extension
    types), nesting deeper than `MAX_NESTING`, more than `MAX_FIELDS` fields, and time zones
    or period frequencies that are not plain names, before anything converts them."""
    budget = MAX_FIELDS
    for column in schema:
        pending = [(column.type, 1)]
        while pending:
            arrow_type, depth = pending.pop()
            budget -= 1
            if budget < 0:
                raise ZanjLimitError(
                    f"{where} has more than {MAX_FIELDS} fields (columns and the fields nested in them)"
                )
            if depth > MAX_NESTING:
                raise ZanjLimitError(
                    f"{where}: column {shown(column.name)} nests types more than {MAX_NESTING} levels deep; "
                    "zanj writes no such frame"
                )
            children = _children(arrow_type)
            if children is None:
                raise ZanjFormatError(
                    f"{where}: column {shown(column.name)} has Arrow type {shown(str(arrow_type))}, which "
                    "zanj-pandas never writes and does not read"
                )
            if isinstance(arrow_type, pa.BaseExtensionType):
                _check_extension(arrow_type, column.name, where)
            if (
                pa.types.is_timestamp(arrow_type)
                and arrow_type.tz is not None
                and not TIME_ZONE.fullmatch(arrow_type.tz)
            ):
                raise ZanjFormatError(
                    f"{where}: column {shown(column.name)} has the time zone {shown(arrow_type.tz)}, which is "
                    "not a time zone name or offset"
                )
            pending += [(child, depth + 1) for child in children]


def _check_extension(arrow_type: pa.BaseExtensionType, column: str, where: str) -> None:
    name = arrow_type.extension_name
    if name not in PANDAS_EXTENSIONS:
        raise ZanjFormatError(
            f"{where}: column {shown(column)} has the Arrow extension type {shown(name)}; zanj-pandas reads "
            f"only {', '.join(sorted(PANDAS_EXTENSIONS))} (converting another runs the code of whatever "
            "registered that name)"
        )
    freq = getattr(arrow_type, "freq", None)
    if name == "pandas.period" and not (isinstance(freq, str) and _PERIOD_FREQ.fullmatch(freq)):
        raise ZanjFormatError(f"{where}: column {shown(column)} has the period frequency {shown(freq)}")


def open_table(source: MemberSource) -> pa.Table:
    """The member's table, read zero-copy (over a copy-on-write map of the file when mapping was
    asked for, else over one buffer holding exactly the member), its layout and types checked
    and its structure validated. Values are not validated yet: charge `conversion_cost` first,
    then call `validate_full` (whose work that cost also bounds)."""
    where = _where(source)
    if source.size < 12 or source.read_range(0, 6) != MAGIC:
        raise ZanjFormatError(f"{where} is not an Arrow IPC file: it lacks the ARROW1 magic")
    view = source.memory_map(copy_on_write=True) if source.want_mmap else None
    if view is None:
        source.reserve(source.size)
        raw = bytearray(source.size)
        view = memoryview(raw)
        source.read_into(view)
    check_layout(view, where)
    try:
        table = pa.ipc.open_file(pa.py_buffer(view)).read_all()
        table.validate()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ZanjFormatError(f"{where} is not a valid Arrow IPC file: {shown(str(exc), 300)}") from None
    check_schema(table.schema, where)
    return table


def validate_full(table: pa.Table, source: MemberSource) -> None:
    """Check every value (offsets, dictionary indices, UTF-8) before pandas reads any."""
    try:
        table.validate(full=True)
    except (pa.ArrowException, ValueError) as exc:
        raise ZanjFormatError(f"{_where(source)} is not a valid Arrow IPC file: {shown(str(exc), 300)}") from None


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


def read_table(source: MemberSource) -> pa.Table:
    """The member's table, validated; charged to the read's budget as if converted to pandas
    (which also bounds the work of validating it): a member format reader for any caller."""
    table = open_table(source)
    source.charge(
        conversion_cost(table), f"the frame converted from member {source.name!r} at {format_path(source.path)}"
    )
    validate_full(table, source)
    return table
