"""Hostile archives, one for each check of the zip directory and of the local headers, with
the exact error each must give.

The messages were recorded from the reader that parsed the directory with `zipfile`, before
the bulk parser (`zanj_core/_container/zip_records.py`) replaced it, so `test_directory.py`
shows every check still runs, in the same order, with the same words (`{path}` stands for the
file; where zipfile refused a directory, the message ends in zipfile's own words). A few are
files that read, and must still. Standard library only.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from zip_forge import DEFLATED, Part, base_parts, forge


@dataclass(frozen=True)
class DirectoryCase:
    name: str
    build: Callable[[], bytes]
    error: str
    """The `zanj_core.errors` class raised."""
    message: str
    """The exact message, `{path}` standing for the file."""
    at_open: bool = True
    """Whether opening the file fails (else loading `blob`, whose local header is bad)."""
    max_members: int | None = None


def _blob(local: dict[str, object] | None = None, central: dict[str, object] | None = None, **kw: object) -> bytes:
    """The base archive with `blob.bin`'s local header and directory entry overridden."""
    parts = base_parts()
    parts[2].local.update(local or {})
    parts[2].central.update(central or {})
    return forge(parts, **kw)  # type: ignore[arg-type]


def _plus(name: bytes, flags: int | None = None, extra: bytes = b"") -> Callable[[], bytes]:
    """The base archive and one more member named `name` (raw bytes)."""

    def build() -> bytes:
        part = Part("other.bin", b"x" * 10)
        for header in (part.local, part.central):
            header["name"] = name
            if flags is not None:
                header["flags"] = flags
        part.central["extra"] = extra
        return forge([*base_parts(), part])

    return build


def _zip64_record_elsewhere() -> bytes:
    """The zip64 end record before its locator, and a copy inside a member where the locator
    points: readers that trust the locator and those that look before it could disagree."""
    parts = [*base_parts(), Part("copy.bin", bytes(56))]
    record = forge(parts, zip64={})[-98:-42]
    parts[3].content = record
    placed = forge(parts, zip64={})
    return forge(parts, zip64={"record_offset": placed.index(record)})


SATURATED_END = {"count": 0xFFFF, "size": 0xFFFFFFFF, "offset": 0xFFFFFFFF}
"""A 32-bit end record whose fields all say: see the zip64 end record."""


def _zip64_two_records() -> bytes:
    """The locator points to a zip64 end record (inside a member) placing the directory one
    byte further on than the record right before the locator does."""
    parts = [*base_parts(), Part("copy.bin", bytes(56))]
    record = bytearray(forge(parts, zip64={})[-98:-42])
    struct.pack_into("<Q", record, 48, struct.unpack_from("<Q", record, 48)[0] + 1)
    parts[3].content = bytes(record)
    placed = forge(parts, zip64={})
    return forge(parts, zip64={"record_offset": placed.index(record)}, end=SATURATED_END)


def _zip64_locator_too_early() -> bytes:
    """A zip64 locator 20 bytes into the file: no zip64 end record fits before it (the one it
    points to is in the archive's comment)."""
    record = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 0, 0, 0, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, 42, 1)
    return locator + struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 0, 0, 0, 0, len(record)) + record


def _end(**changes: int) -> Callable[[], bytes]:
    """The base archive with end record fields set relative to their true values."""

    def build() -> bytes:
        good = forge(base_parts())
        size, offset = struct.unpack_from("<LL", good, len(good) - 22 + 12)
        true = {"size": size, "offset": offset, "record": len(good) - 22}
        return forge(base_parts(), end={key: true[base] + delta for key, (base, delta) in _pairs(changes)})

    return build


def _pairs(changes: dict[str, int]) -> list[tuple[str, tuple[str, int]]]:
    """`size_from_record=1` -> ("size", ("record", 1)); `offset=20` -> ("offset", ("offset", 20))."""
    return [(key.split("_from_")[0], (key.split("_from_")[-1], delta)) for key, delta in changes.items()]


def _deflated_blob_running_into_directory() -> bytes:
    parts = base_parts()
    parts[2].method = DEFLATED
    packed = len(parts[2].packed())
    parts[2].central["csize"] = packed + 40
    return forge(parts)


def _blob_extra_into_next_member() -> bytes:
    """`blob.bin`'s local header claims 40 bytes of extra field it does not have: its data
    would then run into the member after it."""
    parts = [*base_parts(), Part("z.bin", bytes(100))]
    parts[2].local["extra_len"] = 40
    return forge(parts)


def _blob_with_descriptor(**local: object) -> Callable[[], bytes]:
    """The base archive with `blob.bin` (the last member) flagged as followed by a data
    descriptor, which it is, and its local header's fields overridden by `local`."""

    def build() -> bytes:
        parts = base_parts()
        parts[2].local.update(flags=0x8, **local)
        parts[2].central.update(flags=0x8)
        raw = forge(parts)
        count, size, offset = struct.unpack_from("<HLL", raw, len(raw) - 12)
        blob = parts[2].content
        wide = "<4sLQQ" if local.get("csize") == 0xFFFFFFFF else "<4sLLL"  # zip64 sizes after a zip64 header
        descriptor = struct.pack(wide, b"PK\x07\x08", zlib.crc32(blob), len(blob), len(blob))
        directory = raw[offset : offset + size]
        end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, size, offset + len(descriptor), 0)
        return raw[:offset] + descriptor + directory + end

    return build


def _gap_before(index: int, gap: bytes = b"hidden") -> Callable[[], bytes]:
    """The base archive with `gap` inserted before member `index` (file order; the number of
    members: before the directory), the directory's offsets moved to match."""

    def build() -> bytes:
        raw = forge(base_parts())
        count, size, offset = struct.unpack_from("<HLL", raw, len(raw) - 12)
        directory = bytearray(raw[offset : offset + size])
        entries = []
        pos = 0
        while pos < size:
            entries.append((pos, struct.unpack_from("<L", directory, pos + 42)[0]))
            pos += 46 + sum(struct.unpack_from("<HHH", directory, pos + 28))
        cut = sorted(start for _, start in entries)[index] if index < len(entries) else offset
        for at, start in entries:
            if start >= cut:
                struct.pack_into("<L", directory, at + 42, start + len(gap))
        end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, size, offset + len(gap), 0)
        return raw[:cut] + gap + raw[cut:offset] + bytes(directory) + end

    return build


def _descriptor_forged(descriptor: bytes, **local: object) -> Callable[[], bytes]:
    """`blob.bin` flagged as followed by a data descriptor, and followed by `descriptor`;
    its local header's fields are 0, or overridden by `local`."""

    def build() -> bytes:
        raw = _blob_with_descriptor(**{"crc": 0, "csize": 0, "size": 0, **local})()
        count, size, offset = struct.unpack_from("<HLL", raw, len(raw) - 12)
        body = raw[: offset - (24 if local.get("csize") == 0xFFFFFFFF else 16)] + descriptor
        end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, size, len(body), 0)
        return body + raw[offset : offset + size] + end

    return build


_BLOB_CRC = zlib.crc32(bytes(range(256)) * 2)
_DEFERRED_ZIP64 = {"csize": 0xFFFFFFFF, "size": 0xFFFFFFFF, "crc": 0}


def _no_main() -> bytes:
    return forge(base_parts()[1:])


BUILDERS: dict[str, tuple[Callable[[], bytes], bool, int | None]] = {
    # the end records
    "too_short": (lambda: b"PK\x05\x06" + bytes(10), True, None),
    "no_end_record": (lambda: b"not a zip archive " * 20, True, None),
    "bytes_after_end_record": (lambda: forge(base_parts(), trailing=b"appended"), True, None),
    "comment_past_the_end": (lambda: forge(base_parts(), end={"comment_len": 50}), True, None),
    "zip64_record_past_the_end": (lambda: forge(base_parts(), zip64={"record_offset": 10**9}), True, None),
    "zip64_record_bad_signature": (lambda: forge(base_parts(), zip64={"signature": b"PK\x06\x05"}), True, None),
    "zip64_multi_disk": (lambda: forge(base_parts(), zip64={"disks": 2}), True, None),
    "zip64_record_elsewhere": (_zip64_record_elsewhere, True, None),
    "zip64_locator_too_early": (_zip64_locator_too_early, True, None),
    "zip64_two_records": (_zip64_two_records, True, None),
    "zip64_end_record_saturated": (lambda: forge(base_parts(), zip64={}, end=SATURATED_END), True, None),
    "zip64_end_record_count_disagrees": (lambda: forge(base_parts(), zip64={}, end={"count": 7}), True, None),
    "zip64_end_record_size_disagrees": (lambda: forge(base_parts(), zip64={}, end={"size": 5}), True, None),
    "zip64_end_record_offset_disagrees": (lambda: forge(base_parts(), zip64={}, end={"offset": 5}), True, None),
    "declares_too_many_members": (lambda: forge(base_parts(), end={"count": 5}), True, 4),
    "directory_larger_than_file": (lambda: forge(base_parts(), end={"size": 10**6}), True, None),
    "directory_before_the_file": (_end(size_from_record=1), True, None),
    # the directory, as zipfile parsed it
    "directory_truncated": (lambda: forge(base_parts(), between=bytes(10)), True, None),
    "directory_bad_magic": (lambda: forge(base_parts(), between=bytes(46)), True, None),
    "name_not_utf8": (_plus(b"\xff\xfe.bin", flags=0x800), True, None),
    "version_too_new": (lambda: _blob(central={"version": 64}), True, None),
    "extra_field_cut": (_plus(b"other.bin", extra=struct.pack("<HH", 0x1234, 50) + b"x"), True, None),
    "zip64_field_missing": (lambda: _blob(central={"size": 0xFFFFFFFF, "extra": struct.pack("<HH", 1, 0)}), True, None),
    # the directory, as zanj checks it
    "holds_too_many_members": (lambda: forge(base_parts(), end={"count": 2}), True, 2),
    "count_disagrees": (lambda: forge(base_parts(), end={"count": 4}), True, None),
    "duplicate_name": (_plus(b"blob.bin"), True, None),
    "name_climbing": (_plus(b"../evil.bin"), True, None),
    "name_absolute": (_plus(b"/etc/evil.bin"), True, None),
    "name_backslash_climbing": (_plus(b"..\\evil.bin"), True, None),
    "name_drive_letter": (_plus(b"C:/evil.bin"), True, None),
    "name_empty": (_plus(b""), True, None),
    "name_backslash": (_plus(b"a\\b.bin"), True, None),
    "name_dot_slash": (_plus(b"./blob.bin"), True, None),
    "name_dot_component": (_plus(b"a/./b.bin"), True, None),
    "name_dot_alone": (_plus(b"."), True, None),
    "name_double_slash": (_plus(b"a//b.bin"), True, None),
    "name_trailing_slash": (_plus(b"blob.bin/"), True, None),
    "name_control_character": (_plus(b"a\x1b[2Jb.bin"), True, None),
    "name_with_nul": (_plus(b"a.bin\x00.exe"), True, None),
    "name_not_ascii_without_flag": (_plus(b"caf\xe9.bin", flags=0), True, None),
    "name_unicode_path_field": (_plus(b"other.bin", extra=struct.pack("<HHB", 0x7075, 5, 1) + bytes(4)), True, None),
    "name_with_dots_but_safe": (_plus(b"a..b/c.bin"), True, None),
    "encrypted": (lambda: _blob(local={"flags": 1}, central={"flags": 1}), True, None),
    "method_99": (lambda: _blob(local={"method": 99}, central={"method": 99}), True, None),
    "sizes_past_the_end": (lambda: _blob(local={"csize": 10**6}, central={"csize": 10**6}), True, None),
    "stored_size_lie": (lambda: _blob(central={"size": 999}), True, None),
    "no_main_member": (_no_main, True, None),
    "data_before_the_archive": (lambda: forge(base_parts(), prefix=b"#!/bin/sh\nexit\n"), True, None),
    "directory_offset_forged": (_end(offset=20), True, None),
    "members_overlap": (lambda: _blob(central={"offset": 10}), True, None),
    "last_member_runs_into_directory": (_deflated_blob_running_into_directory, True, None),
    # the local headers, checked when a member is first used
    "json_local_crc": (lambda: forge([Part("__zanj__.json", b"{}", local={"crc": 0})]), True, None),
    "local_signature": (lambda: _blob(local={"signature": b"PK\x03\x05"}), False, None),
    "local_name": (lambda: _blob(local={"name": b"blob.bix"}), False, None),
    "local_method": (lambda: _blob(local={"method": 8}), False, None),
    "local_flags": (lambda: _blob(local={"flags": 0x800}), False, None),
    "local_crc": (lambda: _blob(local={"crc": 0}), False, None),
    "local_compressed_size": (lambda: _blob(local={"csize": 511}), False, None),
    "local_size": (lambda: _blob(local={"size": 511}), False, None),
    "local_zip64_sizes": (
        lambda: _blob(local={"csize": 0xFFFFFFFF, "size": 0xFFFFFFFF, "extra": struct.pack("<HH2Q", 1, 16, 1, 2)}),
        False,
        None,
    ),
    "local_zip64_missing": (lambda: _blob(local={"csize": 0xFFFFFFFF, "size": 0xFFFFFFFF}), False, None),
    "local_extra_into_next_member": (_blob_extra_into_next_member, False, None),
    "descriptor_local_zeros": (_blob_with_descriptor(crc=0, csize=0, size=0), False, None),
    "descriptor_local_agrees": (_blob_with_descriptor(), False, None),
    "descriptor_local_zip64_zeros": (
        _blob_with_descriptor(**_DEFERRED_ZIP64, extra=struct.pack("<HH2Q", 1, 16, 0, 0)),
        False,
        None,
    ),
    "descriptor_local_crc_lies": (_blob_with_descriptor(crc=1, csize=0, size=0), False, None),
    "descriptor_local_sizes_lie": (_blob_with_descriptor(crc=0, csize=16, size=16), False, None),
    "descriptor_local_zip64_sizes_lie": (
        _blob_with_descriptor(**_DEFERRED_ZIP64, extra=struct.pack("<HH2Q", 1, 16, 16, 16)),
        False,
        None,
    ),
    "gap_before_first_member": (_gap_before(0), True, None),
    "gap_after_main_member": (_gap_before(1), True, None),
    "gap_after_meta_member": (_gap_before(2), True, None),
    "gap_before_directory": (_gap_before(3), False, None),
    "descriptor_without_signature": (_descriptor_forged(struct.pack("<LLL", _BLOB_CRC, 512, 512)), False, None),
    "descriptor_zip64_sizes": (
        _descriptor_forged(
            b"PK\x07\x08" + struct.pack("<LQQ", _BLOB_CRC, 512, 512),
            **_DEFERRED_ZIP64,
            extra=struct.pack("<HH2Q", 1, 16, 0, 0),
        ),
        False,
        None,
    ),
    "descriptor_zip64_sizes_without_zip64_header": (
        _descriptor_forged(b"PK\x07\x08" + struct.pack("<LQQ", _BLOB_CRC, 512, 512)),
        False,
        None,
    ),
    "descriptor_crc_lies": (_descriptor_forged(b"PK\x07\x08" + struct.pack("<LLL", 1, 512, 512)), False, None),
    "descriptor_signature_missing": (_descriptor_forged(struct.pack("<LLLL", 1, _BLOB_CRC, 512, 512)), False, None),
    "descriptor_then_gap": (
        _descriptor_forged(b"PK\x07\x08" + struct.pack("<LLL", _BLOB_CRC, 512, 512) + bytes(3)),
        False,
        None,
    ),
    "local_extra_past_the_end": (lambda: _blob(local={"extra_len": 60_000}), False, None),
}

EXPECTED: dict[str, tuple[str, str]] = {
    "too_short": ("ZanjFormatError", "{path} is not a readable .zanj file: 14 bytes is too short for a zip archive"),
    "no_end_record": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file: no zip end record (not a zip archive, or truncated)",
    ),
    "bytes_after_end_record": (
        "ZanjFormatError",
        "{path}: 8 bytes follow the zip's end record and its comment; zip readers disagree on such files, so it is refused (a file with data appended after a .zanj is not a .zanj file)",
    ),
    "comment_past_the_end": (
        "ZanjFormatError",
        "{path}: the zip's end record announces a 50-byte comment, but the file ends 0 bytes after the record: it is truncated or damaged",
    ),
    "zip64_record_past_the_end": ("ZanjFormatError", "{path}: the zip64 end record lies past the end of the file"),
    "zip64_record_bad_signature": ("ZanjFormatError", "{path}: bad zip64 end record; the file is corrupt"),
    "zip64_multi_disk": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): zipfiles that span multiple disks are not supported",
    ),
    "zip64_record_elsewhere": (
        "ZanjFormatError",
        "{path}: its zip64 locator points to a zip64 end record at byte 802, not to the one right before the locator, after the zip directory (byte 1089); zip readers would disagree on this file, so it is refused",
    ),
    "zip64_two_records": (
        "ZanjFormatError",
        "{path}: its zip64 locator points to a zip64 end record at byte 802, not to the one right before the locator, after the zip directory (byte 1089); zip readers would disagree on this file, so it is refused",
    ),
    "zip64_end_record_saturated": ("ok", ""),
    "zip64_end_record_count_disagrees": (
        "ZanjFormatError",
        "{path}: its zip end record gives member count 7, its zip64 end record 3; zip readers would disagree on this file, so it is refused",
    ),
    "zip64_end_record_size_disagrees": (
        "ZanjFormatError",
        "{path}: its zip end record gives directory size 5, its zip64 end record 177; zip readers would disagree on this file, so it is refused",
    ),
    "zip64_end_record_offset_disagrees": (
        "ZanjFormatError",
        "{path}: its zip end record gives directory offset 5, its zip64 end record 764; zip readers would disagree on this file, so it is refused",
    ),
    "zip64_locator_too_early": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): File is not a zip file",
    ),
    "declares_too_many_members": (
        "ZanjLimitError",
        "{path} declares 5 members, over the limit of 4 (raise ReadLimits.max_members if you trust the file)",
    ),
    "directory_larger_than_file": (
        "ZanjFormatError",
        "{path}: its zip directory claims 1000000 bytes in a file of 963; the file is truncated or forged",
    ),
    "directory_before_the_file": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): Bad offset for central directory",
    ),
    "directory_truncated": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): Truncated central directory",
    ),
    "directory_bad_magic": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): Bad magic number for central directory",
    ),
    "name_not_utf8": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
    ),
    "version_too_new": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): zip file version 6.4",
    ),
    "extra_field_cut": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): Corrupt extra field 1234 (size=50)",
    ),
    "zip64_field_missing": (
        "ZanjFormatError",
        "{path} is not a readable .zanj file (not a zip archive, or truncated): Corrupt zip64 extra field. File size not found.",
    ),
    "holds_too_many_members": ("ZanjLimitError", "{path} has 3 members, over the limit of 2"),
    "count_disagrees": (
        "ZanjFormatError",
        "{path}: its end record declares 4 members but its directory holds 3; the file is truncated or forged",
    ),
    "duplicate_name": ("ZanjFormatError", "{path}: member name 'blob.bin' appears twice; the file is malformed"),
    "name_climbing": (
        "ZanjFormatError",
        "{path}: unsafe member name '../evil.bin' (empty, absolute, or climbing with '..')",
    ),
    "name_absolute": (
        "ZanjFormatError",
        "{path}: unsafe member name '/etc/evil.bin' (empty, absolute, or climbing with '..')",
    ),
    "name_backslash_climbing": (
        "ZanjFormatError",
        "{path}: unsafe member name '..\\\\evil.bin' (empty, absolute, or climbing with '..')",
    ),
    "name_drive_letter": (
        "ZanjFormatError",
        "{path}: unsafe member name 'C:/evil.bin' (empty, absolute, or climbing with '..')",
    ),
    "name_empty": ("ZanjFormatError", "{path}: unsafe member name '' (empty, absolute, or climbing with '..')"),
    "name_dot_slash": (
        "ZanjFormatError",
        "{path}: member name './blob.bin' has an empty or '.' path component (or ends with '/'); zip tools would read it as another member's name, so the file is refused",
    ),
    "name_dot_component": (
        "ZanjFormatError",
        "{path}: member name 'a/./b.bin' has an empty or '.' path component (or ends with '/'); zip tools would read it as another member's name, so the file is refused",
    ),
    "name_dot_alone": (
        "ZanjFormatError",
        "{path}: member name '.' has an empty or '.' path component (or ends with '/'); zip tools would read it as another member's name, so the file is refused",
    ),
    "name_double_slash": (
        "ZanjFormatError",
        "{path}: member name 'a//b.bin' has an empty or '.' path component (or ends with '/'); zip tools would read it as another member's name, so the file is refused",
    ),
    "name_trailing_slash": (
        "ZanjFormatError",
        "{path}: member name 'blob.bin/' has an empty or '.' path component (or ends with '/'); zip tools would read it as another member's name, so the file is refused",
    ),
    "name_backslash": (
        "ZanjFormatError",
        "{path}: member name 'a\\\\b.bin' holds a backslash; zip readers would disagree on it, so the file is refused",
    ),
    "name_control_character": (
        "ZanjFormatError",
        "{path}: member name 'a\\x1b[2Jb.bin' holds control characters; zip readers would disagree on it, so the file is refused",
    ),
    "name_with_nul": (
        "ZanjFormatError",
        "{path}: member name 'a.bin\\x00.exe' holds control characters; zip readers would disagree on it, so the file is refused",
    ),
    "name_not_ascii_without_flag": (
        "ZanjFormatError",
        "{path}: member name 'cafΘ.bin' is not ASCII but is not marked as UTF-8; zip readers would disagree on it, so the file is refused",
    ),
    "name_unicode_path_field": (
        "ZanjFormatError",
        "{path}: member name 'other.bin' carries a second, Unicode path field; zip readers would disagree on it, so the file is refused",
    ),
    "name_with_dots_but_safe": ("ok", ""),
    "encrypted": ("ZanjFormatError", "{path}: member 'blob.bin' is encrypted; zanj files never are"),
    "method_99": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' uses zip compression method 99; zanj reads only stored and deflate members, as it writes them (recompress the archive with deflate, e.g. `zip -Z deflate`, if you trust it)",
    ),
    "sizes_past_the_end": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' declares 1000000 bytes at offset 214, past the end of the 963-byte file; it is truncated or forged",
    ),
    "stored_size_lie": (
        "ZanjFormatError",
        "{path}: stored member 'blob.bin' declares 999 bytes but occupies 512; the file is corrupt",
    ),
    "no_main_member": (
        "ZanjFormatError",
        "{path} is a zip archive but not a .zanj file: it has no __zanj__.json member",
    ),
    "data_before_the_archive": (
        "ZanjFormatError",
        "{path}: the zip directory is not where the end record says: 15 bytes come before the archive, which zip readers handle differently; if the archive was appended to other data, open the file, seek to byte 15 and read the file object (zanj reads a file object from its position)",
    ),
    "directory_offset_forged": (
        "ZanjFormatError",
        "{path}: the zip directory is not where the end record says: -20 bytes come before the archive, which zip readers handle differently; the file is forged",
    ),
    "members_overlap": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' starts at 10, inside the member before it; overlapping members are forged",
    ),
    "last_member_runs_into_directory": (
        "ZanjFormatError",
        "{path}: the last member runs into the zip directory; the file is forged",
    ),
    "json_local_crc": (
        "ZanjFormatError",
        "{path}: the local header of member '__zanj__.json' has CRC 00000000, the directory a3a6bf43; zip readers would disagree on this file, so it is refused",
    ),
    "local_signature": ("ZanjFormatError", "{path}: bad local header for member 'blob.bin'"),
    "local_name": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' names b'blob.bix'; zip readers would disagree on this file, so it is refused",
    ),
    "local_method": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' says compression method 8, the directory 0; zip readers would disagree on this file, so it is refused",
    ),
    "local_flags": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' has flags 0x0800, the directory 0x0000; zip readers would disagree on this file, so it is refused",
    ),
    "local_crc": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' has CRC 00000000, the directory 1c613576; zip readers would disagree on this file, so it is refused",
    ),
    "local_compressed_size": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' says 511 stored bytes, the directory 512; zip readers would disagree on this file, so it is refused",
    ),
    "local_size": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' says 511 bytes, the directory 512; zip readers would disagree on this file, so it is refused",
    ),
    "local_zip64_sizes": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' gives sizes [1, 2] in its zip64 field, the directory [512, 512]; zip readers would disagree on this file, so it is refused",
    ),
    "local_zip64_missing": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' gives sizes None in its zip64 field, the directory [512, 512]; zip readers would disagree on this file, so it is refused",
    ),
    "local_extra_into_next_member": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' runs into the member after it; overlapping members are forged",
    ),
    "descriptor_local_zeros": ("ok", ""),
    "descriptor_local_agrees": ("ok", ""),
    "descriptor_local_zip64_zeros": ("ok", ""),
    "descriptor_local_crc_lies": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' has CRC 00000001, the directory 1c613576; zip readers would disagree on this file, so it is refused",
    ),
    "descriptor_local_sizes_lie": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' says 16 stored bytes, the directory 512; zip readers would disagree on this file, so it is refused",
    ),
    "descriptor_local_zip64_sizes_lie": (
        "ZanjFormatError",
        "{path}: the local header of member 'blob.bin' gives sizes [16, 16] in its zip64 field, the directory [512, 512]; zip readers would disagree on this file, so it is refused",
    ),
    "descriptor_without_signature": ("ok", ""),
    "descriptor_zip64_sizes": ("ok", ""),
    "descriptor_zip64_sizes_without_zip64_header": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' is followed by bytes of no member (after its data descriptor, 24 bytes in all) before the next member or the zip directory; zip tools that read the members in sequence would find something else there, so the file is refused",
    ),
    "gap_before_first_member": (
        "ZanjFormatError",
        "{path}: member '__zanj__.json', the first in the file, starts at byte 6, not 0; zip tools that read the members in sequence would find something else before it, so the file is refused",
    ),
    "gap_after_main_member": (
        "ZanjFormatError",
        "{path}: member '__zanj__.json' is followed by bytes of no member (6 bytes) before the next member or the zip directory; zip tools that read the members in sequence would find something else there, so the file is refused",
    ),
    "gap_after_meta_member": (
        "ZanjFormatError",
        "{path}: member '__zanj_meta__.json' is followed by bytes of no member (6 bytes) before the next member or the zip directory; zip tools that read the members in sequence would find something else there, so the file is refused",
    ),
    "gap_before_directory": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' is followed by bytes of no member (6 bytes) before the next member or the zip directory; zip tools that read the members in sequence would find something else there, so the file is refused",
    ),
    "descriptor_crc_lies": (
        "ZanjFormatError",
        "{path}: the data descriptor of member 'blob.bin' (16 bytes) says CRC 00000001 and sizes [512, 512], the directory 1c613576 and [512, 512]; zip readers would disagree on this file, so it is refused",
    ),
    "descriptor_signature_missing": (
        "ZanjFormatError",
        "{path}: the data descriptor of member 'blob.bin' (16 bytes) lacks its signature; zip readers would disagree on this file, so it is refused",
    ),
    "descriptor_then_gap": (
        "ZanjFormatError",
        "{path}: member 'blob.bin' is followed by bytes of no member (after its data descriptor, 19 bytes in all) before the next member or the zip directory; zip tools that read the members in sequence would find something else there, so the file is refused",
    ),
    "local_extra_past_the_end": ("ZanjFormatError", "{path}: member 'blob.bin' extends past the end of the file"),
}
"""Case name -> (error class, message), as recorded; ("ok", "") for a file that reads."""

CASES = [
    DirectoryCase(name, build, *EXPECTED.get(name, ("not recorded", "")), at_open=at_open, max_members=max_members)
    for name, (build, at_open, max_members) in BUILDERS.items()
]
