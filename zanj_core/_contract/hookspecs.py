"""The plugin contract: pluggy markers and hook signatures, nothing else.

A plugin is any module or object with functions decorated by `hookimpl`, published through
the entry-point group `zanj` (``[project.entry-points.zanj] name = "package.module"``).
Each hook returns a sequence of handler records; the core calls every plugin's implementation
separately, so it can stamp each record with the distribution and version that provided it and
skip one plugin that fails without losing the others.

Precedence. Plugins are discovered in an order fixed by names alone, never by the order in which
Python's metadata lists entry points: the core's own plugins first, then the other distributions
by normalized name (PEP 503), then each distribution's entry points by name. Where two handlers
tie, the one discovered first wins: the first plugin keeps an exact loader tag it shares, and of
two serializers equal in priority and MRO distance the first is tried first. Handlers registered
at run time (`register_*`) rank as if discovered before every plugin; a `ZANJ`'s `handlers_pre`
come before all of them. Clashes between plugins (a shared tag, an exact tag inside another
plugin's prefix or suffix family) are reported with a `ZanjBrokenPluginWarning` naming both.
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from zanj_core._contract.commands import CommandHandler, LocationLister
from zanj_core._contract.records import LoaderHandler, MemberFormat, SerializerHandler

PROJECT_NAME = "zanj"

PLUGIN_API_VERSION = "1.3"
"""The version of the plugin API (`zanj_core.plugin`): `major.minor`. A minor release adds
to the API; a major one changes or removes something. 1.1 added the command-line hooks
(`zanj_commands`, `zanj_location_listers`); 1.2 the keyword `among=` of `resolve_class`; 1.3
`json_structure_cost`. A plugin declares the version it was written for as `ZANJ_PLUGIN_API = "1.0"`, an attribute of its entry-point object (module).
Discovery skips, with a `ZanjBrokenPluginWarning` naming both versions and what to upgrade, a
plugin that needs another major version or a newer minor one than this core provides, or whose
declaration is not a `"major.minor"` string. A plugin that declares nothing is accepted and
taken to target major version 1."""
ENTRY_POINT_GROUP = "zanj"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin module's hook functions (`@hookimpl def zanj_loader_handlers(): ...`)."""


@hookspec
def zanj_serializer_handlers() -> Sequence[SerializerHandler]:
    """Return the serializer handlers this plugin provides.

    Results from all plugins are combined into one dispatch table ordered by priority, then
    by how close the handler's type is to the object's class, then by discovery order (see
    Precedence above). A dotted name in `types` matches the class's own `module.QualName` and
    the public alias users write (`torch.nn.Parameter`), looked up among imported modules only.
    Two distributions writing the same tag are warned about: a file's tag table records one
    distribution per tag.
    """
    raise NotImplementedError


@hookspec
def zanj_loader_handlers() -> Sequence[LoaderHandler]:
    """Return the loader handlers this plugin provides.

    Each is keyed by the format tag it reads. Two plugins claiming the same exact tag: the
    first discovered keeps it and a warning names both. An exact tag inside another
    distribution's prefix or suffix family takes that tag from the family (exact tags win),
    and is warned about too.
    """
    raise NotImplementedError


@hookspec
def zanj_member_formats() -> Sequence[MemberFormat]:
    """Return the archive member formats this plugin provides (e.g. ``npy``), keyed by name."""
    raise NotImplementedError


@hookspec
def zanj_commands() -> Sequence[CommandHandler]:
    """Return the `zanj` subcommands this plugin provides (plugin API 1.1).

    Each becomes `zanj NAME ...`, listed in `zanj --help`. A name is taken by the first plugin
    discovered that provides it; a later one is skipped with a `ZanjBrokenPluginWarning` naming
    both. The core's own commands (`ls`, `show`, `meta`, `verify`, `plugins`) cannot be taken.
    """
    raise NotImplementedError


@hookspec
def zanj_location_listers() -> Sequence[LocationLister]:
    """Return the listers through which `zanj ls` reads locations that are not one `.zanj`
    file (plugin API 1.1), such as a directory of per-rank shards.

    `zanj ls LOCATION` asks each lister in discovery order whether it `recognizes` the
    location, and lists it with the first that does; when none does, it opens the location
    as a `.zanj` file.
    """
    raise NotImplementedError
