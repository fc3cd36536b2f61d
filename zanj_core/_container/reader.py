"""Layer 2, the container: `ArchiveReader`, an open `.zanj` file.

It opens a location through a `ByteSource`, has `ZipDirectory` validate the zip before any
member is trusted, and hands out members: parsed JSON members (size-checked and charged to a
`ReadBudget`), streams, CRC checks, memory maps, and the `MemberSource` a loader reads a data
member through. It knows nothing of the object tree built from them.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zanj_core._container.checksums import crc32_function
from zanj_core._container.directory import ZipDirectory
from zanj_core._container.limits import ReadLimits
from zanj_core._container.locations import Location
from zanj_core._container.member_source import MemberSource
from zanj_core._container.member_streams import MemberData, MemberStream
from zanj_core._container.opening import open_source
from zanj_core._container.progress import ProgressBar
from zanj_core._container.sources import ByteSource
from zanj_core._container.spec import EXTERNALS_MEMBER, FORMAT_VERSION, JSON_MEMBERS, META_MEMBER
from zanj_core._container.zip_records import MemberInfo
from zanj_core._contract.budget import JSON_OBJECT_FACTOR, MEMBER_USE_COST, ReadBudget, json_structure_cost
from zanj_core._contract.nodes import ObjectPath, format_path, json_errors
from zanj_core._contract.textsafe import quoted
from zanj_core.errors import ZanjError, ZanjFormatError, ZanjLimitError

if TYPE_CHECKING:
    import mmap as mmap_module

VERIFY_CHUNK_BYTES = 8 << 20
"""Stored members are CRC-checked through a buffer of this size, however large they are."""


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
        """Open a local path, a URL (with the `remote` extra; `storage_options` go to fsspec), a
        binary file object (left open on close: its owner closes it) or a `ByteSource`."""
        self.limits = limits or ReadLimits()
        self.verify_checksums = verify_checksums
        self.progress: ProgressBar | None = None
        """Told of each member handed to a loader; its bytes come through `source.on_read`."""
        self._mmaps: dict[bool, mmap_module.mmap] = {}
        self.views: dict[bool, memoryview] = {}
        """The mapped file as a memoryview, by kind of mapping (copy-on-write or not), once made."""
        self.byte_source = location if isinstance(location, ByteSource) else open_source(location, storage_options)
        self.location: str | Path = self.byte_source.location
        """Where the file is, as messages name it: its local path or URL (a file object's name)."""
        self.use_mmap = mmap
        """Whether mapped data was asked for; members are mapped only when `can_map` too."""
        self._verified: set[str] = set()
        self._verify_lock = threading.Lock()
        try:
            self._directory = ZipDirectory(self.byte_source, self.limits)
            self.can_map = self.byte_source.fileno() is not None
            """Whether the file can be memory-mapped: a local file, not a URL or an in-memory stream."""
        except BaseException:
            self.byte_source.close()
            raise
        self.directory = self._directory
        """The checked zip directory: members, local headers, and the bytes kept from reads."""
        self._infos = self._directory.infos

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._directory.close()
        self.byte_source.close()

    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    def info(self, name: str) -> MemberInfo:
        return self._infos[name]

    def check_expansion(self, info: MemberInfo) -> None:
        """Refuse a compressed member that would expand past the ratio limit (a zip bomb),
        before anyone allocates its declared size."""
        if not info.compress_type:  # stored
            return
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > self.limits.max_compression_ratio and info.file_size > 1 << 20:
            raise ZanjLimitError(
                f"{self.location}: member {info.filename!r} expands {ratio:.0f}x "
                f"({info.compress_size} -> {info.file_size} bytes), over the limit of "
                f"{self.limits.max_compression_ratio}x; refusing a possible zip bomb "
                "(raise ReadLimits.max_compression_ratio if you trust the file)"
            )

    def new_budget(self) -> ReadBudget:
        """A fresh budget for one operation on this file (see `zanj_core._contract.budget`)."""
        return ReadBudget.for_file(self.limits, str(self.location), self._directory.file_size)

    def open_member(self, info: MemberInfo, budget: ReadBudget, charged_ahead: int = 0) -> MemberStream:
        """A stream of the member's (decompressed) bytes, each charged to `budget` unless
        `charged_ahead` paid for it. Its local header is checked against the directory first."""
        self.check_expansion(info)
        self._directory.data_offset(info)
        return MemberStream(MemberData(self._directory, info), self.location, info.filename, budget, charged_ahead)  # type: ignore[arg-type]

    def _kept_member(self, info: MemberInfo) -> bytes | None:
        """A whole member's bytes when its data is in memory already (a small file, the JSON
        members), checked as its stream would check them: inflated to exactly its declared
        size, nothing after its deflate stream, and its CRC. None when it is not kept or any
        check fails: its stream then reads it and says what is wrong."""
        self.check_expansion(info)
        directory = self._directory
        found = directory.kept(directory.data_offset(info), info.compress_size)
        if found is None:
            return None
        data, at = found
        packed = memoryview(data)[at : at + info.compress_size]
        if info.compress_type:
            inflater = zlib.decompressobj(-15)
            try:
                unpacked = inflater.decompress(packed, info.file_size + 1)
            except zlib.error:
                return None
            if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail or len(unpacked) != info.file_size:
                return None
        else:
            unpacked = bytes(packed)
        return unpacked if crc32_function()(unpacked) == info.CRC else None

    def check_json_size(self, name: str, size: int) -> None:
        """Refuse a JSON or JSON-lines member larger than `ReadLimits.max_json_bytes`."""
        if size > self.limits.max_json_bytes:
            raise ZanjLimitError(
                f"{self.location}: JSON member {name!r} is {size} bytes, over the limit of "
                f"{self.limits.max_json_bytes} (raise ReadLimits.max_json_bytes if you trust the file)"
            )

    def read_json(self, name: str, budget: ReadBudget) -> Any:
        """Parse a JSON member, checking its size and charging what parsing it builds
        (`JSON_OBJECT_FACTOR` per byte) before reading it."""
        info = self._infos.get(name)
        if info is None:
            raise ZanjFormatError(f"{self.location} has no {name} member")
        self.check_json_size(name, info.file_size)
        budget.charge(info.file_size * JSON_OBJECT_FACTOR, f"JSON member {name!r}")
        with json_errors(self.location, name):
            text = self._kept_member(info)
            if text is None:
                with self.open_member(info, budget, info.file_size + 1) as stream:
                    text = stream.read(self.limits.max_json_bytes + 1)
            budget.charge(json_structure_cost(text), f"the objects of JSON member {name!r}")
            return json.loads(text.decode("utf-8"))

    def is_verified(self, name: str) -> bool:
        return name in self._verified

    def mark_verified(self, name: str) -> None:
        self._verified.add(name)

    def verify_member(self, info: MemberInfo, budget: ReadBudget) -> None:
        """Check a whole member's CRC once per open file (`verify_checksums`): stored members in
        bounded chunks (from the map when the file is mapped), compressed ones inflated to
        their end, each byte charged as it is decompressed."""
        name = info.filename
        if name in self._verified:
            return
        with self._verify_lock:
            if name in self._verified:
                return
            if not info.compress_type:  # stored
                crc = self.stored_crc(info)
                if crc != info.CRC:
                    raise ZanjFormatError(
                        f"{self.location}: member {name!r} fails its CRC check (stored {info.CRC:08x}, "
                        f"computed {crc:08x}): the file is corrupt"
                    )
            else:
                with self.open_member(info, budget) as stream:
                    while stream.read(VERIFY_CHUNK_BYTES):
                        pass  # the stream checks the CRC when it reaches the member's end
            self._verified.add(name)

    def stored_crc(self, info: MemberInfo) -> int:
        """The CRC-32 of a stored member's bytes, read in bounded chunks (or from the map)."""
        crc32 = crc32_function()
        if self.use_mmap and self.can_map:
            offset = self._directory.data_offset(info, self.mapped())
            return int(crc32(self.mapped_view()[offset : offset + info.file_size]))
        offset = self._directory.data_offset(info)
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
            raise ZanjFormatError(f"{self.location}: {META_MEMBER} must hold a JSON object, got {type(meta).__name__}")
        version = meta.get("zanj_format")
        if version is None:  # files of zanj 0.6 do not record a format version
            return meta
        if not isinstance(version, str) or not re.fullmatch(r"[0-9]{1,9}\.[0-9]{1,9}", version):
            raise ZanjFormatError(
                f"{self.location}: {META_MEMBER} has zanj_format "
                f"{quoted(version, 40) if isinstance(version, str) else repr(version)[:40]}; expected a version string such as "
                f"{FORMAT_VERSION!r}"
            )
        if int(version.split(".")[0]) > int(FORMAT_VERSION.split(".")[0]):
            raise ZanjFormatError(
                f"{self.location} is in zanj format {version}, newer than the {FORMAT_VERSION} this zanj-core reads; "
                "upgrade zanj-core (pip install -U zanj-core)"
            )
        return meta

    def read_externals_info(self, meta: dict[str, Any], budget: ReadBudget) -> dict[str, Any]:
        """The description of the data members: the `EXTERNALS_MEMBER` (format 1.1), else the
        metadata's `externals_info` (format 1.0, zanj 0.6), else `{}` (a file without data
        members); checked to have the shape every consumer relies on (each member's entry an
        object with an `item_type` string and a `path` list of keys and indices)."""
        if EXTERNALS_MEMBER in self._infos:
            where = EXTERNALS_MEMBER
            externals = self.read_json(EXTERNALS_MEMBER, budget)
        elif "externals_info" in meta:
            where = f"{META_MEMBER}'s externals_info"
            externals = meta["externals_info"]
        else:
            return {}
        problem = _description_problem(externals)
        if problem is not None:
            raise ZanjFormatError(f"{self.location}: {where} is not a description of the members: {problem}")
        return externals  # type: ignore[no-any-return]

    def data_offset(self, info: MemberInfo) -> int:
        """Offset in the file where a member's data starts, its local header checked first
        (see `ZipDirectory.data_offset`)."""
        return self._directory.data_offset(info)

    def pread_into(self, view: memoryview, offset: int, name: str) -> None:
        """Read exactly `view.nbytes` bytes at `offset` of the file into `view` (from memory
        when the archive has kept them)."""
        self._directory.read_into(view, offset, name)

    def mapped_view(self, copy_on_write: bool = False) -> memoryview:
        """A memoryview of the whole mapped file, made once per kind of mapping."""
        view = self.views.get(copy_on_write)
        if view is None:
            view = self.views[copy_on_write] = memoryview(self.mapped(copy_on_write))
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
                raise ZanjError(f"{self.location} cannot be memory-mapped: it is not a local file")
            mapping = mmap_module.mmap(fd, 0, access=access)
            if len(mapping) < self._directory.file_size:
                mapping.close()
                raise ZanjFormatError(
                    f"{self.location} is shorter than when it was opened: it changed while being read"
                )
            self._mmaps[copy_on_write] = mapping
        return mapping

    def current_mapping(self) -> mmap_module.mmap | None:
        """The file's map when the reader maps and has mapped it (either kind), else None."""
        mapping = self._mmaps.get(True)
        return mapping if mapping is not None else self._mmaps.get(False)

    def source(self, ref: Any, path: ObjectPath, budget: ReadBudget | None = None) -> MemberSource:
        """Validate a `$ref` and return access to its member, charging what it reads to `budget`
        (the operation's; a fresh one when omitted)."""
        info = self._infos.get(ref) if isinstance(ref, str) and ref not in JSON_MEMBERS else None
        if info is not None:
            if info.compress_type:
                self.check_expansion(info)  # loaders allocate `size` before they read
            source = MemberSource(self, info, path, budget)
            source.budget.charge(MEMBER_USE_COST, source._describe)
            if self.progress is not None:
                self.progress.member_done()
            return source
        where = format_path(path)
        if not isinstance(ref, str):
            raise ZanjFormatError(
                f"{self.location}: at {where}, $ref must be a member name string, got {type(ref).__name__}"
            )
        if ref in JSON_MEMBERS:
            raise ZanjFormatError(f"{self.location}: at {where}, $ref points at the JSON member {ref!r}")
        raise ZanjFormatError(f"{self.location}: at {where}, $ref names member {ref!r}, which the archive lacks")


def _description_problem(externals: Any) -> str | None:
    """What is wrong with a description of the members (None: nothing), in words that quote
    nothing from the file but its member names, cut and escaped."""
    if not isinstance(externals, dict):
        return f"a JSON {type(externals).__name__}, not an object"
    for name, entry in externals.items():
        if not isinstance(entry, dict):
            return f"the entry of {quoted(name, 100)} is a {type(entry).__name__}, not an object"
        if not isinstance(entry.get("item_type"), str):
            return f"the entry of {quoted(name, 100)} has no item_type string"
        path = entry.get("path")
        if not isinstance(path, list) or not all(type(key) in (str, int) for key in path):
            return f"the entry of {quoted(name, 100)} has no path list of keys and indices"
    return None
