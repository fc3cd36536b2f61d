"""Layer 2, the container: a small streaming zip writer, so saving runs at the speed of the disk.

Python's zipfile computes each member's CRC-32 and then writes the bytes, one after the other;
for large arrays the CRC (about 2.5 GB/s here) costs nearly as much as the write. This writer
computes the CRC of each large chunk in a helper thread while the main thread writes the same
chunk (both release the GIL), aligns stored members' data to 64 bytes with a padding extra
field, and stamps every member with a fixed date so identical saves give identical bytes.
The output is ordinary zip (with zip64 records when needed), readable by any zip tool.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from zanj_core._container.checksums import crc32_function
from zanj_core._container.spec import ALIGNMENT
from zanj_core.errors import ZanjSerializationError

if TYPE_CHECKING:  # imported by the first save that needs it: reading never does
    from concurrent.futures import ThreadPoolExecutor

ALIGN_EXTRA_ID = 0xD935  # the extra-field id zipalign tools use for padding
ZIP64_EXTRA_ID = 0x0001
STORED, DEFLATED = 0, 8
LIMIT32 = 0xFFFFFFFF
LIMIT16 = 0xFFFF
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
DOS_TIME = 0
FLAG_UTF8 = 0x800
VERSION_MADE_BY = (3 << 8) | 45  # unix, zip 4.5
EXTERNAL_ATTR = 0o100644 << 16
PARALLEL_CRC_MIN = 1 << 20  # below this a thread hand-off costs more than it saves
SMALL_DEFLATE_MAX = 64 * 1024
"""In-memory members up to this size are deflated with a compressor sized to them."""
HELD_MEMBER_MAX = 1 << 20
"""Stored members of a known size up to this are held in memory and written with their header
in one piece: no seek back to patch the CRC, which for 10,000 small tensors cost a sixth of
the save."""


@dataclass
class _Entry:
    name: bytes
    flags: int
    method: int
    offset: int
    crc: int = 0
    compressed_size: int = 0
    size: int = 0


def _local_header(entry: _Entry, extra: bytes, zip64: bool) -> bytes:
    """A member's local header, name and extra field; with `zip64`, the sizes are in the extra."""
    return (
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            45 if zip64 else 20,
            entry.flags,
            entry.method,
            DOS_TIME,
            DOS_DATE,
            entry.crc,
            LIMIT32 if zip64 else entry.compressed_size,
            LIMIT32 if zip64 else entry.size,
            len(entry.name),
            len(extra),
        )
        + entry.name
        + extra
    )


class MemberWriter:
    """An open member: `write()` bytes-like chunks, then `close()` (or use as a context manager).

    A member is either streamed (its local header is already written, and patched with the CRC
    and sizes on close) or held (given `held_extra`, its header's extra field: the bytes collect
    in memory, and close writes the finished header and the bytes together)."""

    def __init__(
        self,
        archive: ZipWriter,
        entry: _Entry,
        declared_size: int | None,
        zip64: bool,
        level: int,
        held_extra: bytes | None = None,
    ) -> None:
        self._archive = archive
        self._entry = entry
        self._declared = declared_size
        self._zip64 = zip64
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15) if entry.method == DEFLATED else None
        self._held_extra = held_extra
        self._held = bytearray()
        self._crc = 0
        self._size = 0
        self._compressed = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        nbytes = view.nbytes
        fh = self._archive.fh
        if self._held_extra is not None:
            if self._size + nbytes > HELD_MEMBER_MAX:
                raise ZanjSerializationError(
                    f"member {self._entry.name.decode('utf-8')!r}: its format wrote more than the "
                    f"{self._declared} bytes it declared"
                )
            self._held += view
        elif self._compressor is not None:
            self._crc = self._archive.crc32(view, self._crc)
            out = self._compressor.compress(view)
            fh.write(out)
            self._compressed += len(out)
        elif nbytes >= PARALLEL_CRC_MIN:
            pending = self._archive.pool().submit(self._archive.crc32, view, self._crc)
            fh.write(view)
            self._crc = pending.result()
            self._compressed += nbytes
        else:
            self._crc = self._archive.crc32(view, self._crc)
            fh.write(view)
            self._compressed += nbytes
        self._size += nbytes
        if self._archive.on_write is not None:
            self._archive.on_write(nbytes)
        return nbytes

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        fh = self._archive.fh
        if self._compressor is not None:
            tail = self._compressor.flush()
            fh.write(tail)
            self._compressed += len(tail)
        entry = self._entry
        if self._declared is not None and self._size != self._declared:
            raise ZanjSerializationError(
                f"member {entry.name.decode('utf-8')!r}: its format wrote {self._size} bytes after declaring {self._declared}"
            )
        if self._held_extra is not None:
            entry.crc, entry.size, entry.compressed_size = self._archive.crc32(self._held), self._size, self._size
            fh.write(_local_header(entry, self._held_extra, False))
            fh.write(self._held)
            self._archive._writing = False
            return
        entry.crc, entry.size, entry.compressed_size = self._crc, self._size, self._compressed
        if not self._zip64 and max(entry.size, entry.compressed_size) >= LIMIT32:
            raise ZanjSerializationError(f"member {entry.name.decode('utf-8')!r} outgrew its 32-bit header")
        end = fh.tell()
        fh.seek(entry.offset + 14)
        if self._zip64:
            fh.write(struct.pack("<III", entry.crc, LIMIT32, LIMIT32))
            fh.seek(entry.offset + 30 + len(entry.name) + 4)  # the zip64 extra comes first
            fh.write(struct.pack("<QQ", entry.size, entry.compressed_size))
        else:
            fh.write(struct.pack("<III", entry.crc, entry.compressed_size, entry.size))
        fh.seek(end)
        self._archive._writing = False

    def __enter__(self) -> MemberWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:  # the archive is being abandoned: do not mask the original error
            self.closed = True
            self._archive._writing = False


class ZipWriter:
    """Writes a zip archive sequentially to a seekable binary file."""

    def __init__(self, fh: IO[bytes], level: int = 6, on_write: Callable[[int], None] | None = None) -> None:
        self.crc32 = crc32_function()
        self.on_write = on_write
        """Told the size of every chunk written to a member (progress bars)."""
        self.fh = fh
        self.level = level
        self.entries: list[_Entry] = []
        self._names: set[str] = set()
        self._writing = False
        self._pool: ThreadPoolExecutor | None = None

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor  # with logging: ~7 ms to import

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zanj-crc")
        return self._pool

    def _claim(self, name: str) -> bytes:
        """`name` in UTF-8, once it is checked to be new and to fit a zip header's 16-bit name
        length (struct would refuse it in the middle of the archive, less clearly)."""
        if self._writing:
            raise RuntimeError("close the previous member first")
        if name in self._names:
            raise ZanjSerializationError(f"member name {name!r} used twice")
        encoded = name.encode("utf-8")
        if len(encoded) > LIMIT16:
            raise ZanjSerializationError(
                f"member name {name[:60]!r}... is {len(encoded)} bytes in UTF-8, over the zip format's "
                f"{LIMIT16}: the object is nested too deeply under long keys; shorten the keys or flatten it"
            )
        self._names.add(name)
        return encoded

    def open(self, name: str, compress: bool, size: int | None = None, align: bool = False) -> MemberWriter:
        """Start a member. `size` (if known) is checked on close; `align` pads a stored member's
        data start to a multiple of 64 bytes."""
        encoded = self._claim(name)
        flags = 0 if encoded.isascii() else FLAG_UTF8
        method = DEFLATED if compress else STORED
        # unknown or large sizes get a zip64 extra up front, patched on close
        zip64 = size is None or compress or size >= LIMIT32 - (1 << 20)
        offset = self.fh.tell()
        extra = struct.pack("<HHQQ", ZIP64_EXTRA_ID, 16, 0, 0) if zip64 else b""
        if align and not compress:
            data_start = offset + 30 + len(encoded) + len(extra) + 4
            pad = (-data_start) % ALIGNMENT
            extra += struct.pack("<HH", ALIGN_EXTRA_ID, pad) + b"\0" * pad
        entry = _Entry(encoded, flags, method, offset)
        self.entries.append(entry)
        self._writing = True
        if not compress and size is not None and size <= HELD_MEMBER_MAX:
            return MemberWriter(self, entry, size, False, self.level, held_extra=extra)
        self.fh.write(_local_header(entry, extra, zip64))
        return MemberWriter(self, entry, size, zip64, self.level)

    def writestr(self, name: str, data: bytes, compress: bool) -> None:
        """A member whose bytes are all in memory: compressed up front, so its header needs no
        zip64 placeholder."""
        if not compress or len(data) >= LIMIT32 // 2:  # huge text takes the streaming zip64 path
            with self.open(name, compress, None if compress else len(data)) as member:
                member.write(data)
            return
        encoded = self._claim(name)
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, *_deflate_sizes(len(data)))
        packed = compressor.compress(data) + compressor.flush()
        entry = _Entry(
            encoded,
            0 if encoded.isascii() else FLAG_UTF8,
            DEFLATED,
            self.fh.tell(),
            self.crc32(data),
            len(packed),
            len(data),
        )
        self.fh.write(_local_header(entry, b"", False) + packed)
        self.entries.append(entry)

    def close(self) -> None:
        """Write the central directory and end records."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        fh = self.fh
        directory_start = fh.tell()
        for entry in self.entries:
            fh.write(_directory_entry(entry))
        _write_end_records(fh, len(self.entries), directory_start, fh.tell())

    def abandon(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _deflate_sizes(size: int) -> tuple[int, int]:
    """(wbits, memLevel) for deflating `size` bytes held in memory. zlib's defaults (a 32 KiB
    window, 128 KiB of hash tables) cost the few kilobytes of a small JSON member up to four
    times as long to set up as to compress; a window no larger than the data (it can reach no
    further back) and smaller tables give the same output here, or within a few bytes. Any
    inflater reads it: raw deflate with a window of at most 32 KiB."""
    if size > SMALL_DEFLATE_MAX:
        return -15, 8
    return -min(15, max(9, size.bit_length())), 5


def _directory_entry(entry: _Entry) -> bytes:
    """A member's central directory entry; sizes and offsets past 32 bits go in a zip64 extra."""
    fields: list[int] = []
    size32, csize32, offset32 = entry.size, entry.compressed_size, entry.offset
    if entry.size >= LIMIT32:
        fields.append(entry.size)
        size32 = LIMIT32
    if entry.compressed_size >= LIMIT32:
        fields.append(entry.compressed_size)
        csize32 = LIMIT32
    if entry.offset >= LIMIT32:
        fields.append(entry.offset)
        offset32 = LIMIT32
    extra = struct.pack(f"<HH{len(fields)}Q", ZIP64_EXTRA_ID, 8 * len(fields), *fields) if fields else b""
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            VERSION_MADE_BY,
            45 if fields else 20,
            entry.flags,
            entry.method,
            DOS_TIME,
            DOS_DATE,
            entry.crc,
            csize32,
            size32,
            len(entry.name),
            len(extra),
            0,
            0,
            0,
            EXTERNAL_ATTR,
            offset32,
        )
        + entry.name
        + extra
    )


def _write_end_records(fh: IO[bytes], count: int, directory_start: int, directory_end: int) -> None:
    """The end record after the directory, preceded by the zip64 end record and its locator
    when the count, size or offset does not fit the classic record."""
    size, start = directory_end - directory_start, directory_start
    if count >= LIMIT16 or size >= LIMIT32 or start >= LIMIT32:
        fh.write(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, VERSION_MADE_BY, 45, 0, 0, count, count, size, start))
        fh.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, directory_end, 1))
        count16, size32, start32 = min(count, LIMIT16), min(size, LIMIT32), min(start, LIMIT32)
    else:
        count16, size32, start32 = count, size, start
    fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count16, count16, size32, start32, 0))
