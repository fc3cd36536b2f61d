"""zanj-core: save arbitrary Python objects to one `.zanj` file and read them back.

`ZANJ().save(obj, path)` / `ZANJ().read(path)`; plugins (`zanj-numpy`, `zanj-torch`,
`zanj-pandas`, or your own) are found through the `zanj` entry-point group.

This module is the user-facing API. Plugin authors use `zanj_core.plugin`, the published,
versioned plugin API; every module whose name starts with an underscore is private.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from zanj_core._version import __version__
from zanj_core._walk.registry import (
    REGISTRY,
    register_loader_handler,
    register_member_format,
    register_serializer_handler,
)
from zanj_core._walk.zanj import ZANJ
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

if TYPE_CHECKING:
    from zanj_core._tools.verify import VerifyReport, verify_file


def __getattr__(name: str) -> Any:
    # the verifier (a tool, with the core's own plugins it checks members with) loads on first use
    if name in ("VerifyReport", "verify_file"):
        from zanj_core._tools import verify

        return getattr(verify, name)
    raise AttributeError(f"module 'zanj_core' has no attribute {name!r}")
