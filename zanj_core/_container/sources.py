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
from typing import IO, Any, BinaryIO

from zanj_core._container.locations import describe_location
from zanj_core.errors import ZanjFileNotFoundError


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

    def read_at(self, view: memoryview, offset: int) -> int:
        """Fill as much of `view` as the file holds from `offset`; the count (0 at the end)."""
        raise NotImplementedError

    def fileno(self) -> int | None:
        """A descriptor of a regular file that can be memory-mapped, else None."""
        return None

    def read_ahead(self) -> None:
        """A hint that the whole file is about to be read in order (remote sources fetch ahead)."""

    def close(self) -> None:
        pass

    def _count(self, count: int) -> int:
        self.bytes_read += count
        if self.on_read is not None and count:
            self.on_read(count)
        return count


class LocalFileSource(ByteSource):
    """A local file, read with `preadv` (no shared position, so threads need no lock). `fh`,
    when given, is an already open file holding the bytes (a spooled copy) named `location`."""

    def __init__(self, location: Path, fh: BinaryIO | None = None) -> None:
        self.location = location
        if fh is None:
            if not location.exists():
                raise ZanjFileNotFoundError(f"no such file: {location}")
            if location.is_dir():
                raise ZanjFileNotFoundError(f"{location} is a folder, not a .zanj file")
            if not location.is_file():
                raise ZanjFileNotFoundError(f"not a regular file: {location}")
            fh = open(location, "rb")
        self._fh = fh
        self._lock = threading.Lock()
        self.size = os.fstat(fh.fileno()).st_size

    def read_at(self, view: memoryview, offset: int) -> int:
        if hasattr(os, "preadv"):
            got = os.preadv(self._fh.fileno(), [view], offset)
        else:  # pragma: no cover - platforms without preadv
            with self._lock:
                self._fh.seek(offset)
                got = self._fh.readinto(view)  # type: ignore[attr-defined]
        return self._count(got)

    def fileno(self) -> int:
        return self._fh.fileno()

    def close(self) -> None:
        self._fh.close()


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


class SourceFile(io.RawIOBase):
    """A read-only, seekable file object over a `ByteSource`, for zipfile."""

    def __init__(self, source: ByteSource) -> None:
        super().__init__()
        self._source = source
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._source.size}[whence]
        if base + offset < 0:
            raise OSError(f"seek to {base + offset}, before the start of the file")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        length = min(view.nbytes, max(self._source.size - self._pos, 0))
        filled = 0
        while filled < length:
            got = self._source.read_at(view[filled:length], self._pos + filled)
            if not got:
                break
            filled += got
        self._pos += filled
        return filled
