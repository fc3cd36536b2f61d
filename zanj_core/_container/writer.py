"""Layer 2, the container: writing a whole `.zanj` archive from what the save walk collected.

The walk hands over the JSON members and a `PendingMember` per data member (named here by
`member_name_for`); `write_zip` writes them through `ZipWriter`: JSON and text deflated,
binary members stored and aligned so readers can map them. Where the archive lands is
`publishing.publish`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from zanj_core._container.progress import ProgressBar
from zanj_core._container.zipwriter import ZipWriter
from zanj_core._contract.nodes import ObjectPath
from zanj_core._contract.records import MemberFormat

_UNSAFE_CHARS = re.compile(r"[^\w.\-]")


@dataclass
class PendingMember:
    """A data member the walk asked for, written after the JSON members."""

    name: str
    member_format: MemberFormat
    data: Any
    path: ObjectPath
    size_hint: int | None = None


def member_name_for(path: ObjectPath, extension: str, taken: set[str]) -> str:
    """A safe, unique member name derived from an object path (`layers/0/w.npy`).

    Characters outside letters, digits, `_`, `.` and `-` become `_`; components that are
    empty or dots are replaced, so no name is absolute, climbs with `..`, or clashes with the
    JSON members. Clashes get a numeric suffix.
    """
    parts = []
    for part in path:
        text = _UNSAFE_CHARS.sub("_", str(part))[:120]
        if not text or set(text) == {"."}:
            text = "_" + text
        parts.append(text)
    stem = "/".join(parts) if parts else "_root"
    if stem.startswith("__zanj"):
        stem = "_" + stem
    name = stem + extension
    counter = 1
    while name in taken:
        name = f"{stem}~{counter}{extension}"
        counter += 1
    taken.add(name)
    return name


def write_zip(
    fh: BinaryIO,
    json_members: Iterable[tuple[str, bytes]],
    members: Iterable[PendingMember],
    compress: bool,
    progress: ProgressBar | None = None,
    trailing_json: Iterable[tuple[str, bytes]] = (),
) -> None:
    """Write a complete archive to the seekable file `fh`. JSON and other text members are
    always deflated; binary members are stored and aligned unless `compress` is set.
    `trailing_json` comes after the data members, away from what opening a file reads first.
    `progress` counts the bytes and members written."""
    writer = ZipWriter(fh, on_write=progress.update if progress is not None else None)
    try:
        for name, data in json_members:
            writer.writestr(name, data, compress=True)
        for member in members:
            binary = member.member_format.binary
            packed = compress or not binary
            with writer.open(member.name, packed, member.size_hint, align=binary and not packed) as stream:
                member.member_format.write(member.data, stream)  # type: ignore[arg-type]
            if progress is not None:
                progress.member_done()
        for name, data in trailing_json:
            writer.writestr(name, data, compress=True)
    except BaseException:
        writer.abandon()
        raise
    writer.close()
