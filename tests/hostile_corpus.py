"""Hostile `.zanj` files, made by code rather than checked in, each with what reading it must give.

Every case is a file an attacker (or a broken disk) could hand a user: the reader must end in
the named `ZanjError` (or, for unknown formats, the named warning with the rest loaded), quickly,
within bounded memory, without importing anything the file names and without running code from
it. `tests/test_hostile_files.py` checks every case; the fuzzer (`nox -s fuzz`) starts from them.
Files the fuzzer found are kept as-is under `tests/hostile/found/`.

Only the standard library is used, so the corpus is the same with or without numpy installed.
Run `python tests/hostile_corpus.py OUT_DIR` to write the files out, e.g. to look at them with
`zanj verify`.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import re
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_KEY = "__muutils_format__"
CANARY = "CANARY-must-not-exist"
"""Name of the file the payloads in this corpus would create if anything ran them."""
CANARY_MODULE = "zanj_canary_module"
"""A module written beside the corpus whose import would create the canary."""

STORED, DEFLATED = 0, 8


# -- a zip writer that can forge anything --------------------------------------------------------


@dataclass
class Entry:
    """One zip member as it will be written: every field can be set to lie."""

    name: str
    data: bytes  # the bytes stored (already compressed when method is DEFLATED)
    crc: int
    size: int  # uncompressed size declared
    method: int = STORED
    flags: int = 0
    declared_compressed: int | None = None  # the directory's compressed size, when it lies

    @classmethod
    def of(cls, name: str, content: bytes, method: int = DEFLATED) -> Entry:
        """An honest member holding `content`."""
        data = content
        if method == DEFLATED:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = packer.compress(content) + packer.flush()
        return cls(name, data, zlib.crc32(content), len(content), method)


def zip_bytes(entries: list[Entry], directory_entries: int | None = None, directory_size: int | None = None) -> bytes:
    """A zip archive of `entries`; the end record's member count and directory size can be forged."""
    body = bytearray()
    directory = bytearray()
    for entry in entries:
        name = entry.name.encode("utf-8")
        offset = len(body)
        local = struct.pack(
            "<4sHHHHHLLLHH",
            b"PK\x03\x04",
            20,
            entry.flags | 0x800,
            entry.method,
            0,
            0x21,
            entry.crc,
            len(entry.data),
            entry.size,
            len(name),
            0,
        )
        body += local + name + entry.data
        directory += struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            b"PK\x01\x02",
            20,
            20,
            entry.flags | 0x800,
            entry.method,
            0,
            0x21,
            entry.crc,
            len(entry.data) if entry.declared_compressed is None else entry.declared_compressed,
            entry.size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        directory += name
    count = len(entries) if directory_entries is None else directory_entries
    size = len(directory) if directory_size is None else directory_size
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, size, len(body), 0)
    return bytes(body + directory + end)


def flip_data_byte(path: str | os.PathLike[str], member: str, at: int = 10) -> None:
    """Flip one bit of `member`'s data in the file at `path`, `at` bytes into it: a corrupt disk
    that leaves every header intact (the kind of damage only a CRC check finds)."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "r+b") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", fh.read(4))
        offset = info.header_offset + 30 + name_len + extra_len + at
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x01]))


def zanj_bytes(tree: Any, members: list[Entry] | None = None, meta: Any = None, raw_main: bytes | None = None) -> bytes:
    """A `.zanj` archive: `__zanj__.json` holding `tree` (or `raw_main` verbatim), metadata, members."""
    meta = {"zanj_format": "1.0", "writer": {"dist": "hostile-corpus"}} if meta is None else meta
    main = raw_main if raw_main is not None else json.dumps(tree).encode()
    entries = [Entry.of("__zanj__.json", main), Entry.of("__zanj_meta__.json", json.dumps(meta).encode())]
    return zip_bytes(entries + (members or []))


def npy_bytes(descr: str, shape: tuple[int, ...], data: bytes, header_text: str | None = None) -> bytes:
    """A `.npy` file of format 1.0 (2.0 when the header needs it), made without numpy."""
    text = header_text if header_text is not None else repr({"descr": descr, "fortran_order": False, "shape": shape})
    encoded = text.encode("latin1")
    if len(encoded) + 11 < 65536:
        padded = encoded + b" " * ((-(len(encoded) + 11)) % 64) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(padded)) + padded + data
    padded = encoded + b" " * ((-(len(encoded) + 13)) % 64) + b"\n"
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(padded)) + padded + data


@functools.lru_cache(maxsize=1)
def _gigabyte_of_deflate() -> tuple[bytes, int]:
    """1 GiB of `0,0,0,...` deflated to about 1 MiB, and its CRC.

    Each MiB is compressed once and ends on a full flush, which resets the compressor, so the
    same compressed block can be repeated 1024 times and inflates to 1024 copies."""
    chunk = b"0," * (1 << 19)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    finish = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # an empty final block
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(chunk, crc)
    return block * 1024 + finish, crc


def _bomb_entry(name: str) -> Entry:
    data, crc = _gigabyte_of_deflate()
    return Entry(name, data, crc, 1 << 30, DEFLATED)


class _CreatesCanary:
    """Pickles to a payload that, when unpickled, opens (and so creates) the canary file."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.target, "w"))


def canary_pickle(folder: Path) -> bytes:
    return pickle.dumps(_CreatesCanary(str(folder / CANARY)), protocol=2)


# -- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile file and what reading it must give."""

    name: str
    build: Callable[[Path], bytes]
    """Returns the file's bytes; gets the corpus folder (for the canary's path)."""
    expect: str
    """Name of the `zanj_core.errors` class the read must raise, or the warning it must give, or
    `"loads"` for a file whose oddities are harmless."""
    match: str
    """A regular expression the message must match."""
    needs: tuple[str, ...] = ()
    """Plugin modules needed for exactly this outcome (the case is skipped without them)."""
    limits: dict[str, int] = field(default_factory=dict)
    """`ReadLimits` settings to read with, where the default limit is too large to test cheaply."""
    loaded: tuple[str, ...] = ()
    """For warning cases: top-level keys that must still load."""
    verify_finds: bool = True
    """Whether `zanj verify --load` reports it too; it loads only member-backed items, and a
    class or dtype missing from one program may exist in another."""

    @property
    def is_warning(self) -> bool:
        return self.expect.endswith("Warning")


def _valid(folder: Path) -> bytes:
    tree = {
        "name": "ok",
        "numbers": {FORMAT_KEY: "list:external", "$ref": "numbers.jsonl", "len": 300},
        "blob": {FORMAT_KEY: "bytes", "base64": "eHg="},
    }
    lines = b"".join(b"%d\n" % i for i in range(300))
    return zanj_bytes(tree, [Entry.of("numbers.jsonl", lines)])


def _truncated(fraction: float) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        data = _valid(folder)
        return data[: int(len(data) * fraction)]

    return build


def _duplicate(folder: Path) -> bytes:
    entries = [
        Entry.of("__zanj__.json", b'{"a": 1}'),
        Entry.of("__zanj_meta__.json", b"{}"),
        Entry.of("__zanj__.json", b'{"a": 2}'),
    ]
    return zip_bytes(entries)


def _with_member_named(name: str) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        tree = {"x": {FORMAT_KEY: "list:external", "$ref": name, "len": 1}}
        return zanj_bytes(tree, [Entry.of(name, b"1\n")])

    return build


def _ref_to(ref: Any) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        return zanj_bytes({"x": {FORMAT_KEY: "list:external", "$ref": ref, "len": 1}})

    return build


def _json_bomb(folder: Path) -> bytes:
    meta = Entry.of("__zanj_meta__.json", b"{}")
    return zip_bytes([_bomb_entry("__zanj__.json"), meta])


def _jsonl_bomb(folder: Path) -> bytes:
    tree = {"x": {FORMAT_KEY: "list:external", "$ref": "x.jsonl", "len": 1}}
    return zanj_bytes(tree, [_bomb_entry("x.jsonl")])


def _understated_bomb(folder: Path) -> bytes:
    """The directory says 100 bytes; the stream would inflate to 1 GiB."""
    meta = Entry.of("__zanj_meta__.json", b"{}")
    bomb = _bomb_entry("__zanj__.json")
    bomb.size = 100
    return zip_bytes([bomb, meta])


def _nested(opening: str, closing: str, depth: int = 200_000, member: str = "main") -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        text = (opening * depth + "1" + closing * depth).encode()
        if member == "main":
            return zanj_bytes(None, raw_main=text)
        if member == "meta":
            return zip_bytes([Entry.of("__zanj__.json", b"1"), Entry.of("__zanj_meta__.json", text)])
        tree = {"x": {FORMAT_KEY: "list:external", "$ref": "x.jsonl", "len": 1}}
        return zanj_bytes(tree, [Entry.of("x.jsonl", text + b"\n")])

    return build


def _deep_but_parsable(folder: Path) -> bytes:
    """Parses (under the recursion limit) but is deeper than ZANJ(max_depth=200)."""
    depth = 400
    return zanj_bytes(None, raw_main=('{"a":' * depth + "1" + "}" * depth).encode())


def _raw_main(text: bytes) -> Callable[[Path], bytes]:
    return lambda folder: zanj_bytes(None, raw_main=text)


def _meta(meta: Any, tree: Any = None) -> Callable[[Path], bytes]:
    return lambda folder: zanj_bytes({"a": 1} if tree is None else tree, meta=meta)


def _many_members(folder: Path) -> bytes:
    entries = [Entry.of("__zanj__.json", b"1"), Entry.of("__zanj_meta__.json", b"{}")]
    entries += [Entry.of(f"m{i}.bin", b"", STORED) for i in range(150)]
    return zip_bytes(entries)


def _forged_count(folder: Path) -> bytes:
    return zip_bytes([Entry.of("__zanj__.json", b"1")], directory_entries=0xFFFE)


def _forged_directory_size(folder: Path) -> bytes:
    return zip_bytes([Entry.of("__zanj__.json", b"1")], directory_size=0xFFFFFFF0)


def _member_flags(flags: int = 0, method: int = STORED) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        tree = {"x": {FORMAT_KEY: "list:external", "$ref": "x.jsonl", "len": 1}}
        entry = Entry.of("x.jsonl", b"1\n", STORED)
        entry.flags, entry.method = flags, method
        return zanj_bytes(tree, [entry])

    return build


def _stored_size_lie(folder: Path) -> bytes:
    tree = {"x": {FORMAT_KEY: "list:external", "$ref": "x.jsonl", "len": 1}}
    entry = Entry.of("x.jsonl", b"1\n", STORED)
    entry.size = 1 << 31
    return zanj_bytes(tree, [entry])


def _bytes_member_declaring(size: int, method: int) -> Callable[[Path], bytes]:
    """A `.bin` member (raw bytes) whose directory entry declares `size` bytes."""

    def build(folder: Path) -> bytes:
        tree = {"b": {FORMAT_KEY: "bytes", "$ref": "b.bin", "len": 5}, "kept": "rest"}
        entry = Entry.of("b.bin", b"bytes", method)
        entry.size = size
        if method == STORED:  # the directory's compressed size must follow, or the file is refused sooner
            entry.declared_compressed = size
        return zanj_bytes(tree, [entry])

    return build


def _tag(tag: Any, node: dict[str, Any] | None = None) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        return zanj_bytes({"evil": {FORMAT_KEY: tag, **(node or {})}, "kept": [1, 2, 3], "name": "rest"})

    return build


def _canary_module_class(folder: Path) -> bytes:
    """Names a class in a module that sits on sys.path; importing it would create the canary."""
    (folder / f"{CANARY_MODULE}.py").write_text(
        f"open({str(folder / CANARY)!r}, 'w').close()\nclass Evil:\n    pass\n", encoding="utf-8"
    )
    node = {"__zanj_class__": f"{CANARY_MODULE}:Evil", "x": 1}
    return _tag("Evil(SerializableDataclass)", node)(folder)


def _array(
    ref_member: bytes | None, node: dict[str, Any], tag: str = "numpy.ndarray:external", compress: bool = False
) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        members = [Entry.of("a.npy", ref_member, DEFLATED if compress else STORED)] if ref_member is not None else []
        return zanj_bytes({"a": {FORMAT_KEY: tag, **node}, "kept": "rest"}, members)

    return build


def _pickle_array(tag: str, compress: bool = False) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        member = npy_bytes("|O", (1,), canary_pickle(folder))
        node = {"$ref": "a.npy", "dtype": "object", "shape": [1], "n_elements": 1}
        return _array(member, node, tag, compress)(folder)

    return build


def _arrow_garbage(folder: Path) -> bytes:
    node = {"$ref": "df.arrow", "rows": 3, "columns": ["a"]}
    member = b"ARROW1\x00\x00" + b"\xff" * 64 + b"ARROW1"
    return zanj_bytes({"df": {FORMAT_KEY: "pandas.DataFrame:arrow", **node}}, [Entry.of("df.arrow", member, STORED)])


_NPY_EXTERNAL = {"$ref": "a.npy", "dtype": "float64", "shape": [2], "n_elements": 2}
GiB = 1 << 30

CASES: list[Case] = [
    # the container
    Case("not_a_zip", lambda folder: b"this is not a zip archive\n" * 8, "ZanjFormatError", "not a readable .zanj"),
    Case("empty", lambda folder: b"", "ZanjFormatError", "too short for a zip"),
    Case("truncated_half", _truncated(0.5), "ZanjFormatError", "not a readable .zanj|truncated"),
    Case("truncated_end_record", _truncated(0.995), "ZanjFormatError", "not a readable .zanj|truncated"),
    Case("zip_without_main_member", lambda f: zip_bytes([Entry.of("a.txt", b"hi")]), "ZanjFormatError", "no __zanj__"),
    Case("duplicate_member_names", _duplicate, "ZanjFormatError", "appears twice"),
    Case("member_climbing_out", _with_member_named("../../evil.jsonl"), "ZanjFormatError", "unsafe member name"),
    Case("member_absolute", _with_member_named("/tmp/evil.jsonl"), "ZanjFormatError", "unsafe member name"),
    Case("member_backslash_climb", _with_member_named("..\\evil.jsonl"), "ZanjFormatError", "unsafe member name"),
    Case("member_drive_letter", _with_member_named("C:/evil.jsonl"), "ZanjFormatError", "unsafe member name"),
    Case("member_empty_name", _with_member_named(""), "ZanjFormatError", "unsafe member name"),
    Case("too_many_members", _many_members, "ZanjLimitError", "declares 152 members", limits={"max_members": 100}),
    Case(
        "forged_member_count", _forged_count, "ZanjLimitError", "declares 65534 members", limits={"max_members": 1000}
    ),
    Case("forged_directory_size", _forged_directory_size, "ZanjFormatError", "zip directory claims"),
    Case("encrypted_member", _member_flags(flags=0x1), "ZanjFormatError", "encrypted"),
    Case("unknown_compression", _member_flags(method=99), "ZanjFormatError", "compression method 99"),
    Case("stored_member_size_lie", _stored_size_lie, "ZanjFormatError", "declares 2147483648 bytes"),
    Case(
        "compressed_member_declares_2gib_in_7_bytes",
        _bytes_member_declaring(2_315_255_813, DEFLATED),
        "ZanjLimitError",
        "refusing a possible zip bomb",
    ),
    Case(
        "stored_member_past_end_of_file",
        _bytes_member_declaring(1 << 30, STORED),
        "ZanjFormatError",
        "past the end of the",
    ),
    # references between the JSON and the members
    Case("ref_to_missing_member", _ref_to("nope.jsonl"), "ZanjFormatError", "lacks"),
    Case("ref_to_json_member", _ref_to("__zanj_meta__.json"), "ZanjFormatError", "JSON member"),
    Case("ref_climbing_out", _ref_to("../../../etc/passwd"), "ZanjFormatError", "lacks"),
    Case("ref_not_a_string", _ref_to(["a", 1]), "ZanjFormatError", "must be a member name string"),
    # JSON members
    Case("json_member_1gib_compressed", _json_bomb, "ZanjLimitError", "over the limit"),
    Case("jsonl_member_1gib_compressed", _jsonl_bomb, "ZanjLimitError", "over the limit"),
    Case("json_member_size_understated", _understated_bomb, "ZanjFormatError", "not valid JSON|corrupt|CRC"),
    Case("nested_200k_lists", _nested("[", "]"), "ZanjLimitError", "nested too deeply"),
    Case(
        "nested_200k_objects",
        _nested('{"a":', "}"),
        "ZanjLimitError",
        "nested too deeply",
        limits={"max_compression_ratio": 10_000},
    ),
    Case("nested_200k_in_metadata", _nested("[", "]", member="meta"), "ZanjLimitError", "nested too deeply"),
    Case("nested_200k_in_jsonl", _nested("[", "]", member="jsonl"), "ZanjLimitError", "nested too deeply"),
    Case("nested_deeper_than_max_depth", _deep_but_parsable, "ZanjLimitError", "more than 200 levels"),
    Case("json_not_utf8", _raw_main(b'{"a": "\xff\xfe\xfd"}'), "ZanjFormatError", "not UTF-8"),
    Case("json_invalid", _raw_main(b'{"a": [1, 2'), "ZanjFormatError", "not valid JSON"),
    Case("json_integer_of_100k_digits", _raw_main(b"9" * 100_000), "ZanjFormatError", "not valid JSON"),
    Case("format_tag_not_a_string", _tag(["os", "system"]), "ZanjFormatError", "must be a string"),
    # metadata
    Case("metadata_a_list", _meta([1, 2, 3]), "ZanjFormatError", "must hold a JSON object"),
    Case("metadata_format_a_number", _meta({"zanj_format": 1.0}), "ZanjFormatError", "zanj_format 1.0"),
    Case("metadata_newer_format", _meta({"zanj_format": "99.0"}), "ZanjFormatError", "newer"),
    Case(
        "metadata_fields_of_wrong_types",
        _meta({"zanj_format": "1.0", "plugins": "zanj-evil", "externals_info": 7, "writer": []}, {"x": [1]}),
        "loads",
        "",
        loaded=("x",),
    ),
    # names the file gives: never imported, never run
    Case(
        "format_tag_os_system",
        _tag("os.system", {"args": ["touch CANARY"]}),
        "ZanjMissingPluginWarning",
        "os.system",
        loaded=("kept", "name"),
    ),
    Case(
        "format_tag_undefined_class",
        _tag("NotDefinedAnywhere(SerializableDataclass)", {"x": 1}),
        "ZanjMissingClassWarning",
        "NotDefinedAnywhere",
        loaded=("kept", "name"),
        verify_finds=False,
    ),
    Case(
        "class_in_module_that_would_run",
        _canary_module_class,
        "ZanjMissingClassWarning",
        "Evil",
        loaded=("kept", "name"),
        verify_finds=False,
    ),
    # numpy members
    Case(
        "npy_declares_16gib_in_200_bytes",
        _array(npy_bytes("<f8", (2 * GiB,), b"\0" * 64), {**_NPY_EXTERNAL, "shape": [2 * GiB], "n_elements": 2 * GiB}),
        "ZanjFormatError",
        "header declares",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_object_dtype_pickle",
        _pickle_array("numpy.ndarray:external"),
        "ZanjFormatError",
        "object dtype|pickle",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_object_dtype_pickle_compressed",
        _pickle_array("numpy.ndarray:external", compress=True),
        "ZanjFormatError",
        "object dtype|pickle",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_shape_disagrees_with_node",
        _array(npy_bytes("<f8", (3,), b"\0" * 24), _NPY_EXTERNAL),
        "ZanjFormatError",
        "disagrees",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_dtype_disagrees_with_node",
        _array(npy_bytes("<i8", (2,), b"\0" * 16), _NPY_EXTERNAL),
        "ZanjFormatError",
        "disagrees",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_header_length_4gib",
        _array(b"\x93NUMPY\x02\x00\xf0\xff\xff\xff{}", _NPY_EXTERNAL),
        "ZanjFormatError",
        "does not fit",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_header_over_limit",
        _array(npy_bytes("<f8", (2,), b"\0" * 16, header_text="{" + " " * 70_000 + "}"), _NPY_EXTERNAL),
        "ZanjLimitError",
        "over the limit",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_header_nested_deeply",
        _array(npy_bytes("<f8", (2,), b"\0" * 16, header_text="[" * 30_000 + "]" * 30_000), _NPY_EXTERNAL),
        "ZanjFormatError",
        "unparsable header",
        needs=("zanj_numpy",),
    ),
    Case(
        "npy_bad_magic",
        _array(b"\x93NUMPX\x01\x00" + b"\0" * 80, _NPY_EXTERNAL),
        "ZanjFormatError",
        "magic",
        needs=("zanj_numpy",),
    ),
    Case(
        "inline_array_shape_lie",
        _array(
            None,
            {"dtype": "float64", "shape": [GiB, GiB], "n_elements": 3, "data": [1.0, 2.0, 3.0]},
            tag="numpy.ndarray:array_list_meta",
        ),
        "ZanjFormatError",
        "does not fit shape",
        needs=("zanj_numpy",),
        verify_finds=False,
    ),
    Case(
        "inline_array_object_dtype",
        _array(
            None, {"dtype": "object", "shape": [1], "n_elements": 1, "data": [1]}, tag="numpy.ndarray:array_list_meta"
        ),
        "ZanjFormatError",
        "object dtype",
        needs=("zanj_numpy",),
        verify_finds=False,
    ),
    # torch members
    Case(
        "tensor_object_dtype_pickle",
        _pickle_array("torch.Tensor:external"),
        "ZanjMissingPluginWarning",
        "no dtype 'object'",
        needs=("zanj_torch",),
        loaded=("kept",),
    ),
    Case(
        "tensor_declares_16gib_in_200_bytes",
        _array(
            npy_bytes("<f8", (2 * GiB,), b"\0" * 64),
            {**_NPY_EXTERNAL, "shape": [2 * GiB], "n_elements": 2 * GiB},
            tag="torch.Tensor:external",
        ),
        "ZanjFormatError",
        "header declares",
        needs=("zanj_torch",),
    ),
    Case(
        "tensor_unknown_dtype",
        _array(None, {"dtype": "evil", "shape": [1], "n_elements": 1, "data": [1]}, tag="torch.Tensor:array_list_meta"),
        "ZanjMissingPluginWarning",
        "no dtype 'evil'",
        needs=("zanj_torch",),
        loaded=("kept",),
        verify_finds=False,
    ),
    # arrow members
    Case("arrow_member_garbage", _arrow_garbage, "ZanjFormatError", "not a valid Arrow IPC", needs=("zanj_pandas",)),
]

DIRECTORY_CASES = (
    "directory_truncated",
    "directory_bad_magic",
    "directory_before_the_file",
    "name_not_utf8",
    "version_too_new",
    "extra_field_cut",
    "zip64_field_missing",
    "zip64_multi_disk",
    "zip64_locator_too_early",
    "count_disagrees",
    "name_with_nul",
    "name_not_ascii_without_flag",
    "name_unicode_path_field",
    "data_before_the_archive",
    "members_overlap",
    "last_member_runs_into_directory",
    "local_name",
    "local_crc",
    "local_zip64_sizes",
    "local_extra_into_next_member",
)
"""Cases of `directory_cases.py` (each check of the zip directory and local headers, with its
exact message) that the corpus reads every way too: those the cases above do not cover."""


def _directory_case(name: str) -> Case:
    from directory_cases import CASES as EXACT

    exact = next(case for case in EXACT if case.name == name)
    words = exact.message.split("{path}")[-1].lstrip(":").strip()
    return Case(f"zip_{name}", lambda folder: exact.build(), exact.error, re.escape(words[:80]))


CASES += [_directory_case(name) for name in DIRECTORY_CASES]


def write_corpus(folder: Path) -> list[Path]:
    """Write every case's file into `folder` (created), named `<case>.zanj`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in CASES:
        target = folder / f"{case.name}.zanj"
        target.write_bytes(case.build(folder))
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hostile_corpus.py OUT_DIR")
    out = Path(sys.argv[1])
    for path in write_corpus(out):
        print(os.fspath(path))
