"""Child process for the `nested` scenario: a nested config dataclass holding a few arrays.

    python bench/nested.py CONTENDER OP DIR --rounds 50

A run configuration as users keep one: an optimizer dataclass, a list of block dataclasses
each with a 64x64 float32 weight, tags, and a 512x32 embedding (about 130 KiB of arrays).
Latency of save and read against pickle and zanj 0.6 (this script runs in its environment
too). See harness.py for what is measured. Run by bench/run.py.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
from muutils.json_serialize import SerializableDataclass, serializable_dataclass

sys.path.insert(0, str(Path(__file__).parent))
import harness


@serializable_dataclass
class Optimizer(SerializableDataclass):
    name: str
    lr: float
    betas: list[float]
    weight_decay: float


@serializable_dataclass
class Block(SerializableDataclass):
    kind: str
    width: int
    dropout: float
    weight: np.ndarray


@serializable_dataclass
class RunConfig(SerializableDataclass):
    name: str
    seed: int
    optimizer: Optimizer
    blocks: list[Block]
    tags: dict[str, str]
    embedding: np.ndarray


def make_config(_size: int) -> RunConfig:
    rng = np.random.default_rng(0)
    return RunConfig(
        name="nested-run",
        seed=7,
        optimizer=Optimizer(name="adamw", lr=3e-4, betas=[0.9, 0.999], weight_decay=0.01),
        blocks=[
            Block(kind=kind, width=64, dropout=0.1 * i, weight=rng.standard_normal((64, 64), dtype=np.float32))
            for i, kind in enumerate(["attn", "mlp", "attn", "mlp"])
        ],
        tags={"dataset": "tiny-shakespeare", "owner": "research", "stage": "pretrain"},
        embedding=rng.standard_normal((512, 32), dtype=np.float32),
    )


DATA_BYTES = 4 * 64 * 64 * 4 + 512 * 32 * 4


def pickle_save(config: RunConfig, out: Path) -> Path:
    with open(out / "config.pkl", "wb") as fh:
        pickle.dump(config, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out / "config.pkl"


def pickle_read(path: Path, spec: Any) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def zanj_save(config: RunConfig, out: Path) -> Path:
    from zanj_core import ZANJ

    return Path(ZANJ(durable=False).save(config, out / "config.zanj"))  # pickle does not fsync


def zanj_read(path: Path, spec: Any) -> Any:
    from zanj_core import ZANJ

    return ZANJ().read(path)


def zanj06_save(config: RunConfig, out: Path) -> Path:
    from zanj import ZANJ  # type: ignore[import-not-found]

    return Path(ZANJ().save(config, out / "zanj06.zanj"))


def zanj06_read(path: Path, spec: Any) -> Any:
    from zanj import ZANJ

    return ZANJ().read(path)


CONTENDERS: dict[str, tuple[harness.Save, harness.Read]] = {
    "pickle": (pickle_save, pickle_read),
    "zanj": (zanj_save, zanj_read),
    "zanj06": (zanj06_save, zanj06_read),
}


def main() -> int:
    return harness.run(CONTENDERS, make_config, lambda config: {}, lambda size: DATA_BYTES, 0)


if __name__ == "__main__":
    sys.exit(main())
