"""Child process for the `tensors` scenarios: a state dict totalling SIZE MiB.

    python bench/tensors.py CONTENDER OP DIR --size MIB --variant float32|bfloat16|many --rounds 5

`float32` and `bfloat16`: 64 tensors. `many`: 10,000 small float32 tensors (many-member
overhead). Against the raw floor (the same bytes written and read with plain file calls),
torch.save / torch.load(weights_only=True) (also with mmap=True), safetensors save_file /
load_file, pickle, h5py (one dataset per tensor; it has no bfloat16) and zanj 0.6 (it cannot
save bfloat16). None of them fsyncs, so `zanj` saves with `ZANJ(durable=False)`; `zanj_durable`
saves with the defaults (fsync of the file and its folder), to show what that costs. See
harness.py for what is measured. Run by bench/run.py.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import harness

MANY = 10_000


def make_state_dict(mib: int, variant: str) -> dict[str, Any]:
    dtype = torch.float32 if variant == "many" else getattr(torch, variant)
    count = MANY if variant == "many" else 64
    generator = torch.Generator().manual_seed(0)
    element = torch.empty(0, dtype=dtype).element_size()
    per = mib * (1 << 20) // count // element
    side = max(int(per**0.5), 1)
    return {
        f"layers.{i:04d}.weight": torch.randn((side, per // side), generator=generator).to(dtype) for i in range(count)
    }


def describe(state: dict[str, Any]) -> dict[str, Any]:
    return {name: [list(t.shape), str(t.dtype).removeprefix("torch.")] for name, t in state.items()}


def verify(state: Any, spec: dict[str, Any]) -> None:
    """The same names, shapes and element types as were saved (bytes are the libraries' own tests' job)."""
    assert sorted(state) == sorted(spec), f"{len(state)} names read back, {len(spec)} saved"
    for name, (shape, dtype) in spec.items():
        got = [list(state[name].shape), str(state[name].dtype).rsplit(".", 1)[-1]]
        assert got == [shape, dtype], f"{name}: {got} read back, {[shape, dtype]} saved"


def raw_save(state: dict[str, Any], out: Path) -> Path:
    path = out / "state.raw"
    with open(path, "wb") as fh:
        for tensor in state.values():
            fh.write(tensor.view(torch.uint8).numpy().data)
    return path


def raw_read(path: Path, spec: Any) -> Any:
    """The floor: the whole file read by one call into one buffer, each tensor a view of it."""
    import numpy as np

    buffer = np.empty(path.stat().st_size, dtype=np.uint8)
    with open(path, "rb", buffering=0) as fh:
        fh.readinto(buffer.data)
    flat = torch.from_numpy(buffer)
    result, offset = {}, 0
    for name, (shape, dtype) in spec.items():
        kind = getattr(torch, dtype)
        nbytes = int(np.prod(shape)) * torch.empty(0, dtype=kind).element_size()
        result[name] = flat[offset : offset + nbytes].view(kind).view(shape)
        offset += nbytes
    return result


def pickle_save(state: dict[str, Any], out: Path) -> Path:
    with open(out / "state.pkl", "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out / "state.pkl"


def pickle_read(path: Path, spec: Any) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def h5py_save(state: dict[str, Any], out: Path) -> Path:
    import h5py

    with h5py.File(out / "state.h5", "w") as fh:
        for name, tensor in state.items():
            fh.create_dataset(name, data=tensor.numpy())
    return out / "state.h5"


def h5py_read(path: Path, spec: Any) -> Any:
    import h5py

    with h5py.File(path, "r") as fh:
        return {name: torch.from_numpy(fh[name][()]) for name in fh}


def torch_save(state: dict[str, Any], out: Path) -> Path:
    torch.save(state, out / "state.pt")
    return out / "state.pt"


def torch_load(path: Path, spec: Any, mmap: bool = False) -> Any:
    return torch.load(path, weights_only=True, mmap=mmap)


def safetensors_save(state: dict[str, Any], out: Path) -> Path:
    from safetensors.torch import save_file

    save_file(state, str(out / "state.safetensors"))
    return out / "state.safetensors"


def safetensors_read(path: Path, spec: Any) -> Any:
    from safetensors.torch import load_file

    return load_file(str(path))


def zanj_save(state: dict[str, Any], out: Path) -> Path:
    from zanj_core import ZANJ

    return Path(ZANJ(durable=False).save(state, out / "state.zanj"))


def zanj_durable_save(state: dict[str, Any], out: Path) -> Path:
    """The default settings: the file and its folder are fsynced, which no peer here does."""
    from zanj_core import ZANJ

    return Path(ZANJ().save(state, out / "state.durable.zanj"))


def zanj_read(path: Path, spec: Any, mmap: bool = False) -> Any:
    from zanj_core import ZANJ

    return ZANJ().read(path, mmap=mmap)


def zanj06_save(state: dict[str, Any], out: Path) -> Path:
    from zanj import ZANJ  # type: ignore[import-not-found]

    return Path(ZANJ().save(state, out / "zanj06.zanj"))


def zanj06_read(path: Path, spec: Any) -> Any:
    from zanj import ZANJ

    return ZANJ().read(path)


CONTENDERS: dict[str, tuple[harness.Save, harness.Read]] = {
    "raw": (raw_save, raw_read),
    "torch": (torch_save, torch_load),
    "torch_mmap": (torch_save, lambda path, spec: torch_load(path, spec, mmap=True)),
    "safetensors": (safetensors_save, safetensors_read),
    "zanj": (zanj_save, zanj_read),
    "zanj_mmap": (zanj_save, lambda path, spec: zanj_read(path, spec, mmap=True)),
    "zanj_durable": (zanj_durable_save, zanj_read),
    "pickle": (pickle_save, pickle_read),
    "h5py": (h5py_save, h5py_read),
    "zanj06": (zanj06_save, zanj06_read),
}


def main() -> int:
    return harness.run(
        CONTENDERS,
        make_state_dict,
        describe,
        lambda mib: mib << 20,
        256,
        variants=("float32", "bfloat16", "many"),
        verify=verify,
    )


if __name__ == "__main__":
    sys.exit(main())
