"""Where a checkpoint's files live: a local folder or an fsspec URL, and the names inside it.

A checkpoint is a folder holding one ordinary `.zanj` file per saving rank
(`rank-00000-<write id>.zanj`, ...) and `zanj_checkpoint.json`, the global index DCP needs, written last
and atomically. Rank files go through `ZANJ().save` / `ZANJ().open` (which handle URLs and
atomic publishing themselves); this module only joins names and moves the small JSON index.
Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjFormatError, ZanjLimitError, ZanjRemoteError

METADATA_NAME = "zanj_checkpoint.json"
"""The global index: JSON, written by the coordinator after every rank file is in place."""

RANK_FILE_PATTERN = re.compile(r"rank-[0-9]{5,9}-[0-9a-f]{16}\.zanj")
"""What a rank file's name looks like (its rank, then the start of its write's id, new with
every save); the index names only such files (no paths)."""

MAX_METADATA_BYTES = 64 << 20
"""The largest index read by default: `ReadLimits.max_json_bytes` of the reading `ZANJ`, which
bounds every JSON text zanj parses (docs/distributed.md, "Limits", sizes it from real indexes)."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://|^[A-Za-z][A-Za-z0-9+.\-]*::")

StorageOptions = Mapping[str, Any]


def rank_file_name(rank: int, write_id: str) -> str:
    return f"rank-{rank:05d}-{write_id[:16]}.zanj"


def checkpoint_text(checkpoint_id: str | os.PathLike[str]) -> str:
    """The checkpoint id as text: a URL as given, a local path made absolute."""
    text = os.fspath(checkpoint_id)
    if not isinstance(text, str) or not text:
        raise ZanjError(f"checkpoint_id must be a folder path or a URL, got {checkpoint_id!r}")
    return text if is_url(text) else str(Path(text).absolute())


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


def join(checkpoint: str, name: str) -> str:
    """The location of the file `name` in the checkpoint folder `checkpoint`."""
    if is_url(checkpoint):
        return checkpoint.rstrip("/") + "/" + name
    return str(Path(checkpoint) / name)


def _filesystem(url: str, storage_options: StorageOptions | None) -> tuple[Any, str]:
    try:
        import fsspec.core
    except ImportError:
        raise ZanjError(f'{url}: checkpoints at URLs need fsspec: pip install "zanj-core[remote]"') from None
    try:
        return fsspec.core.url_to_fs(url, **dict(storage_options or {}))  # type: ignore[no-any-return]
    except (ValueError, ImportError, TypeError) as exc:
        raise ZanjError(f"{url}: fsspec cannot open this URL: {exc}") from exc


def make_folder(checkpoint: str, storage_options: StorageOptions | None) -> None:
    """Create the checkpoint folder (object stores have none to create)."""
    if is_url(checkpoint):
        fs, where = _filesystem(checkpoint, storage_options)
        with contextlib.suppress(OSError, NotImplementedError):
            fs.makedirs(where, exist_ok=True)
        return
    try:
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZanjError(f"{checkpoint}: cannot create the checkpoint folder: {exc.strerror or exc}") from exc


def _not_regular(location: str, mode: int) -> ZanjError:
    what = "a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    return ZanjFormatError(
        f"{location}: is {what}; a checkpoint's index and rank files must be regular files in its folder "
        "(a link may lead out of it, a pipe or device may never end): copy the checkpoint with its files' "
        "contents (cp -L, or a download to a plain folder)"
    )


def _open_regular(location: str) -> int:
    """A descriptor of the local regular file `location`, opened without following a link and
    without waiting on a pipe (so a FIFO or device named like a checkpoint file cannot block)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    mode = os.lstat(location).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(location, mode)
    fd = os.open(location, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(location, mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(location: str, storage_options: StorageOptions | None, limit: int = MAX_METADATA_BYTES) -> bytes:
    """The index's bytes; a missing file is a `ZanjFileNotFoundError` naming it, one that is not
    a regular file (a link, a pipe) a `ZanjFormatError`, one over `limit` a `ZanjLimitError`."""
    try:
        if is_url(location):
            fs, where = _filesystem(location, storage_options)
            info = fs.info(where)
            if info.get("type") != "file" or info.get("islink"):
                raise _not_regular(location, stat.S_IFLNK if info.get("islink") else 0)
            size = info.get("size")
            if isinstance(size, int) and size > limit:
                raise _too_big(location, size, limit)
            data = fs.cat_file(where)
        else:
            with os.fdopen(_open_regular(location), "rb") as fh:
                data = fh.read(limit + 1)
    except FileNotFoundError:
        raise ZanjFileNotFoundError(
            f"{location}: no such file; the checkpoint is incomplete (its save did not finish) or the path is wrong"
        ) from None
    except ZanjError:
        raise
    except OSError as exc:
        raise ZanjRemoteError(f"{location}: reading failed: {exc}") from exc
    if not isinstance(data, bytes) or len(data) > limit:
        raise _too_big(location, len(data) if isinstance(data, bytes) else -1, limit)
    return data


def _too_big(location: str, size: int, limit: int) -> ZanjLimitError:
    return ZanjLimitError(
        f"{location}: {size if size >= 0 else 'more than'} bytes, more than the {limit} an index may have "
        "(ReadLimits.max_json_bytes of the reading ZANJ; raise it for a checkpoint you trust)"
    )


def exists(location: str, storage_options: StorageOptions | None) -> bool:
    if is_url(location):
        fs, where = _filesystem(location, storage_options)
        try:
            return bool(fs.isfile(where))
        except OSError:
            return False
    return os.path.isfile(location)


def rank_file_sizes(checkpoint: str, names: list[str], storage_options: StorageOptions | None) -> dict[str, int]:
    """The size of each rank file in `names` (from one listing at a URL, an `lstat` each locally).
    A missing one is a `ZanjFileNotFoundError`; a link or anything but a regular file a
    `ZanjFormatError`: `dcp.load` and `consolidate` would otherwise read, or copy into their
    output, whatever file the link names."""
    sizes: dict[str, int] = {}
    missing: list[str] = []
    try:
        if is_url(checkpoint):
            fs, where = _filesystem(checkpoint, storage_options)
            listed = {str(e.get("name", "")).rstrip("/").rsplit("/", 1)[-1]: e for e in fs.ls(where, detail=True)}
            for name in names:
                entry = listed.get(name)
                if entry is None:
                    missing.append(name)
                elif entry.get("type") != "file" or entry.get("islink"):
                    raise _not_regular(join(checkpoint, name), stat.S_IFLNK if entry.get("islink") else 0)
                else:
                    sizes[name] = int(entry.get("size") or 0)
        else:
            for name in names:
                try:
                    status = os.lstat(join(checkpoint, name))
                except FileNotFoundError:
                    missing.append(name)
                    continue
                if not stat.S_ISREG(status.st_mode):
                    raise _not_regular(join(checkpoint, name), status.st_mode)
                sizes[name] = status.st_size
    except FileNotFoundError:
        missing = list(names)
    except ZanjError:
        raise
    except OSError as exc:
        raise ZanjRemoteError(f"{checkpoint}: listing the checkpoint folder failed: {exc}") from exc
    if missing:
        raise ZanjFileNotFoundError(
            f"{join(checkpoint, missing[0])}: this rank file named by the checkpoint's index is missing"
            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; the checkpoint is incomplete: "
            "copy the whole folder again, or save it again"
        )
    return sizes


def remove(location: str, storage_options: StorageOptions | None) -> None:
    """Remove the file at `location` if it is there (a rank file of an older save); a link is
    removed, never followed. A failure is a `ZanjError`."""
    try:
        if is_url(location):
            fs, where = _filesystem(location, storage_options)
            if fs.exists(where):
                fs.rm_file(where)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(location)
    except OSError as exc:
        raise ZanjError(f"{location}: cannot remove it: {exc}") from exc


def write_atomically(location: str, data: bytes, storage_options: StorageOptions | None) -> None:
    """Publish `data` at `location` in one step: readers see no file or the whole of it.

    Locally: a temporary file beside it, fsynced, renamed over it, then the folder fsynced. At a
    URL: one `pipe` (a single PUT on object stores, which show an object only once complete).
    """
    try:
        if is_url(location):
            fs, where = _filesystem(location, storage_options)
            fs.pipe_file(where, data)
            return
        target = Path(location)
        tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # not every system can fsync a folder
            fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise ZanjError(f"{location}: writing the checkpoint's index failed: {exc}") from exc
