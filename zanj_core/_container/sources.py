"""Layer 2, the container: the bytes of a file, read at any offset, wherever the file lives.

The archive reader reads through a `ByteSource` (a size and positioned reads), so it does not
care whether it has a local file, a file object or a URL. This module holds the interface and
the sources that need nothing beyond the standard library; `remote.py` adds fsspec URLs and
`opening.py` picks the source for a location.
"""

from __future__ import annotations

import io
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from zanj_core._container.locations import describe_location
from zanj_core.errors import ZanjFileNotFoundError, ZanjFormatError


class ByteSource:
    """Positioned reads from a file of known size; what `ArchiveReader` reads through."""

    location: str | Path
    """Where the file is, as messages name it: its local path or URL (a file object's name)."""
    size: int
    bytes_read: int = 0
    """Bytes fetched so far (for progress bars and the tests that count transfers)."""
    on_read: Callable[[int], None] | None = None
    """Told the size of every fetch: progress bars hook in here."""
    hint: str = ""
    """Added to the messages for a file that is not a zip at all (where a file object starts)."""
    sequential: bool = False
    """Whether the whole file is being read in order (`read_ahead` was called)."""

    def read_at(self, view: memoryview, offset: int) -> int:
        """Fill as much of `view` as the file holds from `offset`; the count (0 at the end)."""
        raise NotImplementedError

    def fileno(self) -> int | None:
        """A descriptor of a regular file that can be memory-mapped, else None."""
        return None

    def read_bytes(self, offset: int, length: int, name: str) -> bytes:
        """Exactly `length` bytes at `offset`; running out of file means member `name` is
        truncated."""
        buffer = bytearray(length)
        read_exactly(self, memoryview(buffer), offset, name)
        return bytes(buffer)

    def read_ahead(self) -> None:
        """A hint that the whole file is about to be read in order: the archive then reads
        runs of small members in one read (and remote sources fetch ahead)."""
        self.sequential = True

    def close(self) -> None:
        pass

    def _count(self, count: int) -> int:
        self.bytes_read += count
        if self.on_read is not None and count:
            self.on_read(count)
        return count


def read_exactly(source: ByteSource, view: memoryview, offset: int, name: str) -> None:
    """Read exactly `view.nbytes` bytes at `offset` of the file into `view`; running out of
    file means member `name` is truncated."""
    filled = 0
    length = view.nbytes
    while filled < length:
        got = source.read_at(view[filled:], offset + filled)
        if not got:
            raise ZanjFormatError(f"{source.location}: member {name!r} is truncated")
        filled += got


class LocalFileSource(ByteSource):
    """A local file, read with `preadv` (no shared position, so threads need no lock). `fh`,
    when given, is an already open file holding the bytes (a spooled copy) named `location`."""

    def __init__(self, location: Path, fh: IO[bytes] | None = None) -> None:
        self.location = location
        self._fh = fh
        self._lock = threading.Lock()
        if fh is None:
            self._fd, self.size = _open_regular_file(location)
        else:
            self._fd = fh.fileno()
            self.size = os.fstat(self._fd).st_size

    def read_at(self, view: memoryview, offset: int) -> int:
        if _HAS_PREADV:
            got = os.preadv(self._fd, [view], offset)
        else:  # pragma: no cover - platforms without preadv
            with self._lock:
                os.lseek(self._fd, offset, os.SEEK_SET)
                data = os.read(self._fd, view.nbytes)
                got = len(data)
                view[:got] = data
        return self._count(got)

    def read_bytes(self, offset: int, length: int, name: str) -> bytes:
        if not _HAS_PREAD:  # pragma: no cover - platforms without pread
            return super().read_bytes(offset, length, name)
        data = os.pread(self._fd, length, offset)
        self._count(len(data))
        if len(data) < length:  # interrupted, or the end of the file: the rest (or the error)
            data += super().read_bytes(offset + len(data), length - len(data), name)
        return data

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        elif self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


_HAS_PREADV = hasattr(os, "preadv")
_HAS_PREAD = hasattr(os, "pread")
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""Non-blocking, so that opening a named pipe by mistake returns at once (and is then refused)."""


def _open_regular_file(location: Path) -> tuple[int, int]:
    """A descriptor of `location` and its size, once it is known to be a regular file: one
    open and one stat, where asking first (exists, is it a folder, is it a file) took three."""
    try:
        fd = os.open(location, _OPEN_FLAGS)
    except OSError:
        fd = -1
    facts = os.fstat(fd) if fd >= 0 else None
    if facts is not None and stat.S_ISREG(facts.st_mode):
        return fd, facts.st_size
    if fd >= 0:
        os.close(fd)
    # the slow way, for the exact reason (or the error that opening it gives)
    if not location.exists():
        suffixed = location.with_name(location.name + ".zanj")
        hint = f"; did you mean {suffixed}? (save adds the .zanj suffix)" if suffixed.is_file() else ""
        raise ZanjFileNotFoundError(f"no such file: {location}{hint}")
    if location.is_dir():
        raise ZanjFileNotFoundError(f"{location} is a folder, not a .zanj file")
    if not location.is_file():
        raise ZanjFileNotFoundError(f"not a regular file: {location}")
    fd = os.open(location, _OPEN_FLAGS)
    return fd, os.fstat(fd).st_size


class FileObjectSource(ByteSource):
    """A seekable binary file object the caller opened (and closes: we never do). The file is
    the bytes from the object's position when it was handed over to its end, as `save` writes
    them; the position is put back there on close."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.location = describe_location(fh)
        self._lock = threading.Lock()
        self._start = fh.tell()
        fh.seek(0, io.SEEK_END)
        self.size = max(fh.tell() - self._start, 0)
        self.hint = (
            f" (a file object is read from its position, here byte {self._start}: seek to where the archive begins)"
        )

    def read_at(self, view: memoryview, offset: int) -> int:
        with self._lock:
            self._fh.seek(self._start + offset)
            if hasattr(self._fh, "readinto"):
                got = self._fh.readinto(view) or 0
            else:  # file-like objects with only read()
                data = self._fh.read(view.nbytes)
                got = len(data)
                view[:got] = data
        return self._count(got)

    def fileno(self) -> int | None:
        """The descriptor of a plain on-disk file holding exactly these bytes, else None: a
        gzip or other wrapper reports its underlying file's descriptor, which must not be mapped."""
        raw = getattr(self._fh, "raw", self._fh)
        if not isinstance(raw, io.FileIO) or self._start != 0:
            return None
        try:
            fd = raw.fileno()
            facts = os.fstat(fd)
        except (OSError, ValueError):
            return None
        return fd if stat.S_ISREG(facts.st_mode) and facts.st_size == self.size else None

    def close(self) -> None:
        try:
            self._fh.seek(self._start)
        except (OSError, ValueError):  # closed by its owner meanwhile
            pass
