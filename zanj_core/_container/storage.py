"""Where a `.zanj` file lives: a local path, an open binary file object, or an fsspec URL.

The archive reader reads through a `ByteSource` (a size and positioned reads), so it does not
care which of these it has; saving hands a complete archive to `publish`, which makes it
appear in one step for each kind of place: a rename beside a local target, one final upload
for a remote one (see `zanj_core._container.remote`), a write from the current position of a file object.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Union
from urllib.parse import unquote

from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjSaveError

Location = Union[str, "os.PathLike[str]", IO[bytes]]
"""What users pass to save, read and open: a path, a URL, or a binary file object."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")


def is_url(text: str) -> bool:
    """`s3://...`, `https://...`, `memory://...` or an fsspec chain (`simplecache::s3://...`).

    Windows drive paths (`C:\\x`, `C:/x`) are not URLs, nor is a local path that happens to
    hold `::` (`runs/model::v2.zanj`): a chain starts with a protocol name fsspec knows."""
    if _URL.match(text):
        return True
    head, sep, _ = text.partition("::")
    return bool(sep) and bool(_PROTOCOL.match(head)) and _known_protocol(head)


def _known_protocol(name: str) -> bool:
    try:
        from fsspec.registry import known_implementations, registry
    except ImportError:  # without fsspec, `name::...` is taken as a chain, to name the missing extra
        return True
    return name in known_implementations or name in registry


def is_file_object(location: object) -> bool:
    return hasattr(location, "read") or hasattr(location, "write")


def describe_location(location: object) -> str:
    """How messages name a path, URL or file object."""
    if is_file_object(location):
        return str(getattr(location, "name", None) or f"<{type(location).__name__}>")
    try:
        return str(os.fspath(location))  # type: ignore[call-overload]
    except TypeError:
        return repr(location)


def local_path_of(text: str) -> Path | None:
    """The local path a `file://` URL or a plain path names; None for other URLs.

    `file://` URLs are split by hand, not by urllib: `#` and `?` are ordinary characters of a
    file name, not a fragment or a query."""
    if not is_url(text):
        return Path(text)
    if not text.startswith("file://"):
        return None
    host, slash, rest = text[len("file://") :].partition("/")
    if host not in ("", "localhost"):
        raise ZanjError(f"{text}: file:// URLs name a local file; the host {host!r} is not this machine")
    return Path(slash + unquote(rest))


class ByteSource:
    """Positioned reads from a file of known size; what `ArchiveReader` reads through."""

    name: str | Path
    """How messages name the file: its path or URL."""
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
    """A local file, read with `preadv` (no shared position, so threads need no lock)."""

    def __init__(self, path: Path, fh: BinaryIO | None = None) -> None:
        self.name = path
        if fh is None:
            if not path.exists():
                raise ZanjFileNotFoundError(f"no such file: {path}")
            if not path.is_file():
                raise ZanjFileNotFoundError(f"not a regular file: {path}")
            fh = open(path, "rb")
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
        self.name = describe_location(fh)
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


def open_source(location: Location, storage_options: dict[str, Any] | None = None) -> ByteSource:
    """A `ByteSource` for a path, a URL (fsspec, the `remote` extra) or a binary file object."""
    if is_file_object(location):
        _no_storage_options_for_file_objects(storage_options)
        fh: IO[bytes] = location  # type: ignore[assignment]
        if not _readable(fh):
            raise ZanjError(f"cannot read from {fh!r}: it is not open for reading in binary mode")
        if not _seekable(fh):  # a pipe or a network stream: a zip is read from its end, so keep a copy
            spool = tempfile.TemporaryFile()
            try:
                shutil.copyfileobj(fh, spool, 1 << 20)
            except BaseException:
                spool.close()
                raise
            return LocalFileSource(Path(str(getattr(fh, "name", "<stream>"))), spool)  # type: ignore[arg-type]
        return FileObjectSource(fh)
    text = _location_text(location)
    local = local_path_of(text)
    if local is not None:
        return LocalFileSource(local)
    from zanj_core._container.remote import RemoteSource

    return RemoteSource.open(text, storage_options)


def publish(
    location: Location,
    write: Callable[[BinaryIO], None],
    storage_options: dict[str, Any] | None = None,
    progress: bool = False,
    durable: bool = True,
) -> str:
    """Run `write` (which writes a whole archive to a seekable file) so that the result
    appears at `location` only once complete; returns the path or URL written.

    `durable`: fsync a local file and its folder (a file object: its descriptor, if it has
    one) so a power loss leaves the old or the new file; a store behind a URL decides its own
    durability. Errors of the system or the zip writer come out as `ZanjSaveError`s naming
    `location`."""
    with save_step(describe_location(location), "writing"):  # what the steps below do not name themselves
        if is_file_object(location):
            _no_storage_options_for_file_objects(storage_options)
            return write_to_file_object(location, write, durable)  # type: ignore[arg-type]
        text = _location_text(location)
        local = local_path_of(text)
        if local is not None:
            write_local(local, write, durable)
            return str(local) if not is_url(text) else text
        from zanj_core._container.remote import upload

        upload(text, write, storage_options, progress)
        return text


SAVE_ERRORS: tuple[type[BaseException], ...] = (OSError, struct.error, OverflowError)
"""What the system and the zip writer raise when a save cannot be written. ValueError is not
here: member formats (plugin code) raise it for their own reasons, and those pass unchanged;
it is added only around calls on the caller's stream (a closed file raises ValueError)."""

_HINTS: dict[int, str] = {
    getattr(errno, name): hint
    for name, hint in (
        ("ENOSPC", "free some space on that disk or save elsewhere"),
        ("EDQUOT", "the disk quota is used up: free some space or save elsewhere"),
        ("EACCES", "check the permissions of the folder and of the file it replaces"),
        ("EPERM", "check the permissions of the folder and of the file it replaces"),
        ("EROFS", "that file system is mounted read-only: save elsewhere"),
        ("ENAMETOOLONG", "use a shorter file name"),
        ("ENOTDIR", "a part of the path is a file, not a folder: choose another path"),
        ("EISDIR", "a folder is in the way: choose another path"),
        ("EEXIST", "a file is in the way of a folder the path needs: choose another path"),
    )
    if hasattr(errno, name)
}
"""How to fix the common failures, by errno."""


def save_failure(target: str, what: str, exc: BaseException) -> ZanjSaveError:
    """The `ZanjSaveError` for `exc`, raised while doing `what` to save `target`: "saving
    TARGET: WHAT: MESSAGE (how to fix)", keeping an OSError's errno (raise it `from exc`)."""
    code = exc.errno if isinstance(exc, OSError) else None
    detail = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
    hint = _HINTS.get(code) if code is not None else None
    message = f"saving {target}: {what}: {detail}" + (f" ({hint})" if hint else "")
    return ZanjSaveError(message, code, target)


@contextlib.contextmanager
def save_step(target: str, what: str, errors: tuple[type[BaseException], ...] = SAVE_ERRORS) -> Iterator[None]:
    """Turn `errors` raised inside into a `ZanjSaveError` saying which step of saving `target`
    failed. `ZanjError`s (a handler's `ZanjSerializationError`, an inner step's
    `ZanjSaveError`) and everything else (KeyboardInterrupt, a plugin's own RuntimeError) pass
    unchanged."""
    try:
        yield
    except ZanjError:
        raise
    except errors as exc:
        raise save_failure(target, what, exc) from exc


def _location_text(location: Location) -> str:
    try:
        text = os.fspath(location)  # type: ignore[arg-type]
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise ZanjError(
            f"expected a path, a URL or a binary file object, got {type(location).__name__}"
            + (" (bytes paths are not supported; decode it)" if isinstance(text, bytes) else "")
        )
    return text


def _no_storage_options_for_file_objects(storage_options: dict[str, Any] | None) -> None:
    if storage_options:
        raise ZanjError(
            "storage_options apply to URLs; a file object is already open, so there is nothing to pass them to"
        )


def _readable(fh: IO[bytes]) -> bool:
    try:
        readable = fh.readable() if hasattr(fh, "readable") else True
    except ValueError as exc:  # closed
        raise ZanjError(f"cannot read from {fh!r}: {exc}") from exc
    return readable and not isinstance(fh, io.TextIOBase)


def _seekable(fh: IO[bytes]) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


SPOOL_IN_MEMORY_BYTES = 64 * 1024 * 1024
"""Archives for file objects are built in memory up to this size, in a temporary file above it."""


def write_to_file_object(fh: IO[bytes], write: Callable[[BinaryIO], None], durable: bool = True) -> str:
    """Build the archive aside, then copy it into `fh` from its position and cut the stream at
    the archive's end, so the bytes from that position on are exactly one `.zanj`.

    Building aside means a failed save writes nothing into `fh`, and the stream only ever sees
    sequential writes: append-mode files, gzip streams, pipes and sockets all work. If copying
    into a seekable stream fails, it is cut back to where the save began. With `durable`, the
    stream is flushed and its descriptor, if it has one, fsynced.
    """
    name = describe_location(fh)
    on_stream = (*SAVE_ERRORS, ValueError)  # a closed file raises ValueError
    try:
        writable = fh.writable() if hasattr(fh, "writable") else True
    except ValueError as exc:
        raise save_failure(name, "checking the stream", exc) from exc
    if not writable or isinstance(fh, io.TextIOBase):
        raise ZanjError(f"cannot save to {name}: it is not open for writing in binary mode")
    with save_step(name, "creating the temporary file the archive is built in"):
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)
    with spool:
        with save_step(name, "building the archive in a temporary file"):
            write(spool)  # type: ignore[arg-type]
            spool.seek(0)
        with save_step(name, "finding the stream's position", on_stream):
            start = fh.tell() if _seekable(fh) else None
        try:
            with save_step(name, "copying the archive into the stream", on_stream):
                while chunk := spool.read(1 << 20):
                    view = memoryview(chunk)
                    while view:
                        written = fh.write(view)
                        if written is None and not isinstance(fh, io.RawIOBase):
                            written = len(view)  # file-likes that return nothing wrote it all
                        if not written:  # a raw stream that takes nothing (or would block)
                            raise ZanjSaveError(f"saving {name}: the stream accepted no bytes", None, name)
                        view = view[written:]
                if start is not None and not _appending(fh):
                    _cut_here(fh)  # stale bytes after the archive would hide its end record
            if durable:
                with save_step(name, "flushing the stream to disk (fsync)", on_stream):
                    _sync_stream(fh)
        except BaseException:
            if start is not None:
                with contextlib.suppress(OSError, ValueError):
                    fh.seek(start)
                    _cut_here(fh)
            raise
    return name


_CANNOT_SYNC = frozenset(getattr(errno, name) for name in ("EINVAL", "ENOTSUP", "EOPNOTSUPP") if hasattr(errno, name))
"""What fsync says of a descriptor with nothing to sync to: a pipe, a socket, a terminal, or a
file system that cannot sync (nothing more can be done there)."""


def _fsync(fd: int) -> None:
    """os.fsync, except where there is nothing to sync to (`_CANNOT_SYNC`)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _CANNOT_SYNC:
            raise


def _sync_stream(fh: IO[bytes]) -> None:
    """Flush `fh` and fsync its descriptor; streams without one (BytesIO) are left at the flush."""
    flush = getattr(fh, "flush", None)
    if flush is not None:
        flush()
    try:
        fd = fh.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return
    if isinstance(fd, int) and fd >= 0:
        _fsync(fd)


def _appending(fh: IO[bytes]) -> bool:
    return "a" in str(getattr(fh, "mode", ""))


def _cut_here(fh: IO[bytes]) -> None:
    with contextlib.suppress(AttributeError, OSError, io.UnsupportedOperation):
        fh.truncate()


WRITE_BUFFER_BYTES = 1 << 20
"""Buffer of the file a save writes: small members and headers go out in few system calls
(large chunks bypass it)."""


def write_local(target: Path, write: Callable[[BinaryIO], None], durable: bool = True) -> None:
    """Run `write` on a temporary file beside `target`, then rename it into place.

    A symlink at `target` is written through (its destination is replaced); the permission
    bits of a file being replaced are kept. The temporary file is created readable by its owner
    only and given its final mode (the replaced file's, else 0o666 less the umask) once written,
    so a private file's new data is never readable by others, not even while it is written.
    With `durable`, the file is fsynced before the rename and its folder after, so a power loss
    leaves the old file or the new one. On any error no partial file remains and the previous
    file is untouched; errors come out as `ZanjSaveError`s naming `target` and the failed step.
    """
    label = str(target)
    with save_step(label, "checking the path"):
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        try:
            previous: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            previous = None
    if previous is not None and not stat.S_ISREG(previous.st_mode):
        kind = "a folder" if stat.S_ISDIR(previous.st_mode) else "not a regular file"
        raise ZanjSaveError(
            f"saving {target}: it exists and is {kind}; choose another path or remove it",
            errno.EISDIR if stat.S_ISDIR(previous.st_mode) else errno.EEXIST,
            str(target),
        )
    with save_step(label, f"creating the folder {target.parent}"):
        target.parent.mkdir(parents=True, exist_ok=True)
    # the name is kept short so a long target name still leaves room for the suffix
    tmp = target.with_name(f".{target.name[:64]}.{os.urandom(6).hex()}.tmp")
    created = False
    try:
        with save_step(label, f"creating the temporary file {tmp}"):
            # the descriptor writes whatever the mode: the file is created with no more than the
            # owner bits the replaced file grants (0o000 for a 0o400 file), so it is never wider
            fd = os.open(tmp, _CREATE_FLAGS, _private_mode(previous))
        created = True
        with save_step(label, f"writing the temporary file {tmp}"):  # also what closing it reports
            with _open_fd(fd) as fh:
                write(fh)
                fh.flush()
                final_mode = _new_file_mode()
                if previous is not None:
                    with save_step(label, f"setting the owner of {tmp}"):
                        final_mode = _take_ownership_of(fd, previous)
                with save_step(label, f"setting the permissions of {tmp}"):
                    os.chmod(fd if os.chmod in os.supports_fd else tmp, final_mode)
                if durable:
                    with save_step(label, f"flushing {tmp} to disk (fsync)"):
                        _fsync(fd)
        with save_step(label, f"renaming {tmp} over it"):
            _replace_releasing_old_in_background(tmp, target)
        created = False  # it is the target now
    except BaseException:
        if created:  # never remove a file another writer made
            with contextlib.suppress(OSError):  # the original error matters more than a failed cleanup
                os.unlink(tmp)
        raise
    if durable:
        with save_step(label, "the new file is in place, but flushing its folder to disk (fsync) failed"):
            _sync_folder(target.parent)


def _take_ownership_of(fd: int, previous: os.stat_result) -> int:
    """Give the new file the replaced file's owner and group where this process may, and
    return the mode it may then have: the replaced file's permission bits, never set-id or
    sticky bits (a data file needs none, and a root save must not make a set-uid file), and no
    group bits when the group could not be kept (its group would be the saver's, whom the old
    file may not have admitted)."""
    mode = stat.S_IMODE(previous.st_mode) & 0o777
    if not hasattr(os, "fchown"):
        return mode
    current = os.fstat(fd)
    if current.st_uid != previous.st_uid:
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.fchown(fd, previous.st_uid, -1)
    if current.st_gid != previous.st_gid:
        try:
            os.fchown(fd, -1, previous.st_gid)  # allowed for the owner's own groups, and root
        except PermissionError:
            mode &= ~0o070
    return mode


def _private_mode(previous: os.stat_result | None) -> int:
    """The temporary file's mode while it is written: owner read/write, less what the file it
    replaces denies its owner."""
    return 0o600 if previous is None else 0o600 & stat.S_IMODE(previous.st_mode)


_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _open_fd(fd: int) -> BinaryIO:
    """A buffered binary file over `fd`, which is closed if that cannot be made."""
    try:
        return open(fd, "wb", buffering=WRITE_BUFFER_BYTES)
    except BaseException:
        os.close(fd)
        raise


def _new_file_mode() -> int:
    """The mode `open()` gives a new file: 0o666 less the process umask.

    The umask is read from /proc on Linux: `os.umask` can only read it by setting it, and a
    file another thread creates meanwhile gets the stand-in value (here 0o077, so it comes out
    narrower, never wider)."""
    try:
        fd = os.open("/proc/self/status", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            status = os.read(fd, 4096)  # "Umask:" is on the second line
        finally:
            os.close(fd)
        start = status.index(b"\nUmask:") + 7
        return 0o666 & ~int(status[start : status.index(b"\n", start)], 8)
    except (OSError, ValueError):  # no /proc, or a kernel before 4.7 (no Umask line)
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return 0o666 & ~mask


def _sync_folder(folder: Path) -> None:
    """fsync `folder`, so a rename in it survives a power loss. Windows cannot open a folder for
    that (NTFS journals the rename itself); file systems that cannot sync folders are skipped."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def _replace_releasing_old_in_background(tmp: Path, target: Path) -> None:
    """Atomically move `tmp` over `target`.

    Dropping the last link to a large old file makes the filesystem free all its blocks inside
    the rename call (about 0.2 s for 256 MiB here). On POSIX we hold the old file open across
    the rename and close it in a background thread, so the space is reclaimed while the caller
    goes on; the new file is complete and in place when this returns.
    """
    old_fd = None
    if os.name == "posix":
        try:
            old_fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            old_fd = None
    try:
        os.replace(tmp, target)
    finally:
        if old_fd is not None:
            threading.Thread(target=os.close, args=(old_fd,), name="zanj-release-old", daemon=True).start()
