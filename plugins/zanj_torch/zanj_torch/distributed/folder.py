"""What a checkpoint folder holds besides what its index names, and what a path that is not a
checkpoint is instead.

- Rank files of older saves: every save writes rank files under new names and its index last,
  so the previous checkpoint stays loadable until the new index replaces it; only then does the
  coordinator remove the rank files the new index does not name (`remove_unlisted_rank_files`).
- A `FileSystemWriter` checkpoint (`.metadata`, `*.distcp`) in the same folder: a reader could
  not tell which of the two checkpoints is current, so writing beside one is refused and a
  folder holding both is not read (`refuse_filesystem_writer_files`, `refuse_mixed_folder`).
- Why an index cannot be read (`explain_missing_index`): no such folder, a FileSystemWriter
  checkpoint, a single `.zanj` file, an empty folder, or a save that did not finish.

Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from pathlib import Path

from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjFormatError, ZanjRemoteError
from zanj_torch.distributed import layout
from zanj_torch.distributed.layout import METADATA_NAME, RANK_FILE_PATTERN, StorageOptions

FILESYSTEM_WRITER_INDEX = ".metadata"
"""The pickled index DCP's `FileSystemWriter` writes last."""
FILESYSTEM_WRITER_SUFFIX = ".distcp"
"""The ending of the data files DCP's `FileSystemWriter` writes."""
_PER_PROCESS_URL = re.compile(r"(^|::)memory://", re.IGNORECASE)


def file_names(checkpoint: str, storage_options: StorageOptions | None) -> set[str] | None:
    """The names of what the folder holds (one listing); None when there is no such folder."""
    try:
        if layout.is_url(checkpoint):
            fs, where = layout._filesystem(checkpoint, storage_options)
            with contextlib.suppress(AttributeError, NotImplementedError):
                fs.invalidate_cache(where)  # other processes wrote here since this one listed
            if not fs.isdir(where):
                return None
            return {str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(where, detail=False)}
        if not os.path.isdir(checkpoint):
            return None
        return set(os.listdir(checkpoint))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ZanjRemoteError(f"{checkpoint}: listing the checkpoint folder failed: {exc}") from exc


def filesystem_writer_files(names: set[str]) -> list[str]:
    """The names among `names` that belong to a `FileSystemWriter` checkpoint."""
    return sorted(n for n in names if n == FILESYSTEM_WRITER_INDEX or n.endswith(FILESYSTEM_WRITER_SUFFIX))


def _described(found: list[str]) -> str:
    data_files = sum(1 for name in found if name.endswith(FILESYSTEM_WRITER_SUFFIX))
    parts = [FILESYSTEM_WRITER_INDEX] if FILESYSTEM_WRITER_INDEX in found else []
    if data_files:
        parts.append(f"{data_files} *{FILESYSTEM_WRITER_SUFFIX} file{'s' if data_files > 1 else ''}")
    return ", ".join(parts)


def refuse_filesystem_writer_files(checkpoint: str, storage_options: StorageOptions | None) -> None:
    """Refuse to save into a folder holding a FileSystemWriter checkpoint (checked before any
    rank writes): the two checkpoints would be read together, or the wrong one read."""
    found = filesystem_writer_files(file_names(checkpoint, storage_options) or set())
    if found:
        raise ZanjError(
            f"{checkpoint}: this folder holds a FileSystemWriter checkpoint ({_described(found)}); "
            "ZanjStorageWriter does not save beside it, since a reader could not tell which checkpoint "
            "is current: save to another folder, or remove the FileSystemWriter files first"
        )


def refuse_mixed_folder(checkpoint: str, storage_options: StorageOptions | None) -> None:
    """Refuse to read a folder holding a FileSystemWriter checkpoint beside the zanj one."""
    if layout.exists(layout.join(checkpoint, FILESYSTEM_WRITER_INDEX), storage_options):
        raise ZanjFormatError(
            f"{checkpoint}: this folder holds two checkpoints, a ZanjStorageWriter one ({METADATA_NAME}) "
            f"and a FileSystemWriter one ({FILESYSTEM_WRITER_INDEX}, *{FILESYSTEM_WRITER_SUFFIX}); which "
            "of them is current cannot be told: move one of them to a folder of its own (or save again "
            "into a new folder)"
        )


def refuse_per_process_url(checkpoint: str, world_size: int) -> None:
    """Refuse a `memory://` checkpoint saved by more than one process: each process has its own
    memory filesystem, so every rank's file would land where no other process can read it."""
    if world_size > 1 and _PER_PROCESS_URL.search(checkpoint):
        raise ZanjError(
            f"{checkpoint}: a memory:// checkpoint lives in one process's memory, but {world_size} ranks "
            "save it, each into its own process: no rank could load the others' files. Use a folder "
            "on a filesystem every rank sees, or an object store (s3://, gs://...)"
        )


def remove_unlisted_rank_files(checkpoint: str, keep: set[str], storage_options: StorageOptions | None) -> None:
    """Remove the rank files (names matching the rank-file pattern, nothing else) that the new
    index does not name: those of older saves, or of saves that failed. The new checkpoint is
    complete already, so a file that cannot be removed is a warning, not a failed save."""
    try:
        names = file_names(checkpoint, storage_options) or set()
    except ZanjError as exc:
        warnings.warn(f"{checkpoint}: older rank files were not removed: {exc}", stacklevel=3)
        return
    for name in sorted(names - keep):
        if not RANK_FILE_PATTERN.fullmatch(name):
            continue
        location = layout.join(checkpoint, name)
        try:
            layout.remove(location, storage_options)
        except ZanjError as exc:
            warnings.warn(f"{location}: this rank file of an older save was not removed: {exc}", stacklevel=3)


def _single_file_error(checkpoint: str, head: bytes) -> ZanjError:
    if head.startswith(b"PK") or checkpoint.endswith(".zanj"):
        return ZanjFormatError(
            f"{checkpoint}: is a single .zanj file (a consolidated checkpoint, or one ZANJ().save), not a "
            "checkpoint folder: read it with ZANJ().read(path) (or ZANJ().open(path))"
        )
    return ZanjFormatError(f"{checkpoint}: is a file, not a checkpoint folder (the folder given to ZanjStorageWriter)")


def _file_head(checkpoint: str, storage_options: StorageOptions | None) -> bytes | None:
    """The first bytes of `checkpoint` when it is a single file, None when it is not one."""
    if layout.is_url(checkpoint):
        fs, where = layout._filesystem(checkpoint, storage_options)
        if not fs.isfile(where):
            return None
        with contextlib.suppress(OSError):
            return bytes(fs.cat_file(where, start=0, end=4))
        return b""
    path = Path(checkpoint)
    if not path.is_file():
        return None
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        return fh.read(4)
    return b""


def explain_missing_index(checkpoint: str, storage_options: StorageOptions | None, error: ZanjError) -> ZanjError:
    """Why the index of `checkpoint` could not be read, as precisely as the path tells: the
    error to raise instead of `error` (the one reading the index gave), or `error` itself."""
    try:
        head = _file_head(checkpoint, storage_options)
        if head is not None:
            return _single_file_error(checkpoint, head)
        names = file_names(checkpoint, storage_options)
    except (OSError, ZanjError):
        return error
    if names is None:
        return ZanjFileNotFoundError(
            f"{checkpoint}: no such folder; a checkpoint is the folder (or URL) given to ZanjStorageWriter: "
            "check the path"
        )
    found = filesystem_writer_files(names)
    if found:
        return ZanjFormatError(
            f"{checkpoint}: this is a FileSystemWriter checkpoint ({_described(found)}), not one "
            "ZanjStorageWriter wrote: read it with FileSystemReader (which unpickles its .metadata: "
            "only for checkpoints you trust)"
        )
    if METADATA_NAME in names:
        return error
    if not any(RANK_FILE_PATTERN.fullmatch(name) for name in names):
        return ZanjFileNotFoundError(
            f"{layout.join(checkpoint, METADATA_NAME)}: no such file, and the folder holds no rank files: "
            "no checkpoint was saved here; check the path"
        )
    return error
