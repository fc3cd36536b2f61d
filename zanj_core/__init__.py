"""zanj-core: save arbitrary Python objects to one `.zanj` file and read them back.

`ZANJ().save(obj, path)` / `ZANJ().read(path)`; plugins (`zanj-numpy`, `zanj-torch`,
`zanj-pandas`, or your own) are found through the `zanj` entry-point group.

This module is the user-facing API. Plugin authors use `zanj_core.plugin`, the published,
versioned plugin API; every module whose name starts with an underscore is private.
"""

from __future__ import annotations

from zanj_core._version import __version__
from zanj_core.errors import (
    ZanjBrokenPluginWarning,
    ZanjError,
    ZanjFileNotFoundError,
    ZanjFormatError,
    ZanjIndexError,
    ZanjKeyError,
    ZanjLimitError,
    ZanjMissingClassWarning,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
    ZanjPluginError,
    ZanjRemoteError,
    ZanjRemoteWarning,
    ZanjSaveError,
    ZanjSerializationError,
)

TYPE_CHECKING = False  # typing's, known by name to type checkers and pdoc; importing typing costs ~2 ms
if TYPE_CHECKING:  # the names below load on first use (`__getattr__`); type checkers and pdoc see them here
    from typing import Any

    from zanj_core._container.limits import ReadLimits
    from zanj_core._contract.hookspecs import hookimpl
    from zanj_core._contract.nodes import FORMAT_KEY, REF_KEY
    from zanj_core._contract.records import (
        LoaderHandler,
        MemberFormat,
        PluginSource,
        SerializerHandler,
        ZanjUnloaded,
        deferred,
    )
    from zanj_core._tools.verify import VerifyReport, verify_file
    from zanj_core._walk.registry import (
        REGISTRY,
        register_loader_handler,
        register_member_format,
        register_serializer_handler,
    )
    from zanj_core._walk.zanj import ZANJ

__all__ = [
    "FORMAT_KEY",
    "REF_KEY",
    "REGISTRY",
    "LoaderHandler",
    "MemberFormat",
    "PluginSource",
    "ReadLimits",
    "SerializerHandler",
    "VerifyReport",
    "ZANJ",
    "ZanjBrokenPluginWarning",
    "ZanjError",
    "ZanjFileNotFoundError",
    "ZanjFormatError",
    "ZanjIndexError",
    "ZanjKeyError",
    "ZanjLimitError",
    "ZanjMissingClassWarning",
    "ZanjMissingPluginError",
    "ZanjMissingPluginWarning",
    "ZanjPluginError",
    "ZanjRemoteError",
    "ZanjRemoteWarning",
    "ZanjSaveError",
    "ZanjSerializationError",
    "ZanjUnloaded",
    "__version__",
    "deferred",
    "hookimpl",
    "register_loader_handler",
    "register_member_format",
    "register_serializer_handler",
    "verify_file",
]

_LAZY = {
    "ReadLimits": "zanj_core._container.limits",
    "hookimpl": "zanj_core._contract.hookspecs",  # pluggy: needed by plugins, not by reading plain JSON
    "FORMAT_KEY": "zanj_core._contract.nodes",
    "REF_KEY": "zanj_core._contract.nodes",
    "LoaderHandler": "zanj_core._contract.records",
    "MemberFormat": "zanj_core._contract.records",
    "PluginSource": "zanj_core._contract.records",
    "SerializerHandler": "zanj_core._contract.records",
    "ZanjUnloaded": "zanj_core._contract.records",
    "deferred": "zanj_core._contract.records",
    "VerifyReport": "zanj_core._tools.verify",  # the verifier, a tool, with the core's own plugins
    "verify_file": "zanj_core._tools.verify",
    "REGISTRY": "zanj_core._walk.registry",
    "register_loader_handler": "zanj_core._walk.registry",
    "register_member_format": "zanj_core._walk.registry",
    "register_serializer_handler": "zanj_core._walk.registry",
    "ZANJ": "zanj_core._walk.zanj",
}
"""Public names imported on first use, and the module each comes from: `import zanj_core` then
costs about nothing, and each use loads only the layers it needs."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zanj_core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
