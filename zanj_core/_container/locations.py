"""Layer 2, the container: what kind of place a `Location` names, and how messages name it.

Users pass a local path, an fsspec URL or a binary file object wherever a file is read or
saved. Opening (`opening.py`) and publishing (`publishing.py`) both sort a location into one of
these kinds first; the rules live here once, so both sort them alike. Nothing here opens a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO, Any, Union
from urllib.parse import unquote

from zanj_core.errors import ZanjError

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
    try:  # imported here: fsspec is an optional extra, and heavy
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


def local_file_of(text: str) -> Path | None:
    """The local file a `file://` URL or a plain path names; None for other URLs.

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


def location_text(location: Location) -> str:
    """The text of a location that is not a file object: a local path or a URL."""
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


def refuse_storage_options_for_file_object(storage_options: dict[str, Any] | None) -> None:
    if storage_options:
        raise ZanjError(
            "storage_options apply to URLs; a file object is already open, so there is nothing to pass them to"
        )


def is_seekable(fh: IO[bytes]) -> bool:
    """Whether a file object can seek (a pipe, a socket or a closed file cannot)."""
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False
