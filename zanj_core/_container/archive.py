"""The `.zanj` container: a zip archive with two JSON members and any number of data members.

`write_zip` writes one; `storage.publish` makes it appear at its target only once complete,
so a failed save never leaves a partial file or touches the previous one. Binary members are
stored uncompressed with their data 64-byte aligned (a padding extra field in the local header),
so readers can map them into memory. Reading validates the zip before trusting any member.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from zanj_core._container.progress import ProgressBar
from zanj_core._container.storage import ByteSource, Location, SourceFile, open_source
from zanj_core._container.zipwriter import ZipWriter, crc32_function
from zanj_core._contract.budget import JSON_OBJECT_FACTOR, MEMBER_USE_COST, Description, ReadBudget
from zanj_core._contract.nodes import ObjectPath, format_path, json_errors
from zanj_core._contract.records import MemberFormat
from zanj_core._contract.textsafe import quoted
from zanj_core.errors import ZanjError, ZanjFormatError, ZanjLimitError

if TYPE_CHECKING:
    import mmap as mmap_module

FORMAT_VERSION = "1.0"
"""The file format this version writes (`zanj_format` in the metadata); it reads any 1.x."""
MAIN_MEMBER = "__zanj__.json"
META_MEMBER = "__zanj_meta__.json"
JSON_MEMBERS = frozenset({MAIN_MEMBER, META_MEMBER})
LOCAL_HEADER_LEN = 30
END_RECORD_LEN = 22
ZIP64_LOCATOR_LEN = 20
ZIP64_RECORD_LEN = 56
MEMBER_HEAD_BYTES = 256
"""How much of a stored member's data is read along with its local header: enough for the
header of a member format (a .npy header, say), which then costs no read of its own."""
INFLATE_CHUNK_BYTES = 64 << 10
"""Compressed bytes read at a time from a deflated member."""
VERIFY_CHUNK_BYTES = 8 << 20
"""Stored members are CRC-checked through a buffer of this size, however large they are."""
_LOCAL_HEADER = struct.Struct("<4s2xHH4xLLLHH")
"""A local header's signature, flags, method, CRC, sizes and name and extra lengths."""
_DESCRIPTOR_MIN_LEN = 12
"""A data descriptor (CRC and sizes after the data) takes at least this many bytes."""
_LOCAL_EXTRA_GUESS = 96  # room for the zip64 and alignment extra fields zanj writes
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
"""Stored and deflate: what zanj (and zanj 0.6) write. zipfile inflates deflate in bounded steps;
its bzip2 and lzma readers expand a whole compressed chunk at once, so a 1 KB member could
allocate gigabytes before any size is compared. Other methods are refused."""
_UNICODE_PATH_EXTRA = 0x7075
"""Info-ZIP's Unicode path field: other tools take the name from it, zipfile ignores it."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_CHARS = re.compile(r"[^\w.\-]")


@dataclass(frozen=True)
class ReadLimits:
    """What a reader accepts from a file, each checked before anything is allocated for it.

    The defaults let every file zanj writes for ordinary use through and stop hostile ones
    (see docs/security.md); raise one for a file you trust with
    `ZANJ(read_limits=ReadLimits(max_json_bytes=...))`. Nesting depth is `ZANJ(max_depth=...)`.
    """

    max_json_bytes: int = 64 * 1024 * 1024
    """Largest JSON member (`__zanj__.json`, the metadata, each `.jsonl` member), uncompressed."""
    max_compression_ratio: int = 200
    """Largest uncompressed/compressed size ratio of a compressed member over 1 MiB (zip bombs:
    deflate reaches about 1000x on repeated bytes)."""
    max_members: int = 100_000
    """Most members in the archive, checked from the end record before the directory is parsed."""
    max_header_bytes: int = 64 * 1024
    """Largest header inside a binary member (the `.npy` header's dict, say)."""
    read_budget_floor: int = 128 * 1024 * 1024
    """Bytes any one read may materialise whatever the file's size (see `read_budget`)."""
    read_budget_ratio: int = 256
    """Further bytes one read may materialise per byte of the file: enough for members deflated
    up to `max_compression_ratio` and for JSON parsed into Python objects."""

    def read_budget(self, file_size: int) -> int:
        """What one operation on a file of `file_size` bytes may materialise in all: every
        decompressed byte, every byte read into memory (once per use), arrays built from JSON
        and parsed JSON (see `zanj_core._contract.budget`). Linear in the file's size, so no file costs
        more than a fixed multiple of itself."""
        return self.read_budget_floor + self.read_budget_ratio * max(file_size, 0)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ZanjError(f"ReadLimits.{field.name} must be a positive int, got {value!r}")


@dataclass
class PendingMember:
    """A data member the walk asked for, written after the JSON members."""

    name: str
    member_format: MemberFormat
    data: Any
    path: ObjectPath
    size_hint: int | None = None


def _has_extra_field(extra: bytes, field_id: int) -> bool:
    """Whether a zip extra block holds a field of `field_id` (malformed blocks: zipfile refuses)."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[at : at + 4])
        if kind == field_id:
            return True
        at += 4 + length
    return False


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
) -> None:
    """Write a complete archive to the seekable file `fh` (where it lands is `storage.publish`'s
    business). JSON and other text members are always deflated; binary members are stored and
    aligned unless `compress` is set. `progress` counts the bytes and members written."""
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
    except BaseException:
        writer.abandon()
        raise
    writer.close()


# what reading member data can raise besides zanj's own errors (the file source failing)
_MEMBER_DATA_ERRORS = (EOFError, OSError, zlib.error)


@contextlib.contextmanager
def _member_errors(path: str | Path, name: str) -> Iterator[None]:
    try:
        yield
    except ZanjError:
        raise
    except _MEMBER_DATA_ERRORS as exc:
        raise ZanjFormatError(f"{path}: member {name!r} is corrupt: {type(exc).__name__}: {exc}") from exc


class MemberData(io.RawIOBase):
    """A member's bytes, read straight from the file and inflated by zanj itself, so that the
    data is exactly what the directory declares and what any zip tool reads: a deflate stream
    must end exactly at the declared size (zipfile stops there and never looks further, so a
    stream that goes on was accepted), hold no bytes after its end, and match the CRC."""

    def __init__(self, reader: ArchiveReader, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._reader = reader
        self._info = info
        self._at = reader.data_offset(info)
        self._left_in = info.compress_size
        self._left_out = info.file_size
        self._inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        self._pending = b""
        self._crc = 0
        self._crc32 = crc32_function()
        self._checked = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes, never allocating more than the member has left."""
        want = self._left_out if size is None or size < 0 else min(size, self._left_out)
        buffer = bytearray(want)
        del buffer[self.readinto(buffer) :]
        return bytes(buffer)

    def _fail(self, what: str) -> ZanjFormatError:
        return ZanjFormatError(
            f"{self._reader.path}: member {self._info.filename!r} {what}; the file is corrupt or forged"
        )

    def _next_input(self) -> bytes:
        size = min(INFLATE_CHUNK_BYTES, self._left_in)
        chunk = bytearray(size)
        self._reader.pread_into(memoryview(chunk), self._at, self._info.filename)
        self._at += size
        self._left_in -= size
        return bytes(chunk)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left_out)
        if want == 0:
            self._finish()
            return 0
        if self._inflater is None:
            self._reader.pread_into(view[:want], self._at, self._info.filename)
            self._at += want
            self._left_in -= want
            data: bytes | memoryview = view[:want]
        else:
            data = self._inflate(want)
            view[: len(data)] = data
        self._crc = self._crc32(data, self._crc)
        self._left_out -= len(data)
        if self._left_out == 0:
            self._finish()
        return len(data)

    def _inflate(self, want: int) -> bytes:
        inflater = self._inflater
        assert inflater is not None
        while True:
            if self._pending:
                try:
                    data = inflater.decompress(self._pending, want)
                except zlib.error as exc:
                    raise self._fail(f"holds a damaged deflate stream ({exc})") from exc
                self._pending = inflater.unconsumed_tail
                if data:
                    return data
            if inflater.eof:
                raise self._fail(f"ends {self._left_out} bytes before its declared size")
            if not self._left_in:
                raise self._fail("is truncated: its deflate stream stops before its end")
            self._pending = self._next_input()

    def _finish(self) -> None:
        """At the declared size: the deflate stream must end here, with nothing after it, and
        the CRC must match."""
        if self._checked:
            return
        inflater = self._inflater
        if inflater is not None:
            while not inflater.eof:
                if not self._pending:
                    if not self._left_in:
                        raise self._fail("is truncated: its deflate stream does not end")
                    self._pending = self._next_input()
                try:
                    extra = inflater.decompress(self._pending, 1)
                except zlib.error as exc:
                    raise self._fail(f"holds a damaged deflate stream ({exc})") from exc
                self._pending = inflater.unconsumed_tail
                if extra:
                    raise self._fail(f"inflates past its declared size of {self._info.file_size} bytes")
            if inflater.unused_data or self._pending or self._left_in:
                raise self._fail("has bytes after the end of its deflate stream")
        if self._crc != self._info.CRC:
            raise self._fail(f"fails its CRC check (stored {self._info.CRC:08x}, computed {self._crc:08x})")
        self._checked = True


class MemberStream(io.RawIOBase):
    """A member opened through zipfile, whose damaged data (bad deflate stream, CRC mismatch,
    truncation) raises `ZanjFormatError` naming the file and member instead of zlib's errors.

    Every byte it hands out is charged to `budget` (less what `charged_ahead` already covers)
    before the caller keeps it, and a member never yields more than its declared size."""

    def __init__(
        self, stream: IO[bytes], path: str | Path, name: str, budget: ReadBudget, charged_ahead: int = 0
    ) -> None:
        super().__init__()
        self._stream = stream
        self._path = path
        self.name = name
        self._budget = budget
        self._prepaid = charged_ahead

    def readable(self) -> bool:
        return True

    def _pay(self, count: int) -> None:
        covered = min(count, self._prepaid)
        self._prepaid -= covered
        if count > covered:
            self._budget.charge(count - covered, lambda: f"member {self.name!r} (decompressed)")

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative): fewer only at the member's end."""
        limit = None if size is None or size < 0 else size
        chunks = []
        got = 0
        while limit is None or got < limit:
            step = 1 << 20 if limit is None else min(1 << 20, limit - got)
            with _member_errors(self._path, self.name):
                data = self._stream.read(step)
            if not data:
                break
            self._pay(len(data))
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)

    def readinto(self, buffer: Any) -> int:
        with _member_errors(self._path, self.name):
            count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._pay(count)
        return count  # type: ignore[no-any-return]

    def readline(self, size: int | None = -1) -> bytes:
        with _member_errors(self._path, self.name):
            data = self._stream.readline(-1 if size is None else size)
        self._pay(len(data))
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()


class MemberSource:
    """Read access to one data member, handed to `MemberFormat.read`.

    `open()` streams (decompressing if needed); `memory_map()` gives a zero-copy read-only view
    of an uncompressed member; `read_into()` fills a caller's buffer in one copy. What these
    bring into memory is charged to the read's `budget`; call `reserve(nbytes)` *before*
    allocating a buffer (it is then not charged twice), and `charge(nbytes, what)` for memory a
    loader builds from the member in other ways (a conversion, an expansion).
    """

    def __init__(
        self, reader: ArchiveReader, info: zipfile.ZipInfo, path: ObjectPath, budget: ReadBudget | None = None
    ) -> None:
        self.reader = reader
        self.info = info
        self.name = info.filename
        self.path = path
        self.budget = budget if budget is not None else reader.new_budget()
        self._reserved = 0

    @property
    def size(self) -> int:
        """Uncompressed size in bytes."""
        return self.info.file_size

    @property
    def compressed(self) -> bool:
        return self.info.compress_type != zipfile.ZIP_STORED

    @property
    def want_mmap(self) -> bool:
        """Whether the reader was asked for memory-mapped data (`read(..., mmap=True)`)."""
        return self.reader.use_mmap

    def reserve(self, nbytes: int) -> None:
        """Charge `nbytes` that are about to be allocated to hold this member's data; the reads
        that then fill them are not charged again."""
        self.budget.charge(nbytes, self._describe)
        self._reserved += nbytes

    def charge(self, nbytes: int, what: Description = "") -> None:
        """Charge memory a loader builds from this member beyond the bytes it reads (`what`: a
        description, or a function making one only if the charge fails)."""
        self.budget.charge(nbytes, what or (lambda: f"data of member {self.name!r} at {format_path(self.path)}"))

    def _describe(self) -> str:
        return f"member {self.name!r} at {format_path(self.path)}"

    def _take_reserved(self, nbytes: int) -> int:
        """How much of `nbytes` earlier `reserve` calls paid for (and use that up)."""
        covered = min(nbytes, self._reserved)
        self._reserved -= covered
        return covered

    def open(self) -> MemberStream:
        return self.reader.open_member(self.info, self.budget, self._take_reserved(self.size))

    def data_offset(self) -> int:
        return self.reader.data_offset(self.info)

    def memory_map(self, start: int = 0, length: int | None = None, copy_on_write: bool = False) -> memoryview | None:
        """A view of the member's bytes in the mapped file, or None if the member is compressed
        or the file cannot be mapped (a URL, an in-memory stream): callers then read a copy.

        Read-only by default; `copy_on_write=True` gives a private mapping that can be written
        (pages are copied on first write; the file never changes), for frameworks such as torch
        that have no read-only tensors. A map allocates nothing, so nothing is charged; with
        `verify_checksums` the whole member is checked first, which touches every page.
        """
        if self.compressed or not self.reader.can_map:
            return None
        length = self.size - start if length is None else length
        self._check_range(start, length)
        offset = self.data_offset() + start
        view = self.reader.mapped_view(copy_on_write)
        if self.reader.verify_checksums:
            self.reader.verify_member(self.info, self.budget)
        return view[offset : offset + length]

    def _check_range(self, start: int, length: int) -> None:
        if type(start) is not int or type(length) is not int or start < 0 or length < 0 or start + length > self.size:
            raise ZanjFormatError(
                f"{self.reader.path}: member {self.name!r} holds {self.size} bytes; "
                f"bytes {start}..{start + length} were asked for (at {format_path(self.path)})"
            )

    def read_range(self, start: int, length: int) -> bytes:
        """`length` bytes from `start`: for headers and other small reads."""
        self._check_range(start, length)
        if self.reader.verify_checksums:
            self.reader.verify_member(self.info, self.budget)
        if not self.compressed:
            self.data_offset()  # reads the member's head along with its local header
            head = self.reader.member_head(self.info)
            if start + length <= len(head):
                self.budget.charge(length, self._describe)
                return head[start : start + length]
        self.reserve(length)
        buffer = bytearray(length)
        self.read_into(memoryview(buffer), start)
        return bytes(buffer)

    def read_into(self, buffer: memoryview, start: int = 0) -> None:
        """Fill `buffer` with the member's bytes from `start`, copying once.

        Uncompressed members are read straight from the file into `buffer`; compressed members
        are inflated through zipfile, which checks the CRC when a member is read to its end.
        With `verify_checksums` every member is checked whole before its first use, whatever
        part of it is read. Bytes not paid for by `reserve` are charged to the budget first.
        """
        view = buffer.cast("B") if buffer.format != "B" or buffer.ndim != 1 else buffer
        length = view.nbytes
        self._check_range(start, length)
        unpaid = length - self._take_reserved(length)
        if unpaid:
            self.budget.charge(unpaid, self._describe)
        reader = self.reader
        if not self.compressed:
            whole = start == 0 and length == self.size
            if reader.verify_checksums and not whole:
                reader.verify_member(self.info, self.budget)
            reader.pread_into(view, self.data_offset() + start, self.name)
            if reader.verify_checksums and whole and not reader.is_verified(self.name):
                if crc32_function()(view) != self.info.CRC:
                    raise ZanjFormatError(
                        f"{reader.path}: member {self.name!r} fails its CRC check: the file is corrupt"
                    )
                reader.mark_verified(self.name)
            return
        if reader.verify_checksums and not (start == 0 and length == self.size):
            reader.verify_member(self.info, self.budget)
        # the destination is paid for: the stream's output is not charged again
        with reader.open_member(self.info, self.budget, charged_ahead=length + 1) as stream:
            skip = start
            while skip:
                dropped = stream.read(min(skip, 1 << 20))
                if not dropped:
                    raise ZanjFormatError(f"{reader.path}: member {self.name!r} is truncated")
                skip -= len(dropped)
            filled = 0
            while filled < length:
                got = stream.readinto(view[filled:])
                if not got:
                    raise ZanjFormatError(f"{reader.path}: member {self.name!r} is truncated")
                filled += got
            if start + length == self.size:
                stream.read(1)  # reaching the end makes zipfile check the CRC


class ArchiveReader:
    """An open `.zanj` file: validated zip directory and lazily opened members."""

    def __init__(
        self,
        location: Location | ByteSource,
        limits: ReadLimits | None = None,
        mmap: bool = False,
        verify_checksums: bool = False,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        """Open a path, a URL (with the `remote` extra; `storage_options` go to fsspec), a
        binary file object (left open on close: its owner closes it) or a `ByteSource`."""
        self.limits = limits or ReadLimits()
        self.verify_checksums = verify_checksums
        self.progress: ProgressBar | None = None
        """Told of each member handed to a loader; its bytes come through `source.on_read`."""
        self._mmaps: dict[bool, mmap_module.mmap] = {}
        self._views: dict[bool, memoryview] = {}
        self.byte_source = location if isinstance(location, ByteSource) else open_source(location, storage_options)
        self.path: str | Path = self.byte_source.name
        self.use_mmap = mmap
        """Whether mapped data was asked for; members are mapped only when `can_map` too."""
        self._file_size = self.byte_source.size
        self._offsets: dict[str, int] = {}
        self._ends: dict[str, int] = {}
        """Where the next member (or the directory) starts: no member's data may reach past it."""
        self._verified: set[str] = set()
        self._verify_lock = threading.Lock()
        self._directory_offset = 0
        self._declared_entries = 0
        self._head: tuple[str, bytes] | None = None
        """(member name, its first bytes) of the member whose local header was read last."""
        try:
            self._check_end_record()
            self._zf = zipfile.ZipFile(SourceFile(self.byte_source), "r")  # type: ignore[arg-type]
            infos = self._zf.infolist()
        except ZanjError:
            self.byte_source.close()
            raise
        except Exception as exc:  # zipfile signals a malformed directory with many types (even NotImplementedError)
            self.byte_source.close()
            raise ZanjFormatError(
                f"{self.path} is not a readable .zanj file (not a zip archive, or truncated): {exc}"
            ) from exc
        try:
            self._infos = self._validate(infos)
            self._check_layout(infos)
        except ZanjFormatError:
            self.close()
            raise

    @property
    def can_map(self) -> bool:
        """Whether the file can be memory-mapped: a local file, not a URL or an in-memory stream."""
        return self.byte_source.fileno() is not None

    def _check_end_record(self) -> None:
        """Check the member count and directory size the zip's end record declares, before
        zipfile parses the directory (which it holds in memory, one object per member)."""
        size = self._file_size
        if size < END_RECORD_LEN:
            raise ZanjFormatError(
                f"{self.path} is not a readable .zanj file: {size} bytes is too short for a zip archive"
                + self.byte_source.hint
            )
        # the record is last unless the archive has a comment (of up to 64 KiB): read the small
        # tail first, as zipfile does, and the large one only when the record is not at its end
        for tail_len in (min(size, END_RECORD_LEN + ZIP64_LOCATOR_LEN), min(size, END_RECORD_LEN + 0xFFFF)):
            tail = bytearray(tail_len)
            self.pread_into(memoryview(tail), size - tail_len, "<end record>")
            at = tail.rfind(b"PK\x05\x06")
            if at >= 0 and at + END_RECORD_LEN <= tail_len:
                break
        if at < 0 or at + END_RECORD_LEN > tail_len:
            raise ZanjFormatError(
                f"{self.path} is not a readable .zanj file: no zip end record (not a zip archive, or truncated)"
                + self.byte_source.hint
            )
        entries, directory_bytes, directory_offset, comment_len = struct.unpack("<HLLH", tail[at + 10 : at + 22])
        if at + END_RECORD_LEN + comment_len != tail_len:
            raise ZanjFormatError(
                f"{self.path}: {tail_len - at - END_RECORD_LEN - comment_len} bytes follow the zip's end record "
                "and its comment; zip readers disagree on such files, so it is refused (a file with data "
                "appended after a .zanj is not a .zanj file)"
            )
        locator = at - ZIP64_LOCATOR_LEN
        if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
            (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
            if record_offset + ZIP64_RECORD_LEN > size:
                raise ZanjFormatError(f"{self.path}: the zip64 end record lies past the end of the file")
            record = bytearray(ZIP64_RECORD_LEN)
            self.pread_into(memoryview(record), record_offset, "<zip64 end record>")
            if record[:4] != b"PK\x06\x06":
                raise ZanjFormatError(f"{self.path}: bad zip64 end record; the file is corrupt")
            entries, directory_bytes, directory_offset = struct.unpack("<QQQ", record[32:56])
        if entries > self.limits.max_members:
            raise ZanjLimitError(
                f"{self.path} declares {entries} members, over the limit of {self.limits.max_members} "
                "(raise ReadLimits.max_members if you trust the file)"
            )
        if directory_bytes > size:
            raise ZanjFormatError(
                f"{self.path}: its zip directory claims {directory_bytes} bytes in a file of {size}; "
                "the file is truncated or forged"
            )
        self._directory_offset = directory_offset
        self._declared_entries = entries

    def _check_layout(self, infos: list[zipfile.ZipInfo]) -> None:
        """The archive must be laid out as written: members from offset 0 (nothing prepended,
        which zipfile silently skips and other readers do not), one after another without
        overlapping, and the directory after the last. Each member's true end is checked again
        against the next start when its local header is read (`data_offset`)."""
        prefix = self._zf.start_dir - self._directory_offset
        if prefix:
            where = (
                f"if the archive was appended to other data, open the file, seek to byte {prefix} and read "
                "the file object (zanj reads a file object from its position)"
                if prefix > 0
                else "the file is forged"
            )
            raise ZanjFormatError(
                f"{self.path}: the zip directory is not where the end record says: {prefix} bytes come "
                f"before the archive, which zip readers handle differently; {where}"
            )
        ordered = sorted(infos, key=lambda info: info.header_offset)
        boundary = 0
        for index, info in enumerate(ordered):
            if info.header_offset < boundary:
                raise ZanjFormatError(
                    f"{self.path}: member {info.filename!r} starts at {info.header_offset}, inside the "
                    "member before it; overlapping members are forged"
                )
            boundary = (
                info.header_offset + LOCAL_HEADER_LEN + len(info.orig_filename.encode("utf-8")) + info.compress_size
            )
            following = ordered[index + 1].header_offset if index + 1 < len(ordered) else self._directory_offset
            self._ends[info.filename] = following
        if boundary > self._directory_offset:
            raise ZanjFormatError(f"{self.path}: the last member runs into the zip directory; the file is forged")

    def _validate(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > self.limits.max_members:
            raise ZanjLimitError(f"{self.path} has {len(infos)} members, over the limit of {self.limits.max_members}")
        if len(infos) != self._declared_entries:
            raise ZanjFormatError(
                f"{self.path}: its end record declares {self._declared_entries} members but its directory "
                f"holds {len(infos)}; the file is truncated or forged"
            )
        table: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if name in table:
                raise ZanjFormatError(f"{self.path}: member name {name!r} appears twice; the file is malformed")
            parts = name.replace("\\", "/").split("/")
            if not name or name.startswith(("/", "\\")) or name[1:2] == ":" or ".." in parts or "\0" in name:
                raise ZanjFormatError(
                    f"{self.path}: unsafe member name {name!r} (empty, absolute, or climbing with '..')"
                )
            self._check_unambiguous_name(info)
            if info.flag_bits & 0x1:
                raise ZanjFormatError(f"{self.path}: member {name!r} is encrypted; zanj files never are")
            if info.compress_type not in READABLE_METHODS:
                raise ZanjFormatError(
                    f"{self.path}: member {name!r} uses zip compression method {info.compress_type}; "
                    "zanj reads only stored and deflate members, as it writes them (recompress the "
                    "archive with deflate, e.g. `zip -Z deflate`, if you trust it)"
                )
            if info.header_offset + LOCAL_HEADER_LEN + len(info.orig_filename) + info.compress_size > self._file_size:
                raise ZanjFormatError(
                    f"{self.path}: member {name!r} declares {info.compress_size} bytes at offset "
                    f"{info.header_offset}, past the end of the {self._file_size}-byte file; it is truncated or forged"
                )
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise ZanjFormatError(
                    f"{self.path}: stored member {name!r} declares {info.file_size} bytes but occupies "
                    f"{info.compress_size}; the file is corrupt"
                )
            table[name] = info
        if MAIN_MEMBER not in table:
            raise ZanjFormatError(f"{self.path} is a zip archive but not a .zanj file: it has no {MAIN_MEMBER} member")
        return table

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
                f"{self.path}: member name {quoted(orig, 100)} {problem}; zip readers would disagree on it, "
                "so the file is refused"
            )

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zf.close()
        self.byte_source.close()

    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    def info(self, name: str) -> zipfile.ZipInfo:
        return self._infos[name]

    def check_expansion(self, info: zipfile.ZipInfo) -> None:
        """Refuse a compressed member that would expand past the ratio limit (a zip bomb),
        before anyone allocates its declared size."""
        if info.compress_type == zipfile.ZIP_STORED:
            return
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > self.limits.max_compression_ratio and info.file_size > 1 << 20:
            raise ZanjLimitError(
                f"{self.path}: member {info.filename!r} expands {ratio:.0f}x "
                f"({info.compress_size} -> {info.file_size} bytes), over the limit of "
                f"{self.limits.max_compression_ratio}x; refusing a possible zip bomb "
                "(raise ReadLimits.max_compression_ratio if you trust the file)"
            )

    def new_budget(self) -> ReadBudget:
        """A fresh budget for one operation on this file (see `zanj_core._contract.budget`)."""
        return ReadBudget.for_file(self.limits, str(self.path), self._file_size)

    def open_member(self, info: zipfile.ZipInfo, budget: ReadBudget, charged_ahead: int = 0) -> MemberStream:
        """A stream of the member's (decompressed) bytes, each charged to `budget` unless
        `charged_ahead` paid for it. Its local header is checked against the directory first."""
        self.check_expansion(info)
        self.data_offset(info)
        return MemberStream(MemberData(self, info), self.path, info.filename, budget, charged_ahead)  # type: ignore[arg-type]

    def check_json_size(self, name: str, size: int) -> None:
        """Refuse a JSON or JSON-lines member larger than `ReadLimits.max_json_bytes`."""
        if size > self.limits.max_json_bytes:
            raise ZanjLimitError(
                f"{self.path}: JSON member {name!r} is {size} bytes, over the limit of "
                f"{self.limits.max_json_bytes} (raise ReadLimits.max_json_bytes if you trust the file)"
            )

    def read_json(self, name: str, budget: ReadBudget) -> Any:
        """Parse a JSON member, checking its size and charging what parsing it builds
        (`JSON_OBJECT_FACTOR` per byte) before reading it."""
        info = self._infos.get(name)
        if info is None:
            raise ZanjFormatError(f"{self.path} has no {name} member")
        self.check_json_size(name, info.file_size)
        budget.charge(info.file_size * JSON_OBJECT_FACTOR, f"JSON member {name!r}")
        with json_errors(self.path, name), self.open_member(info, budget, info.file_size + 1) as stream:
            return json.loads(stream.read(self.limits.max_json_bytes + 1).decode("utf-8"))

    def is_verified(self, name: str) -> bool:
        return name in self._verified

    def mark_verified(self, name: str) -> None:
        self._verified.add(name)

    def verify_member(self, info: zipfile.ZipInfo, budget: ReadBudget) -> None:
        """Check a whole member's CRC once per open file (`verify_checksums`): stored members in
        bounded chunks (from the map when the file is mapped), compressed ones inflated to
        their end, each byte charged as it is decompressed."""
        name = info.filename
        if name in self._verified:
            return
        with self._verify_lock:
            if name in self._verified:
                return
            if info.compress_type == zipfile.ZIP_STORED:
                crc = self.stored_crc(info)
                if crc != info.CRC:
                    raise ZanjFormatError(
                        f"{self.path}: member {name!r} fails its CRC check (stored {info.CRC:08x}, "
                        f"computed {crc:08x}): the file is corrupt"
                    )
            else:
                with self.open_member(info, budget) as stream:
                    while stream.read(VERIFY_CHUNK_BYTES):
                        pass  # zipfile checks the CRC when the member is read to its end
            self._verified.add(name)

    def stored_crc(self, info: zipfile.ZipInfo) -> int:
        """The CRC-32 of a stored member's bytes, read in bounded chunks (or from the map)."""
        crc32 = crc32_function()
        offset = self.data_offset(info)
        if self.use_mmap and self.can_map:
            return int(crc32(self.mapped_view()[offset : offset + info.file_size]))
        crc = 0
        buffer = memoryview(bytearray(min(VERIFY_CHUNK_BYTES, info.file_size)))
        done = 0
        while done < info.file_size:
            view = buffer[: min(len(buffer), info.file_size - done)]
            self.pread_into(view, offset + done, info.filename)
            crc = crc32(view, crc)
            done += len(view)
        return crc

    def read_meta(self, budget: ReadBudget) -> dict[str, Any]:
        """The metadata member (an empty dict for files without one), checked to be a JSON object
        of a format version this reader understands; its other fields are descriptive and read
        defensively by whoever uses them."""
        if META_MEMBER not in self._infos:
            return {}
        meta = self.read_json(META_MEMBER, budget)
        if not isinstance(meta, dict):
            raise ZanjFormatError(f"{self.path}: {META_MEMBER} must hold a JSON object, got {type(meta).__name__}")
        version = meta.get("zanj_format")
        if version is None:  # files of zanj 0.6 do not record a format version
            return meta
        if not isinstance(version, str) or not re.fullmatch(r"[0-9]{1,9}\.[0-9]{1,9}", version):
            raise ZanjFormatError(
                f"{self.path}: {META_MEMBER} has zanj_format "
                f"{quoted(version, 40) if isinstance(version, str) else repr(version)[:40]}; expected a version string such as "
                f"{FORMAT_VERSION!r}"
            )
        if int(version.split(".")[0]) > int(FORMAT_VERSION.split(".")[0]):
            raise ZanjFormatError(
                f"{self.path} is in zanj format {version}, newer than the {FORMAT_VERSION} this zanj-core reads; "
                "upgrade zanj-core (pip install -U zanj-core)"
            )
        return meta

    def data_offset(self, info: zipfile.ZipInfo) -> int:
        """Offset in the file where a member's data starts (after its local header).

        The local header is read with one read that also takes the first `MEMBER_HEAD_BYTES` of
        a stored member's data, kept for `member_head`. Always a read, never the memory map:
        touching a mapped page costs a page fault, slower than a small read."""
        cached = self._offsets.get(info.filename)
        if cached is not None:
            return cached
        start = info.header_offset
        if start + LOCAL_HEADER_LEN > self._file_size:
            raise ZanjFormatError(f"{self.path}: local header of member {info.filename!r} is truncated")
        raw_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace")
        want = LOCAL_HEADER_LEN + len(raw_name) + _LOCAL_EXTRA_GUESS + MEMBER_HEAD_BYTES
        buffer = bytearray(min(want, self._file_size - start))
        self.pread_into(memoryview(buffer), start, info.filename)
        signature, flags, method, crc, compressed, size, name_len, extra_len = _LOCAL_HEADER.unpack_from(buffer)
        if signature != b"PK\x03\x04":
            raise ZanjFormatError(f"{self.path}: bad local header for member {info.filename!r}")
        # the local header must say what the directory says (name, method, flags, and sizes and
        # CRC unless they follow the data): tools that walk local headers would see another file
        if (
            buffer[LOCAL_HEADER_LEN : LOCAL_HEADER_LEN + name_len] != raw_name
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
            self._local_header_mismatch(
                info,
                bytes(buffer[LOCAL_HEADER_LEN : LOCAL_HEADER_LEN + name_len]),
                flags,
                method,
                crc,
                compressed,
                size,
            )
        if not flags & 0x8 and 0xFFFFFFFF in (compressed, size):
            self._check_local_zip64(info, start, buffer, name_len, extra_len, compressed, size)
        offset = int(start + LOCAL_HEADER_LEN + name_len + extra_len)
        end = offset + info.compress_size + (_DESCRIPTOR_MIN_LEN if info.flag_bits & 0x8 else 0)
        if end > self._file_size:
            raise ZanjFormatError(f"{self.path}: member {info.filename!r} extends past the end of the file")
        if end > self._ends.get(info.filename, self._file_size):
            raise ZanjFormatError(
                f"{self.path}: member {info.filename!r} runs into the member after it; overlapping members are forged"
            )
        self._offsets[info.filename] = offset
        if info.compress_type == zipfile.ZIP_STORED:
            first = offset - start
            self._head = (info.filename, bytes(buffer[first : first + min(info.compress_size, MEMBER_HEAD_BYTES)]))
        return offset

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
            self.pread_into(memoryview(whole), start + at, info.filename)
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
                f"{self.path}: the local header of member {info.filename!r} gives sizes {found} in its zip64 "
                f"field, the directory {wanted}; zip readers would disagree on this file, so it is refused"
            )

    def _local_header_mismatch(
        self, info: zipfile.ZipInfo, name: bytes, flags: int, method: int, crc: int, compressed: int, size: int
    ) -> None:
        """Raise the error naming the first field where the local header and directory differ."""
        if name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace"):
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
            f"{self.path}: the local header of member {info.filename!r} {problem}; "
            "zip readers would disagree on this file, so it is refused"
        )

    def member_head(self, info: zipfile.ZipInfo) -> bytes:
        """The first bytes of a stored member's data when they were read with its local header
        (by the last `data_offset` that read one), else b"". Possibly fewer than asked for."""
        head = self._head
        return head[1] if head is not None and head[0] == info.filename else b""

    def pread_into(self, view: memoryview, offset: int, name: str) -> None:
        """Read exactly `view.nbytes` bytes at `offset` of the file into `view`."""
        filled = 0
        length = view.nbytes
        while filled < length:
            got = self.byte_source.read_at(view[filled:], offset + filled)
            if not got:
                raise ZanjFormatError(f"{self.path}: member {name!r} is truncated")
            filled += got

    def mapped_view(self, copy_on_write: bool = False) -> memoryview:
        """A memoryview of the whole mapped file, made once per kind of mapping."""
        view = self._views.get(copy_on_write)
        if view is None:
            view = self._views[copy_on_write] = memoryview(self.mapped(copy_on_write))
        return view

    def mapped(self, copy_on_write: bool = False) -> mmap_module.mmap:
        """The whole file mapped (read-only, or private copy-on-write); mapped once per kind and
        kept alive by the views taken of it."""
        mapping = self._mmaps.get(copy_on_write)
        if mapping is None:
            import mmap as mmap_module

            access = mmap_module.ACCESS_COPY if copy_on_write else mmap_module.ACCESS_READ
            fd = self.byte_source.fileno()
            if fd is None:
                raise ZanjError(f"{self.path} cannot be memory-mapped: it is not a local file")
            mapping = self._mmaps[copy_on_write] = mmap_module.mmap(fd, 0, access=access)
        return mapping

    def source(self, ref: Any, path: ObjectPath, budget: ReadBudget | None = None) -> MemberSource:
        """Validate a `$ref` and return access to its member, charging what it reads to `budget`
        (the operation's; a fresh one when omitted)."""
        info = self._infos.get(ref) if isinstance(ref, str) and ref not in JSON_MEMBERS else None
        if info is not None:
            self.check_expansion(info)  # loaders allocate `size` before they read
            source = MemberSource(self, info, path, budget)
            source.budget.charge(MEMBER_USE_COST, source._describe)
            if self.progress is not None:
                self.progress.member_done()
            return source
        where = format_path(path)
        if not isinstance(ref, str):
            raise ZanjFormatError(
                f"{self.path}: at {where}, $ref must be a member name string, got {type(ref).__name__}"
            )
        if ref in JSON_MEMBERS:
            raise ZanjFormatError(f"{self.path}: at {where}, $ref points at the JSON member {ref!r}")
        raise ZanjFormatError(f"{self.path}: at {where}, $ref names member {ref!r}, which the archive lacks")
