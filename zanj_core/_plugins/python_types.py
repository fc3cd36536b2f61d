"""Python builtins, saved losslessly (core plugin; the entry point `builtins`).

JSON-native values stay plain JSON so files remain readable; everything JSON would change
(tuples, sets, non-string keys, bytes, big ints, NaN/inf/-0.0, complex, dates, paths, enum
members) gets a small tagged node. Handlers match exact types: a subclass such as a
named tuple or a `defaultdict` is refused rather than silently saved as its base (an
`OrderedDict`, common as torch state dicts, has its own handler).

This module holds the handler tables; the functions live by concern in `python_scalars`
(numbers, bytes, dates and times, paths, enums) and `python_containers`.
"""

from __future__ import annotations

import datetime
import enum
import pathlib
from collections import OrderedDict
from typing import Any

from zanj_core._plugins import python_containers as containers
from zanj_core._plugins import python_scalars as scalars
from zanj_core._plugins.compat import same_in_zanj06
from zanj_core._plugins.direct_scalars import same_value
from zanj_core.plugin import (
    UNSERIALIZABLE_TAG,
    JSONdict,
    LoadContext,
    LoaderHandler,
    ObjectPath,
    SerializerHandler,
    hookimpl,
)

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""


def _exact(kind: type):  # type: ignore[no-untyped-def]
    return lambda obj, path, ctx: type(obj) is kind


def _load_unserializable(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> str:
    return str(ctx.require(node, "repr", str, path))


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    def exact(kind: type, serialize: Any, tag: str = "", compat: Any = None) -> SerializerHandler:
        return SerializerHandler(
            tag=tag or kind.__name__, types=(kind,), check=_exact(kind), serialize=serialize, compat=compat
        )

    return [
        exact(str, same_value),
        exact(bool, same_value),
        exact(type(None), same_value, "None"),
        exact(int, scalars.serialize_int),
        exact(float, scalars.serialize_float),
        exact(complex, scalars.serialize_complex),
        exact(list, containers.serialize_list),
        exact(tuple, containers.serialize_tuple, compat=same_in_zanj06),
        exact(dict, containers.serialize_dict),
        exact(OrderedDict, containers.serialize_ordered_dict, "collections.OrderedDict"),
        exact(set, containers.serialize_set),
        exact(frozenset, containers.serialize_set),
        exact(bytes, scalars.serialize_bytes),
        exact(bytearray, scalars.serialize_bytes),
        exact(datetime.datetime, scalars.serialize_datetime, "datetime.datetime"),
        exact(datetime.date, scalars.serialize_date, "datetime.date"),
        exact(datetime.time, scalars.serialize_datetime, "datetime.time"),
        exact(datetime.timedelta, scalars.serialize_timedelta, "datetime.timedelta"),
        SerializerHandler(
            tag="pathlib.Path",
            types=(pathlib.PurePath,),
            check=lambda obj, path, ctx: type(obj).__name__ in scalars.PATH_KINDS,
            serialize=scalars.serialize_path,
        ),
        SerializerHandler(tag="enum.Enum", types=(enum.Enum,), serialize=scalars.serialize_enum, priority=1),
    ]


def _shown(*keys: str):  # type: ignore[no-untyped-def]
    """A `describe` hook showing a small node's value as text (what `zanj ls` prints after `=`)."""

    def describe(node: JSONdict) -> dict[str, Any]:
        parts = [node[key] for key in keys if isinstance(node.get(key), (str, int))]
        return {"value": ".".join(str(p) for p in parts)} if parts else {}

    return describe


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        LoaderHandler(tag="int", load=scalars.load_int, describe=_shown("value")),
        LoaderHandler(tag="float", load=scalars.load_float, describe=_shown("value")),
        LoaderHandler(tag="complex", load=scalars.load_complex),
        LoaderHandler(tag="tuple", load=containers.load_tuple, children=containers.sequence_children),
        LoaderHandler(tag="set", load=containers.load_set, children=containers.sequence_children),
        LoaderHandler(tag="frozenset", load=containers.load_set, children=containers.sequence_children),
        LoaderHandler(tag="dict", load=containers.load_dict, children=containers.dict_children),
        LoaderHandler(
            tag="collections.OrderedDict", load=containers.load_ordered_dict, children=containers.ordered_dict_children
        ),
        LoaderHandler(tag="bytes", load=scalars.load_bytes),
        LoaderHandler(tag="bytearray", load=scalars.load_bytes),
        LoaderHandler(tag="datetime.datetime", load=scalars.load_datetime, describe=_shown("iso")),
        LoaderHandler(tag="datetime.time", load=scalars.load_datetime, describe=_shown("iso")),
        LoaderHandler(tag="datetime.date", load=scalars.load_date, describe=_shown("iso")),
        LoaderHandler(tag="datetime.timedelta", load=scalars.load_timedelta),
        LoaderHandler(tag="pathlib.Path", load=scalars.load_path, describe=_shown("path")),
        LoaderHandler(tag="enum.Enum", load=scalars.load_enum, describe=_shown("class", "name")),
        LoaderHandler(
            tag=UNSERIALIZABLE_TAG,
            load=_load_unserializable,
            description="objects saved as their repr() under error_mode='warn'/'ignore'",
        ),
    ]
