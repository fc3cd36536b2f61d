"""Processes for tests/test_distributed.py: gloo ranks on CPU that save and load DCP checkpoints
through zanj, started by `run_ranks` with a time limit, and the state they save.

Each rank builds the same global values from fixed seeds: DTensors (row-sharded, column-sharded,
uneven, replicated, bfloat16, int64), a small model sharded with FSDP2 `fully_shard` after one
Adam step (model and optimizer state through `get_state_dict`), and non-tensor values. The
unsharded originals are written by rank 0 with `torch.save` (the test's own trusted oracle).
"""

from __future__ import annotations

import os
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_tensor
from zanj_torch.distributed import ZanjStorageReader, ZanjStorageWriter

from zanj_core.errors import ZanjError

DTENSOR_LAYOUTS: dict[str, tuple[tuple[int, ...], torch.dtype, Any]] = {
    "rows": ((8, 6), torch.float32, Shard(0)),
    "uneven": ((7, 3), torch.float32, Shard(0)),
    "cols": ((4, 10), torch.float32, Shard(1)),
    "replicated": ((5,), torch.float32, Replicate()),
    "bf16": ((6, 4), torch.bfloat16, Shard(0)),
    "ints": ((9,), torch.int64, Shard(0)),
}


def run_ranks(worker: Any, world_size: int, *args: Any, timeout: float = 150.0) -> None:
    """Run `worker(rank, world_size, *args)` in `world_size` spawned processes; fail (and kill
    them) past `timeout` seconds. A rank's exception is re-raised here with its traceback.

    The ranks meet through a file store, not a TCP store one rank serves: no port can be taken
    by another program meanwhile, and no rank depends on the one serving the store to stay up
    while it shuts down."""
    with tempfile.TemporaryDirectory(prefix="zanj-dcp-") as folder:
        store = f"file://{Path(folder) / 'store'}"
        context = mp.start_processes(
            _entry, args=(worker, world_size, store, args), nprocs=world_size, join=False, start_method="spawn"
        )
        deadline = time.monotonic() + timeout
        try:
            while not context.join(timeout=1.0):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{worker.__name__} with {world_size} ranks ran past {timeout} s")
        finally:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                    process.join(5)


def _entry(rank: int, worker: Any, world_size: int, store: str, args: tuple[Any, ...]) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=world_size)
    try:
        worker(rank, world_size, *args)
        dist.barrier()
    finally:
        dist.destroy_process_group()


# -- the state ------------------------------------------------------------------------------


def global_values() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1234)
    values = {}
    for name, (shape, dtype, _) in DTENSOR_LAYOUTS.items():
        if dtype == torch.int64:
            values[name] = torch.randint(-(2**40), 2**40, shape, generator=generator)
        else:
            values[name] = torch.randn(shape, generator=generator).to(dtype)
    return values


def extra_values() -> dict[str, Any]:
    return {
        "step": 1000,
        "name": "run-7",
        "ratio": 0.1 + 0.2,
        "shape": (2, 3),
        "table": np.arange(12, dtype=np.float64).reshape(3, 4),
        "rng": torch.Generator().manual_seed(5).get_state(),
        "flags": {"amp": True, "clip": None},
    }


def extra_placeholders() -> dict[str, Any]:
    """What a fresh run holds before loading: None for values, zeros for the RNG state tensor."""
    values = extra_values()
    return {key: None for key in values} | {
        "rng": torch.zeros_like(values["rng"]),
        "flags": {"amp": None, "clip": None},
    }


def make_model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))


def sharded_model(world_size: int, seed: int, train: bool) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = make_model()
    mesh = init_device_mesh("cpu", (world_size,))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    if train:
        inputs = torch.randn(4, 16, generator=torch.Generator().manual_seed(7))
        model(inputs).square().sum().backward()
        optimizer.step()
    return model, optimizer


def dtensors(world_size: int, fill: bool) -> dict[str, DTensor]:
    mesh = init_device_mesh("cpu", (world_size,))
    values = global_values()
    return {
        name: distribute_tensor(values[name] if fill else torch.zeros_like(values[name]), mesh, [placement])
        for name, (_, _, placement) in DTENSOR_LAYOUTS.items()
    }


def full_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, dt: dict[str, DTensor]) -> dict[str, Any]:
    msd, osd = get_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {"dt": {k: v.full_tensor() for k, v in dt.items()}, "model": msd, "optim": osd}


def assert_same(a: Any, b: Any, where: str = "<root>") -> None:
    """Equal values of identical types; tensors bit for bit (dtype and shape too)."""
    assert type(a) is type(b) or (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)), (
        f"{where}: {type(a).__name__} != {type(b).__name__}"
    )
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, (
            f"{where}: {a.dtype}{list(a.shape)} != {b.dtype}{list(b.shape)}"
        )
        assert torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8)), f"{where}: bits differ"
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{where}: arrays differ"
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, float):
        assert struct.pack(">d", a) == struct.pack(">d", b), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _check_against_reference(
    out: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, dt: dict[str, DTensor], extra: dict[str, Any]
) -> None:
    full = full_state(model, optimizer, dt)
    if dist.get_rank() == 0:
        reference = torch.load(out / "reference.pt", weights_only=False)
        assert_same(full, {k: reference[k] for k in ("dt", "model", "optim")})
        assert_same(extra, reference["extra"], "extra")


def _load_into_fresh(world_size: int, reader: ZanjStorageReader, out: Path) -> None:
    model, optimizer = sharded_model(world_size, seed=0 + 17, train=False)
    dt = dtensors(world_size, fill=False)
    msd, osd = get_state_dict(model, optimizer)
    state = {"dt": dt, "model": msd, "optim": osd, "extra": extra_placeholders()}
    dcp.load(state, storage_reader=reader)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    _check_against_reference(out, model, optimizer, state["dt"], state["extra"])


# -- workers ---------------------------------------------------------------------------------


def save_and_reload(rank: int, world_size: int, out: Path, remote: tuple[str, dict[str, Any]] | None) -> None:
    """Save the state with `dcp.save`, `dcp.async_save` (and to S3 when `remote` names a URL and
    its storage options), write the unsharded originals, then load each back into fresh ranks."""
    model, optimizer = sharded_model(world_size, seed=0, train=True)
    dt = dtensors(world_size, fill=True)
    msd, osd = get_state_dict(model, optimizer)
    state = {"dt": dt, "model": msd, "optim": osd, "extra": extra_values()}
    dcp.save(state, storage_writer=ZanjStorageWriter(out / "sync"))
    dcp.async_save(state, storage_writer=ZanjStorageWriter(out / "async")).result()
    if remote is not None:
        dcp.save(state, storage_writer=ZanjStorageWriter(remote[0], storage_options=remote[1]))
    full = full_state(model, optimizer, dt)
    if rank == 0:
        torch.save({**full, "extra": extra_values()}, out / "reference.pt")
    dist.barrier()
    _load_into_fresh(world_size, ZanjStorageReader(out / "sync"), out)
    _load_into_fresh(world_size, ZanjStorageReader(out / "async"), out)
    if remote is not None:
        _load_into_fresh(world_size, ZanjStorageReader(remote[0], storage_options=remote[1]), out)


def reload(rank: int, world_size: int, out: Path, remote: tuple[str, dict[str, Any]] | None) -> None:
    """Load the checkpoint saved by `save_and_reload` into `world_size` ranks (resharding)."""
    _load_into_fresh(world_size, ZanjStorageReader(out / "sync"), out)
    if remote is not None:
        _load_into_fresh(world_size, ZanjStorageReader(remote[0], storage_options=remote[1]), out)


def unsharded_target() -> dict[str, Any]:
    """A state dict of plain tensors shaped like the global ones (one process, no group)."""
    torch.manual_seed(3)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    msd, osd = get_state_dict(model, optimizer)
    zeros = {name: torch.zeros_like(v) for name, v in global_values().items()}
    return {
        "dt": zeros,
        "model": msd,
        "optim": osd,
        "extra": extra_placeholders(),
        "model_and_optimizer": (model, optimizer),  # for the caller: pop it before dcp.load
    }


if __name__ == "__main__":  # pragma: no cover - a manual run: python tests/distributed_workers.py DIR
    import sys

    run_ranks(save_and_reload, 2, Path(sys.argv[1]), None)
    run_ranks(reload, 3, Path(sys.argv[1]), None)
    print("ok", os.listdir(sys.argv[1]))


def zanj_error_of(action: Any) -> ZanjError:
    """The ZanjError `action` raises: directly (an index problem, found before DCP starts), or
    wrapped by DCP in a CheckpointException (a rank file problem, found while reading)."""
    try:
        action()
    except ZanjError as error:
        return error
    except CheckpointException as wrapped:
        errors = [failure[0] for failure in wrapped.failures.values()]
        assert errors and all(isinstance(error, ZanjError) for error in errors), wrapped
        return errors[0]
    raise AssertionError("no ZanjError was raised")
