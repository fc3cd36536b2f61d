"""The plugin contract: pluggy markers and hook signatures, nothing else.

A plugin is any module or object with functions decorated by `hookimpl`, published through
the entry-point group `zanj` (``[project.entry-points.zanj] name = "package.module"``).
Each hook returns a sequence of handler records; the core calls every plugin's implementation
separately, so it can stamp each record with the distribution and version that provided it and
skip one plugin that fails without losing the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from zanj_core._contract.records import LoaderHandler, MemberFormat, SerializerHandler

PROJECT_NAME = "zanj"

PLUGIN_API_VERSION = "1.0"
"""The version of the plugin API (`zanj_core.plugin`): `major.minor`. A minor release adds
to the API; a major one changes or removes something. A plugin declares the version it was
written for as `ZANJ_PLUGIN_API = "1.0"` in its entry-point module."""
ENTRY_POINT_GROUP = "zanj"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def zanj_serializer_handlers() -> Sequence[SerializerHandler]:
    """Return the serializer handlers this plugin provides.

    Results from all plugins are combined into one dispatch table ordered by priority, then
    by how close the handler's type is to the object's class, then by registration order.
    """
    raise NotImplementedError


@hookspec
def zanj_loader_handlers() -> Sequence[LoaderHandler]:
    """Return the loader handlers this plugin provides.

    Each is keyed by the format tag it reads. Two plugins claiming the same exact tag: the
    first discovered keeps it and a warning names both.
    """
    raise NotImplementedError


@hookspec
def zanj_member_formats() -> Sequence[MemberFormat]:
    """Return the archive member formats this plugin provides (e.g. ``npy``), keyed by name."""
    raise NotImplementedError
