"""Layer 2, the container: making a saved file appear at its location in one step.

Saving hands `publish` a function that writes a whole archive to a seekable file; `publish`
makes the result appear only once complete, for each kind of place: a rename beside a local
target, one final upload for a URL (`remote.upload`), a write from the current position of a
file object. A failed save never leaves a partial file or touches the previous one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, BinaryIO

from zanj_core._container.locations import (
    Location,
    describe_location,
    is_file_object,
    is_seekable,
    is_url,
    local_file_of,
    location_text,
    refuse_storage_options_for_file_object,
)
from zanj_core._container.releasing import replace_releasing_old
from zanj_core._container.remote import upload
from zanj_core._container.save_steps import SAVE_ERRORS, save_failure, save_step
from zanj_core.errors import ZanjError, ZanjSaveError

SPOOL_IN_MEMORY_BYTES = 64 * 1024 * 1024
"""Archives for file objects are built in memory up to this size, in a temporary file above it."""
WRITE_BUFFER_BYTES = 1 << 20
"""Buffer of the file a save writes: small members and headers go out in few system calls
(large chunks bypass it). An archive known to be smaller gets a buffer of its size: mapping a
mebibyte of buffer costs a save of a few kilobytes tens of microseconds."""
SMALLEST_WRITE_BUFFER_BYTES = 8192
_CANNOT_SYNC = frozenset(getattr(errno, name) for name in ("EINVAL", "ENOTSUP", "EOPNOTSUPP") if hasattr(errno, name))
"""What fsync says of a descriptor with nothing to sync to: a pipe, a socket, a terminal, or a
file system that cannot sync (nothing more can be done there)."""
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def publish(
    location: Location,
    write: Callable[[BinaryIO], None],
    storage_options: dict[str, Any] | None = None,
    progress: bool = False,
    durable: bool = True,
    size_hint: int | None = None,
) -> str:
    """Run `write` (which writes a whole archive to a seekable file) so that the result
    appears at `location` only once complete; returns the local path or URL written.
    `size_hint`, the archive's size if known (about), sizes the buffer of a local file.

    `durable`: fsync a local file and its folder (a file object: its descriptor, if it has
    one) so a power loss leaves the old or the new file; a store behind a URL decides its own
    durability. Errors of the system or the zip writer come out as `ZanjSaveError`s naming
    `location`."""
    with save_step(describe_location(location), "writing"):  # what the steps below do not name themselves
        if is_file_object(location):
            refuse_storage_options_for_file_object(storage_options)
            return write_to_file_object(location, write, durable)  # type: ignore[arg-type]
        text = location_text(location)
        local = local_file_of(text)
        if local is not None:
            write_local(local, write, durable, size_hint)
            return str(local) if not is_url(text) else text
        upload(text, write, storage_options, progress)
        return text


# -- a file object ---------------------------------------------------------------------------


def write_to_file_object(fh: IO[bytes], write: Callable[[BinaryIO], None], durable: bool = True) -> str:
    """Build the archive aside, then copy it into `fh` from its position and cut the stream at
    the archive's end, so the bytes from that position on are exactly one `.zanj`.

    Building aside means a failed save writes nothing into `fh`, and the stream only ever sees
    sequential writes: append-mode files, gzip streams, pipes and sockets all work. If copying
    into a seekable stream fails, it is cut back to where the save began. With `durable`, the
    stream is flushed and its descriptor, if it has one, fsynced.
    """
    label = describe_location(fh)
    on_stream = (*SAVE_ERRORS, ValueError)  # a closed file raises ValueError
    try:
        writable = fh.writable() if hasattr(fh, "writable") else True
    except ValueError as exc:
        raise save_failure(label, "checking the stream", exc) from exc
    if not writable or isinstance(fh, io.TextIOBase):
        raise ZanjError(f"cannot save to {label}: it is not open for writing in binary mode")
    with save_step(label, "creating the temporary file the archive is built in"):
        import tempfile  # only for saves to streams: not worth importing with the core

        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)
    with spool:
        with save_step(label, "building the archive in a temporary file"):
            write(spool)  # type: ignore[arg-type]
            spool.seek(0)
        with save_step(label, "finding the stream's position", on_stream):
            start = fh.tell() if is_seekable(fh) else None
        try:
            with save_step(label, "copying the archive into the stream", on_stream):
                _copy_into(spool, fh, label)
                if start is not None and not _appending(fh):
                    _cut_here(fh)  # stale bytes after the archive would hide its end record
            if durable:
                with save_step(label, "flushing the stream to disk (fsync)", on_stream):
                    _sync_stream(fh)
        except BaseException:
            if start is not None:
                with contextlib.suppress(OSError, ValueError):
                    fh.seek(start)
                    _cut_here(fh)
            raise
    return label


def _copy_into(spool: IO[bytes], fh: IO[bytes], label: str) -> None:
    """Copy all of `spool` into `fh`, going on after the short writes raw streams make."""
    while chunk := spool.read(1 << 20):
        view = memoryview(chunk)
        while view:
            written = fh.write(view)
            if written is None and not isinstance(fh, io.RawIOBase):
                written = len(view)  # file-likes that return nothing wrote it all
            if not written:  # a raw stream that takes nothing (or would block)
                raise ZanjSaveError(f"saving {label}: the stream accepted no bytes", None, label)
            view = view[written:]


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


# -- a local file ----------------------------------------------------------------------------


def write_local(
    target: Path, write: Callable[[BinaryIO], None], durable: bool = True, size_hint: int | None = None
) -> None:
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
        try:
            previous: os.stat_result | None = os.lstat(target)
        except FileNotFoundError:
            previous = None
        if previous is not None and stat.S_ISLNK(previous.st_mode):
            target = Path(os.path.realpath(target))
            try:
                previous = os.stat(target)
            except FileNotFoundError:  # a dangling link: its destination is made
                previous = None
    if previous is not None and not stat.S_ISREG(previous.st_mode):
        kind = "a folder" if stat.S_ISDIR(previous.st_mode) else "not a regular file"
        raise ZanjSaveError(
            f"saving {target}: it exists and is {kind}; choose another path or remove it",
            errno.EISDIR if stat.S_ISDIR(previous.st_mode) else errno.EEXIST,
            str(target),
        )
    # the name is kept short so a long target name still leaves room for the suffix
    tmp = target.with_name(f".{target.name[:64]}.{os.urandom(6).hex()}.tmp")
    created = False
    try:
        with save_step(label, f"creating the temporary file {tmp}"):
            # the descriptor writes whatever the mode: the file is created with no more than the
            # owner bits the replaced file grants (0o000 for a 0o400 file), so it is never wider
            try:
                fd = os.open(tmp, _CREATE_FLAGS, _private_mode(previous))
            except FileNotFoundError:
                if previous is not None:  # a file in place has its folder: something else is wrong
                    raise
                with save_step(label, f"creating the folder {target.parent}"):
                    target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(tmp, _CREATE_FLAGS, _private_mode(previous))
        created = True
        _write_temporary(label, tmp, fd, write, previous, durable, size_hint)
        with save_step(label, f"renaming {tmp} over it"):
            replace_releasing_old(tmp, target)
        created = False  # it is the target now
    except BaseException:
        if created:  # never remove a file another writer made
            with contextlib.suppress(OSError):  # the original error matters more than a failed cleanup
                os.unlink(tmp)
        raise
    if durable:
        with save_step(label, "the new file is in place, but flushing its folder to disk (fsync) failed"):
            _sync_folder(target.parent)


def _write_temporary(
    label: str,
    tmp: Path,
    fd: int,
    write: Callable[[BinaryIO], None],
    previous: os.stat_result | None,
    durable: bool,
    size_hint: int | None = None,
) -> None:
    """Write the archive through `fd` (the new temporary file `tmp`), close it, and give it its
    final owner and mode (and with `durable`, fsync it)."""
    with save_step(label, f"writing the temporary file {tmp}"):  # also what closing it reports
        with _open_fd(fd, size_hint) as fh:
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


def _open_fd(fd: int, size_hint: int | None = None) -> BinaryIO:
    """A buffered binary file over `fd`, which is closed if that cannot be made; its buffer
    holds `size_hint` bytes (within bounds) when that is known."""
    buffer = WRITE_BUFFER_BYTES
    if size_hint is not None:
        buffer = max(SMALLEST_WRITE_BUFFER_BYTES, min(WRITE_BUFFER_BYTES, size_hint))
    try:
        return open(fd, "wb", buffering=buffer)
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


def _fsync(fd: int) -> None:
    """os.fsync, except where there is nothing to sync to (`_CANNOT_SYNC`)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _CANNOT_SYNC:
            raise


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
