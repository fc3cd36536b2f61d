"""Forged checkpoint folders from an outside attack on `zanj_torch.distributed`: each one made a
read allocate without bound, take quadratic time, block or follow a link out of the folder.
Each now ends quickly in a `ZanjError` naming the file, and what the attack left intact reads."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")
if not torch.distributed.is_available():  # pragma: no cover - builds without distributed
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import torch.distributed.checkpoint as dcp  # noqa: E402
from distributed_workers import zanj_error_of  # noqa: E402
from torch.distributed.checkpoint.metadata import ChunkStorageMetadata, TensorProperties, TensorStorageMetadata  # noqa: E402
from zanj_torch.distributed import ZanjStorageReader, ZanjStorageWriter, consolidate, list_checkpoint  # noqa: E402
from zanj_torch.distributed.coverage import check_coverage  # noqa: E402

from zanj_core import ZANJ, ReadLimits  # noqa: E402
from zanj_core.errors import ZanjFormatError, ZanjLimitError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled:UserWarning")
INDEX = "zanj_checkpoint.json"
BIG = np.zeros(1 << 20, np.uint8)
BIG[::8] = np.random.default_rng(0).integers(0, 256, BIG[::8].size)  # 1 MiB, deflating about 6x
SMALL = ReadLimits(read_budget_floor=4 << 20, read_budget_ratio=4)
"""Read limits that make a budget run out on a few MiB, so the tests stay small."""


def state() -> dict[str, Any]:
    return {
        "w": torch.arange(24, dtype=torch.float32).reshape(6, 4),
        "step": 7,
        "big": BIG,
        "cfg": {"lr": 0.1, "groups": [{"n": 1}, {"n": 2}]},
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dcp.save(state(), storage_writer=ZanjStorageWriter(tmp_path / "ckpt", zanj=ZANJ(compress=True)))
    return tmp_path / "ckpt"


def edit_index(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    document = json.loads((folder / INDEX).read_text())
    change(document)
    (folder / INDEX).write_text(json.dumps(document))


def rank_file(folder: Path) -> Path:
    (name,) = json.loads((folder / INDEX).read_text())["files"]
    return folder / name


@contextlib.contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail the test (instead of hanging it) if the block takes longer than `seconds`."""

    def expire(*_: Any) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- finding 2: one stored value named by many entries ----------------------------------------


def _fan_out(document: dict[str, Any], copies: int) -> None:
    big = document["entries"]["big"]
    for k in range(copies):
        document["entries"][f"copy{k}"] = dict(big)


def test_consolidate_charges_every_use_of_a_value_to_one_budget(folder: Path, tmp_path: Path) -> None:
    """A value deflated in its rank file is inflated for each use, and written to the output for
    each use even when mapped: both count against one budget for the whole consolidation."""
    out = consolidate(folder, tmp_path / "one.zanj", zanj=ZANJ(read_limits=SMALL))
    assert np.array_equal(ZANJ().read(out)["big"], state()["big"])
    edit_index(folder, lambda d: _fan_out(d, 16))  # 16 MiB of values from a 200 KiB file
    error = zanj_error_of(lambda: consolidate(folder, tmp_path / "fan.zanj", zanj=ZANJ(read_limits=SMALL)))
    assert isinstance(error, ZanjLimitError) and "consolidating" in str(error)
    assert not (tmp_path / "fan.zanj").exists()
    plain = tmp_path / "plain"  # stored, not deflated: a mapped read costs no memory, the output does
    dcp.save(state(), storage_writer=ZanjStorageWriter(plain))
    edit_index(plain, lambda d: _fan_out(d, 16))
    with pytest.raises(ZanjLimitError, match="consolidating"):
        consolidate(plain, tmp_path / "fan.zanj", zanj=ZANJ(read_limits=SMALL))


def test_dcp_load_charges_every_value_it_places_to_one_budget(folder: Path) -> None:
    edit_index(folder, lambda d: _fan_out(d, 16))
    target: dict[str, Any] = {"big": None, **{f"copy{k}": None for k in range(16)}}
    reader = ZanjStorageReader(folder, zanj=ZANJ(read_limits=SMALL))
    assert isinstance(zanj_error_of(lambda: dcp.load(target, storage_reader=reader)), ZanjLimitError)
    few: dict[str, Any] = {"big": None, "copy0": None}
    dcp.load(few, storage_reader=ZanjStorageReader(folder, zanj=ZANJ(read_limits=SMALL)))
    assert np.array_equal(few["copy0"], state()["big"])


# -- finding 3: the coverage check in n log n ------------------------------------------------


def _entry(shape: tuple[int, ...], boxes: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> TensorStorageMetadata:
    chunks = [ChunkStorageMetadata(offsets=torch.Size(o), sizes=torch.Size(s)) for o, s in boxes]
    return TensorStorageMetadata(TensorProperties(dtype=torch.float32), torch.Size(shape), chunks)


def test_coverage_of_many_chunks_is_fast(folder: Path, tmp_path: Path) -> None:
    count = 20_000  # pairwise: 2 * 10**8 comparisons, minutes
    with within(10):
        check_coverage("b", _entry((count,), [((k,), (1,)) for k in range(count)]), INDEX)
        grid = [((i, j), (1, 1)) for i in range(100) for j in range(100)]
        check_coverage("g", _entry((100, 100), grid), INDEX)
        with pytest.raises(ZanjFormatError, match="overlap"):  # one element twice, one never
            check_coverage("g", _entry((100, 100), [*grid[:-1], ((0, 0), (1, 1))]), INDEX)
        cuts = {0: [0, 50, 100, 150], 1: [0, 25, 75, 125, 150]}  # a brick wall: not a grid
        wall = [((i, lo), (1, hi - lo)) for i in range(100) for lo, hi in itertools.pairwise(cuts[i % 2])]
        check_coverage("wall", _entry((100, 150), wall), INDEX)
        with pytest.raises(ZanjFormatError, match="overlap"):
            check_coverage("wall", _entry((100, 150), [*wall[:-1], ((99, 0), (1, 25))]), INDEX)
        cells = [((a, b, c, d), (1, 1, 1, 1)) for a, b, c, d in itertools.product(range(4), repeat=4)]
        check_coverage("grid4", _entry((4, 4, 4, 4), cells), INDEX)  # 4 split dimensions: a grid
        merged = [((0, 0, 0, 0), (2, 1, 1, 1)), *[c for c in cells if c[0] not in ((0, 0, 0, 0), (1, 0, 0, 0))]]
        with pytest.raises(ZanjLimitError, match="not a grid"):  # a valid tiling, but not a grid
            check_coverage("grid4", _entry((4, 4, 4, 4), merged), INDEX)

    def chunked(document: dict[str, Any]) -> None:
        w = document["entries"]["w"]
        w["chunks"] = [{**w["chunks"][0], "offsets": [k // 4, k % 4], "sizes": [1, 1]} for k in range(24)]

    edit_index(folder, chunked)  # then each chunk disagrees with the rank file: found before allocating
    with pytest.raises(ZanjFormatError, match="disagree"):
        consolidate(folder, tmp_path / "out.zanj")


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    data=st.data(),
)
def test_coverage_check_agrees_with_counting_every_element(shape: list[int], data: st.DataObject) -> None:
    """Any chunks, counted element by element: the check passes exactly when each is covered once."""
    box = st.tuples(*[st.integers(0, d) for d in shape]).flatmap(
        lambda lo: st.tuples(st.just(lo), st.tuples(*[st.integers(0, d - o) for o, d in zip(lo, shape, strict=True)]))
    )
    boxes = data.draw(st.lists(box, max_size=6))
    counts = np.zeros(shape, dtype=np.int64)
    for offsets, sizes in boxes:
        counts[tuple(slice(o, o + s) for o, s in zip(offsets, sizes, strict=True))] += 1
    try:
        check_coverage("t", _entry(tuple(shape), boxes), INDEX)
    except ZanjFormatError:
        assert not (counts == 1).all()
    else:
        assert (counts == 1).all()


# -- finding 4: offsets crafted to share a hash value ----------------------------------------


def test_offsets_sharing_a_hash_value_are_refused_quickly(folder: Path) -> None:
    """Ints `k + n(2**61 - 1)` share a hash, and tuples of them: 12 dimensions of 2**62 gave 4,096
    chunks of one hash. Such a shape is now over the size bound; under it, one dimension of a
    uint8 tensor still holds three such offsets, refused as sharing a hash."""
    dims, m = 12, 2**61 - 1

    def collide(document: dict[str, Any], dtype: str, offsets: list[tuple[int, ...]]) -> None:
        first, ndim = document["entries"]["w"]["chunks"][0], len(offsets[0])
        chunks = [{**first, "offsets": list(o), "sizes": [0] * ndim} for o in offsets]
        document["entries"]["w"] = {"kind": "tensor", "dtype": dtype, "shape": [2**62 - 1] * ndim, "chunks": chunks}

    edit_index(folder, lambda d: collide(d, "float32", list(itertools.product((0, m), repeat=dims))))
    with within(10), pytest.raises(ZanjFormatError, match="over 2\\*\\*62 bytes"):
        list_checkpoint(folder)
    edit_index(folder, lambda d: collide(d, "uint8", [(0,), (m,), (2 * m,)]))
    with within(10), pytest.raises(ZanjFormatError, match="share a hash value") as caught:
        list_checkpoint(folder)
    assert INDEX in str(caught.value)


def test_a_chunk_named_twice_is_refused(folder: Path) -> None:
    edit_index(folder, lambda d: d["entries"]["w"]["chunks"].append(d["entries"]["w"]["chunks"][0]))
    with pytest.raises(ZanjFormatError, match="names a chunk twice"):
        ZanjStorageReader(folder)


# -- finding 5 and 10: files that are not regular files of the folder ------------------------


def test_an_index_that_is_a_fifo_does_not_block(folder: Path) -> None:
    (folder / INDEX).unlink()
    os.mkfifo(folder / INDEX)
    with within(10):
        for action in (lambda: ZanjStorageReader(folder), lambda: list_checkpoint(folder)):
            with pytest.raises(ZanjFormatError, match="not a regular file") as caught:
                action()
            assert str(folder / INDEX) in str(caught.value)


def test_a_rank_file_that_is_a_fifo_does_not_block(folder: Path, tmp_path: Path) -> None:
    rank = rank_file(folder)
    rank.unlink()
    os.mkfifo(rank)
    with within(10), pytest.raises(ZanjFormatError, match="not a regular file") as caught:
        consolidate(folder, tmp_path / "out.zanj")
    assert str(rank) in str(caught.value)


@pytest.mark.parametrize("which", ["rank file", "index"])
def test_a_symlink_out_of_the_folder_is_refused(folder: Path, tmp_path: Path, which: str) -> None:
    linked = rank_file(folder) if which == "rank file" else folder / INDEX
    outside = tmp_path / "elsewhere"
    linked.rename(outside)
    linked.symlink_to(outside)
    for action in (
        lambda: consolidate(folder, tmp_path / "out.zanj"),
        lambda: dcp.load({"w": torch.zeros(6, 4)}, storage_reader=ZanjStorageReader(folder)),
    ):
        with pytest.raises(ZanjFormatError, match="symbolic link") as caught:
            action()
        assert str(linked) in str(caught.value)
    assert not (tmp_path / "out.zanj").exists()


# -- finding 6: global shapes and nesting paths ----------------------------------------------


def test_a_huge_global_shape_is_charged_before_it_is_allocated(folder: Path, tmp_path: Path) -> None:
    def huge(document: dict[str, Any]) -> None:
        w = document["entries"]["w"]
        w["shape"] = w["chunks"][0]["sizes"] = [2**20, 2**20]  # 4 TiB of float32

    edit_index(folder, huge)
    with mock.patch.object(torch, "empty", side_effect=AssertionError("allocated")):
        with pytest.raises(ZanjLimitError, match="global tensor 'w'"):
            consolidate(folder, tmp_path / "out.zanj")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (["x", 10**12], "list slots"),
        (["x", 10**4000], "list slots"),
        ([], "not a list of 1 to"),
        (["a", -5], "negative list index"),
        ([3, "a"], "starting with a list index"),
        (["w", "z"], "runs into the value"),  # "w" is a tensor's place
        (["cfg", 0], "other kind of key"),  # "cfg" holds dict keys
        (["cfg", "lr"], "place of another entry"),
        (["cfg"], "another entry"),
        (["x"] * 201, "not a list of 1 to"),
    ],
)
def test_forged_nesting_paths_are_refused(folder: Path, tmp_path: Path, path: list[Any], message: str) -> None:
    edit_index(folder, lambda d: d["planner_data"].update(step=path))
    for action in (lambda: consolidate(folder, tmp_path / "out.zanj"), lambda: list_checkpoint(folder)):
        with pytest.raises(ZanjFormatError, match=message) as caught:
            action()
        assert str(folder / INDEX) in str(caught.value)


def test_legitimate_nesting_with_lists_consolidates(folder: Path, tmp_path: Path) -> None:
    back = ZANJ().read(consolidate(folder, tmp_path / "out.zanj"))
    assert back["cfg"] == {"lr": 0.1, "groups": [{"n": 1}, {"n": 2}]} and back["step"] == 7
    assert torch.equal(back["w"], state()["w"])


# -- finding 7 and the format version: what parsing the index may cost -----------------------


def test_an_index_over_max_json_bytes_is_refused_before_reading(folder: Path) -> None:
    edit_index(folder, lambda d: d.update(junk=[{}] * 400_000))  # 1.2 MB of "{}, "
    error = zanj_error_of(lambda: ZanjStorageReader(folder, zanj=ZANJ(read_limits=ReadLimits(max_json_bytes=1 << 20))))
    assert isinstance(error, ZanjLimitError) and "max_json_bytes" in str(error)


def test_parsing_the_index_is_charged_to_the_read_budget(folder: Path) -> None:
    edit_index(folder, lambda d: d.update(junk=[{}] * 400_000))  # parses to ~25 MB of dicts
    small = ReadLimits(read_budget_floor=1 << 20, read_budget_ratio=8)
    with pytest.raises(ZanjLimitError, match="index's JSON"):
        ZanjStorageReader(folder, zanj=ZANJ(read_limits=small))
    ZanjStorageReader(folder)  # the default budget takes it


def test_running_out_of_memory_parsing_the_index_is_a_zanj_error(folder: Path) -> None:
    with mock.patch("json.loads", side_effect=MemoryError), pytest.raises(ZanjLimitError, match="out of memory"):
        list_checkpoint(folder)


@pytest.mark.parametrize(
    "version",
    [0, -1, 2, -(10**4000), 1.0, True, "1", None],
    ids=["0", "-1", "2", "-10**4000", "1.0", "true", "str", "null"],
)
def test_only_the_written_format_version_is_read(folder: Path, version: Any) -> None:
    edit_index(folder, lambda d: d.update(format_version=version))
    with pytest.raises(ZanjFormatError, match="format version"):
        list_checkpoint(folder)


def test_the_attacks_leave_a_checkpoint_that_loads_quickly(folder: Path) -> None:
    started = time.perf_counter()
    target: dict[str, Any] = {
        "w": torch.zeros(6, 4),
        "step": None,
        "big": None,
        "cfg": {"lr": None, "groups": [{"n": 0}, {"n": 0}]},
    }
    dcp.load(target, storage_reader=ZanjStorageReader(folder))
    assert target["step"] == 7 and torch.equal(target["w"], state()["w"])
    assert time.perf_counter() - started < 30


# -- second round: what a chunk is, and how large an index may say a tensor is ---------------


def test_a_chunk_stored_as_a_numpy_array_is_refused(folder: Path, tmp_path: Path) -> None:
    """`w` in the rank file is a numpy array of the indexed dtype and shape: it was a TypeError."""
    shard = ZANJ().read(rank_file(folder))
    shard["tensors"]["w"] = shard["tensors"]["w"].numpy()
    ZANJ().save(shard, rank_file(folder))
    target, reader = {"w": torch.zeros(6, 4)}, ZanjStorageReader(folder)
    for action in (lambda: consolidate(folder, tmp_path / "out.zanj"), lambda: dcp.load(target, storage_reader=reader)):
        error = zanj_error_of(action)
        assert isinstance(error, ZanjFormatError) and "not a tensor" in str(error), error
        assert str(rank_file(folder)) in str(error) and "'tensors/w'" in str(error)
    assert not (tmp_path / "out.zanj").exists()


def _declare(shape: list[int], chunk_sizes: list[list[int]]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        w = document["entries"]["w"]
        w["chunks"] = [{**w["chunks"][0], "offsets": [0] * len(shape), "sizes": s} for s in chunk_sizes]
        w["shape"] = shape

    return change


@pytest.mark.parametrize(
    ("shape", "chunk_sizes"),
    [
        ([2**62 - 1] * 17, [[0] * 17]),  # `zanj ls` overflowed formatting its size
        ([0, 2**62 - 1, 2**62 - 1], []),  # no elements, but strides and numpy's size overflow
        ([2**62 - 1, 2**62 - 1, 0], []),
        ([2**30 + 1, 2**30], [[0, 0]]),  # 2**62 bytes of float32 and 4 KiB more
    ],
)
def test_an_index_declaring_a_tensor_over_2_62_bytes_is_refused(
    folder: Path, tmp_path: Path, shape: list[int], chunk_sizes: list[list[int]]
) -> None:
    edit_index(folder, _declare(shape, chunk_sizes))
    for action in (list_checkpoint, lambda f: consolidate(f, tmp_path / "out.zanj"), ZanjStorageReader):
        with within(10), pytest.raises(ZanjFormatError, match="over 2\\*\\*62 bytes") as caught:
            action(folder)
        assert str(folder / INDEX) in str(caught.value) and "entry 'w'" in str(caught.value)
        assert len(str(caught.value)) < 600  # no 1,200-digit numbers


def test_an_empty_tensor_at_the_size_bound_is_listed_and_consolidated(folder: Path, tmp_path: Path) -> None:
    edit_index(folder, _declare([0, 2**30, 2**30], []))  # 2**62 bytes, counting the 0 as 1
    (listed,) = [entry for entry in list_checkpoint(folder) if entry.fqn == "w"]
    assert listed.shape == (0, 2**30, 2**30) and listed.nbytes == 0
    back = ZANJ().read(consolidate(folder, tmp_path / "out.zanj"))
    assert back["w"].shape == (0, 2**30, 2**30) and back["w"].dtype == torch.float32
