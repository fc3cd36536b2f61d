"""The layout of an Arrow IPC file, checked by hand before pyarrow reads any of it.

pyarrow trusts the footer of an IPC file: the batches it lists, their sizes, and whether their
buffers are compressed. `check_layout` reads just enough of the flatbuffers (every offset
checked against the end of its buffer) to keep each batch inside the member, bound how many
there are, and refuse body compression, whose buffers declare their own inflated size.
"""

from __future__ import annotations

import struct

from zanj_core.plugin import ZanjFormatError, ZanjLimitError

MAGIC = b"ARROW1"

MAX_RECORD_BATCHES = 4096
"""Most record batches plus dictionary batches one member may hold. zanj writes one record
batch per frame (and one dictionary batch per categorical column); every batch costs pyarrow and
pandas work for every column, and the chunks of a categorical column are unified."""


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
