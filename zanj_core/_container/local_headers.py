"""Layer 2, the container: local headers, checked against the directory before a member is used.

Each member's local header must say what its directory entry says (name, method, flags, CRC
and sizes), or tools that walk local headers would see another file. The check runs once per
member, before any of its data is handed out, on the header's bytes from wherever they are
cheapest to get:

- bytes already read and kept: the whole file when it is small, the file's tail, the JSON
  members (read in one piece, with their headers, when the first of them is used);
- the memory map, when the member is being mapped anyway (its data starts in the same page);
- a read-ahead window while the whole file is read in order (`ByteSource.read_ahead`): one
  read takes the headers and data of the small members that follow, growing while the reads
  stay in order and shrinking to the header alone when they do not. A member's data can be
  lent out of it (`lend`, no copy), after which the window no longer serves those bytes;
- else one small read that takes the header and the first `MEMBER_HEAD_BYTES` of the
  member's data (a .npy header, say), which `head_bytes` then serves.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Union

from zanj_core._container.sources import ByteSource, read_exactly
from zanj_core._container.zip_records import LOCAL_HEADER_LEN, MemberInfo
from zanj_core.errors import ZanjFormatError

MEMBER_HEAD_BYTES = 256
"""How much of a stored member's data is read along with its local header: enough for the
header of a member format (a .npy header, say), which then costs no read of its own."""
FIRST_READ_AHEAD = 64 << 10
READ_AHEAD_MAX = 1 << 20
"""A read-ahead window starts at `FIRST_READ_AHEAD` bytes and doubles up to this while the
members are read in file order."""
_LOCAL_EXTRA_GUESS = 96  # room for the zip64 and alignment extra fields zanj writes
_HEADER_WANT_FIXED = LOCAL_HEADER_LEN + _LOCAL_EXTRA_GUESS + MEMBER_HEAD_BYTES
_NAME_GUESS = 64
"""Room for a name when reading ahead to a header whose name's length is not at hand."""
_LOCAL_HEADER = struct.Struct("<4s2xHH4xLLLHH")
"""A local header's signature, flags, method, CRC, sizes and name and extra lengths."""
_ZIP64_FIELD = struct.Struct("<HH")
_DESCRIPTOR_MIN_LEN = 12
"""A data descriptor (CRC and sizes after the data) takes at least this many bytes."""
_DESCRIPTOR_LENS = ((12, 16), (20, 24))
"""A data descriptor's lengths without and with its signature: with 32-bit sizes, and with zip64
sizes (where the local header has a zip64 field)."""
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
LEND_AVERAGE_BYTES = 64 << 10
"""A read-ahead window whose members average at most this many bytes is read into a buffer that
can lend their data (`lend`: many small members, each spared a copy); one of fewer, larger
members into plain bytes, which need no zeroing first: their data is copied out."""
_BUFFER_ALIGNMENT = 16
"""What a fresh buffer's memory is aligned to (CPython's allocators give at least this on 64-bit
platforms): enough for any element type."""

if TYPE_CHECKING:
    import mmap

    Buffer = Union[bytes, bytearray, mmap.mmap]
    """Bytes of the file kept in memory, or the file's map."""


class LocalHeaders:
    """The local-header checks and the bytes of the file kept for them (see the module)."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.location = source.location
        self.file_size = source.size
        self.starts: list[int] = []
        """Where each member's local header starts, in file order (`MemberInfo.order`)."""
        self.directory_start = 0
        """Where the zip directory starts: the last member's data must end before."""
        self._kept: list[tuple[int, Buffer]] = []
        self._window: tuple[int, bytes | bytearray, int, int] | None = None
        """The read-ahead window: the file offset of its buffer's first byte, the buffer, and the
        file's bytes it serves (from, to); bytes before `from` were lent (`lend`), or are padding."""
        self._ahead = 0
        self._last_order = -2
        """The file-order position of the member whose header was checked last."""
        self._head: tuple[MemberInfo, Buffer, int, int] | None = None
        """(member, buffer, where its data starts in it, how many of its bytes it holds)."""
        self._json_span: tuple[int, int] | None = None

    def close(self) -> None:
        self._kept, self._window, self._head = [], None, None

    def _fetch(self, offset: int, length: int, name: str) -> bytes:
        return self.source.read_bytes(offset, length, name)

    def keep(self, start: int, data: bytes) -> None:
        """Keep `data`, the file's bytes from `start`, to serve later reads."""
        self._kept.append((start, data))

    def kept(self, start: int, length: int) -> tuple[Buffer, int] | None:
        """A kept buffer holding the file's bytes `start..start+length`, and where they begin in it."""
        window = self._window
        if window is not None and window[2] <= start and start + length <= window[3]:
            return window[1], start - window[0]
        for base, data in self._kept:
            if base <= start and start + length <= base + len(data):
                return data, start - base
        return None

    def lend(self, offset: int, length: int) -> memoryview | None:
        """The file's bytes `offset..offset+length` from the read-ahead window, handed over to
        the caller as a writable view (no copy), or None when the window does not hold them.
        The window then serves no byte before their end again, so nothing the caller writes
        there is ever read back as the file's bytes; its buffer lives as long as the view."""
        window = self._window
        if window is None or offset < window[2] or offset + length > window[3] or type(window[1]) is not bytearray:
            return None
        self._window = (window[0], window[1], offset + length, window[3])
        self._head = None  # it may lie in the window: `head_bytes` would serve lent bytes
        at = offset - window[0]
        return memoryview(window[1])[at : at + length]

    def read_into(self, view: memoryview, offset: int, name: str) -> None:
        """Fill `view` (bytes) with the file's bytes at `offset`, from memory when kept."""
        found = self.kept(offset, view.nbytes)
        if found is None:
            read_exactly(self.source, view, offset, name)
        else:
            data, at = found
            view[:] = memoryview(data)[at : at + view.nbytes]

    @staticmethod
    def header_want(info: MemberInfo) -> int:
        """The bytes read for a member's local header: the header, room for its extra field,
        and the head of its data."""
        return _HEADER_WANT_FIXED + len(info.raw_name)

    # -- checking a local header ------------------------------------------------------------

    def data_offset(self, info: MemberInfo, mapped: mmap.mmap | None = None) -> int:
        """Offset in the file where a member's data starts (after its local header), once the
        local header is checked against the directory; `mapped`, the file's map, when the
        member is being mapped (its header is then read from the map)."""
        offset = info.data_start
        if offset >= 0:
            return offset
        return self._check_local_header(info, mapped)

    def head_bytes(self, info: MemberInfo, start: int, length: int) -> bytes | None:
        """Bytes `start..start+length` of a stored member's data when they came with its local
        header (from the last header checked), else None."""
        head = self._head
        if head is None or head[0] is not info or start + length > head[3]:
            return None
        at = head[2] + start
        return bytes(head[1][at : at + length])

    def _check_local_header(self, info: MemberInfo, mapped: mmap.mmap | None) -> int:
        start = info.header_offset
        size = self.file_size
        if start + LOCAL_HEADER_LEN > size:
            raise ZanjFormatError(f"{self.location}: local header of member {info.filename!r} is truncated")
        raw_name = info.raw_name
        want = _HEADER_WANT_FIXED + len(raw_name)  # `header_want`
        if want > size - start:
            want = size - start
        window = self._window  # `kept`, for the read-ahead window, without a call per member
        if mapped is not None and len(mapped) >= size:
            buffer: Buffer = mapped
            at = start
        elif window is not None and window[2] <= start and start + want <= window[3]:
            buffer, at = window[1], start - window[0]
        else:
            found = self.kept(start, want)
            buffer, at = found if found is not None else self._read_header(info, start, want)
        signature, flags, method, crc, compressed, size_field, name_len, extra_len = _LOCAL_HEADER.unpack_from(
            buffer, at
        )
        if signature != b"PK\x03\x04":
            raise ZanjFormatError(f"{self.location}: bad local header for member {info.filename!r}")
        # what a header read of `want` bytes gives: the name (and extra) may be cut at its end
        extra_at = LOCAL_HEADER_LEN + name_len
        name = buffer[at + LOCAL_HEADER_LEN : at + (extra_at if extra_at < want else want)]
        # the local header must say what the directory says (name, method, flags, sizes and
        # CRC; the last three may be 0 when they follow the data, flag 0x8): tools that walk
        # local headers would see another file
        if (
            name != raw_name
            or method != info.compress_type
            or (flags ^ info.flag_bits) & 0x809
            or (crc != info.CRC and (crc or not flags & 0x8))
            or (compressed != info.compress_size and compressed != 0xFFFFFFFF and (compressed or not flags & 0x8))
            or (size_field != info.file_size and size_field != 0xFFFFFFFF and (size_field or not flags & 0x8))
        ):
            self._local_header_mismatch(info, bytes(name), flags, method, crc, compressed, size_field)
        if compressed == 0xFFFFFFFF or size_field == 0xFFFFFFFF:
            extra = bytes(buffer[at + extra_at : at + min(extra_at + extra_len, want)])
            if len(extra) < extra_len:  # longer than what a header read takes
                extra = self._fetch(start + extra_at, extra_len, info.filename)
            self._check_local_zip64(info, extra, compressed, size_field, flags & 0x8 != 0)
        offset: int = start + extra_at + extra_len
        # its data (and data descriptor) must end inside the file, exactly where the next member
        # (or the directory) starts: tools that read the members in sequence would find what
        # lies in a gap
        end = offset + info.compress_size
        following = info.order + 1
        starts = self.starts
        gap = (starts[following] if following < len(starts) else self.directory_start) - end
        wide = compressed == 0xFFFFFFFF or size_field == 0xFFFFFFFF  # a descriptor then has zip64 sizes
        if gap if not flags & 0x8 else gap not in _DESCRIPTOR_LENS[wide]:
            self._bad_extent(info, end, gap, flags & 0x8)
        if flags & 0x8:
            self._check_descriptor(info, end, gap)
        info.data_start = offset
        self._last_order = following - 1
        if not info.compress_type:  # stored: what of its data came with the header
            first = at + extra_at + extra_len
            held = (size if buffer is mapped else len(buffer)) - first
            self._head = (info, buffer, first, held if held < info.compress_size else info.compress_size)
        return offset

    def _read_header(self, info: MemberInfo, start: int, want: int) -> tuple[Buffer, int]:
        """Read a member's local header (and what comes with it): the JSON members in one
        piece, a read-ahead window when the file is read in order, else `want` bytes."""
        span = self._json_span
        if span is not None and span[0] <= start < span[1]:
            self._json_span = None
            data = self._fetch(span[0], span[1] - span[0], info.filename)
            self.keep(span[0], data)
            if start + want <= span[1]:
                return data, start - span[0]
        if self.source.sequential:
            return self._read_ahead(info, start, want)
        buffer = bytearray(want)
        read_exactly(self.source, memoryview(buffer), start, info.filename)
        return buffer, 0

    def _read_ahead(self, info: MemberInfo, start: int, want: int) -> tuple[Buffer, int]:
        """A window from `start` holding this member's header and as many whole members after
        it as fit: larger while reads follow the previous window, the header alone otherwise.
        Each window is a fresh buffer: data lent from an earlier one lives on in it."""
        if self._window is None:
            self._ahead = FIRST_READ_AHEAD
        elif info.order == self._last_order + 1:
            self._ahead = min(max(2 * self._ahead, FIRST_READ_AHEAD), READ_AHEAD_MAX)
        else:
            self._ahead = 0
        import bisect  # only when a whole file is read: not worth importing with the core

        limit = start + self._ahead
        starts = self.starts
        # the members after this one that start in the window: all but the last lie in it whole,
        # and the last's header comes with it (the last of the file: whole, if it ends in time)
        last = bisect.bisect_right(starts, limit, info.order + 1) - 1
        end = start + want
        if last == len(starts) - 1 and self.directory_start <= limit:
            end = max(end, self.directory_start)
        elif last > info.order:
            end = max(end, starts[last] + _HEADER_WANT_FIXED + _NAME_GUESS)
        stop = min(max(end, start + want), self.file_size)
        if stop - start > (last - info.order + 1) * LEND_AVERAGE_BYTES:  # few, large members
            window: bytes | bytearray = self.source.read_bytes(start, stop - start, info.filename)
            self._window = (start, window, start, stop)
            return window, 0
        # each byte of the file at its own offset modulo 16 in the buffer (whose memory starts
        # on a 16-byte boundary: Python's allocators align so), so that data `lend` hands out is
        # as aligned as a fresh buffer's
        pad = start % _BUFFER_ALIGNMENT
        window = bytearray(pad + stop - start)
        read_exactly(self.source, memoryview(window)[pad:], start, info.filename)
        self._window = (start - pad, window, start, stop)
        return window, pad

    def _bad_extent(self, info: MemberInfo, end: int, gap: int, descriptor: int) -> None:
        """Raise the error for a member whose data, ending at `end`, `gap` bytes before the next
        member (or the directory), runs past the file's end or into what follows, or leaves
        bytes that are no part of it (`descriptor`: it is followed by a data descriptor)."""
        least = _DESCRIPTOR_MIN_LEN if descriptor else 0
        if end + least > self.file_size:
            raise ZanjFormatError(f"{self.location}: member {info.filename!r} extends past the end of the file")
        if gap < least:
            raise ZanjFormatError(
                f"{self.location}: member {info.filename!r} runs into the member after it; overlapping members are forged"
            )
        what = f"after its data descriptor, {gap} bytes in all" if descriptor else f"{gap} bytes"
        raise ZanjFormatError(
            f"{self.location}: member {info.filename!r} is followed by bytes of no member ({what}) before the next "
            "member or the zip directory; zip tools that read the members in sequence would find something else "
            "there, so the file is refused"
        )

    def _check_descriptor(self, info: MemberInfo, at: int, length: int) -> None:
        """The data descriptor at `at` (`length` bytes, one of `_DESCRIPTOR_LENS`) must have its
        signature exactly when its length says so, and repeat the directory's CRC and sizes."""
        found = self.kept(at, length)
        data = (
            bytes(found[0][found[1] : found[1] + length])
            if found is not None
            else self._fetch(at, length, info.filename)
        )
        signed = data[:4] == _DESCRIPTOR_SIGNATURE
        body = data[4:] if length in (16, 24) else data
        values = struct.unpack("<LLL" if len(body) == 12 else "<LQQ", body)
        if signed != (length in (16, 24)):
            problem = "lacks its signature" if length in (16, 24) else "starts with a signature it has no room for"
        elif values != (info.CRC, info.compress_size, info.file_size):
            problem = (
                f"says CRC {values[0]:08x} and sizes {list(values[1:])}, the directory {info.CRC:08x} and "
                f"{[info.compress_size, info.file_size]}"
            )
        else:
            return
        raise ZanjFormatError(
            f"{self.location}: the data descriptor of member {info.filename!r} ({length} bytes) {problem}; zip "
            "readers would disagree on this file, so it is refused"
        )

    def _check_local_zip64(self, info: MemberInfo, extra: bytes, compressed: int, size: int, deferred: bool) -> None:
        """Sizes too large for the local header sit in its zip64 field: they must be there and
        agree with the directory's, as the 32-bit ones must (or be 0 when they follow the
        data, `deferred`)."""
        wanted = [
            value for value, field in ((info.file_size, size), (info.compress_size, compressed)) if field == 0xFFFFFFFF
        ]
        found: list[int] | None = None
        pos = 0
        while pos + 4 <= len(extra):
            kind, length = _ZIP64_FIELD.unpack_from(extra, pos)
            if kind == 0x0001 and length >= 8 * len(wanted):
                found = list(struct.unpack_from(f"<{len(wanted)}Q", extra, pos + 4))
                break
            pos += 4 + length
        if found != wanted and not (deferred and found is not None and not any(found)):
            raise ZanjFormatError(
                f"{self.location}: the local header of member {info.filename!r} gives sizes {found} in its zip64 "
                f"field, the directory {wanted}; zip readers would disagree on this file, so it is refused"
            )

    def _local_header_mismatch(
        self, info: MemberInfo, name: bytes, flags: int, method: int, crc: int, compressed: int, size: int
    ) -> None:
        """Raise the error naming the first field where the local header and directory differ."""
        if name != info.raw_name:
            problem = f"names {name!r}"
        elif method != info.compress_type:
            problem = f"says compression method {method}, the directory {info.compress_type}"
        elif (flags ^ info.flag_bits) & 0x809:
            problem = f"has flags {flags:#06x}, the directory {info.flag_bits:#06x}"
        elif crc != info.CRC and (crc or not flags & 0x8):
            problem = f"has CRC {crc:08x}, the directory {info.CRC:08x}"
        elif compressed != info.compress_size and (compressed or not flags & 0x8):
            problem = f"says {compressed} stored bytes, the directory {info.compress_size}"
        else:
            problem = f"says {size} bytes, the directory {info.file_size}"
        raise ZanjFormatError(
            f"{self.location}: the local header of member {info.filename!r} {problem}; "
            "zip readers would disagree on this file, so it is refused"
        )
