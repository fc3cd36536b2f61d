"""zanj 0.6's `zanj.torchutil`: `ConfiguredModel` and its helpers, from zanj-torch."""

from __future__ import annotations

from typing import Any, TypeVar

try:
    import torch  # noqa: F401 (0.6 needs torch here, and says how to get it)
except ImportError as exc:
    raise ImportError(
        "torch is required for zanj.torchutil, please install it with `pip install torch` or `pip install zanj[torch]`"
    ) from exc

import zanj_torch
from muutils.json_serialize import SerializableDataclass
from zanj_torch import (
    ConfigMismatchException,
    ConfiguredModel,
    assert_model_cfg_equality,
    get_module_device,
    num_params,
    set_config_class,
)

from zanj.loading import LoaderHandler, load_item_recursive, register_loader_handler
from zanj.zanj import ZANJ
from zanj_core.plugin import FORMAT_KEY, ObjectPath

KWArgs = Any
"""Keyword arguments, as zanj 0.6 annotated them."""
_FORMAT_KEY: str = FORMAT_KEY
T_config = TypeVar("T_config", bound=SerializableDataclass)
"""A `ConfiguredModel`'s configuration class."""

__all__ = [
    "ConfigMismatchException",
    "ConfiguredModel",
    "KWArgs",
    "LoaderHandler",
    "ObjectPath",
    "SerializableDataclass",
    "T_config",
    "ZANJ",
    "assert_model_cfg_equality",
    "assert_model_exact_equality",
    "get_module_device",
    "load_item_recursive",
    "num_params",
    "register_loader_handler",
    "set_config_class",
]


def _print_entry(key: str, equal: bool) -> None:
    print(f"{'passed' if equal else 'failed'} {key}")


def assert_model_exact_equality(model_a: ConfiguredModel[Any], model_b: ConfiguredModel[Any]) -> None:
    """zanj-torch's check (equal configs, bit-identical state dicts), printing `passed <key>` or
    `failed <key>` for each state dict entry as zanj 0.6 did; `AssertionError` if any differs."""
    zanj_torch.assert_model_exact_equality(model_a, model_b, report=_print_entry)
