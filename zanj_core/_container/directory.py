"""Layer 2, the container: the zip directory of a file, checked before any member is trusted.

zipfile parses the central directory; `ZipDirectory` first checks what the end record declares
(member count, directory size) and then that the archive is laid out exactly as zanj writes
one, so what zanj reads is what any zip tool shows: members from offset 0, one after another
without overlapping, safe and unambiguous names, only stored and deflate members, and each
local header saying what the directory says (checked when the member is first used).
"""

from __future__ import annotations

import re
import struct
import zipfile

from zanj_core._container.limits import ReadLimits
from zanj_core._container.sources import ByteSource, SourceFile
from zanj_core._container.spec import MAIN_MEMBER, READABLE_METHODS
from zanj_core._contract.textsafe import quoted
from zanj_core.errors import ZanjError, ZanjFormatError, ZanjLimitError

LOCAL_HEADER_LEN = 30
END_RECORD_LEN = 22
ZIP64_LOCATOR_LEN = 20
ZIP64_RECORD_LEN = 56
MEMBER_HEAD_BYTES = 256
"""How much of a stored member's data is read along with its local header: enough for the
header of a member format (a .npy header, say), which then costs no read of its own."""
_LOCAL_HEADER = struct.Struct("<4s2xHH4xLLLHH")
"""A local header's signature, flags, method, CRC, sizes and name and extra lengths."""
_DESCRIPTOR_MIN_LEN = 12
"""A data descriptor (CRC and sizes after the data) takes at least this many bytes."""
_LOCAL_EXTRA_GUESS = 96  # room for the zip64 and alignment extra fields zanj writes
_UNICODE_PATH_EXTRA = 0x7075
"""Info-ZIP's Unicode path field: other tools take the name from it, zipfile ignores it."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def read_exactly(source: ByteSource, view: memoryview, offset: int, name: str) -> None:
    """Read exactly `view.nbytes` bytes at `offset` of the file into `view`; running out of
    file means member `name` is truncated."""
    filled = 0
    length = view.nbytes
    while filled < length:
        got = source.read_at(view[filled:], offset + filled)
        if not got:
            raise ZanjFormatError(f"{source.location}: member {name!r} is truncated")
        filled += got


class ZipDirectory:
    """The validated directory of an open archive, and its members' data offsets.

    Opening it reads the end record and the directory; a file that is not a zip, or not laid
    out as zanj writes one, raises `ZanjFormatError` (`ZanjLimitError` for too many members).
    `close` closes the zipfile it parsed the directory with, not `source`."""

    def __init__(self, source: ByteSource, limits: ReadLimits) -> None:
        self.source = source
        self.location = source.location
        self.file_size = source.size
        self._limits = limits
        self._offsets: dict[str, int] = {}
        self._ends: dict[str, int] = {}
        """Where the next member (or the directory) starts: no member's data may reach past it."""
        self._head: tuple[str, bytes] | None = None
        """(member name, its first bytes) of the member whose local header was read last."""
        try:
            declared_entries, directory_offset = self._read_end_record()
            self._zf = zipfile.ZipFile(SourceFile(source), "r")
            infos = self._zf.infolist()
        except ZanjError:
            raise
        except Exception as exc:  # zipfile signals a malformed directory with many types (even NotImplementedError)
            raise ZanjFormatError(
                f"{self.location} is not a readable .zanj file (not a zip archive, or truncated): {exc}"
            ) from exc
        try:
            self.infos = self._validate(infos, declared_entries)
            self._check_layout(infos, directory_offset)
        except ZanjFormatError:
            self._zf.close()
            raise

    def close(self) -> None:
        self._zf.close()

    def _read(self, view: memoryview, offset: int, name: str) -> None:
        read_exactly(self.source, view, offset, name)

    # -- the end record and the directory -------------------------------------------------

    def _read_end_record(self) -> tuple[int, int]:
        """The member count and directory offset the zip's end record declares, checked before
        zipfile parses the directory (which it holds in memory, one object per member)."""
        size = self.file_size
        if size < END_RECORD_LEN:
            raise ZanjFormatError(
                f"{self.location} is not a readable .zanj file: {size} bytes is too short for a zip archive"
                + self.source.hint
            )
        # the record is last unless the archive has a comment (of up to 64 KiB): read the small
        # tail first, as zipfile does, and the large one only when the record is not at its end
        for tail_len in (min(size, END_RECORD_LEN + ZIP64_LOCATOR_LEN), min(size, END_RECORD_LEN + 0xFFFF)):
            tail = bytearray(tail_len)
            self._read(memoryview(tail), size - tail_len, "<end record>")
            at = tail.rfind(b"PK\x05\x06")
            if at >= 0 and at + END_RECORD_LEN <= tail_len:
                break
        if at < 0 or at + END_RECORD_LEN > tail_len:
            raise ZanjFormatError(
                f"{self.location} is not a readable .zanj file: no zip end record (not a zip archive, or truncated)"
                + self.source.hint
            )
        entries, directory_bytes, directory_offset, comment_len = struct.unpack("<HLLH", tail[at + 10 : at + 22])
        trailing = tail_len - at - END_RECORD_LEN - comment_len
        if trailing:
            raise ZanjFormatError(
                f"{self.location}: {trailing} bytes follow the zip's end record and its comment; zip readers "
                "disagree on such files, so it is refused (a file with data appended after a .zanj is not a "
                ".zanj file)"
                if trailing > 0
                else f"{self.location}: the zip's end record announces a {comment_len}-byte comment, but the file "
                f"ends {trailing + comment_len} bytes after the record: it is truncated or damaged"
            )
        locator = at - ZIP64_LOCATOR_LEN
        if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
            (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
            entries, directory_bytes, directory_offset = self._read_zip64_end_record(record_offset)
        if entries > self._limits.max_members:
            raise ZanjLimitError(
                f"{self.location} declares {entries} members, over the limit of {self._limits.max_members} "
                "(raise ReadLimits.max_members if you trust the file)"
            )
        if directory_bytes > size:
            raise ZanjFormatError(
                f"{self.location}: its zip directory claims {directory_bytes} bytes in a file of {size}; "
                "the file is truncated or forged"
            )
        return entries, directory_offset

    def _read_zip64_end_record(self, record_offset: int) -> tuple[int, int, int]:
        """The member count, directory size and directory offset of the zip64 end record."""
        if record_offset + ZIP64_RECORD_LEN > self.file_size:
            raise ZanjFormatError(f"{self.location}: the zip64 end record lies past the end of the file")
        record = bytearray(ZIP64_RECORD_LEN)
        self._read(memoryview(record), record_offset, "<zip64 end record>")
        if record[:4] != b"PK\x06\x06":
            raise ZanjFormatError(f"{self.location}: bad zip64 end record; the file is corrupt")
        entries, directory_bytes, directory_offset = struct.unpack("<QQQ", record[32:56])
        return entries, directory_bytes, directory_offset

    def _check_layout(self, infos: list[zipfile.ZipInfo], directory_offset: int) -> None:
        """The archive must be laid out as written: members from offset 0 (nothing prepended,
        which zipfile silently skips and other readers do not), one after another without
        overlapping, and the directory after the last. Each member's true end is checked again
        against the next start when its local header is read (`data_offset`)."""
        prefix = self._zf.start_dir - directory_offset
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
            following = ordered[index + 1].header_offset if index + 1 < len(ordered) else directory_offset
            self._ends[info.filename] = following
        if boundary > directory_offset:
            raise ZanjFormatError(f"{self.location}: the last member runs into the zip directory; the file is forged")

    def _validate(self, infos: list[zipfile.ZipInfo], declared_entries: int) -> dict[str, zipfile.ZipInfo]:
        """The members by name, once their count, names, methods and sizes are checked."""
        if len(infos) > self._limits.max_members:
            raise ZanjLimitError(
                f"{self.location} has {len(infos)} members, over the limit of {self._limits.max_members}"
            )
        if len(infos) != declared_entries:
            raise ZanjFormatError(
                f"{self.location}: its end record declares {declared_entries} members but its directory "
                f"holds {len(infos)}; the file is truncated or forged"
            )
        table: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename in table:
                raise ZanjFormatError(
                    f"{self.location}: member name {info.filename!r} appears twice; the file is malformed"
                )
            self._check_member(info)
            table[info.filename] = info
        if MAIN_MEMBER not in table:
            raise ZanjFormatError(
                f"{self.location} is a zip archive but not a .zanj file: it has no {MAIN_MEMBER} member"
            )
        return table

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        """One directory entry: a safe, unambiguous name, no encryption, a method zanj reads, and
        sizes that fit the file."""
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if not name or name.startswith(("/", "\\")) or name[1:2] == ":" or ".." in parts or "\0" in name:
            raise ZanjFormatError(
                f"{self.location}: unsafe member name {name!r} (empty, absolute, or climbing with '..')"
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
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise ZanjFormatError(
                f"{self.location}: stored member {name!r} declares {info.file_size} bytes but occupies "
                f"{info.compress_size}; the file is corrupt"
            )

    def _check_unambiguous_name(self, info: zipfile.ZipInfo) -> None:
        """Refuse a name that another zip reader could read differently from zipfile, so what
        zanj reads is what any tool shows: backslashes (a separator on Windows), control
        characters, non-ASCII bytes without the UTF-8 flag (cp437 here, something else
        elsewhere), and an Info-ZIP Unicode path field (which other tools prefer to the name)."""
        orig = info.orig_filename  # zipfile's `filename` drops everything from a NUL on
        if not info.extra and orig.isascii() and orig.isprintable() and "\\" not in orig:
            return  # what zanj writes: the checks below cannot fail
        problem = None
        if "\\" in info.orig_filename:
            problem = "holds a backslash"
        elif _CONTROL_CHARS.search(orig):
            problem = "holds control characters"
        elif not info.flag_bits & 0x800 and not info.orig_filename.isascii():
            problem = "is not ASCII but is not marked as UTF-8"
        elif _has_extra_field(info.extra, _UNICODE_PATH_EXTRA):
            problem = "carries a second, Unicode path field"
        if problem is not None:
            raise ZanjFormatError(
                f"{self.location}: member name {quoted(orig, 100)} {problem}; zip readers would disagree on it, "
                "so the file is refused"
            )

    # -- local headers ----------------------------------------------------------------------

    def data_offset(self, info: zipfile.ZipInfo) -> int:
        """Offset in the file where a member's data starts (after its local header), once the
        local header is checked against the directory.

        The local header is read with one read that also takes the first `MEMBER_HEAD_BYTES` of
        a stored member's data, kept for `member_head`. Always a read, never the memory map:
        touching a mapped page costs a page fault, slower than a small read."""
        cached = self._offsets.get(info.filename)
        if cached is not None:
            return cached
        start = info.header_offset
        if start + LOCAL_HEADER_LEN > self.file_size:
            raise ZanjFormatError(f"{self.location}: local header of member {info.filename!r} is truncated")
        raw_name = _raw_name(info)
        want = LOCAL_HEADER_LEN + len(raw_name) + _LOCAL_EXTRA_GUESS + MEMBER_HEAD_BYTES
        buffer = bytearray(min(want, self.file_size - start))
        self._read(memoryview(buffer), start, info.filename)
        signature, flags, method, crc, compressed, size, name_len, extra_len = _LOCAL_HEADER.unpack_from(buffer)
        if signature != b"PK\x03\x04":
            raise ZanjFormatError(f"{self.location}: bad local header for member {info.filename!r}")
        name = bytes(buffer[LOCAL_HEADER_LEN : LOCAL_HEADER_LEN + name_len])
        # the local header must say what the directory says (name, method, flags, and sizes and
        # CRC unless they follow the data): tools that walk local headers would see another file
        if (
            name != raw_name
            or method != info.compress_type
            or (flags ^ info.flag_bits) & 0x809
            or (
                not flags & 0x8
                and (
                    crc != info.CRC
                    or compressed not in (0xFFFFFFFF, info.compress_size)
                    or size not in (0xFFFFFFFF, info.file_size)
                )
            )
        ):
            self._local_header_mismatch(info, name, flags, method, crc, compressed, size)
        if not flags & 0x8 and 0xFFFFFFFF in (compressed, size):
            self._check_local_zip64(info, start, buffer, name_len, extra_len, compressed, size)
        offset = int(start + LOCAL_HEADER_LEN + name_len + extra_len)
        self._check_extent(info, offset)
        self._offsets[info.filename] = offset
        if info.compress_type == zipfile.ZIP_STORED:
            first = offset - start
            self._head = (info.filename, bytes(buffer[first : first + min(info.compress_size, MEMBER_HEAD_BYTES)]))
        return offset

    def member_head(self, info: zipfile.ZipInfo) -> bytes:
        """The first bytes of a stored member's data when they were read with its local header
        (by the last `data_offset` that read one), else b"". Possibly fewer than asked for."""
        head = self._head
        return head[1] if head is not None and head[0] == info.filename else b""

    def _check_extent(self, info: zipfile.ZipInfo, offset: int) -> None:
        """A member's data, starting at `offset`, must end inside the file and before the next
        member (or the directory) begins."""
        end = offset + info.compress_size + (_DESCRIPTOR_MIN_LEN if info.flag_bits & 0x8 else 0)
        if end > self.file_size:
            raise ZanjFormatError(f"{self.location}: member {info.filename!r} extends past the end of the file")
        if end > self._ends.get(info.filename, self.file_size):
            raise ZanjFormatError(
                f"{self.location}: member {info.filename!r} runs into the member after it; "
                "overlapping members are forged"
            )

    def _check_local_zip64(
        self,
        info: zipfile.ZipInfo,
        start: int,
        buffer: bytearray,
        name_len: int,
        extra_len: int,
        compressed: int,
        size: int,
    ) -> None:
        """Sizes too large for the local header sit in its zip64 field: they must be there and
        agree with the directory's, as the 32-bit ones must."""
        at = LOCAL_HEADER_LEN + name_len
        extra = bytes(buffer[at : at + extra_len])
        if len(extra) < extra_len:  # longer than what was read with the header
            whole = bytearray(extra_len)
            self._read(memoryview(whole), start + at, info.filename)
            extra = bytes(whole)
        wanted = [
            value for value, field in ((info.file_size, size), (info.compress_size, compressed)) if field == 0xFFFFFFFF
        ]
        found: list[int] | None = None
        pos = 0
        while pos + 4 <= len(extra):
            kind, length = struct.unpack_from("<HH", extra, pos)
            if kind == 0x0001 and length >= 8 * len(wanted):
                found = list(struct.unpack_from(f"<{len(wanted)}Q", extra, pos + 4))
                break
            pos += 4 + length
        if found != wanted:
            raise ZanjFormatError(
                f"{self.location}: the local header of member {info.filename!r} gives sizes {found} in its zip64 "
                f"field, the directory {wanted}; zip readers would disagree on this file, so it is refused"
            )

    def _local_header_mismatch(
        self, info: zipfile.ZipInfo, name: bytes, flags: int, method: int, crc: int, compressed: int, size: int
    ) -> None:
        """Raise the error naming the first field where the local header and directory differ."""
        if name != _raw_name(info):
            problem = f"names {name!r}"
        elif method != info.compress_type:
            problem = f"says compression method {method}, the directory {info.compress_type}"
        elif (flags ^ info.flag_bits) & 0x809:
            problem = f"has flags {flags:#06x}, the directory {info.flag_bits:#06x}"
        elif crc != info.CRC:
            problem = f"has CRC {crc:08x}, the directory {info.CRC:08x}"
        elif compressed != info.compress_size:
            problem = f"says {compressed} stored bytes, the directory {info.compress_size}"
        else:
            problem = f"says {size} bytes, the directory {info.file_size}"
        raise ZanjFormatError(
            f"{self.location}: the local header of member {info.filename!r} {problem}; "
            "zip readers would disagree on this file, so it is refused"
        )


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """A member's name as the directory stores it (UTF-8 when flagged, else cp437)."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace")


def _has_extra_field(extra: bytes, field_id: int) -> bool:
    """Whether a zip extra block holds a field of `field_id` (malformed blocks: zipfile refuses)."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[at : at + 4])
        if kind == field_id:
            return True
        at += 4 + length
    return False
