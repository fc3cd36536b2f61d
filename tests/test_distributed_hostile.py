"""Sharded checkpoints that are partial, corrupt or forged, in one process: each ends in a
`ZanjError` naming the file at fault, and nothing is ever unpickled. Also: memory:// URLs,
overwriting a checkpoint, planners that would take bytes, and values zanj cannot save."""

from __future__ import annotations

import json
import pickle
import re
import shutil
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")
if not torch.distributed.is_available():  # pragma: no cover - builds without distributed
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import torch.distributed.checkpoint as dcp  # noqa: E402
from distributed_workers import assert_same, zanj_error_of  # noqa: E402
from torch.distributed.checkpoint.api import CheckpointException  # noqa: E402
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner, DefaultSavePlanner  # noqa: E402
from torch.distributed.checkpoint.planner import SavePlanner  # noqa: E402
from zanj_torch.distributed import ZanjStorageReader, ZanjStorageWriter  # noqa: E402
from zanj_torch.distributed.metadata import decode  # noqa: E402

from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjFormatError, ZanjSerializationError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled:UserWarning")
INDEX = "zanj_checkpoint.json"


def state(seed: int = 0) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "w": torch.randn(600, 4, generator=generator),
        "b": torch.randn(5, generator=generator).to(torch.bfloat16),
        "step": 3 + seed,
        "cfg": {"name": f"run-{seed}", "betas": (0.9, 0.99)},
    }


def blank() -> dict[str, Any]:
    return {
        "w": torch.zeros(600, 4),
        "b": torch.zeros(5, dtype=torch.bfloat16),
        "step": None,
        "cfg": {"name": None, "betas": None},
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dcp.save(state(), storage_writer=ZanjStorageWriter(tmp_path / "ckpt"))
    return tmp_path / "ckpt"


def load(folder: Path | str, target: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    target = blank() if target is None else target
    dcp.load(target, storage_reader=ZanjStorageReader(folder), **kwargs)
    return target


def edit_index(folder: Path, change: Any) -> None:
    document = json.loads((folder / INDEX).read_text())
    change(document)
    (folder / INDEX).write_text(json.dumps(document))


def test_round_trip_keeps_values_and_types(folder: Path) -> None:
    assert_same(load(folder), state())


def test_memory_url_round_trip() -> None:
    url = f"memory://zanj-dcp/{uuid.uuid4().hex}/ckpt"
    dcp.save(state(1), storage_writer=ZanjStorageWriter(url))
    assert_same(load(url), state(1))


def test_a_missing_rank_file_is_named(folder: Path) -> None:
    next(folder.glob("rank-00000-*.zanj")).unlink()
    with pytest.raises(ZanjFileNotFoundError, match=r"rank-00000-[0-9a-f]{16}\.zanj.*missing.*incomplete"):
        load(folder)


def test_a_checkpoint_without_its_index_is_not_visible(folder: Path) -> None:
    (folder / INDEX).unlink()
    with pytest.raises(
        ZanjFileNotFoundError, match=r"zanj_checkpoint\.json: no such file; the checkpoint is incomplete"
    ):
        load(folder)


def test_a_truncated_index_is_named(folder: Path) -> None:
    data = (folder / INDEX).read_bytes()
    (folder / INDEX).write_bytes(data[: len(data) // 2])
    with pytest.raises(ZanjFormatError, match=r"zanj_checkpoint\.json: is not complete JSON"):
        load(folder)


def test_an_index_that_is_a_pickle_is_refused_without_unpickling(folder: Path) -> None:
    (folder / INDEX).write_bytes(pickle.dumps({"format": "zanj_torch.distributed.checkpoint"}, protocol=4))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("unpickled")

    with (
        mock.patch.object(pickle, "load", refuse),
        mock.patch.object(pickle, "loads", refuse),
        mock.patch.object(torch, "load", refuse),
        pytest.raises(ZanjFormatError, match="is a pickle, not JSON"),
    ):
        load(folder)


def test_index_naming_rows_past_the_stored_chunk(folder: Path) -> None:
    def grow(document: dict[str, Any]) -> None:
        entry = document["entries"]["w"]
        entry["shape"] = [900, 4]
        entry["chunks"][0]["sizes"] = [900, 4]

    edit_index(folder, grow)
    target = blank() | {"w": torch.zeros(900, 4)}
    error = zanj_error_of(lambda: load(folder, target))
    assert isinstance(error, ZanjFormatError)
    assert re.search(r"rank-00000-[0-9a-f]{16}\.zanj: item 'tensors/w' is float32 \[600, 4\].*\[900, 4\]", str(error))


def test_index_naming_a_chunk_past_the_tensor(folder: Path) -> None:
    edit_index(folder, lambda document: document["entries"]["w"]["chunks"][0].update(offsets=[1, 0]))
    with pytest.raises(ZanjFormatError, match=r"zanj_checkpoint\.json: entry 'w', chunk 0 reaches past"):
        load(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(files=["../../etc/passwd"]), "names something other than rank files"),
        (lambda d: d["entries"]["w"].update(dtype="evil"), "dtype 'evil'"),
        (lambda d: d["entries"]["w"]["chunks"][0].update(file=7), "names file 7 of 1"),
        (lambda d: d["entries"]["step"].update(kind="pickle"), "unknown kind"),
        (lambda d: d.update(format_version=99), "newer than this zanj-torch reads"),
        (lambda d: d.update(planner_data={"w": {"a": 1}}), "planner_data"),
    ],
)
def test_forged_index_fields_are_refused(folder: Path, change: Any, message: str) -> None:
    edit_index(folder, change)
    with pytest.raises(ZanjFormatError, match=message):
        load(folder)


def test_a_rank_file_from_another_save_is_refused(folder: Path, tmp_path: Path) -> None:
    dcp.save(state(2), storage_writer=ZanjStorageWriter(tmp_path / "other"))
    shutil.copy(next((tmp_path / "other").glob("rank-*.zanj")), next(folder.glob("rank-*.zanj")))
    error = zanj_error_of(lambda: load(folder))
    assert isinstance(error, ZanjFormatError)
    assert re.search(r"rank-00000-[0-9a-f]{16}\.zanj: this rank file belongs to another save", str(error))


def test_saving_again_keeps_the_old_checkpoint_until_the_new_index_is_complete(folder: Path) -> None:
    with (
        mock.patch.object(ZanjStorageWriter, "finish", side_effect=RuntimeError("crash")),
        pytest.raises(CheckpointException, match="crash"),
    ):
        dcp.save(state(5), storage_writer=ZanjStorageWriter(folder))
    assert_same(load(folder), state())  # new rank files have new names: the old index reads its own
    dcp.save(state(6), storage_writer=ZanjStorageWriter(folder))
    assert_same(load(folder), state(6))


class BytesPlanner(DefaultLoadPlanner):
    def load_bytes(self, read_item: Any, value: Any) -> None:  # pragma: no cover - must not be called
        raise AssertionError("load_bytes was called")


class ObjectPlanner(DefaultLoadPlanner):
    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, Any] = {}

    def load_bytes(self, read_item: Any, value: Any) -> None:  # pragma: no cover - must not be called
        raise AssertionError("load_bytes was called")

    def load_object(self, read_item: Any, value: Any) -> None:
        self.seen[read_item.dest_index.fqn] = value


def test_a_planner_overriding_load_bytes_is_refused(folder: Path) -> None:
    error = zanj_error_of(lambda: load(folder, planner=BytesPlanner()))
    assert re.search("BytesPlanner overrides load_bytes.*load_object", str(error))


def test_a_planner_with_load_object_gets_the_values(folder: Path) -> None:
    planner = ObjectPlanner()
    target = load(folder, planner=planner)
    assert planner.seen == {"step": 3, "cfg.name": "run-0", "cfg.betas": (0.9, 0.99)}
    assert torch.equal(target["w"], state()["w"])


class OnlyBytesPlanner(SavePlanner):
    """A planner that hands non-tensor values out only as torch.save bytes (no lookup_object)."""

    def __init__(self) -> None:
        self.inner = DefaultSavePlanner()

    def set_up_planner(self, state_dict: Any, storage_meta: Any = None, is_coordinator: bool = False) -> None:
        self.inner.set_up_planner(state_dict, storage_meta, is_coordinator)

    def create_local_plan(self) -> Any:
        return self.inner.create_local_plan()

    def create_global_plan(self, all_plans: Any) -> Any:
        return self.inner.create_global_plan(all_plans)

    def finish_plan(self, new_plan: Any) -> Any:
        return self.inner.finish_plan(new_plan)

    def resolve_data(self, write_item: Any) -> Any:
        return self.inner.resolve_data(write_item)


def test_a_save_planner_without_lookup_object_is_refused(tmp_path: Path) -> None:
    planner = OnlyBytesPlanner()
    error = zanj_error_of(lambda: dcp.save(state(), storage_writer=ZanjStorageWriter(tmp_path / "x"), planner=planner))
    assert isinstance(error, ZanjSerializationError) and "lookup_object" in str(error)


def test_a_value_zanj_cannot_save_is_named(tmp_path: Path) -> None:
    error = zanj_error_of(
        lambda: dcp.save({"w": torch.ones(2), "hook": lambda: 1}, storage_writer=ZanjStorageWriter(tmp_path / "x"))
    )
    assert isinstance(error, ZanjSerializationError) and "objects" in str(error) and "hook" in str(error)
    assert not (tmp_path / "x" / INDEX).exists()


@given(data=st.data())
def test_any_damaged_index_is_a_zanj_error_or_reads(data: st.DataObject) -> None:
    source = _index_bytes()
    cut = data.draw(st.integers(0, len(source)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(source) - 1), st.integers(0, 255)), max_size=4))
    damaged = bytearray(source[:cut] if data.draw(st.booleans()) else source)
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    try:
        decode(bytes(damaged), "zanj_checkpoint.json", "/ckpt")
    except ZanjError:
        pass


_INDEX_CACHE: list[bytes] = []


def _index_bytes() -> bytes:
    if not _INDEX_CACHE:
        folder = Path(f"/tmp/zanj-dcp-index-{uuid.uuid4().hex}")
        try:
            dcp.save(state(), storage_writer=ZanjStorageWriter(folder))
            _INDEX_CACHE.append((folder / INDEX).read_bytes())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _INDEX_CACHE[0]


def test_plans_cached_between_saves_still_give_a_loadable_checkpoint(tmp_path: Path) -> None:
    """With DCP's plan caching, later saves reuse the first save's plans (and their storage
    data): each write's id travels in its results, not in the plan, so every save loads."""
    for number in range(3):
        planner = DefaultSavePlanner(enable_plan_caching=True)
        dcp.save(state(number), storage_writer=ZanjStorageWriter(tmp_path / "same"), planner=planner)
        dcp.save(state(number), storage_writer=ZanjStorageWriter(tmp_path / f"new-{number}"), planner=planner)
        assert_same(load(tmp_path / "same"), state(number))
        assert_same(load(tmp_path / f"new-{number}"), state(number))


def test_the_ls_lister_recognizes_only_checkpoint_folders(folder: Path) -> None:
    from zanj_torch.distributed.commands import list_checkpoint_items, recognizes_checkpoint

    assert recognizes_checkpoint(str(folder), None)
    assert not recognizes_checkpoint(str(next(folder.glob("rank-*.zanj"))), None)
    assert not recognizes_checkpoint(str(folder.parent / "absent"), None)
    assert not recognizes_checkpoint(f"memory://absent-{uuid.uuid4().hex}", None)
    rows = {row.path: row for row in list_checkpoint_items(str(folder), None)}
    assert (rows[("w",)].shape, rows[("w",)].dtype, rows[("w",)].detail) == ((600, 4), "float32", "1 shard")
    assert rows[("cfg", "betas")].kind == "value"
    (folder / INDEX).write_bytes(b'{"format": "zanj_torch.distributed.checkpoint", "format_version": 1')
    with pytest.raises(ZanjFormatError, match=r"zanj_checkpoint\.json"):
        list_checkpoint_items(str(folder), None)
