"""An Arrow IPC file's footer and batch headers, checked by hand before pyarrow reads them.

pyarrow believes the footer: where each batch lies, how long it is, and whether its buffers
are compressed (a compressed buffer declares its own inflated size, so a few bytes could ask
for terabytes). `check_ipc_layout` (or, batch by batch as a member is read, `batch_blocks` then
`check_block`) walks just enough flatbuffer (format/File.fbs and
format/Message.fbs), each offset checked against the end of its block, to keep every batch
inside the member, bound their count and refuse body compression. Pure Python, no polars.
"""

from __future__ import annotations

import struct

from zanj_core.plugin import ZanjFormatError, ZanjLimitError

MAGIC = b"ARROW1"
MAX_BATCHES = 4096
"""Most record and dictionary batches one member may list: zanj writes one record batch per
chunk of the frame (one, after `rechunk`) and one dictionary batch per categorical column."""

_BLOCK = struct.Struct("<qi4xq")  # offset, metadata length, (padding), body length
_FILE_DICTIONARIES, _FILE_RECORD_BATCHES = 2, 3
_MESSAGE_HEADER_TYPE, _MESSAGE_HEADER = 1, 2
_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3
_DICTIONARY_DATA = 1
_RECORD_COMPRESSION = 3


class _OutOfBounds(Exception):
    """A flatbuffer offset or length outside its block."""


def _unpack(block: memoryview, at: int, fmt: str) -> int:
    if at < 0 or at + struct.calcsize(fmt) > len(block):
        raise _OutOfBounds(f"offset {at} lies outside its {len(block)}-byte block")
    value: int = struct.unpack_from(fmt, block, at)[0]
    return value


def _table_at(block: memoryview, at: int) -> tuple[int, int, int]:
    """(table position, vtable position, field count) of the flatbuffer table at `at`."""
    vtable = at - _unpack(block, at, "<i")
    vtable_size = _unpack(block, vtable, "<H")
    if vtable_size < 4 or vtable_size % 2 or vtable + vtable_size > len(block):
        raise _OutOfBounds(f"a {vtable_size}-byte table layout at {vtable} does not fit")
    return at, vtable, (vtable_size - 4) // 2


def _field(block: memoryview, table: tuple[int, int, int], index: int) -> int | None:
    at, vtable, count = table
    if index >= count:
        return None
    offset = _unpack(block, vtable + 4 + 2 * index, "<H")
    return None if offset == 0 else at + offset


def _child(block: memoryview, table: tuple[int, int, int], index: int) -> tuple[int, int, int] | None:
    at = _field(block, table, index)
    return None if at is None else _table_at(block, at + _unpack(block, at, "<I"))


def _blocks(footer: memoryview, table: tuple[int, int, int], index: int) -> list[tuple[int, int, int]]:
    at = _field(footer, table, index)
    if at is None:
        return []
    start = at + _unpack(footer, at, "<I")
    count = _unpack(footer, start, "<I")
    if count > MAX_BATCHES:
        raise ZanjLimitError(f"lists {count} batches, over the {MAX_BATCHES} zanj reads")
    if start + 4 + count * _BLOCK.size > len(footer):
        raise _OutOfBounds(f"a list of {count} batches at {start} does not fit")
    return [_BLOCK.unpack_from(footer, start + 4 + i * _BLOCK.size) for i in range(count)]


Block = tuple[int, int, int]
"""A batch's place in the member: (offset, metadata length, body length)."""


def footer_start(size: int, tail: bytes, where: str) -> int:
    """Where the footer of a `size`-byte member begins, from its last 10 bytes (`tail`)."""
    if len(tail) != 10 or tail[4:] != MAGIC:
        raise ZanjFormatError(f"{where} is not a valid Arrow IPC file: it lacks the ARROW1 magic at its start or end")
    footer_length: int = struct.unpack("<i", tail[:4])[0]
    start = size - 10 - footer_length
    if footer_length <= 0 or start < 8:
        raise ZanjFormatError(
            f"{where} is not a valid Arrow IPC file: its footer length {footer_length} does not fit the "
            f"{size}-byte member"
        )
    return start


def _check_disjoint(blocks: list[Block]) -> None:
    """Refuse batches that repeat or overlap: zanj (and any Arrow writer) lays each batch after
    the last, and a footer listing one block 3,000 times reads as 3,000 copies of its rows
    (like a zip whose members overlap)."""
    previous_end = 0
    for offset, meta_length, body_length in sorted(blocks):
        if offset < previous_end:
            raise _OutOfBounds(
                f"its batches repeat or overlap (one at byte {offset}, the one before ends at {previous_end})"
            )
        previous_end = offset + meta_length + body_length


def batch_blocks(data: memoryview, where: str) -> tuple[list[Block], list[Block]]:
    """(dictionary batches, record batches) the footer lists, each inside the member before
    the footer, at most `MAX_BATCHES` in all. Reads only the magic and the footer of `data`."""
    size = len(data)
    try:
        if size < 18 or bytes(data[:6]) != MAGIC or bytes(data[size - 6 :]) != MAGIC:
            raise _OutOfBounds("it lacks the ARROW1 magic at its start or end")
        footer_length = _unpack(data, size - 10, "<i")
        start = size - 10 - footer_length
        if footer_length <= 0 or start < 8:
            raise _OutOfBounds(f"its footer length {footer_length} does not fit the {size}-byte member")
        footer = data[start : size - 10]
        root = _table_at(footer, _unpack(footer, 0, "<I"))
        dictionaries = _blocks(footer, root, _FILE_DICTIONARIES)
        records = _blocks(footer, root, _FILE_RECORD_BATCHES)
        if len(dictionaries) + len(records) > MAX_BATCHES:
            raise ZanjLimitError(f"lists {len(dictionaries) + len(records)} batches, over the {MAX_BATCHES} zanj reads")
        for number, (offset, meta_length, body_length) in enumerate(dictionaries + records):
            if offset < 8 or meta_length < 8 or body_length < 0 or offset + meta_length + body_length > start:
                raise _OutOfBounds(f"batch {number} lies at bytes {offset}..{offset + meta_length + body_length}")
        _check_disjoint(dictionaries + records)
    except _OutOfBounds as exc:
        raise ZanjFormatError(f"{where} is not a valid Arrow IPC file: {exc}") from None
    except ZanjLimitError as exc:
        raise ZanjLimitError(f"{where} {exc}; zanj writes no such member") from None
    return dictionaries, records


def check_block(data: memoryview, block: Block, number: int, where: str) -> None:
    """Raise `ZanjFormatError` unless the batch at `block` (inside `data`, as `batch_blocks`
    checked) holds a batch message, inside its metadata, using no body compression."""
    offset, meta_length, _ = block
    try:
        first = _unpack(data, offset, "<i")
        length, start = (_unpack(data, offset + 4, "<i"), offset + 8) if first == -1 else (first, offset + 4)
        if length <= 0 or start + length > offset + meta_length:
            raise _OutOfBounds(f"batch {number} has a {length}-byte message that does not fit")
        message = data[start : start + length]
        table = _table_at(message, _unpack(message, 0, "<I"))
        kind_at = _field(message, table, _MESSAGE_HEADER_TYPE)
        kind = 0 if kind_at is None else _unpack(message, kind_at, "<B")
        header = _child(message, table, _MESSAGE_HEADER)
        if kind == _DICTIONARY_BATCH and header is not None:
            header = _child(message, header, _DICTIONARY_DATA)
        if kind not in (_DICTIONARY_BATCH, _RECORD_BATCH) or header is None:
            raise _OutOfBounds(f"batch {number} holds no batch (message type {kind})")
        compressed = _field(message, header, _RECORD_COMPRESSION) is not None
    except _OutOfBounds as exc:
        raise ZanjFormatError(f"{where} is not a valid Arrow IPC file: {exc}") from None
    if compressed:
        raise ZanjFormatError(
            f"{where} uses Arrow body compression (batch {number}), which zanj never writes: a "
            "compressed buffer declares its own inflated size. Re-save the frame with zanj "
            "(ZANJ(compress=True) makes the member smaller)"
        )


def check_ipc_layout(data: memoryview, where: str) -> None:
    """Raise `ZanjFormatError` (or `ZanjLimitError`) unless `data` is an IPC file whose batches
    all lie inside it, number at most `MAX_BATCHES` and use no body compression."""
    dictionaries, records = batch_blocks(data, where)
    for number, block in enumerate(dictionaries + records):
        check_block(data, block, number, where)
