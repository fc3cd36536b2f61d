"""zanj-torch: PyTorch tensors and `ConfiguredModel` for zanj.

Importing this package does not import torch; the model helpers below are loaded (with torch)
on first access, and the plugin's handlers import torch only when a tensor or model is met.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_MODEL_EXPORTS = (
    "ConfigMismatchException",
    "ConfiguredModel",
    "assert_model_cfg_equality",
    "assert_model_exact_equality",
    "get_module_device",
    "num_params",
    "set_config_class",
)

__all__ = ["__version__", *_MODEL_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _MODEL_EXPORTS:
        from zanj_torch import model

        return getattr(model, name)
    raise AttributeError(f"module 'zanj_torch' has no attribute {name!r}")
