"""Nested run configurations (dataclasses in lists and dicts, scalars of every kind) saved and
read back identical: the shape the per-object fast paths of both walks are tuned for."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_identical
from hypothesis import given, settings
from hypothesis import strategies as st
from muutils.json_serialize import SerializableDataclass, serializable_dataclass

from zanj_core import ZANJ


@serializable_dataclass
class Layer(SerializableDataclass):
    kind: str
    width: int
    dropout: float
    active: bool


@serializable_dataclass
class Optimizer(SerializableDataclass):
    name: str
    lr: float
    betas: list[float]


@serializable_dataclass
class RunConfig(SerializableDataclass):
    name: str
    seed: int
    optimizer: Optimizer
    layers: list[Layer]
    tags: dict[str, Any]
    stages: list[Any]


def as_tree(value: Any) -> Any:
    """`value` with each dataclass as (its class, its fields), so `assert_identical` compares
    classes exactly and floats bit for bit (a dataclass's own `==` does neither)."""
    if isinstance(value, SerializableDataclass):
        return (type(value), {f.name: as_tree(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, list):
        return [as_tree(item) for item in value]
    if isinstance(value, dict):
        return {key: as_tree(item) for key, item in value.items()}
    return value


floats = st.floats(allow_nan=True, allow_infinity=True)  # NaN, inf and -0.0 are stored tagged
ints = st.integers(min_value=-(2**70), max_value=2**70)  # past 2**63 they are stored as text
text = st.text(max_size=12)  # any code point, marker-like strings included
scalars = st.one_of(st.none(), st.booleans(), ints, floats, text)
layers = st.builds(Layer, kind=text, width=ints, dropout=floats, active=st.booleans())
optimizers = st.builds(Optimizer, name=text, lr=floats, betas=st.lists(floats, max_size=3))
values = st.recursive(
    st.one_of(scalars, layers),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
configs = st.builds(
    RunConfig,
    name=text,
    seed=ints,
    optimizer=optimizers,
    layers=st.lists(layers, max_size=8),
    tags=st.dictionaries(text, values, max_size=4),
    stages=st.lists(values, max_size=4),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("configs")


@settings(max_examples=40)
@given(config=configs, list_threshold=st.sampled_from([256, 3]))
def test_nested_configs_round_trip_identical(folder: Path, config: RunConfig, list_threshold: int) -> None:
    """Also with long lists moved to `.jsonl` members (a threshold of 3)."""
    zanj = ZANJ(external_list_threshold=list_threshold, durable=False)
    path = zanj.save(config, folder / "config.zanj")
    assert_identical(as_tree(zanj.read(path)), as_tree(config))
    with zanj.open(path) as opened:
        for index, layer in enumerate(config.layers):
            assert_identical(as_tree(opened[("layers", index)]), as_tree(layer))


def test_a_config_of_many_layers_loads_each_as_its_class(tmp_path: Path) -> None:
    config = RunConfig(
        name="run",
        seed=3,
        optimizer=Optimizer(name="adamw", lr=3e-4, betas=[0.9, 0.999]),
        layers=[Layer(kind="attn" if i % 2 else "mlp", width=64 * i, dropout=0.1, active=i > 3) for i in range(24)],
        tags={"dataset": "x", "nested": {"deep": [Layer("k", 1, math.inf, True)]}},
        stages=[[1, 2.5, None], {"warmup": 100}],
    )
    back = ZANJ().read(ZANJ().save(config, tmp_path / "many"))
    assert_identical(as_tree(back), as_tree(config))
    assert back == config
