"""Lazy access to arrays, tensors and frames: bytes actually read, row slices, descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_lazy import bytes_read_by, needs_proc_io

from zanj_core import ZANJ, ZanjIndexError

np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

MiB = 1 << 20


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The issue's case: 256 MiB in 64 float32 arrays of 4 MiB."""
    rng = np.random.default_rng(0)
    layers = [{"w": rng.standard_normal((1024, 1024), dtype=np.float32)} for _ in range(64)]
    path = ZANJ().save({"layers": layers}, tmp_path_factory.mktemp("big") / "big.zanj")
    return Path(path), layers


@needs_proc_io
@pytest.mark.parametrize("mmap", [False, True])
def test_one_item_of_a_256_mib_file_reads_under_8_mib(big_file: tuple[Path, Any], mmap: bool) -> None:
    path, layers = big_file
    assert path.stat().st_size > 256 * MiB

    def open_and_load() -> Any:
        with ZANJ().open(path, mmap=mmap) as f:
            return f["layers/17/w"]

    array, count = bytes_read_by(open_and_load)
    assert np.array_equal(array, layers[17]["w"]) and array.dtype == np.float32
    assert count < 8 * MiB, f"read {count / MiB:.1f} MiB"
    if not mmap:
        assert count > 4 * MiB  # the item itself went through read system calls


@needs_proc_io
def test_a_row_slice_reads_only_those_rows(big_file: tuple[Path, Any]) -> None:
    path, layers = big_file
    with ZANJ().open(path) as f:
        part = f.slice("layers/3/w")
        assert part.shape == (1024, 1024) and part.dtype == "float32" and len(part) == 1024
        rows, count = bytes_read_by(lambda: part[100:200])
    assert np.array_equal(rows, layers[3]["w"][100:200])
    assert 100 * 4096 <= count < 100 * 4096 + 64 * 1024, count


def test_info_and_tree_describe_arrays(big_file: tuple[Path, Any]) -> None:
    path, _ = big_file
    with ZANJ().open(path) as f:
        info = f.info("layers/0/w")
        assert info.kind == "numpy.ndarray:external" and info.shape == (1024, 1024) and info.dtype == "float32"
        assert info.member == "layers/0/w.npy" and info.member_bytes == 4 * MiB + 128 and info.plugin == "zanj-numpy"
        assert f.info().data_bytes == 64 * (4 * MiB + 128)
        assert len(f.tree()) == 2 + 64 * 2


def _arrays() -> st.SearchStrategy[Any]:
    shapes = st.lists(st.integers(0, 5), min_size=1, max_size=3).map(tuple)
    dtypes = st.sampled_from(["<f4", ">i8", "<c16", "u1", "|b1", "<M8[ns]", "<U3"])
    return st.tuples(shapes, dtypes, st.booleans()).map(
        lambda spec: (
            np.asfortranarray(np.arange(int(np.prod(spec[0]))).reshape(spec[0]).astype(spec[1]))
            if spec[2]
            else np.arange(int(np.prod(spec[0]))).reshape(spec[0]).astype(spec[1])
        )
    )


_index_part = st.one_of(
    st.integers(-6, 5),
    st.builds(
        slice, st.none() | st.integers(-7, 7), st.none() | st.integers(-7, 7), st.sampled_from([None, 1, 2, -1, -3])
    ),
)
_keys = st.one_of(_index_part, st.tuples(_index_part), st.tuples(_index_part, _index_part), st.just(Ellipsis))


@settings(max_examples=80)
@given(array=_arrays(), key=_keys, mmap=st.booleans())
def test_slices_match_numpy_indexing(
    tmp_path_factory: pytest.TempPathFactory, array: Any, key: Any, mmap: bool
) -> None:
    path = ZANJ(external_array_threshold=0).save({"a": array}, tmp_path_factory.mktemp("slice") / "a.zanj")
    try:
        expected = array[key]
    except IndexError:
        expected = None
    with ZANJ().open(path, mmap=mmap) as f:
        if expected is None:
            with pytest.raises(ZanjIndexError):
                f.slice("a")[key]
            return
        got = f.slice("a")[key]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == np.ascontiguousarray(expected).tobytes()


def test_slices_of_inline_arrays_and_scalars(tmp_path: Path) -> None:
    path = ZANJ().save({"small": np.arange(10), "s": np.float32(2)}, tmp_path / "small.zanj")
    with ZANJ().open(path) as f:
        assert np.array_equal(f.slice("small")[2:4], [2, 3])
        with pytest.raises(ZanjIndexError, match="cannot index the item at s"):
            f.slice("s")[0]


def test_torch_tensor_rows(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    weights = torch.arange(4096, dtype=torch.float32).reshape(512, 8).to(torch.bfloat16)
    shared = torch.arange(1000, dtype=torch.float64)
    model = {"w": weights, "p": torch.nn.Parameter(torch.ones(300, 2)), "view": shared[10:800:2], "base": shared}
    path = ZANJ().save(model, tmp_path / "t.zanj")
    with ZANJ().open(path) as f:
        assert f.info("w").dtype == "bfloat16" and f.info("w").shape == (512, 8)
        for key in (7, slice(10, 20), slice(None, None, 5), (slice(3, 6), 2)):
            got = f.slice("w")[key]
            assert got.dtype == torch.bfloat16 and torch.equal(got, weights[key])
        assert torch.equal(f.slice("view")[5:9], shared[10:800:2][5:9])  # a view: loads its storage, then indexes
        assert torch.equal(f.slice("p")[:2], torch.ones(2, 2))
        assert torch.equal(f.slice("w")[0:2], weights[0:2])
    with ZANJ().open(path, mmap=True) as f:
        rows = f.slice("w")[4:6]
        rows += 1  # torch tensors are writable: mapped rows come back as a copy
        assert torch.equal(f["w"][4:6], weights[4:6])


def test_frames_describe_their_columns(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("zanj_pandas")
    frame = pd.DataFrame({"x": np.arange(50), "y": [f"s{i}" for i in range(50)]})
    path = ZANJ().save({"df": frame, "s": frame["x"]}, tmp_path / "f.zanj")
    with ZANJ().open(path) as f:
        info = f.info("df")
        assert info.shape == (50, 2) and info.details["columns"] == ["x", "y"] and info.member == "df.arrow"
        assert info.details["dtypes"][0] == "int64" and f.info("s").shape == (50,) and f.info("s").dtype == "int64"
        pd.testing.assert_frame_equal(f.slice("df")[10:12], frame[10:12])
        pd.testing.assert_series_equal(f.slice("df")["y"], frame["y"])
