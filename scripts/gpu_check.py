"""Round-trip tensors that live on an accelerator: the check to run when a GPU is available.

    python scripts/gpu_check.py            # uses cuda:0 (exits 2 if there is none)
    python scripts/gpu_check.py --device cpu   # the same checks on the CPU

Saves CUDA tensors of several dtypes (bfloat16 and float8 included), tied weights and a view,
reads them back onto the device with map_location, and onto the CPU, comparing bits and checking
that shared storage is shared again. Prints one line per check; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from zanj_core import ZANJ


def bits(tensor: torch.Tensor) -> torch.Tensor:
    fresh = torch.empty_like(tensor.detach(), memory_format=torch.contiguous_format).copy_(tensor.detach())
    return fresh.cpu().reshape(-1).view(torch.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda:0")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device available", file=sys.stderr)
        return 2
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(512, 256, generator=generator).to(device)
    tensors = {
        name: torch.randn(300, 40, generator=generator).to(getattr(torch, name)).to(device)
        for name in ("float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")
        if hasattr(torch, name)
    }
    obj = {"tensors": tensors, "embed": weight, "head": weight, "rows": weight[10:20], "step": 7}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = ZANJ().save(obj, Path(tmp) / "gpu")
        for where in (str(device), "cpu"):
            back = ZANJ().read(path, map_location=where)
            for name, tensor in tensors.items():
                got = back["tensors"][name]
                ok = (
                    got.device.type == torch.device(where).type
                    and got.dtype == tensor.dtype
                    and torch.equal(bits(got), bits(tensor))
                )
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {name} -> {where}")
            tied = back["embed"].untyped_storage().data_ptr() == back["head"].untyped_storage().data_ptr()
            view = back["rows"].untyped_storage().data_ptr() == back["embed"].untyped_storage().data_ptr()
            same = torch.equal(bits(back["rows"]), bits(weight[10:20]))
            for label, ok in (("tied weights shared", tied), ("view shares storage", view), ("view values", same)):
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {label} -> {where}")
    failures += nccl_round_trip()
    return 1 if failures else 0


def _nccl_rank(rank: int, folder: str, port: int) -> None:
    """One of two NCCL ranks: save a row-sharded bfloat16 DTensor with ZanjStorageWriter, load it back."""
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor
    from zanj_torch.distributed import ZanjStorageReader, ZanjStorageWriter

    torch.cuda.set_device(rank)
    dist.init_process_group("cpu:gloo,cuda:nccl", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        mesh = init_device_mesh("cuda", (2,))
        full = torch.randn(1000, 64, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16).cuda()
        dcp.save({"w": distribute_tensor(full, mesh, [Shard(0)])}, storage_writer=ZanjStorageWriter(folder))
        back = {"w": distribute_tensor(torch.zeros_like(full), mesh, [Shard(0)])}
        dcp.load(back, storage_reader=ZanjStorageReader(folder))
        if not torch.equal(bits(back["w"].full_tensor()), bits(full)):
            raise AssertionError("the loaded DTensor differs")
    finally:
        dist.destroy_process_group()


def nccl_round_trip() -> int:
    """zanj_torch.distributed with 2 NCCL ranks (one GPU each); skipped with fewer GPUs."""
    import socket

    if torch.cuda.device_count() < 2 or not torch.distributed.is_nccl_available():
        print("skip NCCL 2-process checkpoint: needs 2 GPUs and NCCL")
        return 0
    with socket.socket() as probe, tempfile.TemporaryDirectory() as tmp:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            torch.multiprocessing.spawn(_nccl_rank, args=(str(Path(tmp) / "ckpt"), port), nprocs=2)
        except Exception as exc:
            print(f"FAIL NCCL 2-process checkpoint: {str(exc).strip().splitlines()[-1]}")
            return 1
    print("ok   NCCL 2-process checkpoint (DTensor bfloat16, save and load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
