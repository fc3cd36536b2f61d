"""Objects both zanj 0.6 and zanj-core can represent, for checking files across the two.

Imported by the interop scripts in both environments (zanj-core's, and one with zanj 0.6.0
from PyPI), so it needs only muutils, numpy, torch and pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field

try:
    import torch
except ImportError:  # pragma: no cover - the interop environments both have torch
    torch = None  # type: ignore[assignment]
try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None  # type: ignore[assignment]


@serializable_dataclass
class InteropPoint(SerializableDataclass):
    x: float
    y: float = serializable_field(default=0.0)
    tags: list = serializable_field(default_factory=list)


@serializable_dataclass
class InteropRun(SerializableDataclass):
    name: str
    start: InteropPoint
    path: list
    settings: dict


def objects() -> dict[str, Callable[[], Any]]:
    """name -> a function making the object (fresh each call)."""
    made: dict[str, Callable[[], Any]] = {
        "json_values": lambda: {"s": "text", "i": -3, "f": 0.25, "b": True, "n": None, "l": [1, [2, {"k": "v"}]]},
        "dataclass": lambda: InteropPoint(1.5, -2.0, ["a", "b"]),
        "nested_dataclasses": lambda: InteropRun(
            "r", InteropPoint(0.0), [InteropPoint(1.0, 1.0), InteropPoint(2.0, 4.0, ["x"])], {"lr": 0.1}
        ),
        "long_list": lambda: {"losses": [float(i) / 7 for i in range(300)]},
        "long_tuple": lambda: {"t": tuple(range(300))},
        "arrays_inline": lambda: {
            "f64": np.linspace(0, 1, 7),
            "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
            "i16": np.arange(-3, 3, dtype=np.int16),
            "u8": np.array([[1], [2]], dtype=np.uint8),
            "bool": np.array([True, False]),
        },
        "arrays_external": lambda: {
            "f32": np.arange(1000, dtype=np.float32).reshape(10, 100),
            "i64": np.arange(300, dtype=np.int64),
            "f16": np.arange(512, dtype=np.float16),
        },
    }
    if torch is not None:
        made["tensors"] = lambda: {
            "small": torch.arange(10, dtype=torch.float32),
            "big": torch.arange(1000, dtype=torch.float32).reshape(10, 100),
            "ints": torch.arange(300, dtype=torch.int64),
        }
    if pd is not None:
        made["frames"] = lambda: {
            "frame": pd.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", "c"]}),
            "big": pd.DataFrame({"x": range(300)}),
        }
    return made


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, arrays and tensors bit for bit with their dtypes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if torch is not None and isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
    if pd is not None and isinstance(a, pd.DataFrame):
        return a.equals(b) and list(a.dtypes) == list(b.dtypes)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, SerializableDataclass):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b)


# the README's model, on whichever ConfiguredModel this environment has
if torch is not None:
    try:
        from zanj_torch import ConfiguredModel, set_config_class
    except ImportError:
        from zanj.torchutil import ConfiguredModel, set_config_class  # type: ignore[no-redef]

    @serializable_dataclass
    class InteropNNConfig(SerializableDataclass):
        input_dim: int
        hidden_dim: int
        output_dim: int
        act_fn: Any = serializable_field(
            serialization_fn=lambda x: x.__name__,
            loading_fn=lambda x: getattr(torch.nn, x["act_fn"]),
        )

    @set_config_class(InteropNNConfig)
    class InteropNN(ConfiguredModel[InteropNNConfig]):  # type: ignore[misc,valid-type]
        def __init__(self, config: InteropNNConfig) -> None:
            super().__init__(config)
            self.net = torch.nn.Sequential(
                torch.nn.Linear(config.input_dim, config.hidden_dim),
                config.act_fn(),
                torch.nn.Linear(config.hidden_dim, config.output_dim),
            )

    def make_model() -> Any:
        torch.manual_seed(0)
        return InteropNN(InteropNNConfig(input_dim=10, hidden_dim=20, output_dim=2, act_fn=torch.nn.ReLU))
