"""Layer 2, the container: the `ByteSource` that reads a location.

A path opens a `LocalFileSource`, a binary file object a `FileObjectSource` (or a spooled copy
when it cannot seek), a URL a `RemoteSource`. It sits above `sources.py` and `remote.py` so
that those two import one way only (remote builds on sources); fsspec is still imported only
when a URL is opened.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

from zanj_core._container.locations import (
    Location,
    is_file_object,
    is_seekable,
    local_file_of,
    location_text,
    refuse_storage_options_for_file_object,
)
from zanj_core._container.remote import RemoteSource
from zanj_core._container.sources import ByteSource, FileObjectSource, LocalFileSource
from zanj_core.errors import ZanjError


def open_source(location: Location, storage_options: dict[str, Any] | None = None) -> ByteSource:
    """A `ByteSource` for a path, a URL (fsspec, the `remote` extra) or a binary file object."""
    if is_file_object(location):
        refuse_storage_options_for_file_object(storage_options)
        return _file_object_source(location)  # type: ignore[arg-type]
    text = location_text(location)
    local = local_file_of(text)
    if local is not None:
        return LocalFileSource(local)
    return RemoteSource.open(text, storage_options)


def _file_object_source(fh: IO[bytes]) -> ByteSource:
    if not _readable(fh):
        raise ZanjError(f"cannot read from {fh!r}: it is not open for reading in binary mode")
    if is_seekable(fh):
        return FileObjectSource(fh)
    # a pipe or a network stream: a zip is read from its end, so keep a copy
    import shutil  # only for streams: not worth importing with the core
    import tempfile

    spool = tempfile.TemporaryFile()
    try:
        shutil.copyfileobj(fh, spool, 1 << 20)
    except BaseException:
        spool.close()
        raise
    return LocalFileSource(Path(str(getattr(fh, "name", "<stream>"))), spool)


def _readable(fh: IO[bytes]) -> bool:
    try:
        readable = fh.readable() if hasattr(fh, "readable") else True
    except ValueError as exc:  # closed
        raise ZanjError(f"cannot read from {fh!r}: {exc}") from exc
    return readable and not isinstance(fh, io.TextIOBase)
