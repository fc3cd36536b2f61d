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
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from zanj_core.errors import ZanjError, ZanjFormatError, ZanjLimitError
from zanj_core.handlers import MemberFormat, ObjectPath, format_path
from zanj_core.progress import ProgressBar
from zanj_core.storage import ByteSource, Location, SourceFile, open_source
from zanj_core.zipwriter import ZipWriter, crc32_function

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
_LOCAL_EXTRA_GUESS = 96  # room for the zip64 and alignment extra fields zanj writes
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
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


try:
    from lzma import LZMAError
except ImportError:  # pragma: no cover - Python built without lzma: zipfile cannot inflate it either
    LZMAError = zlib.error  # type: ignore[misc,assignment]

# what zipfile and the decompressors raise for damaged member data
_MEMBER_DATA_ERRORS = (zipfile.BadZipFile, EOFError, OSError, zlib.error, LZMAError, NotImplementedError)


@contextlib.contextmanager
def _member_errors(path: str | Path, name: str) -> Iterator[None]:
    try:
        yield
    except ZanjError:
        raise
    except _MEMBER_DATA_ERRORS as exc:
        raise ZanjFormatError(f"{path}: member {name!r} is corrupt: {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def json_errors(path: str | Path, name: str) -> Iterator[None]:
    """Turn what decoding and parsing a JSON member can raise into `ZanjError`s naming it."""
    try:
        yield
    except ZanjError:
        raise
    except RecursionError as exc:
        raise ZanjLimitError(f"{path}: member {name!r} is nested too deeply to parse") from exc
    except UnicodeDecodeError as exc:
        raise ZanjFormatError(f"{path}: member {name!r} is not UTF-8 text: {exc}") from exc
    except ValueError as exc:  # invalid JSON, or an integer longer than Python converts
        raise ZanjFormatError(f"{path}: member {name!r} is not valid JSON: {exc}") from exc


class MemberStream(io.RawIOBase):
    """A member opened through zipfile, whose damaged data (bad deflate stream, CRC mismatch,
    truncation) raises `ZanjFormatError` naming the file and member instead of zlib's errors."""

    def __init__(self, stream: IO[bytes], path: str | Path, name: str) -> None:
        super().__init__()
        self._stream = stream
        self._path = path
        self.name = name

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with _member_errors(self._path, self.name):
            return self._stream.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        with _member_errors(self._path, self.name):
            return self._stream.readinto(buffer)  # type: ignore[attr-defined,no-any-return]

    def readline(self, size: int | None = -1) -> bytes:
        with _member_errors(self._path, self.name):
            return self._stream.readline(-1 if size is None else size)

    def close(self) -> None:
        self._stream.close()
        super().close()


class MemberSource:
    """Read access to one data member, handed to `MemberFormat.read`.

    `open()` streams (decompressing if needed); `memory_map()` gives a zero-copy read-only view
    of an uncompressed member; `read_into()` fills a caller's buffer in one copy.
    """

    def __init__(self, reader: ArchiveReader, info: zipfile.ZipInfo, path: ObjectPath) -> None:
        self.reader = reader
        self.info = info
        self.name = info.filename
        self.path = path

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

    def open(self) -> MemberStream:
        return self.reader.open_member(self.info)

    def data_offset(self) -> int:
        return self.reader.data_offset(self.info)

    def memory_map(self, start: int = 0, length: int | None = None, copy_on_write: bool = False) -> memoryview | None:
        """A view of the member's bytes in the mapped file, or None if the member is compressed
        or the file cannot be mapped (a URL, an in-memory stream): callers then read a copy.

        Read-only by default; `copy_on_write=True` gives a private mapping that can be written
        (pages are copied on first write; the file never changes), for frameworks such as torch
        that have no read-only tensors.
        """
        if self.compressed or not self.reader.can_map:
            return None
        length = self.size - start if length is None else length
        self._check_range(start, length)
        offset = self.data_offset() + start
        return self.reader.mapped_view(copy_on_write)[offset : offset + length]

    def _check_range(self, start: int, length: int) -> None:
        if start < 0 or length < 0 or start + length > self.size:
            raise ZanjFormatError(
                f"{self.reader.path}: member {self.name!r} holds {self.size} bytes; "
                f"bytes {start}..{start + length} were asked for (at {format_path(self.path)})"
            )

    def read_range(self, start: int, length: int) -> bytes:
        """`length` bytes from `start`: for headers and other small reads."""
        self._check_range(start, length)
        if not self.compressed:
            self.data_offset()  # reads the member's head along with its local header
            head = self.reader.member_head(self.info)
            if start + length <= len(head):
                return head[start : start + length]
        buffer = bytearray(length)
        self.read_into(memoryview(buffer), start)
        return bytes(buffer)

    def read_into(self, buffer: memoryview, start: int = 0) -> None:
        """Fill `buffer` with the member's bytes from `start`, copying once.

        Uncompressed members are read straight from the file into `buffer` (their CRC is
        checked only when the reader verifies checksums, since checking costs more than the
        read itself); compressed members are inflated through zipfile, which checks the CRC
        when a member is read to its end.
        """
        view = buffer.cast("B") if buffer.format != "B" or buffer.ndim != 1 else buffer
        length = view.nbytes
        self._check_range(start, length)
        if not self.compressed:
            self.reader.pread_into(view, self.data_offset() + start, self.name)
            if self.reader.verify_checksums and start == 0 and length == self.size:
                if crc32_function()(view) != self.info.CRC:
                    raise ZanjFormatError(
                        f"{self.reader.path}: member {self.name!r} fails its CRC check: the file is corrupt"
                    )
            return
        with self.open() as stream:
            skip = start
            while skip:
                dropped = stream.read(min(skip, 1 << 20))
                if not dropped:
                    raise ZanjFormatError(f"{self.reader.path}: member {self.name!r} is truncated")
                skip -= len(dropped)
            filled = 0
            while filled < length:
                got = stream.readinto(view[filled:])  # type: ignore[attr-defined]
                if not got:
                    raise ZanjFormatError(f"{self.reader.path}: member {self.name!r} is truncated")
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
        entries, directory_bytes = struct.unpack("<HL", tail[at + 10 : at + 16])
        locator = at - ZIP64_LOCATOR_LEN
        if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
            (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
            if record_offset + ZIP64_RECORD_LEN > size:
                raise ZanjFormatError(f"{self.path}: the zip64 end record lies past the end of the file")
            record = bytearray(ZIP64_RECORD_LEN)
            self.pread_into(memoryview(record), record_offset, "<zip64 end record>")
            if record[:4] != b"PK\x06\x06":
                raise ZanjFormatError(f"{self.path}: bad zip64 end record; the file is corrupt")
            entries, directory_bytes = struct.unpack("<QQ", record[32:48])
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

    def _validate(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > self.limits.max_members:
            raise ZanjLimitError(f"{self.path} has {len(infos)} members, over the limit of {self.limits.max_members}")
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
            if info.flag_bits & 0x1:
                raise ZanjFormatError(f"{self.path}: member {name!r} is encrypted; zanj files never are")
            if info.compress_type not in READABLE_METHODS:
                raise ZanjFormatError(
                    f"{self.path}: member {name!r} uses zip compression method {info.compress_type}; "
                    "only stored, deflate, bzip2 and lzma are read"
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

    def open_member(self, info: zipfile.ZipInfo) -> MemberStream:
        self.check_expansion(info)
        with _member_errors(self.path, info.filename):
            return MemberStream(self._zf.open(info, "r"), self.path, info.filename)

    def check_json_size(self, name: str, size: int) -> None:
        """Refuse a JSON or JSON-lines member larger than `ReadLimits.max_json_bytes`."""
        if size > self.limits.max_json_bytes:
            raise ZanjLimitError(
                f"{self.path}: JSON member {name!r} is {size} bytes, over the limit of "
                f"{self.limits.max_json_bytes} (raise ReadLimits.max_json_bytes if you trust the file)"
            )

    def read_json(self, name: str) -> Any:
        """Parse a JSON member, checking its size before reading it."""
        info = self._infos.get(name)
        if info is None:
            raise ZanjFormatError(f"{self.path} has no {name} member")
        self.check_json_size(name, info.file_size)
        with json_errors(self.path, name), self.open_member(info) as stream:
            return json.loads(stream.read(self.limits.max_json_bytes + 1).decode("utf-8"))

    def read_meta(self) -> dict[str, Any]:
        """The metadata member (an empty dict for files without one), checked to be a JSON object
        of a format version this reader understands; its other fields are descriptive and read
        defensively by whoever uses them."""
        if META_MEMBER not in self._infos:
            return {}
        meta = self.read_json(META_MEMBER)
        if not isinstance(meta, dict):
            raise ZanjFormatError(f"{self.path}: {META_MEMBER} must hold a JSON object, got {type(meta).__name__}")
        version = meta.get("zanj_format")
        if version is None:  # files of zanj 0.6 do not record a format version
            return meta
        if not isinstance(version, str) or not re.fullmatch(r"[0-9]+\.[0-9]+", version):
            raise ZanjFormatError(
                f"{self.path}: {META_MEMBER} has zanj_format {version!r}; expected a version string such as "
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
        want = LOCAL_HEADER_LEN + len(info.orig_filename.encode("utf-8")) + _LOCAL_EXTRA_GUESS + MEMBER_HEAD_BYTES
        buffer = bytearray(min(want, self._file_size - start))
        self.pread_into(memoryview(buffer), start, info.filename)
        if buffer[:4] != b"PK\x03\x04":
            raise ZanjFormatError(f"{self.path}: bad local header for member {info.filename!r}")
        name_len, extra_len = struct.unpack("<HH", buffer[26:30])
        offset = int(start + LOCAL_HEADER_LEN + name_len + extra_len)
        if offset + info.compress_size > self._file_size:
            raise ZanjFormatError(f"{self.path}: member {info.filename!r} extends past the end of the file")
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

    def source(self, ref: Any, path: ObjectPath) -> MemberSource:
        """Validate a `$ref` and return access to its member."""
        info = self._infos.get(ref) if isinstance(ref, str) and ref not in JSON_MEMBERS else None
        if info is not None:
            self.check_expansion(info)  # loaders allocate `size` before they read
            if self.progress is not None:
                self.progress.member_done()
            return MemberSource(self, info, path)
        where = format_path(path)
        if not isinstance(ref, str):
            raise ZanjFormatError(
                f"{self.path}: at {where}, $ref must be a member name string, got {type(ref).__name__}"
            )
        if ref in JSON_MEMBERS:
            raise ZanjFormatError(f"{self.path}: at {where}, $ref points at the JSON member {ref!r}")
        raise ZanjFormatError(f"{self.path}: at {where}, $ref names member {ref!r}, which the archive lacks")
