"""Layer 2, the container: finding a zip's central directory from the end of the file.

One read of the file's tail (the whole file when it is small) gives the end record, the zip64
records when there are any, and for all but very large archives the whole directory. What the
end record declares (member count, directory size) is checked against the file and
`ReadLimits.max_members` before the directory is read or parsed, and the archive must end
exactly where its end record (and comment) ends.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from zanj_core._container.limits import ReadLimits
from zanj_core._container.sources import ByteSource
from zanj_core._container.zip_records import ZipStructureError
from zanj_core.errors import ZanjFormatError, ZanjLimitError

END_RECORD_LEN = 22
ZIP64_LOCATOR_LEN = 20
ZIP64_RECORD_LEN = 56
MAX_COMMENT_LEN = 0xFFFF
WHOLE_FILE_MAX = 64 << 10
"""A file up to this size is read whole when opened: one read serves the directory, the local
headers and the JSON members."""
TAIL_BYTES = 16 << 10
"""What a larger file's first read takes from its end: the directory of a few hundred members."""
_END_FIELDS = struct.Struct("<HLLH")
"""The end record's total member count, directory size and offset, and comment length."""
_LOCATOR_FIELDS = struct.Struct("<LQL")
"""The zip64 locator's disk of the zip64 record, its offset, and the number of disks."""
_ZIP64_FIELDS = struct.Struct("<QQQ")

Fetch = Callable[[int, int, str], bytes]
"""Reads `length` bytes at `offset` of the file (`name` says what, for a truncation error)."""


class FoundDirectory:
    """Where the directory is and what the end records say of it."""

    __slots__ = ("concat", "data", "entries", "offset", "prefix", "tail", "tail_start")

    def __init__(
        self, entries: int, offset: int, concat: int, prefix: int, data: bytes, tail_start: int, tail: bytes
    ) -> None:
        self.entries = entries
        """The member count the end record declares."""
        self.offset = offset
        """Where the end record says the directory starts: the last member must end before."""
        self.concat = concat
        """How far the members' offsets are moved: bytes before the archive, as zipfile counted
        them (where the directory is, less where the record it was found by says)."""
        self.prefix = prefix
        """Where the directory is, less where the end record says (anything but 0 is refused)."""
        self.data = data
        """The directory's bytes."""
        self.tail_start = tail_start
        self.tail = tail
        """The file's last bytes from `tail_start` on, as read to find the end record."""


def find_directory(source: ByteSource, limits: ReadLimits, fetch: Fetch) -> FoundDirectory:
    """Read the end record (and zip64 records), check what they declare, then read the directory."""
    location = source.location
    size = source.size
    if size < END_RECORD_LEN:
        raise ZanjFormatError(
            f"{location} is not a readable .zanj file: {size} bytes is too short for a zip archive" + source.hint
        )
    # the end record is last unless the archive has a comment (of up to 64 KiB): the first read
    # usually finds it; the largest tail it can lie in is read only when it does not
    length = size if size <= WHOLE_FILE_MAX else TAIL_BYTES
    tail = fetch(size - length, length, "<end record>")
    at = _end_record_at(tail)
    largest = min(size, END_RECORD_LEN + MAX_COMMENT_LEN)
    if (at < 0 or at + END_RECORD_LEN > length) and length < largest:
        length = largest
        tail = fetch(size - length, length, "<end record>")
        at = _end_record_at(tail)
    if at < 0 or at + END_RECORD_LEN > length:
        raise ZanjFormatError(
            f"{location} is not a readable .zanj file: no zip end record (not a zip archive, or truncated)"
            + source.hint
        )
    tail_start = size - length
    entries, directory_bytes, directory_offset, comment_len = _END_FIELDS.unpack_from(tail, at + 10)
    trailing = length - at - END_RECORD_LEN - comment_len
    if trailing:
        raise ZanjFormatError(
            f"{location}: {trailing} bytes follow the zip's end record and its comment; zip readers "
            "disagree on such files, so it is refused (a file with data appended after a .zanj is not a "
            ".zanj file)"
            if trailing > 0
            else f"{location}: the zip's end record announces a {comment_len}-byte comment, but the file "
            f"ends {trailing + comment_len} bytes after the record: it is truncated or damaged"
        )
    record_at = tail_start + at

    def read(offset: int, count: int, name: str) -> bytes:
        if offset >= tail_start:
            return tail[offset - tail_start : offset - tail_start + count]
        return fetch(offset, count, name)

    locator = read(record_at - ZIP64_LOCATOR_LEN, ZIP64_LOCATOR_LEN, "<zip64 locator>") if record_at >= 20 else b""
    zip64 = locator[:4] == b"PK\x06\x07"
    classic = (entries, directory_bytes, directory_offset)
    parsed_bytes, parsed_offset = directory_bytes, directory_offset
    if zip64:
        disk, record_offset, disks = _LOCATOR_FIELDS.unpack_from(locator, 4)
        if record_offset + ZIP64_RECORD_LEN > size:
            raise ZanjFormatError(f"{location}: the zip64 end record lies past the end of the file")
        record = read(record_offset, ZIP64_RECORD_LEN, "<zip64 end record>")
        if record[:4] != b"PK\x06\x06":
            raise ZanjFormatError(f"{location}: bad zip64 end record; the file is corrupt")
        entries, directory_bytes, directory_offset = _ZIP64_FIELDS.unpack_from(record, 32)
        _check_end_record_agrees(location, classic, (entries, directory_bytes, directory_offset))
    if entries > limits.max_members:
        raise ZanjLimitError(
            f"{location} declares {entries} members, over the limit of {limits.max_members} "
            "(raise ReadLimits.max_members if you trust the file)"
        )
    if directory_bytes > size:
        raise ZanjFormatError(
            f"{location}: its zip directory claims {directory_bytes} bytes in a file of {size}; "
            "the file is truncated or forged"
        )
    # where the directory is parsed from, as zipfile found it: before the end record, or before
    # the zip64 end record, which must be right before its locator (zanj writes it there)
    start = record_at - parsed_bytes
    if zip64:
        if disk != 0 or disks > 1:
            raise ZipStructureError("zipfiles that span multiple disks are not supported")
        before = record_at - ZIP64_LOCATOR_LEN - ZIP64_RECORD_LEN
        if before < 0:
            raise ZipStructureError("File is not a zip file")
        # the record the locator points to must be the one right before the locator, and sit
        # right after the directory as it places it (shifted alike when bytes come before the
        # archive, which is refused later): else readers that follow the locator and readers
        # that look before it would read different directories
        located = read(before, ZIP64_RECORD_LEN, "<zip64 end record>")
        if located != record or record_offset != directory_offset + directory_bytes:
            raise ZanjFormatError(
                f"{location}: its zip64 locator points to a zip64 end record at byte {record_offset}, not to the "
                f"one right before the locator, after the zip directory (byte {before}); zip readers would "
                "disagree on this file, so it is refused"
            )
        parsed_bytes, parsed_offset = directory_bytes, directory_offset
        start = before - parsed_bytes
    if start < 0:
        raise ZipStructureError("Bad offset for central directory")
    data = read(start, parsed_bytes, "<zip directory>")
    return FoundDirectory(
        entries, directory_offset, start - parsed_offset, start - directory_offset, data, tail_start, tail
    )


def _check_end_record_agrees(location: object, classic: tuple[int, int, int], zip64: tuple[int, int, int]) -> None:
    """In a zip64 archive each field of the 32-bit end record (member count, directory size
    and offset) must be saturated or equal the zip64 record's: readers that use either then
    find the same directory."""
    for label, value, wide, saturated in zip(
        ("member count", "directory size", "directory offset"),
        classic,
        zip64,
        (0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        strict=True,
    ):
        if value != wide and value != saturated:
            raise ZanjFormatError(
                f"{location}: its zip end record gives {label} {value}, its zip64 end record {wide}; zip "
                "readers would disagree on this file, so it is refused"
            )


def _end_record_at(tail: bytes) -> int:
    """Where the last end record signature within reach of the file's end starts, or -1."""
    return tail.rfind(b"PK\x05\x06", max(0, len(tail) - END_RECORD_LEN - MAX_COMMENT_LEN))
