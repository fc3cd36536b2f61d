"""zanj 1.0: zanj 0.6's API, as a thin layer over zanj-core and its plugins.

Code written for zanj 0.6 (`from zanj import ZANJ`, `zanj.loading`, `zanj.torchutil`...) keeps
its imports and calls; saving, reading and the file format are zanj-core's, and objects no
installed plugin saves go through zanj 0.6's default handlers. docs/migrating.md lists what
behaves differently. Only `zanj.loading` is imported eagerly: muutils imports it each time a serializable
dataclass is defined, so it stays light; the rest loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zanj.loading import register_loader_handler

if TYPE_CHECKING:
    from zanj.zanj import ZANJ

__version__ = "1.0.0"

SUBMODULES = frozenset({"consts", "externals", "loading", "serializing", "torchutil", "zanj"})

__all__ = [
    "register_loader_handler",
    "ZANJ",
    # modules
    "externals",
    "loading",
    "serializing",
    "torchutil",
    "zanj",
]


def __getattr__(name: str) -> Any:
    """`ZANJ` and the submodules load on first access (torchutil imports torch)."""
    if name == "ZANJ":
        from zanj.zanj import ZANJ

        return ZANJ
    if name in SUBMODULES:
        return importlib.import_module(f"zanj.{name}")
    raise AttributeError(f"module 'zanj' has no attribute {name!r}")
