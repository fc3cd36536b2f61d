"""Child process for the `tensors` scenarios: a state dict of 64 tensors totalling SIZE MiB.

    python bench/tensors.py CONTENDER OP DIR --size MIB --variant float32|bfloat16 --rounds 5

Against torch.save / torch.load(weights_only=True) (also with mmap=True), safetensors
save_file / load_file, and zanj 0.6 (float32 only: it cannot save bfloat16). See harness.py for
what is measured. Run by bench/run.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import harness


def make_state_dict(mib: int, variant: str) -> dict[str, Any]:
    dtype = getattr(torch, variant)
    generator = torch.Generator().manual_seed(0)
    element = torch.empty(0, dtype=dtype).element_size()
    per = mib * (1 << 20) // 64 // element
    side = int(per**0.5)
    return {
        f"layers.{i:02d}.weight": torch.randn((side, per // side), generator=generator).to(dtype) for i in range(64)
    }


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

    return Path(ZANJ().save(state, out / "state.zanj"))


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
    "torch": (torch_save, torch_load),
    "torch_mmap": (torch_save, lambda path, spec: torch_load(path, spec, mmap=True)),
    "safetensors": (safetensors_save, safetensors_read),
    "zanj": (zanj_save, zanj_read),
    "zanj_mmap": (zanj_save, lambda path, spec: zanj_read(path, spec, mmap=True)),
    "zanj06": (zanj06_save, zanj06_read),
}


def main() -> int:
    return harness.run(
        CONTENDERS,
        make_state_dict,
        lambda state: {"tensors": len(state)},
        lambda mib: mib << 20,
        256,
        variants=("float32", "bfloat16"),
    )


if __name__ == "__main__":
    sys.exit(main())
