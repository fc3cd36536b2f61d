"""zanj-torch: PyTorch tensors and `ConfiguredModel` for zanj.

Importing this package does not import torch; the model helpers below are loaded (with torch)
on first access, and the plugin's handlers import torch only when a tensor or model is met.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zanj_torch.errors import ZanjDeviceError

if TYPE_CHECKING:  # the real objects, for type checkers; at run time they load on first access
    from zanj_torch.model import (
        ConfigMismatchException,
        ConfiguredModel,
        assert_model_cfg_equality,
        assert_model_exact_equality,
        get_module_device,
        num_params,
        set_config_class,
    )

__version__ = "0.1.0"

_MODEL_EXPORTS = frozenset(
    {
        "ConfigMismatchException",
        "ConfiguredModel",
        "assert_model_cfg_equality",
        "assert_model_exact_equality",
        "get_module_device",
        "num_params",
        "set_config_class",
    }
)

__all__ = [
    "__version__",
    "ConfigMismatchException",
    "ConfiguredModel",
    "ZanjDeviceError",
    "assert_model_cfg_equality",
    "assert_model_exact_equality",
    "get_module_device",
    "num_params",
    "set_config_class",
]


def __getattr__(name: str) -> Any:
    """Load a model helper (and torch) on first access, then keep it as a module attribute."""
    if name in _MODEL_EXPORTS:
        from zanj_torch import model

        value = getattr(model, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zanj_torch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODEL_EXPORTS})
