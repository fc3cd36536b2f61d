"""The `polars-arrow` member format: a frame as an uncompressed Arrow IPC file.

Written by polars itself (`write_ipc` streams into the member, which the core stores
uncompressed and 64-byte aligned). Read without polars trusting a byte of it: the layout is
checked by hand (`ipc_layout`), pyarrow reads the table zero-copy (over a copy-on-write map of
the file when `mmap=True`, else over one buffer holding exactly the member), the caller checks
its schema against the one the node declares, charges the conversion, and only then is every
value validated (`validate_values`) and the table handed to polars (`frames`). A copying read
of a large member does the same batch by batch while it copies (`streamed`).
"""

from __future__ import annotations

from typing import IO, Any

import pyarrow as pa

from zanj_core.plugin import MemberSource, ZanjFormatError, ZanjLimitError, format_path
from zanj_polars.ipc_layout import check_ipc_layout
from zanj_polars.validation import validate_arrays

FIELD_ROW = 1
"""Bytes per row and field polars may allocate taking a table over beyond the member's own
buffers (it shares those): a validity bitmap where Arrow has none (a Null column: 1 bit a row)."""
CODE_ROW = 8
"""Bytes per row of a dictionary-encoded field: polars maps the codes to its own categories."""
COLUMN_OVERHEAD = 4096
"""Bytes polars and pyarrow allocate per column chunk (one column of one record batch), values
aside: measured about 1.3 KB in `pl.from_arrow` and 2 KB in all (pyarrow 26, polars 1.x) for
Int8 columns of one-row batches. A footer of 4,095 batches of 300 columns costs 1.2M of them."""
MAX_COLUMN_CHUNKS = 1 << 18
"""Most record batches x columns a member may hold: each costs time as well as memory
(1.2M took polars over 20 s), and the writer rechunks frames that would hold more."""


def write_frame(frame: Any, stream: IO[bytes]) -> None:
    """Uncompressed IPC, newest Arrow types polars writes (string views): the reader refuses
    body compression. polars hands each buffer to `stream.write` as it goes: no copy of the
    whole file is built. (Writing on a helper thread, to overlap the member's CRC with polars'
    work, measured slower on two cores.)"""
    frame.write_ipc(stream, compression="uncompressed")


def where(source: MemberSource) -> str:
    return f"{source.location}: member {source.name!r} (at {format_path(source.path)})"


def open_reader(source: MemberSource) -> pa.ipc.RecordBatchFileReader:
    """A pyarrow reader over the member's bytes, its layout checked; nothing read yet beyond
    the footer and schema."""
    described = where(source)
    if source.size < 18 or source.read_range(0, 6) != b"ARROW1":
        raise ZanjFormatError(f"{described} is not an Arrow IPC file: it lacks the ARROW1 magic")
    view = source.memory_map(copy_on_write=True) if source.want_mmap else None
    if view is None:
        source.reserve(source.size)
        # pyarrow's allocator: 64-byte aligned and not zero-filled (read_into fills every byte)
        view = memoryview(pa.allocate_buffer(source.size))
        source.read_into(view)
    check_ipc_layout(view, described)
    try:
        return pa.ipc.open_file(pa.py_buffer(view))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ZanjFormatError(f"{described} is not a valid Arrow IPC file: {cut(exc)}") from None


def check_column_chunks(batches: int, columns: int, source: MemberSource) -> None:
    """Refuse (`ZanjLimitError`) more column chunks than `MAX_COLUMN_CHUNKS`, before any is read."""
    if batches * columns > MAX_COLUMN_CHUNKS:
        raise ZanjLimitError(
            f"{where(source)} holds {batches} record batches of {columns} columns, over the "
            f"{MAX_COLUMN_CHUNKS} column chunks zanj reads (zanj writes frames in fewer): "
            "re-save the frame with zanj, or rechunk it first"
        )


def read_all(reader: pa.ipc.RecordBatchFileReader, source: MemberSource) -> pa.Table:
    """Every batch, zero-copy, structurally validated (lengths and offsets inside buffers)."""
    check_column_chunks(reader.num_record_batches, len(reader.schema), source)
    try:
        table = reader.read_all()
        table.validate()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ZanjFormatError(f"{where(source)} is not a valid Arrow IPC file: {cut(exc)}") from None
    return table


def _children(array: pa.Array) -> list[pa.Array]:
    """The arrays nested in `array` (the types polars writes: lists, arrays, structs, dictionaries)."""
    arrow_type = array.type
    if pa.types.is_dictionary(arrow_type):
        return [array.dictionary]
    if pa.types.is_struct(arrow_type):
        return [array.field(i) for i in range(arrow_type.num_fields)]
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return [array.values]
    return []


def conversion_cost(table: pa.Table) -> int:
    """Upper bound of what polars allocates taking the table over, beyond the member's bytes
    (already charged), from lengths alone: lengths come from the file and cost nothing to
    declare (3x10^8 nulls fit in a few hundred bytes, at the top or nested in a list)."""
    column_chunks: int = sum(max(column.num_chunks, 1) for column in table.columns)
    return COLUMN_OVERHEAD * column_chunks + values_cost([chunk for column in table.columns for chunk in column.chunks])


def values_cost(arrays: list[pa.Array]) -> int:
    """`conversion_cost` of these arrays' values (without the per-column overhead). A dictionary
    is charged once per chunk holding it, at its buffers' size: chunks of one file share one
    dictionary, but polars converts (and, reading from a map, copies) it for each chunk: 4,095
    one-row batches sharing 60,000 categories cost 16 bytes per category per batch, 3.9 GB."""
    total = 0
    pending = list(arrays)
    while pending:
        array = pending.pop()
        total += FIELD_ROW * len(array)
        if pa.types.is_dictionary(array.type):
            dictionary_bytes: int = array.dictionary.get_total_buffer_size()
            total += CODE_ROW * len(array) + dictionary_bytes
        pending += _children(array)
    return int(total)


def validate_values(table: pa.Table, source: MemberSource) -> None:
    """Every value checked (offsets, views, dictionary indices, UTF-8) before polars reads any."""
    try:
        # array by array: pyarrow 26 validates a Table (or a RecordBatch of several columns)
        # about 8x slower than the same arrays one by one (lengths were checked by `read_all`)
        validate_arrays([chunk for column in table.columns for chunk in column.chunks])
    except (pa.ArrowException, ValueError) as exc:
        raise ZanjFormatError(f"{where(source)} is not a valid Arrow IPC file: {cut(exc)}") from None


def read_table(source: MemberSource) -> pa.Table:
    """The member as a validated Arrow table, its conversion charged: the format's reader for
    any caller (loaders check the schema against the node first, through `frames`)."""
    table = read_all(open_reader(source), source)
    source.charge(conversion_cost(table), f"the frame in member {source.name!r} at {format_path(source.path)}")
    validate_values(table, source)
    return table


def cut(exc: BaseException, limit: int = 300) -> str:
    text = repr(str(exc))
    return text if len(text) <= limit else text[: limit - 3] + "..."
