"""zanj-core: save arbitrary Python objects to one `.zanj` file and read them back.

`ZANJ().save(obj, path)` / `ZANJ().read(path)`; plugins (`zanj-numpy`, `zanj-torch`,
`zanj-pandas`, or your own) are found through the `zanj` entry-point group.
"""

from __future__ import annotations

__version__ = "0.1.0"

from zanj_core.archive import ReadLimits
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
from zanj_core.handlers import (
    FORMAT_KEY,
    REF_KEY,
    LoaderHandler,
    MemberFormat,
    PluginSource,
    SerializerHandler,
    ZanjUnloaded,
    deferred,
)
from zanj_core.hookspecs import hookimpl
from zanj_core.registry import (
    REGISTRY,
    register_loader_handler,
    register_member_format,
    register_serializer_handler,
)
from zanj_core.zanj import ZANJ

__all__ = [
    "FORMAT_KEY",
    "REF_KEY",
    "REGISTRY",
    "LoaderHandler",
    "MemberFormat",
    "PluginSource",
    "ReadLimits",
    "SerializerHandler",
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
]
