"""Hostile array and tensor nodes and `.npy` members: each refused with its own error, before
anything is allocated for it, and no read ever hands back memory the file did not fill.

Each file is made by saving a real object and rewriting one JSON node or one member with
zipfile, so everything else in it is what zanj writes and only the hostile part is tested.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

from hostile_corpus import npy_bytes  # noqa: E402
from zanj_numpy import npy  # noqa: E402
from zanj_numpy.checks import MAX_ITEMSIZE  # noqa: E402

from zanj_core import (  # noqa: E402
    ZANJ,
    ReadLimits,
    ZanjFormatError,
    ZanjLimitError,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
    ZanjSerializationError,
    ZanjUnloaded,
)

FORMAT_KEY = "__muutils_format__"
MiB = 1 << 20


# -- building hostile files ---------------------------------------------------------------------


def rewrite(
    source: Path,
    out: Path,
    edit: Callable[[Any], None] | None = None,
    members: dict[str, bytes] | None = None,
) -> Path:
    """`source` written again by zipfile, its JSON tree changed in place by `edit` and the
    members in `members` replaced (stored, as zanj stores binary members)."""
    with zipfile.ZipFile(source) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    if edit is not None:
        tree = json.loads(contents["__zanj__.json"])
        edit(tree)
        contents["__zanj__.json"] = json.dumps(tree).encode()
    contents.update(members or {})
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return out


def with_node(tmp_path: Path, node: dict[str, Any]) -> Path:
    """A saved file whose item `x` is replaced by `node` (and whose `kept` item is ordinary)."""
    base = ZANJ().save({"x": 0, "kept": [1, 2]}, tmp_path / "base.zanj")

    def edit(tree: Any) -> None:
        tree["x"] = node

    return rewrite(Path(base), tmp_path / "hostile.zanj", edit)


def refused(
    path: Path, error: type[Exception], fragment: str, where: str = "at x", zanj: ZANJ | None = None, **read: Any
) -> str:
    """Read `path`; it must raise exactly `error`, naming the file, the object path and `fragment`."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a refusal, not a warning and a placeholder
        with pytest.raises(error) as info:
            (zanj or ZANJ()).read(path, **read)
    assert type(info.value) is error, f"expected {error.__name__}, got {info.value!r}"
    message = str(info.value)
    assert fragment in message, message
    assert str(path) in message and where in message, message
    return message


def data_offset(path: Path, name: str) -> int:
    """Where member `name`'s data starts in the file."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    with open(path, "rb") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", fh.read(4))
    return info.header_offset + 30 + name_len + extra_len


def npy_data_start(path: Path, name: str) -> int:
    """Where the array data of the `.npy` member `name` starts in the file (after its header)."""
    start = data_offset(path, name)
    with open(path, "rb") as fh:
        fh.seek(start)
        head = fh.read(12)
    assert head[:6] == b"\x93NUMPY"
    if head[6] == 1:
        return start + 10 + struct.unpack("<H", head[8:10])[0]
    return start + 12 + struct.unpack("<I", head[8:12])[0]


def flipped(path: Path, out: Path, offset: int, value: int | None = None) -> Path:
    """A copy of `path` with the byte at `offset` changed (inverted, or set to `value`); nothing
    else is fixed up, so the member's CRC no longer matches."""
    data = bytearray(path.read_bytes())
    data[offset] = data[offset] ^ 0xFF if value is None else value
    out.write_bytes(bytes(data))
    return out


# -- inline array nodes -----------------------------------------------------------------------------

LIST = "numpy.ndarray:array_list_meta"
B64 = "numpy.ndarray:array_b64_meta"


def _node(tag: str, dtype: Any, shape: Any, data: Any) -> dict[str, Any]:
    return {FORMAT_KEY: tag, "dtype": dtype, "shape": shape, "n_elements": 1, "data": data}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _deep_descr(depth: int) -> Any:
    descr: Any = "<i4"
    for _ in range(depth):
        descr = [["a", descr]]
    return descr


INLINE_CASES: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    # the 353-byte node asking for 2 GB through its dtype
    "void of 2 GB per element": (_node(LIST, "<V2000000000", [1], [0]), ZanjLimitError, "per element"),
    "void of 2 GB per element, base64": (_node(B64, "<V2000000000", [1], ""), ZanjLimitError, "per element"),
    "bytes of 1 GB per element": (_node(LIST, "S1000000000", [1], ["a"]), ZanjLimitError, "per element"),
    # zero-size elements: numpy widened them to one byte of uninitialised memory each
    "U0 as base64 (uninitialised memory)": (_node(B64, "U0", [64], ""), ZanjFormatError, "zero-size"),
    "S0 as base64 (uninitialised memory)": (_node(B64, "S0", [64], ""), ZanjFormatError, "zero-size"),
    "V0 as base64": (_node(B64, "V0", [64], ""), ZanjFormatError, "zero-size"),
    "U0 as a list": (_node(LIST, "U0", [2], ["pass", "word"]), ZanjFormatError, "zero-size"),
    "structured with no fields": (_node(B64, [], [64], ""), ZanjFormatError, "zero-size"),
    "structured with an S0 field": (
        _node(B64, [["a", "|S0"], ["b", "<i4"]], [1], "AAAAAA=="),
        ZanjFormatError,
        "zero-size",
    ),
    # object dtypes, anywhere in the dtype
    "object": (_node(LIST, "O", [1], [1]), ZanjFormatError, "object dtype"),
    "object as base64": (_node(B64, "|O", [1], "AAAAAAAAAAA="), ZanjFormatError, "object dtype"),
    "structured with an object field": (
        _node(B64, [["a", "|O"], ["b", "<i4"]], [1], "AAAAAAAAAAAAAAAA"),
        ZanjFormatError,
        "object dtype",
    ),
    "object inside a sub-array field": (_node(B64, [["a", "|O", [2]]], [1], ""), ZanjFormatError, "object dtype"),
    "object inside a nested record": (
        _node(B64, [["outer", [["x", "<u2"], ["o", "|O"]]]], [1], ""),
        ZanjFormatError,
        "object dtype",
    ),
    "variable-width StringDType (pointers)": (_node(B64, "T", [1], "A" * 24), ZanjFormatError, "object dtype"),
    # shapes
    "shape product overflows int64": (
        _node(LIST, "float64", [2**40, 2**40], [1.0]),
        ZanjFormatError,
        "does not fit shape",
    ),
    "64 dims of 2**62 over no data": (_node(B64, "float64", [2**62] * 64, ""), ZanjFormatError, "fewer than shape"),
    "dimension past int64": (_node(LIST, "int8", [2**63], [1]), ZanjFormatError, "bad shape"),
    "negative dimension": (_node(LIST, "int8", [-1], [1]), ZanjFormatError, "bad shape"),
    "bool dimension": (_node(LIST, "int8", [True], [1]), ZanjFormatError, "bad shape"),
    "65 dimensions": (_node(LIST, "int8", [1] * 65, _nested(65)), ZanjFormatError, "65 dimensions"),
    "shape not a list": (_node(LIST, "int8", "3", [1, 2, 3]), ZanjFormatError, "'shape'"),
    "shape longer than the data": (_node(LIST, "int8", [4], [1, 2, 3]), ZanjFormatError, "does not fit shape"),
    "ragged lists": (_node(LIST, "int8", [2, 2], [[1, 2], [3]]), ZanjFormatError, "does not fit shape"),
    "lists one level too deep": (_node(LIST, "int8", [2], [[1], [2]]), ZanjFormatError, "does not fit shape"),
    "base64 shorter than the shape": (_node(B64, "int32", [4], "AAAAAAAAAAAAAAAA"), ZanjFormatError, "12 bytes"),
    "no elements, but dims numpy cannot describe": (
        _node(LIST, "int8", [0, 2**62, 2**62], []),
        ZanjFormatError,
        "numpy cannot",
    ),
    # dtype descriptions
    "records nested 20 deep": (_node(B64, _deep_descr(20), [1], "AAAAAA=="), ZanjFormatError, "nests records"),
    "dtype a number": (_node(LIST, 5, [1], [1]), ZanjFormatError, "neither a dtype string"),
    "field name a number": (_node(B64, [[5, "<i4"]], [1], "AAAAAA=="), ZanjFormatError, "field name"),
    "dtype numpy cannot parse": (_node(LIST, "not-a-dtype", [1], [1]), ZanjFormatError, "unusable dtype"),
}


@pytest.mark.parametrize("case", list(INLINE_CASES))
def test_hostile_inline_array_nodes_are_refused(case: str, tmp_path: Path) -> None:
    node, error, fragment = INLINE_CASES[case]
    refused(with_node(tmp_path, node), error, fragment)


@pytest.mark.parametrize("dtype", ["U0", "S0", "V0"])
def test_zero_size_numpy_scalars_are_refused(dtype: str, tmp_path: Path) -> None:
    """A numpy scalar of a zero-size dtype came back as one element of uninitialised memory."""
    node = {FORMAT_KEY: "numpy.generic:array_b64_meta", "dtype": dtype, "shape": [], "n_elements": 1, "data": ""}
    refused(with_node(tmp_path, node), ZanjFormatError, "zero-size")


def test_inline_array_within_the_itemsize_limit_is_charged_to_the_budget(tmp_path: Path) -> None:
    """64 elements of 64 KiB from a node of a few hundred bytes: 4 MiB, over a 1 MiB budget."""
    path = with_node(tmp_path, _node(LIST, "S65536", [64], ["a"] * 64))
    small = ZANJ(read_limits=ReadLimits(read_budget_floor=MiB, read_budget_ratio=1))
    message = refused(path, ZanjLimitError, "inline array at x", zanj=small)
    assert "4194304 more bytes" in message and "read_budget" in message
    back = ZANJ().read(path)["x"]  # the default budget lets it through, filled from the node
    assert back.dtype == np.dtype("S65536") and back.shape == (64,) and set(back.tolist()) == {b"a"}


_MEASURE = textwrap.dedent(
    """
    import resource, sys, tracemalloc
    import numpy, zanj_numpy.arrays, zanj_numpy.npy
    from zanj_core import ZANJ

    def vm_size():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    # 256 MiB more address space at most: an allocation of gigabytes fails instead of swapping
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + (256 << 20), hard))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        ZANJ().read(sys.argv[1])
        outcome = "loaded"
    except BaseException as exc:
        outcome = type(exc).__name__
    peak = tracemalloc.get_traced_memory()[1]
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(outcome, peak, grown)
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to bound the address space")
@pytest.mark.parametrize(
    "node",
    [
        _node(LIST, "<V2000000000", [1], [0]),
        _node(LIST, "S1000000000", [2], ["a", "b"]),
        _node(LIST, f"S{MAX_ITEMSIZE}", [2048], ["a"] * 2048),  # 2 GiB in elements each within the limit
    ],
    ids=["V2000000000", "S1000000000", "2048 x 1 MiB"],
)
def test_a_node_asking_for_gigabytes_fails_before_allocating(node: dict[str, Any], tmp_path: Path) -> None:
    path = with_node(tmp_path, node)
    assert path.stat().st_size < 16384  # JSON stored uncompressed by zipfile
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outcome, peak, grown = result.stdout.split()
    assert outcome == "ZanjLimitError", result.stdout
    assert int(peak) < 100 * MiB and int(grown) < 100 * MiB, result.stdout


def test_messages_show_file_strings_cut_and_escaped(tmp_path: Path) -> None:
    """A dtype string of 100 KB with terminal escapes cannot flood or drive a terminal."""
    evil = "\x1b[2J\x1b]0;owned\x07" + "A" * 100_000
    message = refused(with_node(tmp_path, _node(LIST, evil, [1], [1])), ZanjFormatError, "unusable dtype")
    assert len(message) < 1000 and "\x1b" not in message and "\x07" not in message


# -- .npy members ---------------------------------------------------------------------------------


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return Path(ZANJ().save({"w": np.arange(400, dtype=np.float32)}, tmp_path / "good.zanj"))


def _header(text: str, data: bytes = b"") -> bytes:
    return npy_bytes("", (), data, header_text=text)


NPY_CASES: dict[str, tuple[bytes, type[Exception], str]] = {
    "void of 2 GB per element": (npy_bytes("<V2000000000", (1,), b"\0" * 64), ZanjLimitError, "per element"),
    "S0 (uninitialised memory)": (npy_bytes("|S0", (400,), b""), ZanjFormatError, "zero-size"),
    "U0 (uninitialised memory)": (npy_bytes("<U0", (400,), b""), ZanjFormatError, "zero-size"),
    "V0": (npy_bytes("|V0", (400,), b""), ZanjFormatError, "zero-size"),
    "structured with no fields": (
        _header("{'descr': [], 'fortran_order': False, 'shape': (400,)}"),
        ZanjFormatError,
        "zero-size",
    ),
    "object": (npy_bytes("|O", (1,), b"\x80\x04N."), ZanjFormatError, "object dtype"),
    "structured with an object field": (
        _header("{'descr': [('a', '|O'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}", b"\0" * 12),
        ZanjFormatError,
        "object dtype",
    ),
    "variable-width StringDType": (npy_bytes("T", (1,), b"\0" * 16), ZanjFormatError, "object dtype"),
    "shape product overflows int64": (
        npy_bytes("<f4", (2**62, 2**62), b"\0" * 64),
        ZanjFormatError,
        "declares more than 2**63-1",
    ),
    "64 dims of 2**62": (npy_bytes("<f4", (2**62,) * 64, b"\0" * 64), ZanjFormatError, "declares more than 2**63-1"),
    "negative dimension": (npy_bytes("<f4", (-1,), b""), ZanjFormatError, "non-negative"),
    "bool dimension": (npy_bytes("<f4", (True,), b"\0" * 4), ZanjFormatError, "non-negative"),
    "65 dimensions": (npy_bytes("<f4", (1,) * 65, b"\0" * 4), ZanjFormatError, "65 dimensions"),
    "shape a list": (
        _header("{'descr': '<f4', 'fortran_order': False, 'shape': [400]}"),
        ZanjFormatError,
        "not a tuple",
    ),
    "fortran_order an int": (
        _header("{'descr': '<f4', 'fortran_order': 0, 'shape': (400,)}", b"\0" * 1600),
        ZanjFormatError,
        "not a bool",
    ),
    "descr a number": (
        _header("{'descr': 5, 'fortran_order': False, 'shape': (1,)}", b"\0"),
        ZanjFormatError,
        "neither",
    ),
    "descr field name a number": (
        _header("{'descr': [(5, '<i4')], 'fortran_order': False, 'shape': (1,)}", b"\0" * 4),
        ZanjFormatError,
        "field name",
    ),
    "records nested 20 deep": (
        _header(
            "{'descr': " + "[('a', " * 20 + "'<i4'" + ")]" * 20 + ", 'fortran_order': False, 'shape': (1,)}", b"\0" * 4
        ),
        ZanjFormatError,
        "nests records",
    ),
    "shape disagrees with the data": (npy_bytes("<f4", (400,), b"\0" * 1596), ZanjFormatError, "declares 1600"),
    "no elements, dims numpy cannot describe": (
        npy_bytes("<f4", (0, 2**62, 2**62), b""),
        ZanjFormatError,
        "larger than any array",
    ),
}


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("case", list(NPY_CASES))
def test_hostile_npy_headers_are_refused(case: str, mapped: bool, good_file: Path, tmp_path: Path) -> None:
    """The member's header alone must be refused: read without the node's expectations (as a
    storage member of tensor views is), so nothing else can catch it."""
    member, error, fragment = NPY_CASES[case]
    bad = rewrite(good_file, tmp_path / "bad.zanj", members={"w.npy": member})
    with ZANJ().open(bad, mmap=mapped) as opened:
        with pytest.raises(error) as info:
            npy.read_npy(opened.reader.source("w.npy", ("w",)))
    message = str(info.value)
    assert type(info.value) is error and fragment in message, message
    assert str(bad) in message and "'w.npy'" in message and "at w" in message
    # and through an ordinary read, where the node's dtype and shape are checked too
    with pytest.raises(ZanjFormatError, match=r"'w\.npy'"):
        ZANJ().read(bad, mmap=mapped)


def test_npy_header_over_the_header_limit(good_file: Path, tmp_path: Path) -> None:
    member = npy_bytes("<f4", (400,), b"\0" * 1600, header_text="{" + " " * 5000 + "}")
    bad = rewrite(good_file, tmp_path / "bad.zanj", members={"w.npy": member})
    zanj = ZANJ(read_limits=ReadLimits(max_header_bytes=4096))
    refused(bad, ZanjLimitError, "raise ReadLimits.max_header_bytes", where="at w", zanj=zanj)


def test_npy_descr_in_messages_is_cut_and_escaped(good_file: Path, tmp_path: Path) -> None:
    evil = "\x1b[2J" + "B" * 20_000
    member = _header(repr({"descr": evil, "fortran_order": False, "shape": (1,)}), b"\0")
    bad = rewrite(good_file, tmp_path / "bad.zanj", members={"w.npy": member})
    with ZANJ().open(bad) as opened:
        with pytest.raises(ZanjFormatError) as info:
            npy.read_npy(opened.reader.source("w.npy", ("w",)))
    assert len(str(info.value)) < 1000 and "\x1b" not in str(info.value)


# -- what zanj saves is what it reads ---------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [np.zeros(3, dtype="V0"), np.zeros(3, dtype=[]), np.zeros(1, dtype=f"S{MAX_ITEMSIZE + 1}")],
    ids=["V0", "no fields", "over 1 MiB per element"],
)
def test_arrays_reading_would_refuse_are_not_saved(array: Any, zpath: Path) -> None:
    with pytest.raises(ZanjSerializationError, match="reading refuses it"):
        ZANJ().save({"a": array}, zpath)
    assert not zpath.exists()


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["external", "inline"])
def test_elements_of_exactly_the_limit_roundtrip(threshold: int, zpath: Path) -> None:
    noise = np.random.default_rng(0).integers(1, 256, MAX_ITEMSIZE, dtype=np.uint8).tobytes()  # no zip bomb
    array = np.array([noise, b"y\0z"], dtype=f"S{MAX_ITEMSIZE}")
    zanj = ZANJ(external_array_threshold=threshold)
    back = zanj.read(zanj.save({"a": array}, zpath))["a"]
    assert back.dtype == array.dtype and back.tobytes() == array.tobytes()


# -- verify_checksums covers every byte -------------------------------------------------------------


def _numpy_file(path: Path) -> tuple[Path, str, Callable[[Any], Any]]:
    ZANJ().save({"w": np.arange(400, dtype=np.float32)}, path)
    return path, "w.npy", lambda back: np.array(back["w"])


def _torch_external_file(path: Path) -> tuple[Path, str, Callable[[Any], Any]]:
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    ZANJ().save({"w": torch.arange(400, dtype=torch.float32)}, path)
    return path, "w.npy", lambda back: back["w"].numpy().copy()


def _torch_view_file(path: Path) -> tuple[Path, str, Callable[[Any], Any]]:
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    buffer = torch.arange(400, dtype=torch.float32)
    ZANJ().save({"w": buffer[:200], "v": buffer[200:]}, path)
    with zipfile.ZipFile(path) as zf:
        (member,) = [name for name in zf.namelist() if name.endswith(".npy")]
    return path, member, lambda back: torch.cat([back["w"], back["v"]]).numpy().copy()


FILES = {"numpy": _numpy_file, "torch external": _torch_external_file, "torch view": _torch_view_file}


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("region", ["header", "data"])
@pytest.mark.parametrize("kind", list(FILES))
def test_verify_checksums_catches_one_flipped_byte(kind: str, region: str, mapped: bool, tmp_path: Path) -> None:
    good, member, values = FILES[kind](tmp_path / "good.zanj")
    expected = values(ZANJ().read(good))
    if region == "data":
        at = npy_data_start(good, member) + 4 * 123 + 3  # the top byte of element 123
        bad = flipped(good, tmp_path / "bad.zanj", at)
    else:  # a padding space of the .npy header becomes a tab: still a valid header
        at = npy_data_start(good, member) - 2
        assert good.read_bytes()[at : at + 1] == b" "
        bad = flipped(good, tmp_path / "bad.zanj", at, ord("\t"))
    with pytest.raises(ZanjFormatError, match="CRC") as info:
        ZANJ(verify_checksums=True).read(bad, mmap=mapped)
    assert type(info.value) is ZanjFormatError and repr(member) in str(info.value)
    # without verify_checksums the same file reads, corrupted where the byte was flipped
    got = values(ZANJ().read(bad, mmap=mapped))
    if region == "data":
        assert got[123] != expected[123]
        got[123] = expected[123]
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
def test_verify_checksums_covers_rows_a_slice_does_not_read(mapped: bool, good_file: Path, tmp_path: Path) -> None:
    bad = flipped(good_file, tmp_path / "bad.zanj", npy_data_start(good_file, "w.npy") + 4 * 399)
    with ZANJ(verify_checksums=True).open(bad, mmap=mapped) as opened:
        with pytest.raises(ZanjFormatError, match="CRC"):
            opened.slice("w")[0:2]
    with ZANJ().open(bad, mmap=mapped) as opened:
        assert np.array_equal(opened.slice("w")[0:2], [0.0, 1.0])


# -- torch ------------------------------------------------------------------------------------------


@pytest.fixture
def torch() -> Any:
    module = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    return module


def _tensor_node(dtype: str) -> dict[str, Any]:
    return {FORMAT_KEY: "torch.Tensor:array_list_meta", "dtype": dtype, "shape": [1], "n_elements": 1, "data": [1]}


@pytest.mark.parametrize("name", ["__class__", "torch.__class__", "_dynamo", "Tensor", "float32 ", "a" * 100])
def test_forged_tensor_dtype_names_are_refused(name: str, torch: Any, tmp_path: Path) -> None:
    refused(with_node(tmp_path, _tensor_node(name)), ZanjFormatError, "not a torch dtype name")


def test_tensor_dtype_names_in_messages_are_cut_and_escaped(torch: Any, tmp_path: Path) -> None:
    message = refused(with_node(tmp_path, _tensor_node("\x1b[2J" + "x" * 50_000)), ZanjFormatError, "dtype name")
    assert len(message) < 1000 and "\x1b" not in message


@pytest.mark.parametrize("name", ["load", "storage", "onnx", "has_cuda", "set_vital", "qint8"])
def test_unknown_tensor_dtype_names_are_missing_not_looked_up(name: str, torch: Any, tmp_path: Path) -> None:
    """A well-formed name that is no dtype zanj-torch reads: a placeholder with a warning, or
    an error in strict mode; never an attribute of torch (functions, lazily imported modules)."""
    path = with_node(tmp_path, _tensor_node(name))
    with pytest.warns(ZanjMissingPluginWarning, match=f"no dtype '{name}'"):
        back = ZANJ().read(path)
    assert isinstance(back["x"], ZanjUnloaded) and back["kept"] == [1, 2]
    with pytest.raises(ZanjMissingPluginError, match=f"no dtype '{name}'"):
        ZANJ(strict=True).read(path)


def test_dtype_names_from_a_file_import_nothing(torch: Any, tmp_path: Path) -> None:
    """`getattr(torch, "onnx")` imports torch.onnx (torch's module __getattr__), `has_cuda`
    calls a function: a name from a file must reach neither."""
    paths = [with_node(tmp_path / name, _tensor_node(name)) for name in ("onnx", "_dynamo", "has_cuda")]
    code = textwrap.dedent(
        """
        import sys, warnings, torch, zanj_torch.tensors
        from zanj_core import ZANJ
        before = {m for m in sys.modules if m.startswith(("torch.onnx", "torch._dynamo"))}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for path in sys.argv[1:]:
                try:
                    ZANJ().read(path)
                except Exception as exc:
                    print(type(exc).__name__)
        after = {m for m in sys.modules if m.startswith(("torch.onnx", "torch._dynamo"))}
        print("imported", sorted(after - before))
        print("deprecated", [str(w.message) for w in caught if "deprecated" in str(w.message)])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert "imported []" in out and "deprecated []" in out, out


def test_every_table_dtype_name_roundtrips(torch: Any) -> None:
    from zanj_torch import dtypes

    for name, dtype in dtypes.DTYPES.items():
        assert dtypes.NAME_PATTERN.fullmatch(name) and dtypes.from_name(name) is dtype
        assert dtypes.from_name(dtypes.dtype_name(dtype)) is dtype
        assert dtypes.from_name(f"torch.{name}") is dtype


@pytest.fixture
def view_file(torch: Any, tmp_path: Path) -> Path:
    """Two float32 views of one 1000-element storage, stored once as a storage member."""
    buffer = torch.arange(1000, dtype=torch.float32)
    return Path(ZANJ().save({"a": buffer[:10], "b": buffer[10:20]}, tmp_path / "views.zanj"))


VIEW_CASES: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "offset past the end": ({"storage_offset": 995}, ZanjFormatError, "reaches element 1005"),
    "size past the end": ({"shape": [2000]}, ZanjFormatError, "reaches element 2010"),
    "stride past the end": ({"stride": [200]}, ZanjFormatError, "reaches element 1811"),
    "wider dtype past the end": ({"dtype": "float64", "storage_offset": 495}, ZanjFormatError, "holding 500"),
    "empty view far outside": ({"shape": [0], "storage_offset": 10**6}, ZanjFormatError, "reaches element 1000000"),
    "offset past int64": ({"storage_offset": 2**63}, ZanjFormatError, "outside 0..2**63-1"),
    "negative offset": ({"storage_offset": -1}, ZanjFormatError, "outside 0..2**63-1"),
    "bool offset": ({"storage_offset": True}, ZanjFormatError, "storage_offset"),
    "more strides than dims": ({"stride": [1, 1]}, ZanjFormatError, "2 strides for its 1 dimensions"),
    "negative stride": ({"stride": [-1]}, ZanjFormatError, "bad stride"),
    "stride past int64": ({"stride": [2**64]}, ZanjFormatError, "bad stride"),
    "broadcast past int64": ({"shape": [2**62, 4], "stride": [0, 1]}, ZanjFormatError, "2**63"),
}


@pytest.mark.parametrize("case", list(VIEW_CASES))
@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
def test_views_outside_their_storage_are_refused(case: str, mapped: bool, view_file: Path, tmp_path: Path) -> None:
    changes, error, fragment = VIEW_CASES[case]
    bad = rewrite(view_file, tmp_path / "bad.zanj", lambda tree: tree["b"].update(changes))
    refused(bad, error, fragment, where="at b", mmap=mapped)


def test_views_reaching_exactly_the_end_still_read(torch: Any, view_file: Path, tmp_path: Path) -> None:
    ok = rewrite(view_file, tmp_path / "ok.zanj", lambda tree: tree["b"].update(storage_offset=990))
    assert torch.equal(ZANJ().read(ok)["b"], torch.arange(990, 1000, dtype=torch.float32))
    wide = rewrite(
        view_file, tmp_path / "wide.zanj", lambda tree: tree["b"].update(dtype="float64", storage_offset=490)
    )
    assert ZANJ().read(wide)["b"].shape == (10,)


def test_tied_view_pointing_outside_the_tensor_it_shares(torch: Any, tmp_path: Path) -> None:
    """A view over the member of another (external) tensor must stay inside that member."""
    w = torch.randn(8, 4)
    path = Path(ZANJ().save({"a": w, "b": w[2:]}, tmp_path / "tied.zanj"))
    tree = json.loads(zipfile.ZipFile(path).read("__zanj__.json"))
    assert tree["b"][FORMAT_KEY] == "torch.Tensor:view" and tree["b"]["$ref"] == tree["a"]["$ref"]
    bad = rewrite(path, tmp_path / "bad.zanj", lambda tree: tree["b"].update(storage_offset=30))
    refused(bad, ZanjFormatError, "reaches element 54 of a storage holding 32", where="at b")


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("descr", ["|S0", "<U0", "|V0"])
def test_view_storage_member_of_zero_size_dtype(descr: str, mapped: bool, view_file: Path, tmp_path: Path) -> None:
    """A storage member is read without expectations; a zero-size dtype made numpy hand the
    view 4000 bytes of uninitialised memory (a freed "password" was found in it)."""
    with zipfile.ZipFile(view_file) as zf:
        (member,) = [name for name in zf.namelist() if name.endswith(".npy")]
    bad = rewrite(view_file, tmp_path / "bad.zanj", members={member: npy_bytes(descr, (4000,), b"")})
    refused(bad, ZanjFormatError, "zero-size", where="at a", mmap=mapped)


def test_the_file_never_chooses_a_device(torch: Any, tmp_path: Path) -> None:
    """The device a file records is only a key into the reader's map_location dict; a device the
    dict does not name stays on the CPU (it used to be moved to the file's device)."""
    path = Path(ZANJ().save({"t": torch.arange(500.0), "s": torch.ones(2)}, tmp_path / "t.zanj"))
    for device in ("meta", "cuda:7"):
        moved = rewrite(path, tmp_path / "moved.zanj", lambda tree, d=device: [tree[k].update(device=d) for k in "ts"])
        back = ZANJ().read(moved, map_location={"cuda:0": "cpu"})
        assert back["t"].device.type == "cpu" and torch.equal(back["t"], torch.arange(500.0))
        assert back["s"].device.type == "cpu" and torch.equal(back["s"], torch.ones(2))
        assert ZANJ().read(moved)["t"].device.type == "cpu"
    mapped = ZANJ().read(path, map_location={"cpu": "meta"})
    assert mapped["t"].device.type == "meta"  # the reader's own choice is followed
    forged = rewrite(path, tmp_path / "forged.zanj", lambda tree: tree["t"].update(device={"cuda": 1}))
    refused(forged, ZanjFormatError, "records a device", where="at t", map_location={"cuda:0": "cpu"})


def test_requires_grad_on_an_integer_tensor_is_refused(torch: Any, tmp_path: Path) -> None:
    path = Path(ZANJ().save({"t": torch.arange(5)}, tmp_path / "t.zanj"))
    bad = rewrite(path, tmp_path / "bad.zanj", lambda tree: tree["t"].update(requires_grad=True))
    refused(bad, ZanjFormatError, "says it requires grad", where="at t")


def test_tensor_member_in_fortran_order_is_refused_when_mapped(torch: Any, tmp_path: Path) -> None:
    path = Path(ZANJ().save({"t": torch.zeros(20, 30)}, tmp_path / "t.zanj"))
    member = npy_bytes(
        "<f4", (20, 30), b"\0" * 2400, header_text="{'descr': '<f4', 'fortran_order': True, 'shape': (20, 30)}"
    )
    bad = rewrite(path, tmp_path / "bad.zanj", members={"t.npy": member})
    refused(bad, ZanjFormatError, "Fortran-ordered", where="at t", mmap=True)
    assert torch.equal(ZANJ().read(bad)["t"], torch.zeros(20, 30))  # copied: put in C order


def _dirty_the_allocator() -> None:
    """Leave freed numpy buffers full of 0xEE, as a program that handled a secret would."""
    junk = [np.frombuffer(b"\xee" * 4096, np.uint8).copy() for _ in range(64)]
    del junk


@pytest.mark.parametrize(
    ("tag", "shape", "data"),
    [
        ("numpy.ndarray:array_list_meta", [8], [1] * 8),
        ("numpy.generic:array_list_meta", [], 1),
        ("numpy.ndarray:zero_dim", [], 1),
    ],
)
def test_padding_between_fields_comes_back_zeroed(tag: str, shape: Any, data: Any, tmp_path: Path) -> None:
    """numpy builds a structured array from JSON values field by field and leaves the gaps as
    the allocator gave them (a planted secret came back in them): only bytes from the file may
    come back, so the gaps are zeroed."""
    padded = [["a", "|u1"], ["", "|V63"]]  # one field, 63 bytes of padding
    path = with_node(tmp_path, {FORMAT_KEY: tag, "dtype": padded, "shape": shape, "n_elements": 1, "data": data})
    for _ in range(3):
        _dirty_the_allocator()
        value = ZANJ().read(path)["x"]
        raw = np.asarray(value).tobytes()
        assert raw == (b"\x01" + b"\0" * 63) * (len(raw) // 64) and raw


@pytest.mark.skipif(np.finfo(np.longdouble).nmant != 63, reason="x87 80-bit long double only")
@pytest.mark.parametrize("dtype", ["<f16", "<c32"])
def test_long_double_pad_bytes_come_back_zeroed(dtype: str, tmp_path: Path) -> None:
    """An x86 long double holds 10 bytes in 16; built from a JSON number, the other 6 are
    whatever the stack held (a pointer, here). They come back zeroed; the value is unchanged."""
    path = with_node(tmp_path, _node("numpy.ndarray:array_list_meta", dtype, [4], [1.5] * 4))
    array = ZANJ().read(path)["x"]
    assert array.tolist() == [1.5] * 4
    part = 10
    for element in array.view(np.uint8).reshape(4, -1):
        halves = element.reshape(-1, 16)
        assert not halves[:, part:].any()


def test_value_bytes_masks_fields_sub_arrays_and_long_doubles() -> None:
    from zanj_numpy.arrays import value_bytes

    nested = np.dtype({"names": ["a", "b"], "formats": ["u1", ("<u2", (2,))], "offsets": [0, 4], "itemsize": 12})
    assert value_bytes(nested).tolist() == [True, False, False, False, True, True, True, True] + [False] * 4
    assert value_bytes(np.dtype("<f8")).all() and value_bytes(np.dtype("S3")).all()
