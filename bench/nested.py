"""Child process for the `nested` scenarios: a nested config dataclass, saved and read (latency).

    python bench/nested.py CONTENDER OP DIR --rounds 200 --variant config|arrays

`config` (issue 19's): a run configuration as users keep one, with no arrays: a name, a seed, an
optimizer dataclass (name, lr, betas list, weight decay), a list of 24 layer dataclasses (kind,
width, dropout, activation) and a dict of 3 str tags. `arrays`: a config whose four blocks each
hold a 64x64 float32 weight, with a 512x32 embedding beside them (about 130 KiB of arrays).
Against pickle to a file and zanj 0.6 (this script runs in its environment too). Each process
keeps one ZANJ, as a program saving and reading many times would. See harness.py for what is
measured. Run by bench/run.py.
"""

from __future__ import annotations

import pickle
import sys
from functools import cache
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
class Layer(SerializableDataclass):
    kind: str
    width: int
    dropout: float
    activation: str


@serializable_dataclass
class Config(SerializableDataclass):
    name: str
    seed: int
    optimizer: Optimizer
    layers: list[Layer]
    tags: dict[str, str]


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


LAYERS = 24
TAGS = {"dataset": "tiny-shakespeare", "owner": "research", "stage": "pretrain"}


def make_config(_size: int, variant: str) -> Config | RunConfig:
    optimizer = Optimizer(name="adamw", lr=3e-4, betas=[0.9, 0.999], weight_decay=0.01)
    if variant == "config":
        return Config(
            name="nested-run",
            seed=7,
            optimizer=optimizer,
            layers=[
                Layer(kind=("attn", "mlp")[i % 2], width=64 * (1 + i % 4), dropout=0.05 * (i % 3), activation="gelu")
                for i in range(LAYERS)
            ],
            tags=dict(TAGS),
        )
    rng = np.random.default_rng(0)
    return RunConfig(
        name="nested-run",
        seed=7,
        optimizer=optimizer,
        blocks=[
            Block(kind=kind, width=64, dropout=0.1 * i, weight=rng.standard_normal((64, 64), dtype=np.float32))
            for i, kind in enumerate(["attn", "mlp", "attn", "mlp"])
        ],
        tags=dict(TAGS),
        embedding=rng.standard_normal((512, 32), dtype=np.float32),
    )


ARRAY_BYTES = 4 * 64 * 64 * 4 + 512 * 32 * 4


def describe(config: Config | RunConfig) -> dict[str, Any]:
    """The variant, so a read process can rebuild the config and compare; the arrays' bytes (a
    config without arrays counts its pickle's size, the nearest thing to a data size)."""
    variant = "config" if isinstance(config, Config) else "arrays"
    size = len(pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)) if variant == "config" else ARRAY_BYTES
    return {"variant": variant, "data_bytes": size}


def verify(config: Any, spec: dict[str, Any]) -> None:
    expected = make_config(0, spec["variant"])
    assert type(config) is type(expected), f"a {type(config).__name__}, not a {type(expected).__name__}"
    assert config == expected, "field values differ"


def pickle_save(config: Any, out: Path) -> Path:
    with open(out / "config.pkl", "wb") as fh:
        pickle.dump(config, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out / "config.pkl"


def pickle_read(path: Path, spec: Any) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


@cache
def _zanj(durable: bool) -> Any:
    from zanj_core import ZANJ

    return ZANJ(durable=durable)


def zanj_save(config: Any, out: Path) -> Path:
    return Path(_zanj(False).save(config, out / "config.zanj"))  # pickle does not fsync


def zanj_read(path: Path, spec: Any) -> Any:
    return _zanj(True).read(path)


@cache
def _zanj06() -> Any:
    from zanj import ZANJ  # type: ignore[import-not-found]

    return ZANJ()


def zanj06_save(config: Any, out: Path) -> Path:
    return Path(_zanj06().save(config, out / "zanj06.zanj"))


def zanj06_read(path: Path, spec: Any) -> Any:
    return _zanj06().read(path)


CONTENDERS: dict[str, tuple[harness.Save, harness.Read]] = {
    "pickle": (pickle_save, pickle_read),
    "zanj": (zanj_save, zanj_read),
    "zanj06": (zanj06_save, zanj06_read),
}


def main() -> int:
    return harness.run(
        CONTENDERS,
        make_config,
        describe,
        lambda size: ARRAY_BYTES,
        0,
        variants=("config", "arrays"),
        warm_size=0,
        verify=verify,
    )


if __name__ == "__main__":
    sys.exit(main())
