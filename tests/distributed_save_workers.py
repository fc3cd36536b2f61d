"""Processes for tests/test_distributed_saves.py: two gloo ranks that save into one folder again
and again (saves that fail on one rank, a failed and a good `async_save` on a process group of
their own, values every rank keeps under its own key) and a `memory://` save, which two
processes cannot share. Started by `distributed_workers.run_ranks`; the checks run in the ranks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.api import CheckpointException
from zanj_torch.distributed import ZanjStorageReader, ZanjStorageWriter

from zanj_core.errors import ZanjError, ZanjSerializationError

INDEX = "zanj_checkpoint.json"


@dataclasses.dataclass
class PlainConfig:
    """A stdlib dataclass: zanj saves only muutils' serializable dataclasses."""

    lr: float


def rng_state(rank: int) -> torch.Tensor:
    return torch.Generator().manual_seed(100 + rank).get_state()


def rank_state(rank: int, version: int) -> dict[str, Any]:
    """What each rank saves: a tensor all ranks hold alike (stored once), one of its own, its
    RNG state under a key of its own (`rng/{rank}`), and a step counter."""
    return {
        "w": torch.arange(12.0).view(4, 3) + version,
        f"own{rank}": torch.full((2,), 10.0 * version + rank),
        f"rng/{rank}": rng_state(rank) if version else torch.zeros_like(rng_state(rank)),
        "step": version,
    }


def rank_target(rank: int) -> dict[str, Any]:
    return rank_state(rank, 0) | {"step": None}


def check_loads(rank: int, folder: Path, version: int) -> None:
    target = rank_target(rank)
    dcp.load(target, storage_reader=ZanjStorageReader(folder))
    expected = rank_state(rank, version)
    assert target["step"] == version, (rank, target["step"], version)
    for key in ("w", f"own{rank}", f"rng/{rank}"):
        assert torch.equal(target[key], expected[key]), (rank, key)


def failure_of(wrapped: CheckpointException) -> BaseException:
    """The one exception DCP gathered from the ranks that failed."""
    failures = list(wrapped.failures.values())
    assert len(failures) == 1, wrapped.failures
    failure = failures[0]
    return failure[0] if isinstance(failure, tuple) else failure


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def failing_and_good_saves(rank: int, world_size: int, out: Path) -> None:
    """Save version 1; a save failing on rank 1 and an async save failing on rank 0 both leave
    version 1 loadable, with its index untouched; a good async save (version 3) then replaces it
    and removes every rank file its index does not name."""
    folder = out / "ckpt"
    dcp.save(rank_state(rank, 1), storage_writer=ZanjStorageWriter(folder))
    dist.barrier()
    first_files, first_index = listing(folder), (folder / INDEX).read_bytes()
    assert len(first_files) == 3, first_files  # one rank file each, and the index

    bad = rank_state(rank, 2) | ({"cfg1": PlainConfig(0.1)} if rank == 1 else {})
    try:
        dcp.save(bad, storage_writer=ZanjStorageWriter(folder))
        raise AssertionError("a save of a stdlib dataclass went through")
    except CheckpointException as wrapped:
        error = failure_of(wrapped)
        assert isinstance(error, ZanjSerializationError) and "'cfg1'" in str(error), error
    dist.barrier()
    assert (folder / INDEX).read_bytes() == first_index
    check_loads(rank, folder, 1)

    group = dist.new_group(backend="gloo")  # async saves get a group of their own, as DCP advises
    bad = rank_state(rank, 2) | ({"gen0": torch.Generator()} if rank == 0 else {})
    future = dcp.async_save(bad, storage_writer=ZanjStorageWriter(folder), process_group=group)
    try:
        future.result()
        raise AssertionError("an async save of a torch.Generator went through")
    except CheckpointException as wrapped:
        error = failure_of(wrapped)
        assert isinstance(error, ZanjSerializationError) and "get_state()" in str(error), error
    dist.barrier()
    assert (folder / INDEX).read_bytes() == first_index
    check_loads(rank, folder, 1)

    dcp.async_save(rank_state(rank, 3), storage_writer=ZanjStorageWriter(folder), process_group=group).result()
    dist.barrier()
    files = listing(folder)
    assert len(files) == 3 and not set(files) & set(first_files[:2]), (files, first_files)
    check_loads(rank, folder, 3)
    dist.barrier()


def memory_url_with_two_ranks(rank: int, world_size: int, url: str) -> None:
    """A memory:// checkpoint saved by two processes is refused before anything is written."""
    import fsspec

    try:
        dcp.save(rank_state(rank, 1), storage_writer=ZanjStorageWriter(url))
        raise AssertionError("two ranks saved into their own memory:// filesystems")
    except CheckpointException as wrapped:
        error = failure_of(wrapped)
        assert isinstance(error, ZanjError) and "memory://" in str(error), error
        assert "one process's memory" in str(error) and "object store" in str(error), error
    assert not fsspec.filesystem("memory").exists(url.removeprefix("memory://"))


def two_rank_saves(rank: int, world_size: int, out: Path) -> None:
    """Both of the above in one start of the ranks."""
    failing_and_good_saves(rank, world_size, out)
    memory_url_with_two_ranks(rank, world_size, f"memory://zanj-dcp-shared/{out.name}/ckpt")
