"""Saving a DCP checkpoint again into the same folder, and folders that are not zanj checkpoints.

A save that fails (a value zanj cannot save, on one rank, with `dcp.save` or `dcp.async_save`)
or crashes at any point leaves the previous checkpoint loadable; a save that finishes replaces
it and removes the older rank files, and nothing else in the folder. A folder holding a
FileSystemWriter checkpoint is not saved into, one holding both kinds is not read, and a path
that is no checkpoint (no such folder, a FileSystemWriter checkpoint, a single `.zanj` file, an
empty folder) is named for what it is. Two gloo ranks cannot share a `memory://` checkpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")
if not torch.distributed.is_available():  # pragma: no cover - builds without distributed
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import torch.distributed.checkpoint as dcp  # noqa: E402
from distributed_save_workers import PlainConfig, two_rank_saves  # noqa: E402
from distributed_workers import assert_same, run_ranks, zanj_error_of  # noqa: E402
from torch.distributed.checkpoint.api import CheckpointException  # noqa: E402
from zanj_torch.distributed import (  # noqa: E402
    ZanjStorageReader,
    ZanjStorageWriter,
    consolidate,
    layout,
    list_checkpoint,
)
from zanj_torch.distributed import folder as folder_module  # noqa: E402

from zanj_core import ZANJ  # noqa: E402
from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjFormatError, ZanjSerializationError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled:UserWarning")
INDEX = "zanj_checkpoint.json"


def state(version: int) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(version)
    return {
        "w": torch.randn(64, 4, generator=generator),
        "step": version,
        "cfg": {"name": f"run-{version}", "betas": (0.9, 0.99)},
    }


def load(location: Path | str) -> dict[str, Any]:
    target = {"w": torch.zeros(64, 4), "step": None, "cfg": {"name": None, "betas": None}}
    dcp.load(target, storage_reader=ZanjStorageReader(location))
    return target


def save(location: Path | str, version: int, **extra: Any) -> None:
    dcp.save(state(version) | extra, storage_writer=ZanjStorageWriter(location))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def rank_files(folder: Path) -> list[str]:
    return [name for name in listing(folder) if layout.RANK_FILE_PATTERN.fullmatch(name)]


# -- saving again -----------------------------------------------------------------------------


def test_a_new_save_replaces_the_rank_files_of_older_saves_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    save(folder, 1)
    first = rank_files(folder)
    assert len(first) == 1 and first[0].startswith("rank-00000-")
    kept = ["notes.txt", "rank-00000.zanj", "rank-00000-0123.zanj", "rank-00000-0123456789abcdef.zanj.bak"]
    for name in kept:
        (folder / name).write_text("not a rank file of a save")
    (folder / "rank-00003-0123456789abcdef.zanj").write_text("left by a save that failed")
    save(folder, 2)
    second = rank_files(folder)
    assert len(second) == 1 and second != first
    assert listing(folder) == sorted([*second, INDEX, *kept])
    assert json.loads((folder / INDEX).read_text())["files"] == second
    assert_same(load(folder), state(2))


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (PlainConfig(0.1), "serializable_dataclass"),
        (torch.Generator(), "generator.get_state()"),
        ((1, {"gen": torch.Generator()}), "generator.get_state()"),
        (lambda: 1, "cannot be saved"),
    ],
    ids=["stdlib-dataclass", "generator", "nested-generator", "function"],
)
def test_a_value_zanj_cannot_save_fails_the_save_and_keeps_the_previous_checkpoint(
    tmp_path: Path, value: Any, hint: str
) -> None:
    folder = tmp_path / "ckpt"
    save(folder, 1)
    before, index = listing(folder), (folder / INDEX).read_bytes()
    error = zanj_error_of(lambda: save(folder, 2, extra=value))
    assert isinstance(error, ZanjSerializationError)
    assert "'extra'" in str(error) and hint in str(error), error
    assert listing(folder) == before and (folder / INDEX).read_bytes() == index  # refused before writing
    assert_same(load(folder), state(1))


def _crash_in_rank_file_save() -> Any:
    return mock.patch.object(ZANJ, "save", side_effect=RuntimeError("crash"))


def _crash_before_the_index() -> Any:
    return mock.patch.object(layout, "write_atomically", side_effect=RuntimeError("crash"))


def _crash_after_the_index() -> Any:
    return mock.patch.object(folder_module, "remove_unlisted_rank_files", side_effect=RuntimeError("crash"))


@pytest.mark.parametrize(
    ("crash", "survivor"),
    [(_crash_in_rank_file_save, 1), (_crash_before_the_index, 1), (_crash_after_the_index, 2)],
    ids=["writing-rank-file", "between-rank-files-and-index", "removing-old-rank-files"],
)
def test_a_save_crashing_at_any_step_leaves_the_old_or_the_new_checkpoint(
    tmp_path: Path, crash: Any, survivor: int
) -> None:
    folder = tmp_path / "ckpt"
    save(folder, 1)
    with crash(), pytest.raises(CheckpointException, match="crash"):
        save(folder, 2)
    assert_same(load(folder), state(survivor))
    save(folder, 3)  # the next save that finishes leaves only its own rank files
    assert len(rank_files(folder)) == 1
    assert_same(load(folder), state(3))


_KILLED_SAVE = """
import os, sys, torch, torch.distributed.checkpoint as dcp
from zanj_torch.distributed import ZanjStorageWriter, folder, layout
def die(*args, **kwargs):
    os._exit(17)
if sys.argv[2] == "before-index":
    layout.write_atomically = die
else:
    folder.remove_unlisted_rank_files = die
dcp.save({"w": torch.full((64, 4), 2.0), "step": 2}, storage_writer=ZanjStorageWriter(sys.argv[1]))
"""


@pytest.mark.parametrize(("where", "survivor"), [("before-index", 1), ("after-index", 2)])
def test_a_process_killed_during_a_save_leaves_the_old_or_the_new_checkpoint(
    tmp_path: Path, where: str, survivor: int
) -> None:
    folder = tmp_path / "ckpt"
    dcp.save({"w": torch.full((64, 4), 1.0), "step": 1}, storage_writer=ZanjStorageWriter(folder))
    old = rank_files(folder)
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(_KILLED_SAVE), str(folder), where],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 17, done.stderr.decode()[-2000:]
    assert len(rank_files(folder)) == 2 and set(old) < set(rank_files(folder))
    target = {"w": torch.zeros(64, 4), "step": None}
    dcp.load(target, storage_reader=ZanjStorageReader(folder))
    assert target["step"] == survivor and torch.equal(target["w"], torch.full((64, 4), float(survivor)))


def test_saving_again_at_a_url_replaces_the_older_rank_files() -> None:
    import fsspec

    url = f"memory://zanj-dcp-again/{uuid.uuid4().hex}/ckpt"
    fs = fsspec.filesystem("memory")
    save(url, 1)
    first = sorted(fs.ls(url.removeprefix("memory://"), detail=False))
    with _crash_before_the_index(), pytest.raises(CheckpointException, match="crash"):
        save(url, 2)
    assert_same(load(url), state(1))
    save(url, 3)
    names = sorted(name.rsplit("/", 1)[-1] for name in fs.ls(url.removeprefix("memory://"), detail=False))
    assert len(names) == 2 and names[1] == INDEX and not set(first) & set(names)
    assert_same(load(url), state(3))


def test_checkpoint_id_may_be_given_to_dcp_instead_of_the_writer_and_reader(tmp_path: Path) -> None:
    dcp.save(state(4), checkpoint_id=tmp_path / "ckpt", storage_writer=ZanjStorageWriter())
    target = {"w": torch.zeros(64, 4), "step": None, "cfg": {"name": None, "betas": None}}
    dcp.load(target, checkpoint_id=tmp_path / "ckpt", storage_reader=ZanjStorageReader())
    assert_same(target, state(4))


def test_two_ranks_fail_on_one_rank_and_save_again_then_one_process_saves_with_fewer_ranks(tmp_path: Path) -> None:
    """In the ranks: failed saves on one rank (sync, async) keep the previous checkpoint, a good
    async save replaces it, RNG states under per-rank keys come back to their own rank, and a
    memory:// checkpoint is refused. Here: one process saves into the same folder, and the
    second rank's file of the two-rank checkpoint goes."""
    run_ranks(two_rank_saves, 2, tmp_path)
    folder = tmp_path / "ckpt"
    assert [name[:10] for name in rank_files(folder)] == ["rank-00000", "rank-00001"]
    save(folder, 5)
    assert [name[:10] for name in rank_files(folder)] == ["rank-00000"]
    assert_same(load(folder), state(5))


# -- folders that are not (only) a zanj checkpoint ---------------------------------------------


def test_a_folder_holding_a_filesystem_writer_checkpoint_is_not_saved_into(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    dcp.save(state(1), storage_writer=dcp.FileSystemWriter(folder))
    before = listing(folder)
    error = zanj_error_of(lambda: save(folder, 2))
    assert "holds a FileSystemWriter checkpoint (.metadata, 1 *.distcp file)" in str(error)
    assert "save to another folder, or remove the FileSystemWriter files" in str(error)
    assert listing(folder) == before
    (folder / ".metadata").unlink()  # a FileSystemWriter save that did not finish: its data files alone
    assert "(1 *.distcp file)" in str(zanj_error_of(lambda: save(folder, 2)))


def test_a_folder_holding_both_kinds_of_checkpoint_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    save(folder, 1)
    dcp.save(state(2), storage_writer=dcp.FileSystemWriter(folder))
    for action in (lambda: load(folder), lambda: list_checkpoint(folder), lambda: consolidate(folder, tmp_path / "x")):
        with pytest.raises(ZanjFormatError, match=r"holds two checkpoints.*zanj_checkpoint\.json.*\.metadata"):
            action()


def _filesystem_writer_folder(tmp_path: Path) -> str:
    dcp.save(state(1), storage_writer=dcp.FileSystemWriter(tmp_path / "fs"))
    return str(tmp_path / "fs")


def _single_zanj_file(tmp_path: Path) -> str:
    return ZANJ().save(state(1), tmp_path / "model.zanj")


def _memory_zanj_file(tmp_path: Path) -> str:
    return ZANJ().save(state(1), f"memory://zanj-dcp-wrong/{uuid.uuid4().hex}/model.zanj")


def _plain_file(tmp_path: Path) -> str:
    (tmp_path / "notes.txt").write_text("hello")
    return str(tmp_path / "notes.txt")


def _empty_folder(tmp_path: Path) -> str:
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty")


def _unfinished_save(tmp_path: Path) -> str:
    save(tmp_path / "ckpt", 1)
    (tmp_path / "ckpt" / INDEX).unlink()
    return str(tmp_path / "ckpt")


@pytest.mark.parametrize(
    ("make", "kind", "message"),
    [
        (lambda tmp_path: str(tmp_path / "absent"), ZanjFileNotFoundError, r"absent: no such folder"),
        (lambda tmp_path: f"memory://zanj-dcp-wrong/{uuid.uuid4().hex}", ZanjFileNotFoundError, r"no such folder"),
        (_filesystem_writer_folder, ZanjFormatError, r"fs: this is a FileSystemWriter checkpoint.*FileSystemReader"),
        (_single_zanj_file, ZanjFormatError, r"model\.zanj: is a single \.zanj file.*ZANJ\(\)\.read"),
        (_memory_zanj_file, ZanjFormatError, r"model\.zanj: is a single \.zanj file.*ZANJ\(\)\.read"),
        (_plain_file, ZanjFormatError, r"notes\.txt: is a file, not a checkpoint folder"),
        (_empty_folder, ZanjFileNotFoundError, r"no such file, and the folder holds no rank files"),
        (_unfinished_save, ZanjFileNotFoundError, r"zanj_checkpoint\.json: no such file; the checkpoint is incomplete"),
    ],
    ids=[
        "no-folder",
        "no-memory-folder",
        "filesystem-writer",
        "zanj-file",
        "memory-zanj-file",
        "file",
        "empty",
        "unfinished",
    ],
)
def test_a_path_that_is_no_zanj_checkpoint_is_named_for_what_it_is(
    tmp_path: Path, make: Any, kind: type[ZanjError], message: str
) -> None:
    location = make(tmp_path)
    actions = {
        "reader": lambda: ZanjStorageReader(location),
        "dcp.load": lambda: dcp.load(
            {"w": torch.zeros(64, 4)}, checkpoint_id=location, storage_reader=ZanjStorageReader()
        ),
        "list_checkpoint": lambda: list_checkpoint(location),
        "consolidate": lambda: consolidate(location, tmp_path / "out.zanj"),
    }
    for name, action in actions.items():
        with pytest.raises(kind, match=message):
            action()
        assert not (tmp_path / "out.zanj").exists(), name


def test_the_per_process_url_check_spares_one_process_and_other_urls() -> None:
    folder_module.refuse_per_process_url("memory://one/ckpt", 1)
    folder_module.refuse_per_process_url("s3://bucket/ckpt", 8)
    for url in ("memory://x/ckpt", "MEMORY://x/ckpt", "simplecache::memory://x/ckpt"):
        with pytest.raises(ZanjError, match="one process's memory, but 2 ranks"):
            folder_module.refuse_per_process_url(url, 2)
