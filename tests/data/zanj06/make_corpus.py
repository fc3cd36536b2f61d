"""Writes the zanj 0.6 corpus the test suite reads. Run with the original zanj installed:

    python -m venv /tmp/z06 && /tmp/z06/bin/pip install zanj==0.6.0
    /tmp/z06/bin/python tests/data/zanj06/make_corpus.py tests/data/zanj06

The classes below are mirrored in tests/test_zanj06_files.py, which checks what each file
must load to.
"""

import sys
from pathlib import Path

import numpy as np
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
from zanj import ZANJ

try:
    import torch
    from zanj.torchutil import ConfiguredModel, set_config_class
except ImportError:  # the corpus can be made without torch; those files are then skipped
    torch = None  # type: ignore[assignment]
try:
    import pandas as pd
except ImportError:
    pd = None  # type: ignore[assignment]
try:
    import polars as pl
except ImportError:
    pl = None  # type: ignore[assignment]


@serializable_dataclass
class Basic06(SerializableDataclass):
    a: str
    q: int = 42
    c: list[int] = serializable_field(default_factory=list)


@serializable_dataclass
class Nested06(SerializableDataclass):
    name: str
    basic: Basic06
    items: list[Basic06]
    meta: dict


if torch is not None:

    @serializable_dataclass
    class MyNNConfig(SerializableDataclass):
        input_dim: int
        hidden_dim: int
        output_dim: int
        act_fn: torch.nn.Module = serializable_field(
            serialization_fn=lambda x: x.__name__,
            loading_fn=lambda x: getattr(torch.nn, x["act_fn"]),
        )
        loss_kwargs: dict = serializable_field(default_factory=dict)
        loss_factory: torch.nn.modules.loss._Loss = serializable_field(
            default_factory=lambda: torch.nn.CrossEntropyLoss,
            serialization_fn=lambda x: x.__name__,
            loading_fn=lambda x: getattr(torch.nn, x["loss_factory"]),
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


ARRAY_MODES = ("list", "array_list_meta", "array_hex_meta", "array_b64_meta")


def array_modes_object() -> dict:
    """Mirrored in tests/test_numpy.py."""
    return {
        "f": np.arange(6.0).reshape(2, 3),
        "i": np.arange(4, dtype=np.int16),
        "u": np.array([[1], [2]], dtype=np.uint8),
        "zero_dim": np.array(2.5),
        "external": np.arange(300, dtype=np.float32),
    }


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    basic = Basic06("hello", 42, [1, 2, 3])
    ZANJ().save(basic, out / "basic.zanj")
    ZANJ(compress=False).save(basic, out / "basic_stored.zanj")
    nested = Nested06("n", Basic06("x", 1, []), [Basic06("y", 2, [5]), Basic06("z", 3, [6, 7])], {"k": [1, 2]})
    ZANJ().save(nested, out / "nested.zanj")
    ZANJ().save(
        {"long": list(range(300)), "tup": tuple(range(260)), "short": [1, 2], "s": "text"}, out / "externals.zanj"
    )
    ZANJ().save(
        {"small": np.arange(10.0), "big": np.arange(1000, dtype=np.int32).reshape(10, 100)},
        out / "arrays.zanj",
    )
    ZANJ(compress=False).save(
        {"small": np.arange(10.0), "big": np.arange(1000, dtype=np.int32).reshape(10, 100)},
        out / "arrays_stored.zanj",
    )
    for mode in ARRAY_MODES:  # every inline form zanj 0.6 writes, with a 0-d array and an external one
        ZANJ(internal_array_mode=mode).save(array_modes_object(), out / f"arrays_{mode}.zanj")
    ZANJ().save(
        {"set": {1, 2, 3}, "none": None, "flag": True, "f": 0.25, "nested": {"a": [{"b": "c"}]}, "empty": []},
        out / "builtins.zanj",
    )
    if torch is not None:
        ZANJ().save(
            {"small": torch.arange(10, dtype=torch.float32), "big": torch.arange(1000).reshape(10, 100)},
            out / "torch.zanj",
        )
        ZANJ(compress=False).save(
            {"small": torch.arange(10, dtype=torch.float32), "big": torch.arange(1000).reshape(10, 100)},
            out / "torch_stored.zanj",
        )
        torch.manual_seed(0)
        config = MyNNConfig(
            input_dim=10, hidden_dim=20, output_dim=2, act_fn=torch.nn.ReLU, loss_kwargs=dict(reduction="mean")
        )
        ZANJ().save(MyNN(config), out / "model.zanj")
    if pd is not None:
        frame = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", "c"]})
        ZANJ().save(
            {"frame": frame, "empty": frame.iloc[:0], "big": pd.DataFrame({"x": range(300)})}, out / "frames.zanj"
        )
    if pl is not None:
        frame = pl.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", None], "b": [True, False, None]})
        ZANJ().save(
            {"frame": frame, "empty": frame.clear(), "big": pl.DataFrame({"x": range(300)})},
            out / "polars_frames.zanj",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
