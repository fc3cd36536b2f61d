"""Layer 2, the container: a member's bytes as a stream, checked and charged as they are read.

`MemberData` reads a member straight from the file and inflates it itself, so what zanj reads
is exactly what the directory declares; `MemberStream` wraps it for loaders, turning damage
into `ZanjFormatError`s that name the file and member and charging every byte to the read's
budget before the caller keeps it.
"""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from zanj_core._container.checksums import crc32_function
from zanj_core._container.directory import ZipDirectory
from zanj_core._container.zip_records import MemberInfo
from zanj_core._contract.budget import ReadBudget
from zanj_core.errors import ZanjError, ZanjFormatError

INFLATE_CHUNK_BYTES = 64 << 10
"""Compressed bytes read at a time from a deflated member."""
_MEMBER_DATA_ERRORS = (EOFError, OSError, zlib.error)
"""What reading member data can raise besides zanj's own errors (the file source failing)."""


@contextlib.contextmanager
def _member_errors(label: str | Path, name: str) -> Iterator[None]:
    try:
        yield
    except ZanjError:
        raise
    except _MEMBER_DATA_ERRORS as exc:
        raise ZanjFormatError(f"{label}: member {name!r} is corrupt: {type(exc).__name__}: {exc}") from exc


class MemberData(io.RawIOBase):
    """A member's bytes, read straight from the file and inflated by zanj itself, so that the
    data is exactly what the directory declares and what any zip tool reads: a deflate stream
    must end exactly at the declared size (zipfile stops there and never looks further, so a
    stream that goes on was accepted), hold no bytes after its end, and match the CRC."""

    def __init__(self, directory: ZipDirectory, info: MemberInfo) -> None:
        super().__init__()
        self._directory = directory
        self._info = info
        self._at = directory.data_offset(info)
        self._left_in = info.compress_size
        self._left_out = info.file_size
        self._inflater = zlib.decompressobj(-15) if info.compress_type == 8 else None  # deflate
        self._pending = b""
        self._crc = 0
        self._crc32 = crc32_function()
        self._checked = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes, never allocating more than the member has left."""
        want = self._left_out if size is None or size < 0 else min(size, self._left_out)
        buffer = bytearray(want)
        del buffer[self.readinto(buffer) :]
        return bytes(buffer)

    def _fail(self, what: str) -> ZanjFormatError:
        return ZanjFormatError(
            f"{self._directory.location}: member {self._info.filename!r} {what}; the file is corrupt or forged"
        )

    def _next_input(self) -> bytes:
        size = min(INFLATE_CHUNK_BYTES, self._left_in)
        chunk = bytearray(size)
        self._directory.read_into(memoryview(chunk), self._at, self._info.filename)
        self._at += size
        self._left_in -= size
        return bytes(chunk)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left_out)
        if want == 0:
            self._finish()
            return 0
        if self._inflater is None:
            self._directory.read_into(view[:want], self._at, self._info.filename)
            self._at += want
            self._left_in -= want
            data: bytes | memoryview = view[:want]
        else:
            data = self._inflate(want)
            view[: len(data)] = data
        self._crc = self._crc32(data, self._crc)
        self._left_out -= len(data)
        if self._left_out == 0:
            self._finish()
        return len(data)

    def _inflate(self, want: int) -> bytes:
        inflater = self._inflater
        assert inflater is not None
        while True:
            if self._pending:
                try:
                    data = inflater.decompress(self._pending, want)
                except zlib.error as exc:
                    raise self._fail(f"holds a damaged deflate stream ({exc})") from exc
                self._pending = inflater.unconsumed_tail
                if data:
                    return data
            if inflater.eof:
                raise self._fail(f"ends {self._left_out} bytes before its declared size")
            if not self._left_in:
                raise self._fail("is truncated: its deflate stream stops before its end")
            self._pending = self._next_input()

    def _finish(self) -> None:
        """At the declared size: the deflate stream must end here, with nothing after it, and
        the CRC must match."""
        if self._checked:
            return
        inflater = self._inflater
        if inflater is not None:
            while not inflater.eof:
                if not self._pending:
                    if not self._left_in:
                        raise self._fail("is truncated: its deflate stream does not end")
                    self._pending = self._next_input()
                try:
                    extra = inflater.decompress(self._pending, 1)
                except zlib.error as exc:
                    raise self._fail(f"holds a damaged deflate stream ({exc})") from exc
                self._pending = inflater.unconsumed_tail
                if extra:
                    raise self._fail(f"inflates past its declared size of {self._info.file_size} bytes")
            if inflater.unused_data or self._pending or self._left_in:
                raise self._fail("has bytes after the end of its deflate stream")
        if self._crc != self._info.CRC:
            raise self._fail(f"fails its CRC check (stored {self._info.CRC:08x}, computed {self._crc:08x})")
        self._checked = True


class MemberStream(io.RawIOBase):
    """A member's data stream (a `MemberData`) as loaders get it: a failing read of the file
    (an `OSError` of the source, zlib's errors) raises `ZanjFormatError` naming the file (`label`)
    and member.

    Every byte it hands out is charged to `budget` (less what `charged_ahead` already covers)
    before the caller keeps it, and a member never yields more than its declared size."""

    def __init__(
        self, stream: IO[bytes], label: str | Path, name: str, budget: ReadBudget, charged_ahead: int = 0
    ) -> None:
        super().__init__()
        self._stream = stream
        self._label = label
        self.name = name
        self._budget = budget
        self._prepaid = charged_ahead

    def readable(self) -> bool:
        return True

    def _pay(self, count: int) -> None:
        covered = min(count, self._prepaid)
        self._prepaid -= covered
        if count > covered:
            self._budget.charge(count - covered, lambda: f"member {self.name!r} (decompressed)")

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative): fewer only at the member's end."""
        limit = None if size is None or size < 0 else size
        chunks = []
        got = 0
        while limit is None or got < limit:
            step = 1 << 20 if limit is None else min(1 << 20, limit - got)
            with _member_errors(self._label, self.name):
                data = self._stream.read(step)
            if not data:
                break
            self._pay(len(data))
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)

    def readinto(self, buffer: Any) -> int:
        with _member_errors(self._label, self.name):
            count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._pay(count)
        return count  # type: ignore[no-any-return]

    def readline(self, size: int | None = -1) -> bytes:
        with _member_errors(self._label, self.name):
            data = self._stream.readline(-1 if size is None else size)
        self._pay(len(data))
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()
