"""zanj-numpy: every dtype and layout bit for bit, scalars, object arrays, mmap, bad members."""

from __future__ import annotations

import io
import json
import mmap
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402
from zanj06_corpus import CORPUS  # noqa: E402
from zanj_numpy import npy  # noqa: E402
from zanj_numpy.arrays import without_padding  # noqa: E402

from zanj_core import ZANJ, ZanjFormatError, ZanjSerializationError  # noqa: E402


def assert_same_array(a: Any, b: Any) -> None:
    assert type(b) is np.ndarray
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    # bytes that hold no value (an x86 long double's padding) are saved as zeros, whatever a's held
    assert without_padding(a).tobytes(order="C") == b.tobytes(order="C")


DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "clongdouble",
    ">i2",
    ">i8",
    ">u4",
    ">f4",
    ">f8",
    ">c16",
    "<U7",
    ">U3",
    "S5",
    "V6",
    *[f"datetime64[{u}]" for u in ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")],
    *[f"timedelta64[{u}]" for u in ("D", "s", "ns", "as")],
    [("a", "<i4"), ("b", ">f8", (2,)), ("c", "S3")],
    [("outer", [("x", "<u2"), ("y", "<f4")]), ("flag", "?")],
]


def _sample(dtype: Any, count: int) -> Any:
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=count * dtype.itemsize, dtype=np.uint8)
    array = raw.view(dtype) if dtype.itemsize else np.empty(count, dtype)
    if dtype.kind == "b":
        array = raw[:count].astype(bool)
    if dtype.kind in "Mm":  # avoid NaT-only surprises but keep the full range
        array = rng.integers(-(2**40), 2**40, size=count).astype(dtype)
    if dtype.kind == "U":
        array = np.array(["héllo"[: i % 6] + chr(0x1F600 + i % 5) for i in range(count)], dtype=dtype)
    return array


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("count", [3, 600], ids=["inline", "external"])
def test_every_dtype_roundtrips_bit_for_bit(dtype: Any, count: int, tmp_path: Path) -> None:
    array = _sample(dtype, count)
    back = ZANJ().read(ZANJ().save({"a": array}, tmp_path / "a"))["a"]
    assert_same_array(array, back)


def test_object_dtype_arrays_in_structured_dtypes_are_refused(zpath: Path) -> None:
    array = np.zeros(3, dtype=[("a", "O"), ("b", "i4")])
    with pytest.raises(ZanjSerializationError, match="object fields"):
        ZANJ().save(array, zpath)


LAYOUTS = {
    "0-d": lambda: np.array(3.5, dtype=np.float32),
    "empty": lambda: np.zeros((0,), dtype=np.int16),
    "empty 2-d": lambda: np.zeros((3, 0), dtype=np.float64),
    "fortran": lambda: np.asfortranarray(np.arange(600.0).reshape(20, 30)),
    "transposed view": lambda: np.arange(600, dtype=np.int32).reshape(20, 30).T,
    "strided slice": lambda: np.arange(3000, dtype=np.int64).reshape(30, 100)[::3, 1::7],
    "negative strides": lambda: np.arange(1000.0)[::-1],
    "broadcast view": lambda: np.broadcast_to(np.arange(30.0), (20, 30)),
    "3-d fortran slice": lambda: np.asfortranarray(np.arange(8000.0).reshape(20, 20, 20))[:, ::2, 1:],
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("threshold", [0, 256, 10**9], ids=["all external", "default", "all inline"])
def test_layouts_roundtrip(layout: str, threshold: int, tmp_path: Path) -> None:
    array = LAYOUTS[layout]()
    zanj = ZANJ(external_array_threshold=threshold)
    back = zanj.read(zanj.save([array], tmp_path / "l"))[0]
    assert_same_array(array, back)
    assert back.flags.writeable


def test_nan_payloads_and_negative_zero(zpath: Path) -> None:
    f32 = np.array([0x7FC00001, 0xFF800002, 0x7F800001, 0x80000000], dtype=np.uint32).view(np.float32)
    f16 = np.array([0x7E01, 0xFC01, 0x8000], dtype=np.uint16).view(np.float16)
    f64 = np.array([struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000BAD))[0], -0.0])
    for threshold in (0, 10**9):
        zanj = ZANJ(external_array_threshold=threshold)
        back = zanj.read(zanj.save({"f32": f32, "f16": f16, "f64": f64}, zpath))
        assert_same_array(f32, back["f32"])
        assert_same_array(f16, back["f16"])
        assert_same_array(f64, back["f64"])


def test_inline_arrays_are_readable_json(zpath: Path) -> None:
    ZANJ().save({"a": np.array([[1, 2], [3, 4]], dtype=np.int16), "c": np.array([1 + 2j])}, zpath)
    tree = json.loads(zipfile.ZipFile(zpath).read("__zanj__.json"))
    assert tree["a"] == {
        "__muutils_format__": "numpy.ndarray:array_list_meta",
        "dtype": "int16",
        "shape": [2, 2],
        "n_elements": 4,
        "data": [[1, 2], [3, 4]],
    }
    assert tree["c"]["__muutils_format__"] == "numpy.ndarray:array_b64_meta"


def test_external_node_carries_shape_dtype_and_meta_info(zpath: Path) -> None:
    ZANJ().save({"layers": [{"w": np.zeros((16, 32), dtype=">f4")}]}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        tree = json.loads(zf.read("__zanj__.json"))
        meta = json.loads(zf.read("__zanj_meta__.json"))
        info = zf.getinfo("layers/0/w.npy")
    node = tree["layers"][0]["w"]
    assert node == {
        "__muutils_format__": "numpy.ndarray:external",
        "$ref": "layers/0/w.npy",
        "dtype": ">f4",
        "shape": [16, 32],
        "n_elements": 512,
    }
    described = json.loads(zipfile.ZipFile(zpath).read("__zanj_externals__.json"))
    assert described["layers/0/w.npy"]["item_type"] == "npy"
    assert described["layers/0/w.npy"]["shape"] == [16, 32]
    assert meta["plugins"]["numpy.ndarray:external"]["dist"] == "zanj-numpy"
    assert info.compress_type == zipfile.ZIP_STORED


def test_array_data_is_64_byte_aligned_in_the_file(zpath: Path) -> None:
    arrays = {f"a{i}": np.arange(300 + i * 7, dtype=np.float64) for i in range(6)}
    ZANJ().save(arrays, zpath)
    with zipfile.ZipFile(zpath) as zf, open(zpath, "rb") as fh:
        for name in arrays:
            info = zf.getinfo(f"{name}.npy")
            fh.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", fh.read(4))
            member_start = info.header_offset + 30 + name_len + extra_len
            fh.seek(member_start + 8)
            header_len = struct.unpack("<H", fh.read(2))[0]
            assert member_start % 64 == 0 and (member_start + 10 + header_len) % 64 == 0


@pytest.mark.parametrize(
    "value",
    [
        np.float32(1.5),
        np.float16(-0.0),
        np.float64("nan"),
        np.int8(-3),
        np.uint64(2**64 - 1),
        np.bool_(True),
        np.complex64(1 - 2j),
        np.datetime64("2024-01-02T03:04", "m"),
        np.timedelta64(5, "ns"),
        np.str_("héllo"),
        np.bytes_(b"ab\x00"),
        np.str_("x\x00"),
        np.longdouble("1.1"),
    ],
    ids=repr,
)
def test_numpy_scalars_keep_their_type(value: Any, zpath: Path) -> None:
    back = ZANJ().read(ZANJ().save({"v": value}, zpath))["v"]
    assert type(back) is type(value)
    # np.array of a long double scalar leaves its six pad bytes as the heap had them: compare the rest
    assert without_padding(np.array(back)).tobytes() == without_padding(np.array(value)).tobytes()
    assert back.dtype == value.dtype
    if isinstance(value, (bytes, str)):
        assert back == value and len(back) == len(value)


def test_object_arrays_go_element_by_element(zpath: Path) -> None:
    array = np.empty((2, 2), dtype=object)
    array[0, 0], array[0, 1], array[1, 0], array[1, 1] = {"k": (1, 2)}, "text", None, np.arange(3)
    back = ZANJ().read(ZANJ().save(array, zpath))
    assert back.dtype == object and back.shape == (2, 2)
    assert back[0, 0] == {"k": (1, 2)} and back[0, 1] == "text" and back[1, 0] is None
    assert_same_array(np.arange(3), back[1, 1])
    assert b"pickle" not in zpath.read_bytes()


def test_object_array_with_unsavable_element_names_it(zpath: Path) -> None:
    array = np.array([1, object()], dtype=object)
    with pytest.raises(ZanjSerializationError, match="data/1"):
        ZANJ().save({"arr": array}, zpath)


def test_ndarray_subclasses_are_refused(zpath: Path) -> None:
    with pytest.raises(ZanjSerializationError, match="asarray"):
        ZANJ().save(np.ma.masked_array([1, 2], mask=[0, 1]), zpath)


# -- memory: mmap, one copy, streaming -------------------------------------------------------


def test_mmap_read_is_zero_copy_and_read_only(zpath: Path) -> None:
    array = np.arange(1 << 18, dtype=np.float32).reshape(512, 512)
    ZANJ().save({"w": array, "small": np.arange(3)}, zpath)
    back = ZANJ().read(zpath, mmap=True)
    w = back["w"]
    assert not w.flags.writeable
    base: Any = w
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
    assert_same_array(array, w)
    assert back["small"].flags.writeable  # inline arrays are ordinary arrays


def test_mmap_with_compression_falls_back_to_a_copy(zpath: Path) -> None:
    array = np.arange(5000.0)
    back = ZANJ(compress=True).read(ZANJ(compress=True).save([array], zpath), mmap=True)[0]
    assert back.flags.writeable and back.base is not None
    assert_same_array(array, back)


def test_default_read_copies_once(zpath: Path) -> None:
    array = np.ones((4096, 1024), dtype=np.float64)  # 32 MiB
    ZANJ().save({"a": array}, zpath)
    tracemalloc.start()
    back = ZANJ().read(zpath)["a"]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert_same_array(array, back)
    assert peak < array.nbytes * 1.05 + (1 << 20), f"peak {peak} for {array.nbytes} bytes"


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every read the archive makes of a local file."""
    from zanj_core._container import sources

    reads: list[int] = []
    real = sources.LocalFileSource.read_at

    def counting(self: Any, view: memoryview, offset: int) -> int:
        reads.append(view.nbytes)
        return real(self, view, offset)

    monkeypatch.setattr(sources.LocalFileSource, "read_at", counting)
    return reads


@pytest.mark.parametrize("mapped", [False, True])
def test_each_array_header_comes_with_its_local_header(
    mapped: bool, zpath: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One small read gives a member's local header and its .npy header; the data is then read
    without a second look at the header. A mapped member's headers come from the map (the page
    its data starts in), so a mapped load makes no read at all."""
    arrays = {f"a{i}": np.full((64, 64), i, dtype=np.float32) for i in range(8)}
    ZANJ().save(arrays, zpath)
    reads = _count_reads(monkeypatch)
    with ZANJ().open(zpath, mmap=mapped) as opened:
        before = len(reads)
        back = opened.load()
        loading = reads[before:]
    for name, array in arrays.items():
        assert_same_array(array, back[name])
    data_reads = [n for n in loading if n == arrays["a0"].nbytes]
    assert len(data_reads) == (0 if mapped else 8)
    assert len(loading) - len(data_reads) == (0 if mapped else 8), loading


def _with_member_replaced(path: Path, out: Path, name: str, data: bytes, local_extra: bytes = b"") -> Path:
    """`path` rewritten by zipfile, member `name` holding `data` stored with `local_extra`."""
    with zipfile.ZipFile(path) as zf:
        contents = {n: zf.read(n) for n in zf.namelist()}
    contents[name] = data
    with zipfile.ZipFile(out, "w") as zf:
        for member, payload in contents.items():
            info = zipfile.ZipInfo(member)
            if member == name:
                info.extra = local_extra
            zf.writestr(info, payload)
    return out


@pytest.mark.parametrize("mapped", [False, True])
def test_headers_longer_than_the_read_ahead_and_long_extra_fields(
    mapped: bool, good_file: Path, tmp_path: Path
) -> None:
    """A member whose data starts far past its local header (a long extra field), or whose
    .npy header is longer than what is read with the local header, reads the rest on demand."""
    from zanj_core._container.directory import MEMBER_HEAD_BYTES

    wide = np.zeros(3, dtype=[(f"field_with_a_long_name_{i}", "<f8") for i in range(12)])
    wide["field_with_a_long_name_5"] = [1.5, -0.0, np.inf]
    buffer = io.BytesIO()
    np.save(buffer, wide)
    assert buffer.getvalue().index(b"\n") > MEMBER_HEAD_BYTES
    plain = io.BytesIO()
    np.save(plain, np.arange(400, dtype=np.float32))
    extra = struct.pack("<HH", 0xCAFE, 1000) + bytes(1000)
    for local_extra in (b"", extra):
        out = _with_member_replaced(good_file, tmp_path / "plain.zanj", "w.npy", plain.getvalue(), local_extra)
        assert_same_array(np.arange(400, dtype=np.float32), ZANJ().read(out, mmap=mapped)["w"])
        out = _with_member_replaced(good_file, tmp_path / "wide.zanj", "w.npy", buffer.getvalue(), local_extra)
        with ZANJ().open(out, mmap=mapped) as opened:  # the node says float32: read the member as it is
            assert_same_array(wide, npy.read_npy(opened.reader.source("w.npy", ("w",))))


def test_large_read_buffers_are_aligned_and_advised_for_huge_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """From 2 MiB, a fresh read buffer starts on a 2 MiB boundary and its pages are advised for
    huge pages (numpy advises from 4 MiB, but malloc's memory is not so aligned); the slack
    around it is advised against them. Smaller buffers make no system call."""
    from zanj_numpy import memory

    calls: list[tuple[int, int, int]] = []
    monkeypatch.setattr(memory, "_madvise", lambda: lambda *args: calls.append(args) or 0)
    huge = memory.HUGE_PAGE_BYTES
    for nbytes in (huge, 3 * huge // 2 + 12345, 2 * huge):
        calls.clear()
        buffer = memory.empty_bytes(nbytes)
        assert buffer.dtype == np.uint8 and buffer.shape == (nbytes,) and buffer.flags.writeable
        start = buffer.__array_interface__["data"][0]
        assert start % huge == 0
        block = buffer.base
        assert isinstance(block, np.ndarray)
        low = block.__array_interface__["data"][0]
        high = low + block.nbytes
        assert calls[0] == (start, nbytes // 4096 * 4096, 14)
        for address, length, advice in calls[1:]:
            assert advice == 15 and address % 4096 == 0 and length > 0
            assert low <= address and address + length <= high
            assert address + length <= start or address >= start + nbytes  # only the slack
        buffer[:] = 1  # the memory is the caller's to fill
    calls.clear()
    assert memory.empty_bytes(huge - 1).base is None
    assert calls == []


def test_huge_page_advice_follows_numpys_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from zanj_numpy import memory

    memory._madvise.cache_clear()
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "0")
    try:
        assert memory._madvise() is None
        memory._madvise.cache_clear()
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        function = memory._madvise()
        if sys.platform.startswith("linux"):
            assert function is not None
            buffer = memory.empty_bytes(3 << 20)  # the real call, on real memory
            buffer[:] = 7
            assert int(buffer.sum()) == 7 * (3 << 20)
        else:
            assert function is None
    finally:
        memory._madvise.cache_clear()


def test_save_streams_without_copying(zpath: Path) -> None:
    array = np.ones((4096, 1024), dtype=np.float64)  # 32 MiB
    tracemalloc.start()
    ZANJ().save({"a": array, "t": array.T}, zpath)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 << 20, f"saving allocated {peak} bytes"


def test_noncontiguous_save_copies_in_bounded_chunks(zpath: Path) -> None:
    array = np.ones((4096, 2048), dtype=np.float64)[:, ::2]  # 32 MiB, strided
    tracemalloc.start()
    ZANJ().save({"a": array}, zpath)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < npy.WRITE_CHUNK_BYTES * 1.5, f"saving allocated {peak} bytes"
    assert_same_array(array, ZANJ().read(zpath)["a"])


# -- hostile and broken members --------------------------------------------------------------


def _rewrite(path: Path, out: Path, members: dict[str, bytes], tree_edit: Any = None) -> Path:
    with zipfile.ZipFile(path) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    if tree_edit is not None:
        tree = json.loads(contents["__zanj__.json"])
        tree_edit(tree)
        contents["__zanj__.json"] = json.dumps(tree).encode()
    contents.update(members)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return out


def _npy_bytes(header: dict[str, Any] | str, payload: bytes = b"", version: int = 1) -> bytes:
    text = (header if isinstance(header, str) else repr(header)).encode("latin1") + b"\n"
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + payload


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return Path(ZANJ().save({"w": np.arange(400, dtype=np.float32)}, tmp_path / "good"))


BAD_MEMBERS: dict[str, tuple[bytes, str]] = {
    "declares 16 GiB in a few bytes": (
        _npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (1 << 32,)}, b"\0" * 64),
        "declares",
    ),
    "object dtype with pickle payload": (
        _npy_bytes(
            {"descr": "|O", "fortran_order": False, "shape": (400,)},
            b"\x80\x04cposix\nsystem\n(S'touch /tmp/zanj-pwned'\ntR.",
        ),
        "pickle",
    ),
    "header longer than member": (b"\x93NUMPY\x01\x00\xff\xff{'descr'", "does not fit"),
    "not npy": (b"PK\x03\x04 hello", "magic"),
    "unparsable header": (_npy_bytes("{'descr': <f4, fortran_order: __import__('os')}"), "unparsable"),
    "extra header keys": (_npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (400,), "x": 1}), "exactly"),
    "negative shape": (_npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (-1,)}), "non-negative"),
    "unknown version": (b"\x93NUMPY\x07\x00" + b"\0" * 40, "version"),
    "shape disagrees with node": (
        _npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (20, 20)}, b"\0" * 1600),
        "disagrees",
    ),
    "the header zanj writes, with data cut short": (
        __import__("zanj_numpy.npy", fromlist=["build_header"]).build_header(np.dtype("<f4"), (400,), False)
        + b"\0" * 1596,
        "declares",
    ),
    "dtype disagrees with node": (
        _npy_bytes({"descr": "<i4", "fortran_order": False, "shape": (400,)}, b"\0" * 1600),
        "disagrees",
    ),
}


@pytest.mark.parametrize("case", list(BAD_MEMBERS))
def test_bad_npy_members_give_errors_naming_member_and_path(case: str, good_file: Path, tmp_path: Path) -> None:
    member, needle = BAD_MEMBERS[case]
    bad = _rewrite(good_file, tmp_path / "bad.zanj", {"w.npy": member})
    for mapped in (False, True):
        tracemalloc.start()
        with pytest.raises(ZanjFormatError) as info:
            ZANJ().read(bad, mmap=mapped)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        message = str(info.value)
        assert "'w.npy'" in message and "at w" in message and needle in message
        assert peak < 1 << 20
    assert not Path("/tmp/zanj-pwned").exists()


# -- what reads and saves keep between arrays ---------------------------------------------------


def _npy_file_bytes(array: Any) -> bytes:
    buffer = io.BytesIO()
    npy.write_npy(npy.prepare(array), buffer)
    return buffer.getvalue()


def test_kept_headers_follow_dtype_shape_and_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """`build_header` keeps each header per (dtype, shape, order): every array still gets the
    header of its own byte order, rank and memory order, whether its header was kept or not,
    and after the kept ones are dropped (a tiny limit drops them every few arrays)."""
    arrays = []
    for shape in [(12,), (3, 4), (4, 3), (2, 3, 2), ()]:
        for dtype in ("<f4", ">f4", "<i4", "<i8", "?", "<M8[ns]", "<M8[us]", "S4", "U1"):
            array = np.arange(int(np.prod(shape)), dtype=np.int64).astype(dtype).reshape(shape)
            arrays += [array, np.asfortranarray(array)]
    for limit in (npy.HEADERS_KEPT, 3):
        monkeypatch.setattr(npy, "HEADERS_KEPT", limit)
        npy._HEADERS.clear()
        for array in arrays * 2:
            written = _npy_file_bytes(array)
            back = np.load(io.BytesIO(written), allow_pickle=False)
            assert_same_array(array, back)
            assert np.isfortran(back) == (array.ndim > 1 and np.isfortran(array))
        assert len(npy._HEADERS) <= limit


def test_headers_of_dtypes_with_metadata_are_built_every_time() -> None:
    """numpy drops a dtype's metadata from a .npy, with a warning; a kept header of the equal
    plain dtype must not silence it."""
    plain = np.zeros(5)
    tagged = plain.astype(np.dtype(np.float64, metadata={"unit": "m"}))
    npy.build_header(plain.dtype, plain.shape, False)
    for _ in range(2):
        with pytest.warns(UserWarning, match="metadata"):
            header = npy.build_header(tagged.dtype, tagged.shape, False)
        assert header == npy.build_header(plain.dtype, plain.shape, False)


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
def test_a_kept_header_vouches_only_for_members_that_start_with_it(
    mapped: bool, good_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read keeps the parse of the header zanj writes for each (dtype, shape) and reuses it
    for a member that starts with exactly those bytes and is exactly that long. With it kept,
    a member one element short is still refused, numpy's own header for the same array is
    parsed and read, and a header of another dtype is still found to disagree."""
    monkeypatch.setattr(npy, "WRITTEN_KEPT", 2)
    monkeypatch.setattr(npy, "_WRITTEN", {})  # what earlier tests in this process kept
    expected = np.arange(400, dtype=np.float32)
    assert_same_array(expected, ZANJ().read(good_file, mmap=mapped)["w"])
    header = npy.build_header(np.dtype("<f4"), (400,), False)
    short = _rewrite(good_file, tmp_path / "short.zanj", {"w.npy": header + expected.tobytes()[:-4]})
    with pytest.raises(ZanjFormatError, match="declares 1600 data bytes"):
        ZANJ().read(short, mmap=mapped)
    numpy_saved = io.BytesIO()
    np.save(numpy_saved, expected)
    assert not numpy_saved.getvalue().startswith(header)
    other = _rewrite(good_file, tmp_path / "numpy.zanj", {"w.npy": numpy_saved.getvalue()})
    assert_same_array(expected, ZANJ().read(other, mmap=mapped)["w"])
    as_ints = _rewrite(good_file, tmp_path / "ints.zanj", {"w.npy": _npy_file_bytes(expected.view("<i4"))})
    with pytest.raises(ZanjFormatError, match="disagrees"):
        ZANJ().read(as_ints, mmap=mapped)
    for shape in [(1,), (2,), (3,), (4,)]:  # past the limit: what is kept is dropped, reads go on
        array = np.ones(shape, dtype=np.float32)
        path = ZANJ(external_array_threshold=0).save({"w": array}, tmp_path / "more.zanj")
        assert_same_array(array, ZANJ().read(path, mmap=mapped)["w"])
    assert len(npy._WRITTEN) <= 2


def test_kept_dtypes_never_let_a_refused_dtype_through(good_file: Path, tmp_path: Path) -> None:
    """Dtype strings that passed `check_dtype` are kept, and so are plain dtypes that passed;
    an object dtype, a zero-size one or an over-wide one is refused however many others passed,
    and strings from files keep the table bounded."""
    from zanj_numpy import checks, dtype_names

    assert_same_array(np.arange(400, dtype=np.float32), ZANJ().read(good_file)["w"])
    for name in [f"S{n}" for n in range(1, dtype_names.DTYPES_KEPT + 50)]:
        assert dtype_names.dtype_from_json(name) == np.dtype(name)
    assert len(dtype_names._FROM_JSON) <= dtype_names.DTYPES_KEPT and len(checks._PLAIN_PASSED) <= checks._PLAIN_KEPT
    for dtype, needle in [("object", "object dtype"), ("S0", "zero-size"), (f"V{checks.MAX_ITEMSIZE + 1}", "limit")]:
        with pytest.raises(checks.Refused, match=needle):
            checks.check_dtype(np.dtype(dtype))
        bad = _rewrite(good_file, tmp_path / "bad.zanj", {}, lambda t, d=dtype: t["w"].update(dtype=d))
        with pytest.raises(ZanjFormatError, match=r"at w"):
            ZANJ().read(bad)
    to_json = dtype_names.dtype_to_json
    assert to_json(np.dtype(">f4")) == ">f4" and to_json(np.dtype("<f4")) == "float32"
    assert to_json(np.dtype(">f4")) == ">f4"  # kept names are per dtype, byte order included


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t["w"].update(dtype="object"), "object dtype"),
        (lambda t: t["w"].update(dtype="not-a-dtype"), "unusable dtype"),
        (lambda t: t["w"].update(shape=[-4]), "bad shape"),
        (lambda t: t["w"].update(shape="400"), "shape"),
        (lambda t: t["w"].update({"$ref": "missing.npy"}), "lacks"),
    ],
)
def test_bad_external_nodes(edit: Any, needle: str, good_file: Path, tmp_path: Path) -> None:
    bad = _rewrite(good_file, tmp_path / "bad.zanj", {}, edit)
    with pytest.raises(ZanjFormatError, match=needle):
        ZANJ().read(bad)


@pytest.mark.parametrize(
    "node",
    [
        {"__muutils_format__": "numpy.ndarray:array_b64_meta", "dtype": "float32", "shape": [4], "data": "AAAA"},
        {"__muutils_format__": "numpy.ndarray:array_list_meta", "dtype": "int8", "shape": [2], "data": [1, 2, 3]},
        {"__muutils_format__": "numpy.ndarray:array_list_meta", "dtype": "int8", "shape": [1], "data": [1000]},
        {"__muutils_format__": "numpy.ndarray:array_list_meta", "dtype": "|O", "shape": [1], "data": [1]},
        {"__muutils_format__": "numpy.ndarray:array_hex_meta", "dtype": "int8", "shape": [1], "data": "zz"},
        {"__muutils_format__": "numpy.generic:array_list_meta", "dtype": "int8", "shape": [2], "data": [1, 2]},
    ],
)
def test_bad_inline_nodes(node: dict[str, Any], zpath: Path) -> None:
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps({"x": node}))
    with pytest.raises(ZanjFormatError, match=r"at x"):
        ZANJ().read(zpath)


# -- zanj 0.6 files ----------------------------------------------------------------------------


def test_reads_zanj06_arrays() -> None:
    back = ZANJ().read(CORPUS / "arrays.zanj")
    assert_same_array(np.arange(10.0), back["small"])
    assert_same_array(np.arange(1000, dtype=np.int32).reshape(10, 100), back["big"])


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            {
                "__muutils_format__": "numpy.ndarray:zero_dim",
                "data": 2.5,
                "dtype": "float64",
                "shape": [],
                "n_elements": 1,
            },
            np.array(2.5),
        ),
        (
            {
                "__muutils_format__": "numpy.ndarray:array_hex_meta",
                "data": "0100000002000000",
                "dtype": "int32",
                "shape": [2],
                "n_elements": 2,
            },
            np.array([1, 2], dtype=np.int32),
        ),
        (
            {
                "__muutils_format__": "numpy.ndarray:array_b64_meta",
                "data": "AQI=",
                "dtype": "uint8",
                "shape": [2, 1],
                "n_elements": 2,
            },
            np.array([[1], [2]], dtype=np.uint8),
        ),
        (
            {
                "__muutils_format__": "numpy.ndarray:array_list_meta",
                "data": [float("nan"), 1.0],
                "dtype": "float32",
                "shape": [2],
                "n_elements": 2,
            },
            np.array([np.nan, 1.0], dtype=np.float32),
        ),
    ],
)
def test_reads_zanj06_inline_forms(node: dict[str, Any], expected: Any, zpath: Path) -> None:
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps([node]))
    assert_same_array(expected, ZANJ().read(zpath)[0])


# -- laziness and hypothesis ---------------------------------------------------------------------


def test_numpy_is_not_imported_for_files_without_arrays(tmp_path: Path) -> None:
    code = (
        "import sys, zanj_core, os\n"
        f"p = zanj_core.ZANJ().save({{'a': [1, 2], 'b': b'x' * 500}}, {str(tmp_path / 'x')!r})\n"
        "zanj_core.ZANJ().read(p)\n"
        "print('numpy' in sys.modules, 'zanj_numpy.plugin' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_public_api_for_other_plugins_loads_numpy_on_first_access() -> None:
    """zanj-numpy's package root exports what plugins storing arrays its way need (zanj-torch),
    lazily: importing the package or its entry point imports no numpy."""
    code = (
        "import sys, zanj_numpy, zanj_numpy.plugin\n"
        "print('numpy' in sys.modules)\n"
        "from zanj_numpy import read_npy\n"
        "print('numpy' in sys.modules, read_npy.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "zanj_numpy.npy"]
    import zanj_numpy

    missing = [name for name in zanj_numpy.__all__ if getattr(zanj_numpy, name, None) is None]
    assert missing == [] and set(zanj_numpy.__all__) <= set(dir(zanj_numpy))
    with pytest.raises(AttributeError, match="has no attribute 'npy_magic'"):
        zanj_numpy.npy_magic  # noqa: B018


@given(
    hnp.arrays(
        dtype=hnp.scalar_dtypes()
        | hnp.byte_string_dtypes()
        | hnp.unicode_string_dtypes()
        | hnp.array_dtypes(max_size=3)
        | st.sampled_from([np.dtype(">f4"), np.dtype(">i8"), np.dtype(">c8")]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
    ),
    st.sampled_from(["C", "F", "T", "slice"]),
    st.sampled_from([0, 256]),
)
def test_hypothesis_arrays(tmp_path_factory: pytest.TempPathFactory, array: Any, layout: str, threshold: int) -> None:
    if layout == "F":
        array = np.asfortranarray(array)
    elif layout == "T":
        array = array.T
    elif layout == "slice" and array.ndim:
        array = array[::2]
    path = tmp_path_factory.mktemp("h") / "a.zanj"
    zanj = ZANJ(external_array_threshold=threshold)
    back = zanj.read(zanj.save({"a": array}, path))["a"]
    assert_same_array(array, back)


@pytest.mark.parametrize("mapped", [False, True])
def test_members_with_headers_zanj_did_not_write_still_read(mapped: bool, good_file: Path, tmp_path: Path) -> None:
    """np.save pads headers differently (zanj 0.6 files): such members are parsed, not matched."""
    buffer = io.BytesIO()
    np.save(buffer, np.arange(400, dtype=np.float32))
    other = _rewrite(good_file, tmp_path / "np_save.zanj", {"w.npy": buffer.getvalue()})
    back = ZANJ().read(other, mmap=mapped)
    assert np.array_equal(back["w"], np.arange(400, dtype=np.float32))


@pytest.mark.parametrize("mode", ["list", "array_list_meta", "array_hex_meta", "array_b64_meta"])
def test_reads_zanj06_array_modes(mode: str) -> None:
    """Every inline form zanj 0.6 writes (its internal_array_mode), with a 0-d and an external array;
    mirrors array_modes_object() in tests/data/zanj06/make_corpus.py."""
    back = ZANJ().read(CORPUS / f"arrays_{mode}.zanj")
    expected = {
        "f": np.arange(6.0).reshape(2, 3),
        "i": np.arange(4, dtype=np.int16),
        "u": np.array([[1], [2]], dtype=np.uint8),
    }
    for key, array in expected.items():
        if mode == "list":  # zanj 0.6 writes plain nested lists in this mode, and reads them as lists
            assert back[key] == array.tolist()
        else:
            assert_same_array(array, back[key])
    if mode == "list":
        assert back["zero_dim"] == 2.5
    else:
        assert_same_array(np.array(2.5), back["zero_dim"])
    assert_same_array(np.arange(300, dtype=np.float32), back["external"])


def test_reads_zanj06_stored_arrays() -> None:
    back = ZANJ().read(CORPUS / "arrays_stored.zanj", mmap=True)
    assert_same_array(np.arange(10.0), back["small"])
    assert_same_array(np.arange(1000, dtype=np.int32).reshape(10, 100), back["big"])
