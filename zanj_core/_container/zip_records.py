"""Layer 2, the container: the zip's central directory, parsed in bulk into `MemberInfo` records.

The directory comes in one read (see `end_records.py`); its entries are unpacked here with
one `struct` call each, into slotted records instead of `zipfile.ZipInfo`s. First a bulk pass
(`plain_directory`) runs the common case of every check `ZipDirectory` makes of the entries
and of the layout, keeping each entry as unpacked until it is used. A directory it does not
find plainly fine is parsed again by `parse_directory`, which keeps the structural checks
zipfile made, in zipfile's words (`ZipStructureError`), so a malformed file fails as it did
when zipfile parsed it; `ZipDirectory`'s full checks then name the first problem exactly.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

LOCAL_HEADER_LEN = 30
CENTRAL_ENTRY_LEN = 46
MAX_EXTRACT_VERSION = 63
"""The newest zip feature version zipfile reads (6.3); newer entries are refused as it refused them."""
_ENTRY = struct.Struct("<4s2xBxHH4xLLLHHH8xL")
"""A directory entry's signature, needed version, flags, method, CRC, sizes, name/extra/comment
lengths and local header offset (skipping what zanj never uses: times, attributes, disks)."""
_EXTRA_HEAD = struct.Struct("<HH")
_ZIP64_EXTRA = 0x0001


class ZipStructureError(Exception):
    """A directory zipfile would not have parsed; the message is zipfile's own."""


class MemberInfo:
    """One member as the central directory describes it: the attributes of `zipfile.ZipInfo`
    that zanj reads (`filename`, `orig_filename`, `flag_bits`, `compress_type`, `CRC`,
    `compress_size`, `file_size`, `header_offset`, `extra`), its raw name, its place in the
    file, and where its data starts once its local header is checked."""

    __slots__ = (
        "CRC",
        "compress_size",
        "compress_type",
        "data_start",
        "extra",
        "file_size",
        "filename",
        "flag_bits",
        "header_offset",
        "order",
        "orig_filename",
        "raw_name",
    )

    def __init__(
        self,
        name: str,
        raw_name: bytes,
        flags: int,
        method: int,
        crc: int,
        compressed: int,
        size: int,
        header_offset: int,
        extra: bytes,
        order: int,
    ) -> None:
        self.filename = self.orig_filename = name
        """`filename` is cut at a NUL, as zipfile cut it (`ZipDirectory` does that for the
        rare name that holds one; such a name is refused, but its error names it so)."""
        self.raw_name = raw_name
        """The name as the directory stores it: what the local header must repeat."""
        self.flag_bits = flags
        self.compress_type = method
        self.CRC = crc
        self.compress_size = compressed
        self.file_size = size
        self.header_offset = header_offset
        self.extra = extra
        self.order = order
        """Its position among the members in file order (directory order until checked)."""
        self.data_start = -1
        """Where its data starts, once its local header is checked against this entry (else -1)."""

    def __repr__(self) -> str:
        return (
            f"<MemberInfo {self.filename!r} at {self.header_offset}: {self.compress_size} bytes "
            f"({self.file_size} unpacked), method {self.compress_type}>"
        )


Entry = tuple[tuple[Any, ...], int]
"""A directory entry as the bulk pass leaves it: its unpacked fields and its position."""


class Members:
    """The members by name. Entries the bulk pass found plainly fine are kept as it unpacked
    them and made into `MemberInfo`s when first asked for: opening a file of many members
    then costs little more than reading their names."""

    __slots__ = ("_table",)

    def __init__(self, table: dict[str, MemberInfo | Entry]) -> None:
        self._table = table

    def get(self, name: str) -> MemberInfo | None:
        entry = self._table.get(name)
        if entry is None or type(entry) is MemberInfo:
            return entry
        fields, order = entry  # type: ignore[misc]
        info = MemberInfo(
            name, name.encode("ascii"), fields[2], fields[3], fields[4], fields[5], fields[6], fields[10], b"", order
        )
        self._table[name] = info
        return info

    def __getitem__(self, name: str) -> MemberInfo:
        info = self.get(name)
        if info is None:
            raise KeyError(name)
        return info

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


def plain_directory(data: bytes, directory_offset: int) -> tuple[Members, list[int]] | None:
    """The members of a directory whose every entry passes, in one pass, every check
    `ZipDirectory` makes of entries and of the layout, and where each member starts, in file
    order; None when any entry is not plainly fine (or the directory is malformed): then
    `parse_directory` and `ZipDirectory`'s full checks say what is wrong.

    Plainly fine: printable ASCII names that are safe and unique, no extra field, no
    encryption, stored (occupying its size) or deflate, a version zipfile reads, and the
    members in directory order one after another from offset 0 (the first there) without
    overlapping, the last ending before the directory."""
    unpack = _ENTRY.unpack_from
    end = len(data)
    table: dict[str, MemberInfo | Entry] = {}
    starts: list[int] = []
    append = starts.append
    boundary = 0
    pos = 0
    count = 0
    while pos < end:
        if pos + CENTRAL_ENTRY_LEN > end:
            return None
        entry = unpack(data, pos)
        signature, version, flags, method, _, compressed, size, name_len, extra_len, comment_len, offset = entry
        if (
            extra_len
            or offset < boundary  # overlapping, or out of order
            or flags & 0x1  # encrypted
            or (method != 8 and (method or compressed != size))  # another method, a stored size lie
            or version > MAX_EXTRACT_VERSION
            or signature != b"PK\x01\x02"
        ):
            return None
        at = pos + CENTRAL_ENTRY_LEN
        pos = at + name_len
        table[data[at:pos].decode("latin-1")] = (entry, count)  # ASCII, as `_plain_names` checks
        count += 1
        append(offset)
        boundary = offset + LOCAL_HEADER_LEN + name_len + compressed
        pos += comment_len
    if pos != end or boundary > directory_offset or len(table) != count or starts[:1] != [0] or not _plain_names(table):
        return None
    return Members(table), starts


def parse_directory(data: bytes, concat: int) -> list[MemberInfo]:
    """The entries of the directory `data` in its order, each member's offset moved by
    `concat` (the bytes before the archive, as zipfile counts them); raises
    `ZipStructureError` where zipfile would have refused the directory."""
    unpack = _ENTRY.unpack_from
    end = len(data)
    infos: list[MemberInfo] = []
    pos = 0
    while pos < end:
        if pos + CENTRAL_ENTRY_LEN > end:
            raise ZipStructureError("Truncated central directory")
        signature, version, flags, method, crc, compressed, size, name_len, extra_len, comment_len, offset = unpack(
            data, pos
        )
        if signature != b"PK\x01\x02":
            raise ZipStructureError("Bad magic number for central directory")
        at = pos + CENTRAL_ENTRY_LEN
        raw = data[at : at + name_len]
        name = raw.decode("ascii") if raw.isascii() else _decode_name(raw, flags)
        at += name_len
        extra = data[at : at + extra_len]
        if version > MAX_EXTRACT_VERSION:
            raise ZipStructureError(f"zip file version {version / 10:.1f}")
        pos = at + extra_len + comment_len
        if extra:
            compressed, size, offset = _decode_extra(extra, compressed, size, offset)
        infos.append(MemberInfo(name, raw, flags, method, crc, compressed, size, offset + concat, extra, len(infos)))
    return infos


def _plain_names(names: dict[str, MemberInfo | Entry]) -> bool:
    """Whether every name is surely safe and unambiguous, checked on all of them at once:
    printable ASCII (no control character, no NUL), no backslash, no '..', no ':' (a drive
    letter), no empty or '.' path component (so none empty, starting or ending with '/').
    (A name this refuses may still be fine; the full checks decide.)"""
    joined = "/".join(names)
    wrapped = f"/{joined}/"
    return (
        joined.isascii()
        and joined.isprintable()
        and ".." not in joined
        and "\\" not in joined
        and ":" not in joined
        and "//" not in wrapped
        and "/./" not in wrapped
    )


def _decode_name(raw: bytes, flags: int) -> str:
    """A non-ASCII name: UTF-8 when flagged, else cp437, as zipfile decodes it."""
    if flags & 0x800:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ZipStructureError(str(exc)) from None
    return raw.decode("cp437")


def _decode_extra(extra: bytes, compressed: int, size: int, offset: int) -> tuple[int, int, int]:
    """The sizes and offset once an entry's zip64 field has replaced those the 32-bit fields
    cannot hold, with zipfile's checks of the extra block."""
    while len(extra) >= 4:
        kind, length = _EXTRA_HEAD.unpack_from(extra)
        if length + 4 > len(extra):
            raise ZipStructureError(f"Corrupt extra field {kind:04x} (size={length})")
        if kind == _ZIP64_EXTRA:
            field = extra[4 : length + 4]
            for label, value in (("File size", size), ("Compress size", compressed), ("Header offset", offset)):
                if value != 0xFFFFFFFF and (label != "File size" or value != 0xFFFFFFFFFFFFFFFF):
                    continue
                if len(field) < 8:
                    raise ZipStructureError(f"Corrupt zip64 extra field. {label} not found.")
                (found,) = struct.unpack_from("<Q", field)
                field = field[8:]
                if label == "File size":
                    size = found
                elif label == "Compress size":
                    compressed = found
                else:
                    offset = found
        extra = extra[length + 4 :]
    return compressed, size, offset
