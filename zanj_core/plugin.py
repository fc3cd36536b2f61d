"""The published plugin API of zanj-core: everything a plugin needs, and nothing it does not.

A plugin imports from this module only (and `zanj_core` for the user-facing `ZANJ` and the
errors); every other module of the core is private and may change in any release. The API is
versioned by `PLUGIN_API_VERSION` (`major.minor`): a plugin states the version it was written
for in a module attribute `ZANJ_PLUGIN_API = "1.0"` of its entry-point module, and discovery
skips, with a `ZanjBrokenPluginWarning` naming both versions, a plugin that needs a different
major version or a newer minor one than this core provides. docs/plugins.md is the guide.
"""

from __future__ import annotations

from zanj_core._container.member_source import MemberSource
from zanj_core._container.spec import ALIGNMENT
from zanj_core._contract.budget import ITEM_COST, JSON_OBJECT_FACTOR, ReadBudget, json_structure_cost
from zanj_core._contract.classes import class_key, defined_subclasses, resolve_class
from zanj_core._contract.commands import CommandHandler, ListedItem, LocationLister
from zanj_core._contract.hookspecs import PLUGIN_API_VERSION, hookimpl
from zanj_core._contract.nodes import (
    FORMAT_KEY,
    REF_KEY,
    UNSERIALIZABLE_TAG,
    JSONdict,
    JSONitem,
    ObjectPath,
    TypeSpec,
    format_path,
    json_errors,
    node_fields,
)
from zanj_core._contract.records import (
    LoaderHandler,
    MemberFormat,
    PluginSource,
    SerializerHandler,
    ZanjUnloaded,
    deferred,
)
from zanj_core._contract.textsafe import quoted, safe_text
from zanj_core._walk.loading import LoadContext
from zanj_core._walk.registry import register_loader_handler, register_member_format, register_serializer_handler
from zanj_core._walk.saving import SaveContext
from zanj_core.errors import (
    ZanjBrokenPluginWarning,
    ZanjError,
    ZanjFormatError,
    ZanjLimitError,
    ZanjMissingClassWarning,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
    ZanjPluginError,
    ZanjSerializationError,
)

__all__ = [
    # the contract's version and the hook marker
    "PLUGIN_API_VERSION",
    "hookimpl",
    # the records a plugin hands over
    "LoaderHandler",
    "MemberFormat",
    "PluginSource",
    "SerializerHandler",
    "ZanjUnloaded",
    "deferred",
    # the command line: subcommands and listings of locations that are not one file (API 1.1)
    "CommandHandler",
    "ListedItem",
    "LocationLister",
    # the contexts handlers receive, and the members they read
    "LoadContext",
    "MemberSource",
    "ReadBudget",
    "SaveContext",
    # the JSON tree: markers, types, object paths, node helpers
    "FORMAT_KEY",
    "REF_KEY",
    "UNSERIALIZABLE_TAG",
    "JSONdict",
    "JSONitem",
    "ObjectPath",
    "TypeSpec",
    "format_path",
    "json_errors",
    "node_fields",
    # costs a loader charges to the read budget, and the member alignment
    "ALIGNMENT",
    "ITEM_COST",
    "JSON_OBJECT_FACTOR",
    "json_structure_cost",
    # classes named in files, found among those the program defined (never imported)
    "class_key",
    "defined_subclasses",
    "resolve_class",
    # showing text from a file in a message
    "quoted",
    "safe_text",
    # registering handlers at run time
    "register_loader_handler",
    "register_member_format",
    "register_serializer_handler",
    # the errors and warnings plugins raise
    "ZanjBrokenPluginWarning",
    "ZanjError",
    "ZanjFormatError",
    "ZanjLimitError",
    "ZanjMissingClassWarning",
    "ZanjMissingPluginError",
    "ZanjMissingPluginWarning",
    "ZanjPluginError",
    "ZanjSerializationError",
]
