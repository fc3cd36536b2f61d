"""Child process for the `distributed` scenario: torch.distributed.checkpoint backends, 2 ranks.

    python bench/distributed.py DIR --mib 96 --rounds 5

Two gloo ranks on the CPU hold an FSDP2 (`fully_shard`) model and its Adam state after one step,
about MIB MiB in all (a third parameters, two thirds optimizer moments), taken with
`get_state_dict`. Per round, in a shuffled order, each contender saves it (`dcp.save`), loads it
back into fresh ranks (`dcp.load`, 2 ranks), and a single process without a group loads it as
full tensors (resharded, 2 -> 1). Contenders: `zanj` (ZanjStorageWriter / Reader) and
`filesystem` (FileSystemWriter / Reader), both with their defaults (each fsyncs its files),
`zanj_nosync` / `filesystem_nosync` (durable=False / sync_files=False), and `huggingface`
(HuggingFaceStorageWriter with save_distributed=True; safetensors holds tensors only, so it
saves the tensors of the state dict and not the optimizer's param_groups). Times are each
rank-0 wall time from a barrier to a barrier; prints medians as JSON. Run by bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from distributed_workers import run_ranks  # the tests' spawn of gloo ranks, bounded in time

CONTENDERS = ["zanj", "filesystem", "zanj_nosync", "filesystem_nosync", "huggingface"]


def available(name: str) -> bool:
    if name != "huggingface":
        return True
    try:
        import safetensors  # noqa: F401
        from torch.distributed.checkpoint import HuggingFaceStorageWriter  # noqa: F401
    except ImportError:
        return False
    return True


def writer(name: str, path: Path) -> Any:
    from torch.distributed.checkpoint import FileSystemWriter
    from zanj_torch.distributed import ZanjStorageWriter

    if name == "zanj":
        return ZanjStorageWriter(path)
    if name == "zanj_nosync":
        return ZanjStorageWriter(path, durable=False)
    if name == "filesystem":
        return FileSystemWriter(path)
    if name == "filesystem_nosync":
        return FileSystemWriter(path, sync_files=False)
    from torch.distributed.checkpoint import HuggingFaceStorageWriter

    return HuggingFaceStorageWriter(str(path), save_distributed=True)


def reader(name: str, path: Path) -> Any:
    from torch.distributed.checkpoint import FileSystemReader
    from zanj_torch.distributed import ZanjStorageReader

    if name.startswith("zanj"):
        return ZanjStorageReader(path)
    if name.startswith("filesystem"):
        return FileSystemReader(path)
    from torch.distributed.checkpoint import HuggingFaceStorageReader

    return HuggingFaceStorageReader(str(path))


def make_model(mib: int) -> torch.nn.Module:
    """Square linear layers whose float32 weights total a third of `mib` (Adam adds two thirds)."""
    width = 1024
    layers = max(1, round(mib / 3 * (1 << 20) / 4 / (width * width + width)))
    torch.manual_seed(0)
    return torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(layers)])


def sharded(mib: int, world: int, train: bool) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    model = make_model(mib)
    mesh = init_device_mesh("cpu", (world,))
    for layer in model:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if train:
        model(torch.randn(8, 1024)).sum().backward()
        optimizer.step()
    return model, optimizer


def state_of(name: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    from torch.distributed.checkpoint.state_dict import get_state_dict

    msd, osd = get_state_dict(model, optimizer)
    if name == "huggingface":  # safetensors cannot hold the optimizer's param_groups
        return {"model": msd, "optim": {"state": osd["state"]}}
    return {"model": msd, "optim": osd}


def timed(action: Any) -> float:
    dist.barrier()
    start = time.perf_counter()
    action()
    dist.barrier()
    return time.perf_counter() - start


def ranks(rank: int, world: int, out: Path, mib: int, rounds: int, names: list[str], seed: int) -> None:
    warnings.simplefilter("ignore")
    model, optimizer = sharded(mib, world, train=True)
    fresh_model, fresh_optimizer = sharded(mib, world, train=False)
    samples: dict[str, dict[str, list[float]]] = {n: {"save": [], "load": []} for n in names}
    order = random.Random(seed)
    for number in range(rounds + 1):  # round 0 warms up (imports, first-use allocations)
        for name in order.sample(names, len(names)):
            path = out / name
            if rank == 0 and path.exists():
                shutil.rmtree(path)
            state = state_of(name, model, optimizer)
            save = timed(lambda: dcp.save(state, storage_writer=writer(name, path)))  # noqa: B023
            target = state_of(name, fresh_model, fresh_optimizer)
            load = timed(lambda: dcp.load(target, storage_reader=reader(name, path)))  # noqa: B023
            if number:
                samples[name]["save"].append(save)
                samples[name]["load"].append(load)
    if rank == 0:
        (out / "ranks.json").write_text(json.dumps(samples))


def resharded_loads(out: Path, rounds: int, names: list[str], seed: int) -> dict[str, list[float]]:
    """One process, no group: every global tensor loaded whole (2 ranks -> 1)."""
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    warnings.simplefilter("ignore")
    times: dict[str, list[float]] = {n: [] for n in names}
    order = random.Random(seed + 1)
    for number in range(rounds + 1):
        for name in order.sample(names, len(names)):
            metadata = reader(name, out / name).read_metadata()
            target = {
                fqn: torch.empty(entry.size, dtype=entry.properties.dtype)
                for fqn, entry in metadata.state_dict_metadata.items()
                if isinstance(entry, TensorStorageMetadata)
            }
            start = time.perf_counter()
            dcp.load(target, storage_reader=reader(name, out / name), planner=_flat_planner(), no_dist=True)
            if number:
                times[name].append(time.perf_counter() - start)
    return times


def _flat_planner() -> Any:
    from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner

    return DefaultLoadPlanner(allow_partial_load=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?")
    parser.add_argument("--mib", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = [n for n in CONTENDERS if available(n)]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        out = Path(tmp)
        run_ranks(ranks, 2, out, args.mib, args.rounds, names, args.seed, timeout=3000)
        per_rank = json.loads((out / "ranks.json").read_text())
        resharded = resharded_loads(out, args.rounds, names, args.seed)
        sizes = {n: sum(p.stat().st_size for p in (out / n).rglob("*") if p.is_file()) for n in names}
    result = {
        name: {
            "save_s": statistics.median(per_rank[name]["save"]),
            "load_s": statistics.median(per_rank[name]["load"]),
            "resharded_load_s": statistics.median(resharded[name]),
            "checkpoint_bytes": sizes[name],
        }
        for name in names
    }
    missing = [n for n in CONTENDERS if n not in names]
    print(json.dumps({"mib": args.mib, "ranks": 2, "times": result, "unavailable": missing}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
