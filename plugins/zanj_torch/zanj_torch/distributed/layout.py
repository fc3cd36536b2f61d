"""Where a checkpoint's files live: a local folder or an fsspec URL, and the names inside it.

A checkpoint is a folder holding one ordinary `.zanj` file per saving rank
(`rank-00000.zanj`, ...) and `zanj_checkpoint.json`, the global index DCP needs, written last
and atomically. Rank files go through `ZANJ().save` / `ZANJ().open` (which handle URLs and
atomic publishing themselves); this module only joins names and moves the small JSON index.
Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjRemoteError

METADATA_NAME = "zanj_checkpoint.json"
"""The global index: JSON, written by the coordinator after every rank file is in place."""

RANK_FILE_PATTERN = re.compile(r"rank-[0-9]{5,9}\.zanj")
"""What a rank file's name looks like; the index names only such files (no paths)."""

MAX_METADATA_BYTES = 256 << 20
"""The largest index read (a model with a million sharded tensors stays far below it)."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://|^[A-Za-z][A-Za-z0-9+.\-]*::")

StorageOptions = Mapping[str, Any]


def rank_file_name(rank: int) -> str:
    return f"rank-{rank:05d}.zanj"


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


def read_bytes(location: str, storage_options: StorageOptions | None, limit: int = MAX_METADATA_BYTES) -> bytes:
    """A small file's bytes; a missing file is a `ZanjFileNotFoundError` naming it."""
    try:
        if is_url(location):
            fs, where = _filesystem(location, storage_options)
            size = fs.size(where)
            if size is not None and size > limit:
                raise ZanjError(f"{location}: {size} bytes, more than the {limit} an index may have")
            data = fs.cat_file(where)
        else:
            with open(location, "rb") as fh:
                data = fh.read(limit + 1)
    except FileNotFoundError:
        raise ZanjFileNotFoundError(
            f"{location}: no such file; the checkpoint is incomplete (its save did not finish) or the path is wrong"
        ) from None
    except IsADirectoryError:
        raise ZanjFileNotFoundError(f"{location}: is a folder, not the checkpoint's index file") from None
    except ZanjError:
        raise
    except OSError as exc:
        raise ZanjRemoteError(f"{location}: reading failed: {exc}") from exc
    if not isinstance(data, bytes) or len(data) > limit:
        raise ZanjError(f"{location}: more than the {limit} bytes an index may have")
    return data


def exists(location: str, storage_options: StorageOptions | None) -> bool:
    if is_url(location):
        fs, where = _filesystem(location, storage_options)
        try:
            return bool(fs.isfile(where))
        except OSError:
            return False
    return os.path.isfile(location)


def missing_files(checkpoint: str, names: list[str], storage_options: StorageOptions | None) -> list[str]:
    """Which of `names` the checkpoint folder lacks, from one listing of the folder."""
    try:
        if is_url(checkpoint):
            fs, where = _filesystem(checkpoint, storage_options)
            present = {str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(where, detail=False)}
        else:
            present = set(os.listdir(checkpoint))
    except FileNotFoundError:
        present = set()
    except OSError as exc:
        raise ZanjRemoteError(f"{checkpoint}: listing the checkpoint folder failed: {exc}") from exc
    return [name for name in names if name not in present]


def remove(location: str, storage_options: StorageOptions | None) -> None:
    """Remove a file if it is there (an older checkpoint's index, before its files are replaced)."""
    try:
        if is_url(location):
            fs, where = _filesystem(location, storage_options)
            if fs.exists(where):
                fs.rm_file(where)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(location)
    except OSError as exc:
        raise ZanjError(f"{location}: cannot remove the previous checkpoint's index: {exc}") from exc


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
