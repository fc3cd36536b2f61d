"""Child process for the `nested` scenarios: a nested config dataclass, saved and read (latency).

    python bench/nested.py CONTENDER OP DIR --rounds 200 --variant config|arrays

`config` (issue 19's): a run configuration as users keep one, with no arrays: a name, a seed, an
optimizer dataclass (name, lr, betas list, weight decay), a list of 24 layer dataclasses (kind,
width, dropout, activation) and a dict of 3 str tags. `arrays`: a config whose four blocks each
hold a 64x64 float32 weight, with a 512x32 embedding beside them (about 130 KiB of arrays).
Against pickle to a file and zanj 0.6 (this script runs in its environment too). Each process
keeps one ZANJ, as a program saving and reading many times would. See harness.py for what is
measured. After the timed rounds, zanj's and pickle's operations are also timed in parts
(`phases`), so the goal report can say where the time goes. Run by bench/run.py.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
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


PHASE_ROUNDS = 300


def _median_s(operation: Callable[[], object], rounds: int = PHASE_ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        operation()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _plain_write(data: bytes, target: Path) -> Callable[[], None]:
    """What writing `data` as pickle writes its file costs: open, write, close, and deleting it
    again so each round writes a new file (as the timed saves do; deleting a small file is cheap,
    and `publish` below pays it too)."""

    def write() -> None:
        with open(target, "wb") as fh:
            fh.write(data)
        os.unlink(target)

    return write


def _plain_read(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        with open(path, "rb") as fh:
            return fh.read()

    return read


def phases(contender: str, op: str, subject: Any, path: Path) -> dict[str, float]:
    """Seconds by part (see harness.Phases). zanj's parts call zanj-core's internals, the steps
    `ZANJ.save` and `ZANJ.read` take one after another: bench code, kept in step with them.

    save: `walk` (objects to JSON nodes, the metadata), `json` (the two members' text), `zip`
    (the archive, in memory), `publish` (that archive written as a save writes it: a private
    temporary file, its final mode, renamed into place); read: `open` (the directory, headers,
    both JSON members read and parsed), `json` (`json.loads` of their texts alone), `walk` (nodes
    to objects). For both contenders `file` is what plain `open`/`write`/`close` (or `read`) of
    the file's bytes costs, and for pickle `codec` is `dumps` or `loads` alone."""
    scratch = path.with_name("phase-scratch")
    if contender == "pickle":
        data = path.read_bytes()
        if op == "save":
            return {
                "codec": _median_s(lambda: pickle.dumps(subject, protocol=pickle.HIGHEST_PROTOCOL)),
                "file": _median_s(_plain_write(data, scratch)),
            }
        return {"codec": _median_s(lambda: pickle.loads(data)), "file": _median_s(_plain_read(path))}
    if contender != "zanj":
        return {}
    from zanj_core._container.publishing import publish
    from zanj_core._container.writer import write_zip
    from zanj_core._walk.json_text import encode_json
    from zanj_core._walk.loading import LoadContext
    from zanj_core._walk.saving import SaveContext

    zanj = _zanj(op == "read")  # the timed rounds' ZANJ: durable reads, saves without fsync
    if op == "save":

        def walk() -> tuple[Any, Any]:
            ctx = SaveContext(zanj)
            tree = ctx.serialize(subject)
            ctx.finish_walk()
            return tree, zanj._meta(ctx)

        tree, meta = walk()
        texts = [("__zanj__.json", encode_json(tree)), ("__zanj_meta__.json", encode_json(meta))]

        def archive() -> bytes:
            buffer = io.BytesIO()
            write_zip(buffer, texts, [], zanj.compress)
            return buffer.getvalue()

        whole = archive()

        def publish_whole() -> None:
            publish(str(scratch), lambda fh: fh.write(whole), durable=False)
            os.unlink(scratch)

        return {
            "walk": _median_s(walk),
            "json": _median_s(lambda: [encode_json(tree), encode_json(meta)]),
            "zip": _median_s(archive),
            "publish": _median_s(publish_whole),
            "file": _median_s(_plain_write(whole, scratch)),
        }
    with zipfile.ZipFile(path) as archive_file:
        texts_read = [archive_file.read(name) for name in ("__zanj__.json", "__zanj_meta__.json")]

    def open_close() -> None:
        zanj.open(path).close()

    with zanj.open(path) as opened:
        return {
            "open": _median_s(open_close),
            "json": _median_s(lambda: [json.loads(text) for text in texts_read]),
            "walk": _median_s(lambda: LoadContext(zanj, opened.reader, opened._meta).load(opened.root)),
            "file": _median_s(_plain_read(path)),
        }


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
        phases=phases,
    )


if __name__ == "__main__":
    sys.exit(main())
