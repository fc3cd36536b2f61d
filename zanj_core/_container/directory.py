"""Layer 2, the container: the zip directory of a file, checked before any member is trusted.

`end_records.py` finds the directory (checking what the end record declares first) and
`zip_records.py` parses it in bulk; `ZipDirectory` then checks that the archive is laid out
exactly as zanj writes one, so what zanj reads is what any zip tool shows: members from offset
0, one after another without overlapping, safe and unambiguous names, only stored and deflate
members, and each local header saying what the directory says (`local_headers.py`, when the
member is first used). It keeps the bytes it has read that later reads can use: the whole file
when it is small, the JSON members, and a read-ahead window when the whole file is being read.
"""

from __future__ import annotations

import re
import struct

from zanj_core._container.end_records import find_directory
from zanj_core._container.limits import ReadLimits
from zanj_core._container.local_headers import MEMBER_HEAD_BYTES, LocalHeaders
from zanj_core._container.sources import ByteSource, read_exactly
from zanj_core._container.spec import MAIN_MEMBER, META_MEMBER, READABLE_METHODS
from zanj_core._container.zip_records import (
    LOCAL_HEADER_LEN,
    Entry,
    MemberInfo,
    Members,
    ZipStructureError,
    parse_directory,
    plain_directory,
)
from zanj_core._contract.textsafe import quoted
from zanj_core.errors import ZanjFormatError, ZanjLimitError

__all__ = ["MEMBER_HEAD_BYTES", "ZipDirectory", "read_exactly"]

JSON_SPAN_MAX = 1 << 20
"""The JSON members are read in one piece, with their local headers, when they span at most this."""
_UNICODE_PATH_EXTRA = 0x7075
"""Info-ZIP's Unicode path field: other tools take the name from it, zipfile ignores it."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class ZipDirectory(LocalHeaders):
    """The validated directory of an open archive, and its members' data offsets.

    Opening it reads the end record and the directory; a file that is not a zip, or not laid
    out as zanj writes one, raises `ZanjFormatError` (`ZanjLimitError` for too many members).
    `close` drops the bytes it kept, not `source`."""

    def __init__(self, source: ByteSource, limits: ReadLimits) -> None:
        super().__init__(source)
        self._limits = limits
        try:
            found = find_directory(source, limits, self._fetch)
            plain = plain_directory(found.data, found.offset) if found.concat == found.prefix == 0 else None
            infos = parse_directory(found.data, found.concat) if plain is None else []
        except ZipStructureError as exc:  # what zipfile refused, in its words
            raise ZanjFormatError(
                f"{self.location} is not a readable .zanj file (not a zip archive, or truncated): {exc}"
            ) from exc
        self.keep(found.tail_start, found.tail)  # the whole file when small; else the last members may be there
        count = len(plain[1]) if plain is not None else len(infos)
        if count > limits.max_members:
            raise ZanjLimitError(f"{self.location} has {count} members, over the limit of {limits.max_members}")
        if count != found.entries:
            raise ZanjFormatError(
                f"{self.location}: its end record declares {found.entries} members but its directory "
                f"holds {count}; the file is truncated or forged"
            )
        self.infos = plain[0] if plain is not None else Members(self._validate(infos))
        """The members by name."""
        if MAIN_MEMBER not in self.infos:
            raise ZanjFormatError(
                f"{self.location} is a zip archive but not a .zanj file: it has no {MAIN_MEMBER} member"
            )
        if plain is not None:
            self.starts = plain[1]
        else:
            self.starts = [info.header_offset for info in self._check_layout(infos, found.prefix, found.offset)]
        self.directory_start = found.offset
        self._json_span = self._span_of(MAIN_MEMBER, META_MEMBER)

    # -- the directory ---------------------------------------------------------------------

    def _check_layout(self, infos: list[MemberInfo], prefix: int, directory_offset: int) -> list[MemberInfo]:
        """The members in file order, once the archive is checked to be laid out as written:
        from offset 0 (nothing prepended, which zipfile silently skips and other readers do
        not), one after another without overlapping, and the directory after the last. Each
        member's true end is checked again against the next start when its local header is
        read (`data_offset`)."""
        if prefix:
            where = (
                f"if the archive was appended to other data, open the file, seek to byte {prefix} and read "
                "the file object (zanj reads a file object from its position)"
                if prefix > 0
                else "the file is forged"
            )
            raise ZanjFormatError(
                f"{self.location}: the zip directory is not where the end record says: {prefix} bytes come "
                f"before the archive, which zip readers handle differently; {where}"
            )
        ordered = sorted(infos, key=lambda info: info.header_offset)
        first = ordered[0] if ordered else None
        if first is not None and first.header_offset:
            raise ZanjFormatError(
                f"{self.location}: member {first.filename!r}, the first in the file, starts at byte "
                f"{first.header_offset}, not 0; zip tools that read the members in sequence would find something "
                "else before it, so the file is refused"
            )
        boundary = 0
        for index, info in enumerate(ordered):
            if info.header_offset < boundary:
                raise ZanjFormatError(
                    f"{self.location}: member {info.filename!r} starts at {info.header_offset}, inside the "
                    "member before it; overlapping members are forged"
                )
            boundary = (
                info.header_offset + LOCAL_HEADER_LEN + len(info.orig_filename.encode("utf-8")) + info.compress_size
            )
            info.order = index
        if boundary > directory_offset:
            raise ZanjFormatError(f"{self.location}: the last member runs into the zip directory; the file is forged")
        return ordered

    def _validate(self, infos: list[MemberInfo]) -> dict[str, MemberInfo | Entry]:
        """The members by name, once their names, methods and sizes are checked (the full
        checks, for a directory that the bulk parse did not find plainly fine)."""
        table: dict[str, MemberInfo | Entry] = {}
        for info in infos:
            if "\0" in info.orig_filename:  # zipfile's name for it: cut at the NUL
                info.filename = info.orig_filename[: info.orig_filename.index("\0")]
            if info.filename in table:
                raise ZanjFormatError(
                    f"{self.location}: member name {info.filename!r} appears twice; the file is malformed"
                )
            self._check_member(info)
            table[info.filename] = info
        return table

    def _check_member(self, info: MemberInfo) -> None:
        """One directory entry: a safe, unambiguous name, no encryption, a method zanj reads, and
        sizes that fit the file."""
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if not name or name.startswith(("/", "\\")) or name[1:2] == ":" or ".." in parts or "\0" in name:
            raise ZanjFormatError(
                f"{self.location}: unsafe member name {name!r} (empty, absolute, or climbing with '..')"
            )
        if "" in parts or "." in parts:  # 'a//b', './a', 'a/': what unzip and others make 'a/b', 'a'
            raise ZanjFormatError(
                f"{self.location}: member name {quoted(name, 100)} has an empty or '.' path component (or ends "
                "with '/'); zip tools would read it as another member's name, so the file is refused"
            )
        self._check_unambiguous_name(info)
        if info.flag_bits & 0x1:
            raise ZanjFormatError(f"{self.location}: member {name!r} is encrypted; zanj files never are")
        if info.compress_type not in READABLE_METHODS:
            raise ZanjFormatError(
                f"{self.location}: member {name!r} uses zip compression method {info.compress_type}; "
                "zanj reads only stored and deflate members, as it writes them (recompress the "
                "archive with deflate, e.g. `zip -Z deflate`, if you trust it)"
            )
        if info.header_offset + LOCAL_HEADER_LEN + len(info.orig_filename) + info.compress_size > self.file_size:
            raise ZanjFormatError(
                f"{self.location}: member {name!r} declares {info.compress_size} bytes at offset "
                f"{info.header_offset}, past the end of the {self.file_size}-byte file; it is truncated or forged"
            )
        if info.compress_type == 0 and info.compress_size != info.file_size:
            raise ZanjFormatError(
                f"{self.location}: stored member {name!r} declares {info.file_size} bytes but occupies "
                f"{info.compress_size}; the file is corrupt"
            )

    def _check_unambiguous_name(self, info: MemberInfo) -> None:
        """Refuse a name that another zip reader could read differently, so what zanj reads is
        what any tool shows: backslashes (a separator on Windows), control characters,
        non-ASCII bytes without the UTF-8 flag (cp437 here, something else elsewhere), and an
        Info-ZIP Unicode path field (which other tools prefer to the name)."""
        orig = info.orig_filename  # `filename` drops everything from a NUL on, as zipfile's did
        if not info.extra and orig.isascii() and orig.isprintable() and "\\" not in orig:
            return  # what zanj writes: the checks below cannot fail
        problem = None
        if "\\" in orig:
            problem = "holds a backslash"
        elif _CONTROL_CHARS.search(orig):
            problem = "holds control characters"
        elif not info.flag_bits & 0x800 and not orig.isascii():
            problem = "is not ASCII but is not marked as UTF-8"
        elif _has_extra_field(info.extra, _UNICODE_PATH_EXTRA):
            problem = "carries a second, Unicode path field"
        if problem is not None:
            raise ZanjFormatError(
                f"{self.location}: member name {quoted(orig, 100)} {problem}; zip readers would disagree on it, "
                "so the file is refused"
            )

    def _span_of(self, *names: str) -> tuple[int, int] | None:
        """The bytes holding these members with their local headers, when they are close
        together and not already kept: read in one piece when the first of them is used."""
        found = [self.infos[name] for name in names if name in self.infos]
        start = min(info.header_offset for info in found)
        end = min(
            self.file_size, max(info.header_offset + self.header_want(info) + info.compress_size for info in found)
        )
        if end - start > JSON_SPAN_MAX or self.kept(start, end - start) is not None:
            return None
        return start, end


def _has_extra_field(extra: bytes, field_id: int) -> bool:
    """Whether a zip extra block holds a field of `field_id` (malformed blocks were refused)."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[at : at + 4])
        if kind == field_id:
            return True
        at += 4 + length
    return False
