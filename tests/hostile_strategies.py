"""Hypothesis strategies that generate hostile `.zanj` files from the format's grammar.

Random bytes seldom get past the zip checks, and the fuzzer's mutations seldom get past the JSON
parser; these files do. Each is a well-formed zip archive (written by `zipfile`, each member
stored, deflated, or bzip2/lzma compressed) holding well-formed JSON, `.jsonl`, `.npy`, `.bin`
and Arrow members that refer to each other as docs/format.md says, and whose *values* are hostile:

- typed nodes with every tag zanj-core and the plugins read (and tags naming modules, classes
  that do not exist, or terminal escape sequences), with fields of the wrong type, huge,
  negative, float or bool numbers, long or nested shapes, dtypes such as "V0", "S1000000000",
  "O", structured dtypes as lists, `len`s that lie;
- `$ref`s to missing members, to the JSON members, to members of the wrong kind, and `.jsonl`
  members whose lines refer to other members: chains, cycles and fan-out (each of L lines
  refers to the next member: L**k items from a few KiB), and small members referred to by
  thousands of nodes (fan-in);
- sets and dicts of ints of equal hash (k, k + (2**61 - 1), ...), 5000-digit integers, NaN and
  1e999 in JSON, strings with escape sequences, bidi controls and lone surrogates in keys, tags,
  member names and metadata;
- `.npy` members with hostile headers (shape products past int64, `fortran_order` not a bool,
  itemsize zero or huge, descr as a list, header lengths that lie, bad versions);
- members whose declared sizes or CRC lie, in the central directory, the local header or both;
- Arrow IPC members (when pyarrow is installed) of 3*10**8 null rows or run-end encoded rows in
  a few hundred bytes, zstd-compressed columns expanding 30,000x, nesting near Arrow's limit,
  pandas metadata that lies, and row counts that disagree with the node.

Every file is under 64 KiB. Pieces for plugins that are not installed are left out (the `core`
nox session generates core-format files only); a plugin's tags may still appear, as a file
naming a plugin the reader lacks. `tests/test_hostile_generated.py` reads the files through the
sandbox (`tests/sandbox.py`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import io
import json
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

FORMAT_KEY = "__muutils_format__"
REF_KEY = "$ref"
CLASS_KEY = "__zanj_class__"
MAIN = "__zanj__.json"
META = "__zanj_meta__.json"
MAX_FILE_BYTES = 64 * 1024
STORED, DEFLATED, BZIP2, LZMA = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA
SENTINEL_MODULES = ("this", "tabnanny", "zanj_sentinel_module")
"""Modules hostile files name as classes and tags; the sandbox reports it if one gets imported."""
PLUGINS = ("zanj_numpy", "zanj_torch", "zanj_pandas")
MIB = 1 << 20

Draw = Callable[[st.SearchStrategy[Any]], Any]


def installed_plugins() -> frozenset[str]:
    """The plugins installed here (and pyarrow, needed to write Arrow members)."""
    found = {name for name in PLUGINS if importlib.util.find_spec(name) is not None}
    if importlib.util.find_spec("pyarrow") is not None:
        found.add("pyarrow")
    if importlib.util.find_spec("numpy") is not None:
        found.add("numpy")
    return frozenset(found)


# -- JSON text that json.dumps cannot or will not write ----------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put into a document verbatim: integers past Python's 4300-digit conversion
    limit, NaN / Infinity / 1e999 tokens, nesting deeper than a recursive encoder goes."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from pairs, so the same key can appear twice."""

    items: tuple[tuple[str, Any], ...]


def dumps(value: Any) -> str:
    """JSON text of `value` (Raw and Pairs included); strings escaped by json.dumps, so lone
    surrogates appear as `\\ud800` escapes, which json.loads turns back into lone surrogates."""
    if isinstance(value, Raw):
        return value.text
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)  # NaN and Infinity tokens, which json.loads accepts
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# -- the archive ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One zip member; the directory can be made to lie about its sizes and CRC."""

    name: str
    content: bytes
    method: int = DEFLATED
    declared_size: int | None = None
    declared_compressed: int | None = None
    declared_crc: int | None = None
    lie_in: str = "both"
    """Where the lies are written: "central" directory, "local" header, or "both"."""
    zip64: tuple[int, int, int] | None = None
    """(uncompressed size, compressed size, local header offset) declared by a zip64 extra
    field added to the member's central directory entry (its 32-bit fields then say 0xFFFFFFFF);
    -1 keeps the true value."""


@dataclass(frozen=True)
class HostileFile:
    """A generated file: its members and the hostile ingredients that went in (`notes`)."""

    members: tuple[Member, ...]
    notes: tuple[str, ...] = ()

    @functools.cached_property
    def data(self) -> bytes:
        return build_zip(self.members)

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def __repr__(self) -> str:  # hypothesis prints this for a failing example: keep it short
        names = [m.name[:40] for m in self.members]
        notes = [note[:60] for note in self.notes]
        return f"HostileFile({len(self.data)} bytes, sha256 {self.sha[:16]}, members={names}, notes={notes})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis's pretty printer would list every field (the members' bytes): the short
        repr instead."""
        printer.text(repr(self))


def build_zip(members: tuple[Member, ...] | list[Member]) -> bytes:
    """The archive of `members`, written by zipfile, then patched where a member's sizes lie."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = member.method
            archive.writestr(info, member.content)
    data = bytearray(out.getvalue())
    for index, member in enumerate(members):
        if (
            member.declared_size is not None
            or member.declared_compressed is not None
            or member.declared_crc is not None
        ):
            _patch(data, index, member)
    if any(member.zip64 is not None for member in members):
        data = _with_zip64(data, members)
    return bytes(data)


def _with_zip64(data: bytearray, members: tuple[Member, ...] | list[Member]) -> bytearray:
    """Rebuild the central directory with a zip64 extra field on each member that asks for one.
    Nothing points into the directory but the end record, whose size field is updated."""
    end = data.rfind(b"PK\x05\x06")
    (directory_offset,) = struct.unpack_from("<L", data, end + 16)
    at = directory_offset
    directory = bytearray()
    for member in members:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        entry = bytearray(data[at : at + 46 + name_len + extra_len + comment_len])
        if member.zip64 is not None:
            true_compressed, true_size = struct.unpack_from("<LL", entry, 20)
            (true_offset,) = struct.unpack_from("<L", entry, 42)
            size, compressed, offset = (
                true if lie < 0 else lie
                for lie, true in zip(member.zip64, (true_size, true_compressed, true_offset), strict=True)
            )
            extra = struct.pack("<HHQQQ", 1, 24, size & (2**64 - 1), compressed & (2**64 - 1), offset & (2**64 - 1))
            struct.pack_into("<LL", entry, 20, 0xFFFFFFFF, 0xFFFFFFFF)  # sizes in the extra field
            struct.pack_into("<L", entry, 42, 0xFFFFFFFF)  # and the offset too
            struct.pack_into("<H", entry, 30, extra_len + len(extra))
            cut = 46 + name_len + extra_len
            entry = entry[:cut] + extra + entry[cut:]
        directory += entry
        at += 46 + name_len + extra_len + comment_len
    tail = bytearray(data[end:])
    struct.pack_into("<L", tail, 12, len(directory))
    return bytearray(data[:directory_offset]) + directory + tail


def _patch(data: bytearray, index: int, member: Member) -> None:
    """Rewrite the sizes and CRC of the `index`th entry of the central directory and/or its
    local header (no zip64 records: zipfile writes none for members this small)."""
    end = data.rfind(b"PK\x05\x06")
    (directory_offset,) = struct.unpack_from("<L", data, end + 16)
    at = directory_offset
    for _ in range(index):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        at += 46 + name_len + extra_len + comment_len
    (local,) = struct.unpack_from("<L", data, at + 42)
    for header, crc_at in ((at, 16), (local, 14)):
        if (member.lie_in == "central" and header == local) or (member.lie_in == "local" and header == at):
            continue
        if member.declared_crc is not None:
            struct.pack_into("<L", data, header + crc_at, member.declared_crc & 0xFFFFFFFF)
        if member.declared_compressed is not None:
            struct.pack_into("<L", data, header + crc_at + 4, member.declared_compressed & 0xFFFFFFFF)
        if member.declared_size is not None:
            struct.pack_into("<L", data, header + crc_at + 8, member.declared_size & 0xFFFFFFFF)


# -- hostile values ------------------------------------------------------------------------------

BOUNDARY_INTS = (
    0, 1, -1, 2, 3, 7, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -(2**31), 2**32 - 1, 2**32, 2**53 + 1,
    2**61 - 1, 2**62, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**18, 10**30, 2**200,
    3 * 10**8, 10**9, 2**40,
)  # fmt: skip
TEXT_PIECES = (
    "", "a", "x" * 300, "\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b[31mRED\x1b[0m", "\x1b[1A\x1b[2K", "\x9b2J",
    "\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\r", "\n", "\t", "\x00", "\x07", "\x08" * 8, "\x7f",
    "\x85", "\ud800", "\udfff", "\U0001f600", "e\u0301", "\ufeff", "%s%n%x", "{0}{path}", "../", "/etc/passwd",
    "C:\\", "__zanj__.json", "$ref", FORMAT_KEY, "\u0661\u0662", "\uff11",
)  # fmt: skip
LONG_TEXTS = ("x" * 5000, "\x1b[2J" * 500, "\u202e" * 1000)
ODD_NAMES = (
    "na\u00efve \u20ac",
    "x" * 200,
    "\u202egnp",
    "a b",
    "\U0001f600",
    "dir/sub/x",
    "-x",
    ".hidden",
    "~1",
    "con",
)


def hostile_ints() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(BOUNDARY_INTS), st.integers(-3, 300))


def hostile_text(max_pieces: int = 4) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(st.sampled_from(TEXT_PIECES), max_size=max_pieces).map("".join),
        st.text(max_size=12),
        st.sampled_from(LONG_TEXTS),
    )


def member_text() -> st.SearchStrategy[str]:
    """Text usable in a member name: zipfile cuts names at NUL and cannot encode surrogates."""
    return hostile_text(3).map(lambda s: "".join(c for c in s if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF))


def over_limit_numbers() -> st.SearchStrategy[Raw]:
    """Integers past Python's 4300-digit conversion limit: the JSON parser refuses the member."""
    return st.sampled_from([Raw("9" * 4301), Raw("-" + "9" * 5000), Raw("1" * 20000)])


def odd_numbers() -> st.SearchStrategy[Raw]:
    """Numbers json.dumps will not write but json.loads reads: NaN, infinities, 4300 digits."""
    return st.sampled_from(
        [
            Raw("9" * 4300),
            Raw("NaN"),
            Raw("Infinity"),
            Raw("-Infinity"),
            Raw("1e999"),
            Raw("-0"),
            Raw("-0.0"),
            Raw("1e-400"),
            Raw("0." + "0" * 3000 + "1"),
        ]
    )


def junk() -> st.SearchStrategy[Any]:
    """A value of some wrong type, for any field."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from([1.5, -0.0, 1e308, 2.0**63, float("nan")]),
        hostile_ints(),
        hostile_text(2),
        odd_numbers(),
        st.sampled_from([[], {}, [1, 2], {"a": 1}, [[[]]], "3", ["3"], {FORMAT_KEY: "int", "value": "1"}]),
    )


def colliding_ints(count: int, base: int = 5) -> list[int]:
    """Ints that all hash to `base`: Python reduces int hashes modulo 2**61 - 1."""
    return [base + i * (2**61 - 1) for i in range(count)]


# -- dtypes, shapes and npy headers ----------------------------------------------------------------

PLAUSIBLE_DTYPES = (
    "float64",
    "<f8",
    "float32",
    "int64",
    "<i4",
    "uint8",
    "bool",
    "complex128",
    "<U2",
    "|S2",
    "float16",
    "<M8[s]",
)
NUMPY_DTYPES = (
    "float64", "<f8", ">f8", "float32", "float16", "int64", "<i4", ">i2", "uint8", "bool", "|b1", "complex128",
    "<c16", "<U2", "<U0", "U0", "S0", "|S0", "V0", "|V0", "S1", "|V16", "<V2000000000", "S1000000000",
    "<U1000000000", "<U2147483647", "|V4294967296", "O", "object", "|O", "T", "<f16", "longdouble", "M8[ns]",
    "<m8[s]", "datetime64[as]", "datetime64[Y]", "datetime64[3000000000D]", "i8,i8", "(2,3)f8",
    "(100000,100000)f8", "(2147483647,)u1", "(0,)f8", "evil", "", "float64\x00", "<f8\x1b[2J", "a", "=f8", "f", "d",
)  # fmt: skip
TORCH_DTYPES = (
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "uint16", "uint32", "uint64",
    "bool", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "float4_e2m1fn_x2",
    "qint8", "quint4x2", "torch.float32", "torch.bfloat16", "bits16", "int4", "uint1", "object", "evil", "",
    "float32\x1b[2J", "half", "cfloat",
)  # fmt: skip
STRUCTURED_DTYPES: tuple[Any, ...] = (
    [["x", "<i4"], ["y", "<f8"]],
    [["x", "O"]],
    [["x", "<i4", [2000000000]]],
    [["x", "<f8", [100000, 100000]]],
    [["x", [["y", "O"]]]],
    [["x", [["y", "<i4"]]]],
    [["", "<i4"]],
    [["x", "<i4"], ["x", "<f8"]],
    [[["title", "x"], "<i4"]],
    [["x", "<V0", [1000000000]]],
    [["x", "S0"], ["y", "U0"]],
    [],
    [["x"]],
    [[1, "<i4"]],
    [["x", "<i4", "3"]],
    [["x", "<i4", [-1]]],
    [["x", "T"]],
)


def _nested_descr(depth: int) -> Raw:
    """A structured dtype nested `depth` deep, as JSON text (also a Python literal)."""
    return Raw('[["x",' * depth + '"<i4"' + "]]" * depth)


def numpy_dtypes() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(NUMPY_DTYPES),
        st.sampled_from(STRUCTURED_DTYPES),
        st.sampled_from([30, 200, 2000]).map(_nested_descr),
        st.integers(1, 1500).map(lambda n: [[f"f{i}", "<i1"] for i in range(n)]),
        junk(),
    )


def shapes() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(st.integers(0, 4), max_size=3),
        st.lists(hostile_ints(), min_size=1, max_size=4),
        st.sampled_from(
            [
                [2**32, 2**32],
                [2**62, 4],
                [2**63 - 1, 2],
                [3 * 10**8],
                [10**20],
                [0, 2**63 - 1],
                [1] * 64,
                [1] * 1000,
                [2] * 70,
                [1.5],
                [True],
                ["3"],
                [[2]],
                [None],
                [-1],
            ]
        ),
        junk(),
    )


def _literal(value: Any) -> str:
    """A Python literal for an npy header (tuples, as numpy writes them)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, list):
        inner = ", ".join(_literal(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _descr_literal(descr: Any) -> str:
    if isinstance(descr, Raw):
        return descr.text
    if isinstance(descr, list):
        fields = []
        for item in descr:
            if isinstance(item, list):
                fields.append(
                    "(" + ", ".join(_descr_literal(v) if i == 1 else _literal(v) for i, v in enumerate(item)) + ")"
                )
            else:
                fields.append(repr(item))
        return "[" + ", ".join(fields) + "]"
    return repr(descr)


def npy_bytes(header: str, data: bytes, version: int = 1, length_lie: int | None = None) -> bytes:
    """An `.npy` file with the header text given verbatim, padded as numpy pads it; the header
    length field can lie. Versions 2 and 3 use 4-byte lengths, anything else 2 bytes."""
    encoded = header.encode("utf-8" if version == 3 else "latin-1", "replace")
    prefix = 12 if version in (2, 3) else 10
    padded = encoded + b" " * ((-(len(encoded) + prefix + 1)) % 64) + b"\n"
    length = len(padded) if length_lie is None else length_lie
    size = struct.pack("<I", length & 0xFFFFFFFF) if version in (2, 3) else struct.pack("<H", length & 0xFFFF)
    return b"\x93NUMPY" + bytes([version & 0xFF, 0]) + size + padded + data


def _itemsize(descr: Any) -> int | None:
    """numpy's itemsize for `descr`, or None (numpy missing, or not a dtype)."""
    try:
        import numpy as np

        if isinstance(descr, str):
            return int(np.dtype(descr).itemsize)
        return int(np.lib.format.descr_to_dtype(_tuplify(descr)).itemsize)
    except Exception:  # hostile descrs are meant not to be dtypes
        return None


def _tuplify(descr: Any) -> Any:
    if isinstance(descr, list):
        return [
            tuple(_tuplify(v) if i == 1 else (tuple(v) if isinstance(v, list) else v) for i, v in enumerate(f))
            for f in descr
        ]
    return descr


def _declared_bytes(descr: Any, shape: Any) -> int | None:
    itemsize = _itemsize(descr)
    if itemsize is None or not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        return None
    count = 1
    for d in shape:
        count *= d
    return count * itemsize


# -- Arrow members ---------------------------------------------------------------------------------


def _ipc(batches: list[Any], compression: str | None = None, metadata: dict[bytes, bytes] | None = None) -> bytes:
    import pyarrow as pa

    schema = batches[0].schema
    if metadata is not None:
        schema = schema.with_metadata(metadata)
        batches = [pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in batches]
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=pa.Codec(compression, compression_level=1)) if compression else None
    with pa.ipc.new_file(sink, schema, options=options) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue()


def _pandas_meta(columns: list[str], index: Any, numpy_type: str = "object", pandas_type: str = "empty") -> bytes:
    return json.dumps(
        {
            "index_columns": index,
            "column_indexes": [],
            "columns": [
                {"name": c, "field_name": c, "pandas_type": pandas_type, "numpy_type": numpy_type, "metadata": None}
                for c in columns
            ],
            "creator": {"library": "pyarrow", "version": "0"},
            "pandas_version": "2.0.0",
        }
    ).encode()


def _one_row(kind: Any) -> tuple[bytes, int]:
    import pyarrow as pa

    return _ipc([pa.record_batch([pa.array([None], type=kind)], names=["a"])]), 1


def _with_pandas_meta(batch: Any, meta: bytes) -> tuple[bytes, int]:
    return _ipc([batch], metadata={b"pandas": meta}), int(batch.num_rows)


@functools.lru_cache(maxsize=1)
def arrow_variants() -> dict[str, tuple[bytes, int]]:
    """Arrow IPC files (bytes, their row count), made once per process. Each stays small on
    disk; several expand enormously when read."""
    import pyarrow as pa

    variants: dict[str, tuple[bytes, int]] = {}

    def add(name: str, make: Callable[[], tuple[bytes, int]]) -> None:
        try:
            data, rows = make()
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            return  # this pyarrow cannot write it
        if len(data) < 40_000:
            variants[name] = (data, rows)

    many = 3 * 10**8
    small = pa.record_batch([pa.array([1, 2, 3], pa.int64())], names=["a"])
    add(
        "small",
        lambda: (
            _ipc(
                [small],
                metadata={
                    b"pandas": _pandas_meta(
                        ["a"], [{"kind": "range", "name": None, "start": 0, "stop": 3, "step": 1}], "int64", "int64"
                    )
                },
            ),
            3,
        ),
    )
    add("nulls_3e8", lambda: (_ipc([pa.record_batch([pa.nulls(many)], names=["a"])]), many))
    add(
        "nulls_3e8_object_meta",
        lambda: (
            _ipc(
                [pa.record_batch([pa.nulls(many)], names=["a"])],
                metadata={b"pandas": _pandas_meta(["a"], [], "object", "unicode")},
            ),
            many,
        ),
    )

    def run_end_encoded() -> tuple[bytes, int]:
        column = pa.RunEndEncodedArray.from_arrays(pa.array([many], pa.int32()), pa.array([7], pa.int64()))
        return _ipc([pa.record_batch([column], names=["a"])]), many

    add("run_end_encoded_3e8", run_end_encoded)
    if pa.Codec.is_available("zstd") and importlib.util.find_spec("numpy") is not None:
        import numpy as np

        zeros = pa.record_batch([pa.array(np.zeros(12_500_000, dtype=np.int64))], names=["a"])
        add("zstd_zeros_8x100MB", lambda: (_ipc([zeros] * 8, compression="zstd"), 8 * 12_500_000))
        add("zstd_zeros_100MB", lambda: (_ipc([zeros], compression="zstd"), 12_500_000))
    for depth in (60, 63, 64):
        kind = pa.int64()
        for _ in range(depth):
            kind = pa.list_(kind)
        add(f"nested_list_{depth}", functools.partial(_one_row, kind))
    lying_meta = {
        "range_stop_1e12": _pandas_meta(
            ["a"], [{"kind": "range", "name": None, "start": 0, "stop": 10**12, "step": 1}], "int64", "int64"
        ),
        "range_step_0": _pandas_meta(
            ["a"], [{"kind": "range", "name": None, "start": 0, "stop": 3, "step": 0}], "int64", "int64"
        ),
        "categorical": _pandas_meta(["a"], [], "int8", "categorical"),
        "datetimetz_evil": json.dumps(
            {
                "index_columns": [],
                "columns": [
                    {
                        "name": "a",
                        "field_name": "a",
                        "pandas_type": "datetimetz",
                        "numpy_type": "datetime64[ns]",
                        "metadata": {"timezone": "../../../../etc/passwd"},
                    }
                ],
            }
        ).encode(),
        "extension_dtype": _pandas_meta(["a"], [], "zanj_sentinel_module.Dtype", "zanj_sentinel_module.Dtype"),
        "index_missing_column": _pandas_meta(["a"], ["__index_level_0__"], "int64", "int64"),
        "not_json": b"{\x1b[2J",
        "deep_json": b"[" * 15_000 + b"]" * 15_000,
        "columns_not_list": json.dumps({"index_columns": [], "columns": 7}).encode(),
    }
    for name, meta in lying_meta.items():
        add(f"pandas_meta_{name}", functools.partial(_with_pandas_meta, small, meta))
    return variants


# -- the plan of one file ----------------------------------------------------------------------------

CORE_TAGS = (
    "tuple", "set", "frozenset", "dict", "collections.OrderedDict", "int", "float", "complex", "bytes", "bytearray",
    "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "pathlib.Path", "enum.Enum",
    "list:external", "tuple:external", "zanj.unserializable", "BasicZanj(SerializableDataclass)",
    "Outer(SerializableDataclass)", "Inner(SerializableDataclass)", "Rect(SerializableDataclass)",
    "Evil(SerializableDataclass)", "(SerializableDataclass)",
)  # fmt: skip
NUMPY_TAGS = (
    "numpy.ndarray:array_list_meta", "numpy.ndarray:array_b64_meta", "numpy.ndarray:array_hex_meta",
    "numpy.ndarray:zero_dim", "numpy.ndarray:external", "numpy.ndarray:object", "numpy.ndarray:list",
    "numpy.generic:array_list_meta", "numpy.generic:array_b64_meta", "numpy.ndarray",
)  # fmt: skip
TORCH_TAGS = (
    "torch.Tensor:array_list_meta", "torch.Tensor:array_b64_meta", "torch.Tensor:external", "torch.Tensor:view",
    "torch.Tensor:zero_dim", "zanj_torch.ConfiguredModel", "torch.Tensor",
)  # fmt: skip
PANDAS_TAGS = ("pandas.DataFrame:arrow", "pandas.Series:arrow", "pandas.DataFrame:external", "pandas.DataFrame")
HOSTILE_TAGS = (
    "os.system", "this.Zen", "tabnanny:check", "zanj_sentinel_module:Evil", "builtins.eval",
    "\x1b[2J\x1b[31mEVIL", "numpy.ndarray:\u202eevil", "list:external\x00", "x" * 3000,
)  # fmt: skip
CLASS_KEYS = (
    "dataclass_defs:BasicZanj", "dataclass_defs:Outer", "dataclass_defs:Inner", "dataclass_defs:Rect",
    "this:Evil", "tabnanny:Evil", "zanj_sentinel_module:Evil", "os:system", "builtins:object", ":", "",
    "dataclass_defs:BasicZanj.__init__", "torch_defs:MyNN", "__main__:Evil",
)  # fmt: skip
ODDITIES = ("odd_method", "lie", "duplicate", "odd_name", "deep", "fan_in", "over_limit_number", "raw_main", "odd_meta")
"""What can end every read of a file early; a file has at most one (most have none)."""
NODE_ODDITIES = frozenset({"deep", "fan_in", "over_limit_number"})
DATACLASS_FIELDS = (
    "a",
    "q",
    "c",
    "name",
    "inner",
    "items",
    "lookup",
    "when",
    "x",
    "tags",
    "w",
    "h",
    "unit",
    "scale",
    "area",
)


@dataclass
class _Plan:
    """The state of one file being drawn: which members exist, what they hold, what went in."""

    draw: Draw
    plugins: frozenset[str]
    nodes_left: int = 40
    jsonl: list[str] = field(default_factory=list)
    npy: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """npy member -> (descr, shape) its header declares."""
    binary: list[str] = field(default_factory=list)
    arrow: dict[str, int] = field(default_factory=dict)
    """Arrow member -> its row count."""
    contents: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    chain: str = "none"
    """How the `.jsonl` members link: "none", "fan_out", "chain" or "cycle"."""
    oddity: str = "none"
    """The one thing in the file that ends any read of it early, if any (most files have none,
    so every node is reached): see ODDITIES."""
    oddity_placed: bool = False
    chaos: int = 4
    """One field in `chaos + 1` gets a hostile value; the rest are plausible."""

    def pick(self, plausible: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any], odds: int | None = None) -> Any:
        """Mostly a plausible value, so the loader gets past this field to its later checks;
        one time in `odds + 1` (default: the file's `chaos + 1`) a hostile one."""
        if self.draw(st.integers(0, self.chaos if odds is None else odds)) == 0:
            return self.draw(hostile)
        return self.draw(plausible)

    # -- references --------------------------------------------------------------------------

    def all_members(self) -> list[str]:
        return [*self.jsonl, *self.npy, *self.binary, *self.arrow]

    def ref(self, preferred: list[str] | None = None) -> Any:
        """A `$ref`: usually a member of the wanted kind, else any member, a missing one, a
        JSON member, or no string at all."""
        choices = [c for c in (preferred or []) if c] or self.all_members()
        kind = self.draw(st.sampled_from(["preferred"] * 16 + ["any", "missing", "json", "junk"]))
        if kind == "preferred" and choices:
            return self.draw(st.sampled_from(choices))
        if kind == "any" and self.all_members():
            return self.draw(st.sampled_from(self.all_members()))
        self.notes.append(f"ref:{kind}")
        if kind == "json":
            return self.draw(st.sampled_from([MAIN, META]))
        if kind == "junk":
            return self.draw(junk())
        return self.draw(st.sampled_from(["missing.jsonl", "../../etc/passwd", "/etc/passwd", "a.npy/", "A.NPY"]))

    def length(self, true: int | None) -> Any:
        """A `len`: the truth, or a lie, or junk."""
        options: list[Any] = [true] * 4 if true is not None else []
        lie = (
            self.pick(st.sampled_from(options), st.one_of(hostile_ints(), junk()))
            if options
            else self.draw(hostile_ints())
        )
        if lie != true:
            self.notes.append("len:lies")
        return lie

    # -- nodes ---------------------------------------------------------------------------------

    def node(self, depth: int = 0) -> Any:
        """Any node of the data tree."""
        self.nodes_left -= 1
        if self.nodes_left <= 0 or depth > 6:
            return self.leaf()
        if self.oddity in NODE_ODDITIES and not self.oddity_placed and self.draw(st.integers(0, 3)) == 0:
            return self.odd_node()
        kind = self.draw(st.sampled_from(["leaf"] * 3 + ["list", "dict"] * 2 + ["typed"] * 6))
        if kind == "leaf":
            return self.leaf()
        if kind == "list":
            return [self.node(depth + 1) for _ in range(self.draw(st.integers(0, 4)))]
        if kind == "dict":
            keys = self.draw(st.lists(st.one_of(st.text(max_size=6), hostile_text(2)), max_size=4))
            if self.draw(st.booleans()) and keys:
                self.notes.append("json:duplicate_keys")
                return Pairs(tuple((k, self.node(depth + 1)) for k in [*keys, keys[0]]))
            return {k: self.node(depth + 1) for k in keys}
        return self.typed(depth)

    def odd_node(self) -> Any:
        """The file's oddity, where it is a node: a deep nest, a fan-in, an over-long integer."""
        self.oddity_placed = True
        if self.oddity == "deep":
            return self.deep()
        if self.oddity == "fan_in":
            return self.fan_in()
        self.notes.append("number:over_limit")
        return self.draw(over_limit_numbers())

    def leaf(self) -> Any:
        plain = st.one_of(
            st.integers(-5, 5),
            st.text(max_size=8),
            st.none(),
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
        )
        value = self.pick(plain, st.one_of(hostile_ints(), hostile_text(3), odd_numbers()))
        if isinstance(value, Raw):
            self.notes.append(f"number:{value.text[:12]}")
        return value

    def deep(self) -> Any:
        """Nesting near and past the limits: max_depth (200), the recursion limit, Arrow's."""
        depth = self.draw(st.sampled_from([199, 200, 201, 400, 990, 1000, 1100, 5000, 30000]))
        shape = self.draw(st.sampled_from(["list", "object", "tuple", "dict_tag", "set"]))
        self.notes.append(f"deep:{shape}:{depth}")
        if shape == "list":
            return Raw("[" * depth + "1" + "]" * depth)
        if shape == "object":
            return Raw('{"a":' * depth + "1" + "}" * depth)
        tag = {"tuple": "tuple", "set": "frozenset", "dict_tag": "dict"}[shape]
        if tag == "dict":
            opening, closing = f'{{"{FORMAT_KEY}":"dict","data":[[1,', "]]}"
        else:
            opening, closing = f'{{"{FORMAT_KEY}":"{tag}","data":[', "]}"
        return Raw(opening * depth + "1" + closing * depth)

    def fan_in(self) -> Any:
        """One member under the 1 MiB zip-bomb threshold, deflated to about 1 KiB, referred to by
        thousands of nodes: every reference materialises it again."""
        name = f"fan_in_{len(self.binary)}.bin"
        size = self.draw(st.sampled_from([MIB - 1, MIB // 2, 64 * 1024]))
        count = self.draw(st.sampled_from([100, 1000, 2000]))
        tag = self.draw(
            st.sampled_from(
                ["bytes", "bytearray"]
                + (["numpy.ndarray:external", "torch.Tensor:external"] if "numpy" in self.plugins else [])
            )
        )
        self.notes.append(f"fan_in:{tag}:{count}x{size}")
        if tag in ("bytes", "bytearray"):
            self.binary.append(name)
            self.contents[name] = b"\0" * size
            node: dict[str, Any] = {FORMAT_KEY: tag, REF_KEY: name, "len": size}
        else:
            name = name.replace(".bin", ".npy")
            shape = [(size - 128) // 8]
            self.npy[name] = ("<f8", shape)
            self.contents[name] = npy_bytes(_npy_header("<f8", "False", _literal(shape)), b"\0" * (shape[0] * 8))
            node = {FORMAT_KEY: tag, REF_KEY: name, "dtype": "float64", "shape": shape, "n_elements": shape[0]}
        self.nodes_left -= 1
        return [node] * count

    def typed(self, depth: int) -> Any:
        tags: list[str] = list(CORE_TAGS)
        if "zanj_numpy" in self.plugins or self.draw(st.integers(0, 9)) == 0:
            tags += NUMPY_TAGS
        if "zanj_torch" in self.plugins or self.draw(st.integers(0, 9)) == 0:
            tags += TORCH_TAGS
        if "zanj_pandas" in self.plugins or self.draw(st.integers(0, 9)) == 0:
            tags += PANDAS_TAGS
        tag = self.pick(st.sampled_from(tags), st.one_of(st.sampled_from(HOSTILE_TAGS), hostile_text(2)), odds=8)
        self.notes.append(f"tag:{tag[:40]!r}" if tag not in tags else f"tag:{tag}")
        node = self.fields(tag, depth)
        node = {FORMAT_KEY: tag, **node}
        if self.draw(st.integers(0, 5)) == 0:  # drop a key the loader needs, or add one it ignores
            keys = [k for k in node if k != FORMAT_KEY]
            if keys and self.draw(st.booleans()):
                dropped = self.draw(st.sampled_from(keys))
                node.pop(dropped)
                self.notes.append(f"drop:{dropped}")
            else:
                node[self.draw(hostile_text(2))] = self.draw(junk())
        return node

    def children(self, depth: int) -> list[Any]:
        return [self.node(depth + 1) for _ in range(self.draw(st.integers(0, 4)))]

    def fields(self, tag: str, depth: int) -> dict[str, Any]:
        """The keys of a node of `tag`, each plausible or hostile."""
        draw = self.draw
        family = tag.partition(":")[0]
        if tag in ("tuple", "set", "frozenset"):
            kind = draw(st.sampled_from(["children"] * 3 + ["colliding", "junk"]))
            if kind == "colliding":
                count = draw(st.sampled_from([100, 1000, 2500]))
                self.notes.append(f"colliding_hashes:{count}")
                return {"data": colliding_ints(count)}
            return {"data": self.children(depth) if kind == "children" else draw(junk())}
        if tag == "dict":
            kind = draw(st.sampled_from(["pairs"] * 3 + ["colliding", "many", "malformed"]))
            if kind == "many":  # plain int keys, as many as fit: every walk over them must stay linear
                count = draw(st.sampled_from([1000, 5000]))
                self.notes.append(f"many_keys:{count}")
                return {"data": [[k, k] for k in range(count)]}
            if kind == "colliding":
                count = draw(st.sampled_from([100, 1000, 2000]))
                self.notes.append(f"colliding_hashes:{count}")
                return {"data": [[k, 0] for k in colliding_ints(count)]}
            if kind == "malformed":
                return {"data": draw(st.sampled_from([[[1]], [[1, 2, 3]], ["ab"], [None], [[[1], 2]], [[{}, 1]], 7]))}
            return {"data": [[self.node(depth + 1), self.node(depth + 1)] for _ in range(draw(st.integers(0, 3)))]}
        if tag == "collections.OrderedDict":
            if draw(st.booleans()):
                return {"data": {k: self.node(depth + 1) for k in draw(st.lists(st.text(max_size=4), max_size=3))}}
            return {"pairs": self.pick(st.just([[1, 2]]), junk())}
        if tag == "int":
            return {
                "value": self.pick(
                    st.sampled_from(
                        [
                            "123",
                            "-0",
                            "1" * 4300,
                            "1" * 4301,
                            "9" * 10_000,
                            "0x10",
                            " 12 ",
                            "\uff11\uff12",
                            "1_000",
                            "",
                            "\u0661",
                            "1e5",
                        ]
                    ),
                    junk(),
                )
            }
        if tag == "float":
            return {
                "value": self.pick(
                    st.sampled_from(["nan", "inf", "-inf", "1e999", "0x1p3", "1" * 5000, "nan(123)"]), junk()
                ),
                "bits": self.pick(
                    st.sampled_from(["7ff8000000000001", "fff0000000000000", "zz", "0" * 17, "7ff8"]), junk()
                ),
            }
        if tag == "complex":
            return {"real": self.pick(st.floats(), junk()), "imag": self.node(depth + 1)}
        if tag in ("bytes", "bytearray"):
            if draw(st.booleans()):
                ref = self.ref(self.binary)
                true = len(self.contents.get(ref, b"")) if isinstance(ref, str) else None
                return {REF_KEY: ref, "len": self.length(true)}
            raw = draw(st.binary(max_size=64))
            return {
                "base64": self.pick(
                    st.one_of(
                        st.just(base64.b64encode(raw).decode()),
                        st.sampled_from(["@@@", "A" * 5, "=" * 8, " " * 1000 + "AA=="]),
                    ),
                    junk(),
                )
            }
        if tag in ("datetime.datetime", "datetime.time", "datetime.date"):
            node: dict[str, Any] = {
                "iso": draw(
                    st.one_of(
                        st.sampled_from(
                            [
                                "2020-01-02T03:04:05+00:00",
                                "9999-12-31T23:59:59.999999+23:59",
                                "0000-01-01",
                                "2020-01-01T00:00:00+99:00",
                                "24:00:00",
                                "2020-W53-8",
                                "x" * 5000,
                            ]
                        ),
                        junk(),
                    )
                )
            }
            if draw(st.booleans()):
                node["zone"] = self.pick(
                    st.one_of(
                        st.sampled_from(
                            [
                                "Europe/Paris",
                                "UTC",
                                "../../../../etc/passwd",
                                "/etc/localtime",
                                "Europe/../../etc/passwd",
                                "posixrules",
                                "right/UTC",
                                "Factory",
                            ]
                        ),
                        hostile_text(2),
                    ),
                    junk(),
                )
            if draw(st.booleans()):
                node["fold"] = self.pick(st.sampled_from([0, 1, 2]), junk())
                node["tzname"] = draw(hostile_text(2))
            return node
        if tag == "datetime.timedelta":
            return {key: self.pick(hostile_ints(), junk()) for key in ("days", "seconds", "microseconds")}
        if tag == "pathlib.Path":
            return {
                "kind": self.pick(
                    st.sampled_from(
                        ["PurePosixPath", "PureWindowsPath", "PosixPath", "WindowsPath", "Path", "os.system"]
                    ),
                    junk(),
                ),
                "path": self.pick(hostile_text(3), junk()),
            }
        if tag == "enum.Enum":
            return {
                "class": draw(
                    st.one_of(
                        st.sampled_from(
                            [
                                "signal:Signals",
                                "re:RegexFlag",
                                "http:HTTPStatus",
                                "this:Evil",
                                "enum:Enum",
                                "builtins:bool",
                            ]
                        ),
                        hostile_text(2),
                    )
                ),
                "name": self.pick(
                    st.sampled_from(["SIGKILL", "IGNORECASE", "OK", "__class__", "_member_map_", "mro"]), junk()
                ),
                "value": self.node(depth + 1),
            }
        if tag in ("list:external", "tuple:external"):
            ref = self.ref(self.jsonl)
            return {REF_KEY: ref, "len": self.length(None)}
        if tag == "zanj.unserializable":
            return {"type": draw(hostile_text(2)), "repr": self.pick(hostile_text(3), junk())}
        if tag.endswith("(SerializableDataclass)") or family == "zanj_torch.ConfiguredModel":
            node = {CLASS_KEY: self.pick(st.sampled_from(CLASS_KEYS), junk())}
            for name in draw(st.lists(st.sampled_from(DATACLASS_FIELDS), max_size=4, unique=True)):
                node[name] = self.node(depth + 1)
            if family == "zanj_torch.ConfiguredModel":
                node["zanj_model_config"] = self.node(depth + 1)
                node["state_dict"] = {"w": self.typed_array("torch.Tensor:array_list_meta", depth)}
            return node
        if family in ("numpy.ndarray", "numpy.generic", "torch.Tensor"):
            return self.array_fields(tag, depth)
        if family in ("pandas.DataFrame", "pandas.Series"):
            return self.frame_fields(tag, depth)
        return {"data": self.node(depth + 1), "args": draw(st.lists(hostile_text(2), max_size=2))}

    def typed_array(self, tag: str, depth: int) -> dict[str, Any]:
        return {FORMAT_KEY: tag, **self.array_fields(tag, depth)}

    def array_fields(self, tag: str, depth: int) -> dict[str, Any]:
        draw = self.draw
        family, _, form = tag.partition(":")
        torch_node = family == "torch.Tensor"
        if form in ("external", "view") and self.npy and draw(st.integers(0, 3)):
            ref = self.ref(list(self.npy))
            descr, shape = self.npy.get(ref, (None, None)) if isinstance(ref, str) else (None, None)
            if draw(st.integers(0, 3)):  # agree with the member's header, to reach the data
                dtype: Any = _node_dtype(descr, torch_node) if descr is not None else self.dtype(torch_node)
            else:
                dtype, shape = self.dtype(torch_node), self.shape()
            node: dict[str, Any] = {REF_KEY: ref, "dtype": dtype, "shape": shape if shape is not None else self.shape()}
        else:
            node = {"dtype": self.dtype(torch_node), "shape": self.shape()}
            if form in ("external", "view"):
                node[REF_KEY] = self.ref(list(self.npy))
        shape = node["shape"]
        count = None
        if isinstance(shape, list) and all(type(d) is int for d in shape):
            count = 1
            for d in shape:
                count *= d
        node["n_elements"] = self.length(count)
        if form == "view":
            node["stride"] = self.pick(st.just([1] * len(shape) if isinstance(shape, list) else [1]), shapes())
            node["storage_offset"] = self.pick(st.integers(0, 8), st.one_of(hostile_ints(), junk()))
        if form in ("array_list_meta", "zero_dim", "list", "object", ""):
            node["data"] = draw(
                st.one_of(
                    st.lists(st.integers(-3, 3), max_size=8),
                    st.lists(st.lists(st.floats(), max_size=3), max_size=3),
                    st.sampled_from([[[1, 2], [3]], [None], ["1"], [[[]]], 7, 1.5, "x", [2**70], [float("nan")]]),
                    st.just(self.children(depth)),
                    junk(),
                )
            )
        elif form in ("array_b64_meta", "array_hex_meta"):
            raw = draw(st.binary(max_size=48))
            encoded = base64.b64encode(raw).decode() if form == "array_b64_meta" else raw.hex()
            node["data"] = self.pick(
                st.one_of(st.just(encoded), st.sampled_from(["", "!!", "A" * 4001, "0" * 7])), junk()
            )
        if torch_node and draw(st.integers(0, 3)) == 0:
            node[draw(st.sampled_from(["requires_grad", "parameter", "device"]))] = self.pick(
                st.sampled_from(["cpu", "cuda", "meta", "cuda:99", "xla"]), junk()
            )
        return node

    def dtype(self, torch_node: bool) -> Any:
        if torch_node:
            return self.pick(
                st.sampled_from(["float32", "float64", "int64", "bfloat16", "uint8", "bool"]),
                st.one_of(st.sampled_from(TORCH_DTYPES), junk()),
                odds=2,
            )
        return self.pick(st.sampled_from(PLAUSIBLE_DTYPES), numpy_dtypes(), odds=2)

    def shape(self) -> Any:
        return self.pick(st.lists(st.integers(0, 4), max_size=3), shapes(), odds=2)

    def frame_fields(self, tag: str, depth: int) -> dict[str, Any]:
        draw = self.draw
        form = tag.partition(":")[2]
        if form == "external":  # zanj 0.6: rows in a .jsonl member
            return {
                REF_KEY: self.ref(self.jsonl),
                "columns": self.pick(st.lists(hostile_text(1), max_size=3), junk()),
                "len(data)": self.length(None),
            }
        ref = self.ref(list(self.arrow))
        rows = self.arrow.get(ref) if isinstance(ref, str) else None
        node: dict[str, Any] = {REF_KEY: ref, "n_rows": self.length(rows)}
        node["dtypes"] = self.pick(
            st.sampled_from([["int64"], ["object"], ["str"], ["category"], ["object"] * 3, [], ["int64"] * 5000]),
            junk(),
        )
        if draw(st.booleans()):
            node["index_dtypes"] = self.pick(st.sampled_from([["int64"], ["object"], ["object", "object"]]), junk())
        if draw(st.booleans()):
            node["range_index"] = self.pick(
                st.sampled_from(
                    [[0, rows or 0, 1], [0, 10**18, 1], [0, 0, 0], [0, 3 * 10**8, 1], [0, 3, 1, 1], [2**63, 0, -1]]
                ),
                junk(),
            )
        if draw(st.booleans()):
            node["columns"] = self.pick(
                st.one_of(st.just([self.node(depth + 1)]), st.sampled_from([["a"], ["a", "b"]])), junk()
            )
            node["columns_multi"] = self.pick(st.just(False), junk())
            node["columns_dtype"] = self.pick(st.sampled_from(["object", "str", "int64"]), junk())
        if draw(st.booleans()):
            node["index_freq"] = self.pick(st.sampled_from(["D", "1000000000000Y", "ns", "B", "\x1b[2J"]), junk())
        if draw(st.booleans()):
            node["attrs"] = self.node(depth + 1)
        if tag.startswith("pandas.Series"):
            node["name"] = self.node(depth + 1)
        return node

    # -- members -------------------------------------------------------------------------------

    def name(self, stem: str, extension: str) -> str:
        """A member name: plain, or (one per file whose oddity is "odd_name") odd: escape
        sequences, bidi controls, long, unicode."""
        if self.oddity == "odd_name" and not any(n.startswith("member_name") for n in self.notes):
            odd = self.draw(st.one_of(member_text(), st.sampled_from(ODD_NAMES)))[:200]
            self.notes.append("member_name:odd")
            return f"{odd}{extension}" if odd else f"{stem}{extension}"
        return f"{stem}{extension}"

    def plan_members(self) -> None:
        draw = self.draw
        chain = draw(st.sampled_from(["none"] * 3 + ["fan_out", "chain", "cycle"]))
        count = draw(st.integers(0, 3))
        if chain == "fan_out":
            count = draw(st.integers(2, 5))
        elif chain in ("chain", "cycle"):
            count = draw(st.sampled_from([3, 10, 40]))
        self.jsonl = list(dict.fromkeys(self.name(f"l{i}", ".jsonl") for i in range(count)))
        self.chain = chain
        if "numpy" in self.plugins and ("zanj_numpy" in self.plugins or "zanj_torch" in self.plugins):
            for i in range(draw(st.integers(0, 3))):
                name = self.name(f"a{i}", ".npy")
                self.npy[name] = (None, None)
        for i in range(draw(st.integers(0, 2))):
            self.binary.append(self.name(f"b{i}", ".bin"))
        if "pyarrow" in self.plugins and "zanj_pandas" in self.plugins and draw(st.integers(0, 2)) == 0:
            variants = arrow_variants()
            for i in range(draw(st.integers(1, 2))):
                variant = draw(st.sampled_from(sorted(variants)))
                name = self.name(f"f{i}", ".arrow")
                self.arrow[name] = variants[variant][1]
                self.contents[name] = variants[variant][0]
                self.notes.append(f"arrow:{variant}")
        for name in list(self.npy):
            self.contents[name] = self.npy_member(name)
        for name in self.binary:
            self.contents.setdefault(
                name,
                draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"\0" * 4096, b"\x93NUMPY" + b"\xff" * 20]))),
            )

    def fill_jsonl(self) -> None:
        """Lines of the `.jsonl` members, drawn once the tree is known (lines may refer to any
        member, their own included); fan-out, chains and cycles link them in order."""
        draw = self.draw
        names = self.jsonl
        for position, name in enumerate(names):
            following = names[position + 1] if position + 1 < len(names) else None
            if self.chain == "fan_out" and following is not None:
                width = draw(st.sampled_from([10, 100, 300]))
                line = {
                    FORMAT_KEY: draw(st.sampled_from(["list:external", "tuple:external"])),
                    REF_KEY: following,
                    "len": width,
                }
                lines = [line] * width
                self.notes.append(f"fan_out:{len(names)}x{width}")
            elif self.chain in ("chain", "cycle") and (following is not None or self.chain == "cycle"):
                target = following if following is not None else names[0]
                lines = [{FORMAT_KEY: "list:external", REF_KEY: target, "len": 1}]
                self.notes.append(f"{self.chain}:{len(names)}")
            else:
                self.nodes_left = max(self.nodes_left, 6)
                lines = [self.node(1) for _ in range(draw(st.integers(0, 5)))]
            text = "\n".join(dumps(line) for line in lines)
            if draw(st.integers(0, 9)) == 0:
                text = draw(
                    st.sampled_from(
                        [
                            "",
                            "\n\n\n",
                            text + "\n{",
                            "\ufeff" + text,
                            text.replace("\n", "\r\n"),
                            text + "\n" + "[" * 50_000,
                        ]
                    )
                )
                self.notes.append("jsonl:odd_text")
            self.contents[name] = text.encode("utf-8", "surrogatepass")

    def npy_member(self, name: str) -> bytes:
        draw = self.draw
        mode = draw(
            st.sampled_from(
                ["consistent"] * 8 + ["hostile_header"] * 3 + ["raw_header", "bad_version", "length_lie", "truncated"]
            )
        )
        self.notes.append(f"npy:{mode}")
        descr = self.pick(
            st.sampled_from(["<f8", "<i4", "|u1", "<u2", "|b1", "<c16", "<U3", "|S2"]), numpy_dtypes(), odds=1
        )
        shape = draw(shapes()) if mode != "consistent" else draw(st.lists(st.integers(0, 5), max_size=3))
        fortran = (
            "False"
            if mode == "consistent"
            else draw(st.sampled_from(["False", "True", "0", "1", "None", "'yes'", "[]"]))
        )
        header = _npy_header(
            _descr_literal(descr), fortran, _literal(shape) if isinstance(shape, list) else repr(shape)
        )
        if mode == "raw_header":
            header = draw(
                st.sampled_from(
                    [
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1, " * 5000 + "), }",
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'descr': '|O', }",
                        "{'descr': '<f8', 'fortran_order': False}",
                        "[1, 2, 3]",
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': "
                        + "[" * 200
                        + "]" * 200
                        + "}",
                        "{'descr': __import__('os').system('touch CANARY'), 'fortran_order': False, 'shape': (1,)}",
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "9" * 5000 + ",), }",
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\x00\x1b[2J",
                        "{'descr': b'<f8', 'fortran_order': False, 'shape': (2,), }",
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (1e400,), }",
                    ]
                )
            )
        declared = _declared_bytes(descr, shape)
        if mode == "consistent" and declared is not None and declared <= 4096:
            data = bytes(draw(st.binary(min_size=min(declared, 32), max_size=min(declared, 32)))) * (declared // 32 + 1)
            data = data[:declared] if declared else b""
            self.npy[name] = (descr, shape)
        else:
            data = draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"\0" * 4096, b""])))
            self.npy[name] = (descr, shape if isinstance(shape, list) else None)
        version = draw(st.sampled_from([1, 1, 2, 3])) if mode != "bad_version" else draw(st.sampled_from([0, 4, 255]))
        lie = draw(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 100_000])) if mode == "length_lie" else None
        blob = npy_bytes(header, data, version, lie)
        if mode == "truncated":
            blob = blob[: draw(st.integers(0, max(len(blob) - 1, 0)))]
        return blob

    def meta(self) -> Any:
        draw = self.draw
        mode = draw(st.sampled_from(["minimal", "junk", "deep", "version"])) if self.oddity == "odd_meta" else "normal"
        if mode == "junk":
            self.notes.append("meta:junk")
            return draw(junk())
        if mode == "deep":
            self.notes.append("meta:deep")
            return Raw('{"zanj_format":"1.0","x":' + "[" * 100_000 + "]" * 100_000 + "}")
        version = (
            draw(
                st.one_of(
                    st.sampled_from(
                        ["1.0"] * 40
                        + [
                            "1.1",
                            "1.99999999999999999999",
                            "0.6",
                            "01.0",
                            "1.0\x1b[2J",
                            "9" * 5000 + ".0",
                            "1" * 4301 + ".0",
                            "\u0661.\u0660",
                            "2.0",
                            " 1.0",
                        ]
                    ),
                    st.sampled_from(["1.0"] * 10 + [None]),
                )
            )
            if mode == "version"
            else "1.0"
        )
        if version != "1.0":
            self.notes.append("meta:zanj_format")
        if mode == "minimal":
            return {"zanj_format": version}
        meta: dict[str, Any] = {"zanj_format": version}
        meta["writer"] = self.pick(
            st.fixed_dictionaries({"dist": hostile_text(2), "version": hostile_text(1), "python": hostile_text(1)}),
            junk(),
        )
        meta["zanj_cfg"] = self.pick(st.dictionaries(hostile_text(1), junk(), max_size=3), junk())
        tags = draw(
            st.lists(
                st.one_of(st.sampled_from(CORE_TAGS + NUMPY_TAGS + TORCH_TAGS + PANDAS_TAGS), hostile_text(2)),
                max_size=5,
            )
        )
        meta["plugins"] = draw(
            st.one_of(
                st.just({t: {"dist": draw(hostile_text(2)), "version": draw(hostile_text(1))} for t in tags}),
                st.just({t: draw(junk()) for t in tags}),
                junk(),
            )
        )
        meta["externals_info"] = draw(
            st.one_of(
                st.just(
                    {
                        m: {"path": draw(st.lists(hostile_text(1), max_size=2)), "len": draw(hostile_ints())}
                        for m in self.all_members()
                    }
                ),
                junk(),
            )
        )
        for key in draw(st.lists(st.sampled_from(list(meta)), max_size=2, unique=True)):
            del meta[key]
        if draw(st.integers(0, 4)) == 0:
            meta[draw(hostile_text(2))] = draw(junk())
        return meta


def _npy_header(descr_literal: str, fortran: str, shape_literal: str) -> str:
    return f"{{'descr': {descr_literal}, 'fortran_order': {fortran}, 'shape': {shape_literal}, }}"


def _node_dtype(descr: Any, torch_node: bool) -> Any:
    """The dtype a node would write for an npy member of `descr` (torch names for tensors)."""
    if not torch_node:
        return descr
    names = {
        "<f8": "float64",
        "<f4": "float32",
        "<i4": "int32",
        "<i8": "int64",
        "|u1": "uint8",
        "<u2": "bfloat16",
        "|b1": "bool",
        "<c16": "complex128",
    }
    return names.get(descr, descr) if isinstance(descr, str) else descr


# -- the strategy ----------------------------------------------------------------------------------


def _method(draw: Draw, plan: _Plan) -> int:
    """Stored or deflated (what zanj writes); bzip2 and lzma in files whose oddity is that."""
    if plan.oddity == "odd_method":
        method = int(draw(st.sampled_from([STORED, DEFLATED, BZIP2, LZMA])))
        if method in (BZIP2, LZMA):
            plan.notes.append(f"zip:method:{method}")
        return method
    return int(draw(st.sampled_from([STORED, DEFLATED])))


@st.composite
def hostile_files(draw: Draw, plugins: frozenset[str] | None = None) -> HostileFile:
    """A hostile `.zanj` file of at most 64 KiB; see the module docstring for what goes in.
    `plugins` (default: what is installed) decides which plugins' members and tags appear."""
    plan = _Plan(draw, installed_plugins() if plugins is None else plugins)
    plan.oddity = draw(st.sampled_from(["none"] * 6 + list(ODDITIES)))
    if plan.oddity != "none":
        plan.notes.append(f"oddity:{plan.oddity}")
    plan.chaos = draw(st.sampled_from([2, 4, 8, 16]))
    plan.nodes_left = draw(st.integers(3, 40))
    plan.plan_members()
    root_kind = "raw" if plan.oddity == "raw_main" else draw(st.sampled_from(["dict"] * 6 + ["node"]))
    if root_kind == "raw":
        root: Any = draw(
            st.sampled_from(
                [
                    Raw("\ufeff{}"),
                    Raw(f'{{"a":1,"a":{{"{FORMAT_KEY}":"tuple","data":[1]}}}}'),
                    Raw("[" * 100_000 + "]" * 100_000),
                    Raw(f'{{"{FORMAT_KEY}":' * 5000 + "1" + "}" * 5000),
                    Raw("9" * 5000),
                    Raw("NaN"),
                    Raw('"\\ud800"'),
                    Raw("{} {}"),
                    Raw(""),
                ]
            )
        )
        plan.notes.append("main:raw")
    elif root_kind == "node":
        root = plan.node()
    else:
        root = {
            draw(st.one_of(st.sampled_from(["a", "b", "c", "d"]), hostile_text(2))): plan.node(1)
            for _ in range(draw(st.integers(1, 5)))
        }
    plan.fill_jsonl()
    if plan.oddity in NODE_ODDITIES and not plan.oddity_placed:
        root = {"z": plan.odd_node(), "root": root}
    main_text = dumps(root)
    meta = plan.meta()
    members = [Member(MAIN, main_text.encode("utf-8", "surrogatepass"), _method(draw, plan))]
    if draw(st.integers(0, 19)):
        members.append(Member(META, dumps(meta).encode("utf-8", "surrogatepass"), _method(draw, plan)))
    else:
        plan.notes.append("meta:absent")
    for name, content in plan.contents.items():
        method = _method(draw, plan)
        if name.startswith("fan_in_"):  # deflated to about 1 KiB: the expansion is the point
            method = DEFLATED if plan.oddity != "odd_method" else draw(st.sampled_from([DEFLATED, BZIP2, LZMA]))
        members.append(Member(name, content, method))
    if plan.oddity == "lie":
        index = draw(st.integers(0, len(members) - 1))
        members[index] = _lie(draw, members[index], plan)
    if plan.oddity == "duplicate":
        members.append(members[draw(st.integers(0, len(members) - 1))])
        plan.notes.append("zip:duplicate_member")
    if draw(st.booleans()):
        order = draw(st.permutations(range(len(members))))
        members = [members[i] for i in order]
    hostile = HostileFile(tuple(members), tuple(dict.fromkeys(plan.notes)))
    if len(hostile.data) > MAX_FILE_BYTES:
        hostile = _shrink_to_fit(hostile)
    return hostile


def _lie(draw: Draw, member: Member, plan: _Plan) -> Member:
    """The member with its directory entry declaring other sizes or another CRC."""
    what = draw(st.sampled_from(["size", "compressed", "crc", "size_and_compressed", "zip64"]))
    where = draw(st.sampled_from(["both", "both", "central", "local"]))
    size = len(member.content)
    lie = draw(st.sampled_from([0, 1, size - 1, size + 1, 2 * size + 7, 2**31, 2**32 - 1, 0xFFFFFFFE, 1_048_577]))
    plan.notes.append(f"zip:lie:{what}:{where}")
    if what == "zip64":
        declared = draw(
            st.sampled_from([(-1, -1), (2**63, -1), (2**64 - 1, 2**64 - 1), (-1, 2**40), (0, 0), (2**32, -1)])
        )
        offset = draw(st.sampled_from([-1, -1, 2**63, 2**64 - 1, 1]))
        return Member(member.name, member.content, member.method, zip64=(*declared, offset))
    if what == "crc":
        return Member(
            member.name,
            member.content,
            member.method,
            declared_crc=(zlib.crc32(member.content) ^ 1) if lie == 0 else lie,
            lie_in=where,
        )
    if what == "size":
        return Member(member.name, member.content, member.method, declared_size=max(lie, 0), lie_in=where)
    if what == "compressed":
        return Member(member.name, member.content, member.method, declared_compressed=max(lie, 0), lie_in=where)
    return Member(
        member.name,
        member.content,
        member.method,
        declared_size=max(lie, 0),
        declared_compressed=max(lie, 0),
        lie_in=where,
    )


def _shrink_to_fit(hostile: HostileFile) -> HostileFile:
    """Deflate the biggest members until the file fits in 64 KiB, then drop them if it still
    does not (the main member is kept)."""
    members = list(hostile.members)
    notes = list(hostile.notes)
    for index in sorted(range(len(members)), key=lambda i: -len(members[i].content)):
        if len(build_zip(members)) <= MAX_FILE_BYTES:
            break
        member = members[index]
        if member.method == STORED:
            members[index] = Member(
                member.name,
                member.content,
                DEFLATED,
                member.declared_size,
                member.declared_compressed,
                member.declared_crc,
                member.lie_in,
            )
    while len(build_zip(members)) > MAX_FILE_BYTES and len(members) > 1:
        index = max(range(1, len(members)), key=lambda i: len(members[i].content))
        notes.append(f"dropped:{members[index].name[:40]}")
        del members[index]
    if len(build_zip(members)) > MAX_FILE_BYTES:
        members = [Member(MAIN, b'{"too": "big"}')]
        notes.append("replaced:too_big")
    return HostileFile(tuple(members), tuple(notes))
