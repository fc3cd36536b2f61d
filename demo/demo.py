"""The README's objects, saved to .zanj files and read back, checked for equality.

Run with `nox -s demo` (installs zanj-core and every plugin under plugins/).
"""

from __future__ import annotations

import datetime
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
from zanj_torch import ConfiguredModel, assert_model_exact_equality, set_config_class

from zanj_core import ZANJ


@serializable_dataclass
class BasicZanj(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: list[int] = serializable_field(default_factory=list)


@serializable_dataclass
class Experiment(SerializableDataclass):
    name: str
    started: datetime.datetime
    seeds: tuple[int, ...]
    runs: list[BasicZanj]
    losses: list[float]
    labels: dict[int, str]


@serializable_dataclass
class Layer(SerializableDataclass):
    weight: np.ndarray
    bias: np.ndarray
    scale: np.float32


@serializable_dataclass
class Checkpoint(SerializableDataclass):
    name: str
    step: np.int64
    layers: list[Layer]
    embedding: np.ndarray
    metrics: pd.DataFrame
    config: Experiment


@serializable_dataclass
class MyNNConfig(SerializableDataclass):
    input_dim: int
    hidden_dim: int
    output_dim: int
    # stored by name, rebuilt by looking it up in torch.nn
    act_fn: type = serializable_field(
        serialization_fn=lambda x: x.__name__,
        loading_fn=lambda x: getattr(torch.nn, x["act_fn"]),
    )


@set_config_class(MyNNConfig)
class MyNN(ConfiguredModel[MyNNConfig]):
    def __init__(self, config: MyNNConfig):
        super().__init__(config)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(config.input_dim, config.hidden_dim),
            config.act_fn(),
            torch.nn.Linear(config.hidden_dim, config.output_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def show(path: str) -> None:
    with zipfile.ZipFile(path) as zf:
        members = ", ".join(f"{i.filename} ({i.file_size} B)" for i in zf.infolist())
    print(f"  {path}: {Path(path).stat().st_size} bytes; members: {members}")


def main() -> int:
    out = Path(tempfile.mkdtemp(prefix="zanj-demo-"))
    zanj = ZANJ()

    basic = BasicZanj("hello", 42, [1, 2, 3])
    path = zanj.save(basic, out / "basic")
    recovered = zanj.read(path)
    print(f"BasicZanj: {recovered!r}")
    show(path)
    assert recovered == basic and type(recovered) is BasicZanj

    experiment = Experiment(
        name="sweep-7",
        started=datetime.datetime(2026, 11, 28, 9, 30, tzinfo=datetime.timezone.utc),
        seeds=(0, 1, 2),
        runs=[BasicZanj(f"run-{i}", i, list(range(i))) for i in range(3)],
        losses=[1.0 / (step + 1) for step in range(1000)],  # long: stored as a .jsonl member
        labels={0: "cat", 1: "dog"},
    )
    path = zanj.save(experiment, out / "experiment")
    recovered = zanj.read(path)
    print(
        f"Experiment: name={recovered.name!r}, seeds={recovered.seeds!r}, {len(recovered.losses)} losses, "
        f"labels={recovered.labels!r}, runs={[r.a for r in recovered.runs]}"
    )
    show(path)
    assert recovered == experiment
    assert type(recovered.seeds) is tuple and type(recovered.runs[0]) is BasicZanj

    rng = np.random.default_rng(0)
    checkpoint = Checkpoint(
        name="tiny-mlp",
        step=np.int64(1200),
        layers=[
            Layer(rng.standard_normal((64, 32), dtype=np.float32), np.zeros(64, dtype=np.float32), np.float32(0.5)),
            Layer(rng.standard_normal((10, 64), dtype=np.float32), np.arange(10, dtype=np.float32), np.float32(1.0)),
        ],
        embedding=rng.standard_normal((1000, 16)).astype(np.float16),
        metrics=pd.DataFrame(
            {
                "step": np.arange(0, 1200, 100),
                "loss": np.linspace(2.0, 0.3, 12),
                "when": pd.date_range("2026-11-28 09:00", periods=12, freq="5min", tz="UTC"),
                "phase": pd.Categorical(["warmup"] * 3 + ["train"] * 9, categories=["warmup", "train", "eval"]),
            }
        ),
        config=experiment,
    )
    path = zanj.save(checkpoint, out / "checkpoint")
    recovered = zanj.read(path)
    mapped = zanj.read(path, mmap=True)
    print(
        f"Checkpoint: {recovered.name!r} step={recovered.step!r}, layers "
        f"{[layer.weight.shape for layer in recovered.layers]}, embedding {recovered.embedding.dtype}"
        f"{recovered.embedding.shape}, metrics {recovered.metrics.shape} {list(recovered.metrics.dtypes.astype(str))}; "
        f"mmap read-only: {not mapped.embedding.flags.writeable}"
    )
    show(path)
    for original, back in zip(checkpoint.layers, recovered.layers, strict=True):
        assert np.array_equal(original.weight, back.weight) and back.weight.dtype == np.float32
        assert np.array_equal(original.bias, back.bias) and type(back.scale) is np.float32
    assert np.array_equal(checkpoint.embedding, recovered.embedding) and type(recovered.step) is np.int64
    assert np.array_equal(checkpoint.embedding, mapped.embedding)
    assert recovered.config == experiment
    pd.testing.assert_frame_equal(checkpoint.metrics, recovered.metrics, check_exact=True)

    # the same checkpoint through a URL (fsspec's in-memory file system stands in for a bucket)
    url = zanj.save(checkpoint, "memory://demo-bucket/checkpoint.zanj")
    with zanj.open(url) as remote:
        embedding = remote["embedding"]  # in a large file, only this member's bytes are fetched
        fetched = remote.reader.byte_source.bytes_read
        print(f"{url}: opened, 'embedding' loaded; {fetched} B fetched (a file this small comes in one request)")
    assert np.array_equal(embedding, checkpoint.embedding)
    pd.testing.assert_frame_equal(zanj.read(url).metrics, checkpoint.metrics, check_exact=True)

    model = MyNN(MyNNConfig(input_dim=10, hidden_dim=20, output_dim=2, act_fn=torch.nn.ReLU))
    model.training_records = {"loss": [0.9, 0.5, 0.3]}
    path = model.save(str(out / "model"))
    loaded = MyNN.read(path)
    loaded_another_way = zanj.read(path)
    x = torch.randn(3, 10)
    print(
        f"MyNN: {type(loaded_another_way).__name__}, {loaded.num_params()} parameters, "
        f"records {loaded.training_records}, same outputs: {torch.equal(model(x), loaded(x))}"
    )
    show(path)
    assert_model_exact_equality(model, loaded)
    assert type(loaded_another_way) is MyNN and torch.equal(model(x), loaded(x))

    print(f"all objects read back equal; files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
