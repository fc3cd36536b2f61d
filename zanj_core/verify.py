"""Checking a whole file without trusting it: `zanj verify` and `verify_file`.

Checks, in order: the zip directory (as every read does), each member's local header and
CRC-32 (stored members read in bounded chunks, compressed ones inflated), the two JSON
members, every `$ref` (names a data member that exists), that every format tag met has a
loader installed, and optionally (`load=True`) that every item with a data member loads.
Each problem names the member or object path it concerns; nothing stops at the first one.
"""

from __future__ import annotations

import copy
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zanj_core.archive import JSON_MEMBERS, LOCAL_HEADER_LEN, MAIN_MEMBER, META_MEMBER, ArchiveReader
from zanj_core.budget import ReadBudget
from zanj_core.errors import ZanjError
from zanj_core.externals import JSONL
from zanj_core.handlers import FORMAT_KEY, REF_KEY, ObjectPath, format_path
from zanj_core.loading import LoadContext
from zanj_core.registry import REGISTRY
from zanj_core.storage import Location, describe_location
from zanj_core.zipwriter import crc32_function

if TYPE_CHECKING:
    from zanj_core.zanj import ZANJ

CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, with the member or object path it concerns."""

    message: str
    member: str | None = None
    path: ObjectPath | None = None

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "member": self.member, "path": None if self.path is None else list(self.path)}


@dataclass
class VerifyReport:
    """What `verify_file` found: problems make the file fail; notes do not."""

    file: str
    members_checked: int = 0
    bytes_checked: int = 0
    items_loaded: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "ok": self.ok,
            "members_checked": self.members_checked,
            "bytes_checked": self.bytes_checked,
            "items_loaded": self.items_loaded,
            "problems": [p.as_json() for p in self.problems],
            "notes": self.notes,
        }


def _check_stored(reader: ArchiveReader, info: zipfile.ZipInfo, buffer: memoryview) -> None:
    offset = reader.data_offset(info)
    crc32 = crc32_function()
    crc = 0
    done = 0
    while done < info.file_size:
        view = buffer[: min(len(buffer), info.file_size - done)]
        reader.pread_into(view, offset + done, info.filename)
        crc = crc32(view, crc)
        done += len(view)
    if crc != info.CRC:
        raise ZanjError(f"CRC-32 mismatch (stored {info.CRC:08x}, computed {crc:08x}): the data is corrupt")


def _check_compressed(reader: ArchiveReader, info: zipfile.ZipInfo, budget: ReadBudget) -> None:
    with reader.open_member(info, budget) as stream:  # checks the local header too
        while stream.read(CHUNK_BYTES):
            pass  # zipfile checks the CRC when the member is read to its end


def _check_local_name(reader: ArchiveReader, info: zipfile.ZipInfo) -> None:
    header = bytearray(LOCAL_HEADER_LEN)
    reader.pread_into(memoryview(header), info.header_offset, info.filename)
    (name_len,) = struct.unpack("<H", header[26:28])
    name = bytearray(name_len)
    reader.pread_into(memoryview(name), info.header_offset + LOCAL_HEADER_LEN, info.filename)
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    if bytes(name) != info.orig_filename.encode(encoding, errors="replace"):
        raise ZanjError(f"its local header names {bytes(name)!r}, the directory {info.orig_filename!r}")


def _check_members(reader: ArchiveReader, report: VerifyReport, budget: ReadBudget) -> set[str]:
    """CRC and header of every member; returns the names that failed."""
    bad: set[str] = set()
    buffer = memoryview(bytearray(CHUNK_BYTES))
    for name in reader.names():
        info = reader.info(name)
        try:
            _check_local_name(reader, info)
            if info.compress_type == zipfile.ZIP_STORED:
                _check_stored(reader, info, buffer)
            else:
                _check_compressed(reader, info, budget)
        except (ZanjError, zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            bad.add(name)
            report.problems.append(Problem(f"member {name!r} is bad: {exc}", member=name))
            continue
        report.members_checked += 1
        report.bytes_checked += info.file_size
    return bad


def _walk(reader: ArchiveReader, root: Any, ctx: LoadContext, bad: set[str], report: VerifyReport) -> list[Any]:
    """Check tags and `$ref`s of the tree (and of `.jsonl` members it refers to); returns the
    (path, node) pairs holding a data member, for loading."""
    referenced: set[str] = set()
    expanded: set[str] = set()
    missing_tags: dict[str, list[ObjectPath]] = {}
    with_members: list[Any] = []
    stack: list[tuple[ObjectPath, Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if len(path) > ctx.zanj.max_depth and type(node) in (list, dict):
            report.problems.append(
                Problem(f"data at {format_path(path[:8])}/... is nested more than {ctx.zanj.max_depth} levels deep")
            )
            continue
        if type(node) is list:
            stack.extend(((*path, i), item) for i, item in enumerate(node))
            continue
        if type(node) is not dict:
            continue
        tag = node.get(FORMAT_KEY)
        if tag is not None:
            if not isinstance(tag, str):
                report.problems.append(Problem(f"at {format_path(path)}, {FORMAT_KEY} is not a string", path=path))
            elif ctx.loader_for(tag) is None:
                missing_tags.setdefault(tag, []).append(path)
        if REF_KEY in node:
            ref = node[REF_KEY]
            if not isinstance(ref, str) or ref in JSON_MEMBERS or not reader.has(ref):
                what = (
                    "is not a member name"
                    if not isinstance(ref, str)
                    else "names the JSON member"
                    if ref in JSON_MEMBERS
                    else "names a member the archive lacks"
                )
                report.problems.append(Problem(f"at {format_path(path)}, $ref {ref!r} {what}", member=None, path=path))
            else:
                referenced.add(ref)
                with_members.append((path, node))
                if ref.endswith(JSONL.extension) and ref not in bad and ref not in expanded:
                    expanded.add(ref)  # each member's lines are checked once, however often it is referred to
                    stack.extend(_jsonl_items(reader, ref, path, report, ctx.budget))
        stack.extend(((*path, key), value) for key, value in node.items() if key not in (FORMAT_KEY, REF_KEY))
    for tag, paths in sorted(missing_tags.items()):
        where = ", ".join(format_path(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        report.problems.append(
            Problem(f"no loader installed for format {tag!r} (at {where}); {ctx.install_hint(tag)}", path=paths[0])
        )
    for name in reader.names():
        if name not in JSON_MEMBERS and name not in referenced:
            report.notes.append(f"member {name!r} is not referenced by any item")
    return with_members


def _jsonl_items(
    reader: ArchiveReader, name: str, path: ObjectPath, report: VerifyReport, budget: ReadBudget
) -> list[tuple[ObjectPath, Any]]:
    """The items of a `.jsonl` member, read by the core's own jsonl format (size limit included)."""
    try:
        items = JSONL.read(reader.source(name, path, budget))
    except ZanjError as exc:  # the jsonl format reports every bad line as one
        report.problems.append(Problem(f"member {name!r} is not valid JSON lines: {exc}", member=name))
        return []
    return [((*path, index), item) for index, item in enumerate(items)]


def _load_items(
    zanj: ZANJ,
    reader: ArchiveReader,
    meta: dict[str, Any],
    items: list[Any],
    bad: set[str],
    report: VerifyReport,
    budget: ReadBudget,
) -> None:
    strict = copy.copy(zanj)
    strict.strict = True
    for path, node in items:
        ref = node[REF_KEY]
        tag = node.get(FORMAT_KEY)
        ctx = LoadContext(strict, reader, meta, REGISTRY, budget=budget)
        if ref in bad or not isinstance(tag, str) or ctx.loader_for(tag) is None:
            continue  # reported already
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                ctx.load(node, path)
        except Exception as exc:  # any failure to load is what this check reports
            report.problems.append(
                Problem(
                    f"item at {format_path(path)} does not load: {type(exc).__name__}: {exc}", member=ref, path=path
                )
            )
            continue
        report.items_loaded += 1


def verify_file(
    file_path: Location,
    zanj: ZANJ | None = None,
    load: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> VerifyReport:
    """Check `file_path` (a path, URL or binary file object) completely; see the module
    docstring. Never raises for a bad file: everything found is in the report."""
    from zanj_core.zanj import ZANJ

    zanj = zanj or ZANJ()
    report = VerifyReport(file=describe_location(file_path))
    try:
        reader = ArchiveReader(file_path, zanj.read_limits, storage_options=storage_options)
    except ZanjError as exc:
        report.problems.append(Problem(str(exc)))
        return report
    with reader:
        budget = reader.new_budget()  # one for the whole check
        bad = _check_members(reader, report, budget)
        meta: dict[str, Any] = {}
        if META_MEMBER not in bad:
            try:
                meta = reader.read_meta(budget)
            except ZanjError as exc:
                report.problems.append(Problem(str(exc), member=META_MEMBER))
        if not reader.has(META_MEMBER):
            report.notes.append(f"no {META_MEMBER} member: plugin hints for missing formats are guesses")
        if MAIN_MEMBER in bad:
            return report
        try:
            tree = reader.read_json(MAIN_MEMBER, budget)
        except ZanjError as exc:
            report.problems.append(Problem(str(exc), member=MAIN_MEMBER))
            return report
        ctx = LoadContext(zanj, reader, meta, REGISTRY, budget=budget)
        with_members = _walk(reader, tree, ctx, bad, report)
        if load:
            _load_items(zanj, reader, meta, with_members, bad, report, budget)
    return report
