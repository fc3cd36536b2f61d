"""muutils `SerializableDataclass` instances (core plugin).

Nodes keep zanj 0.6's tag, `Name(SerializableDataclass)`, and add `__zanj_class__`
(`module:QualName`) so two defined classes of the same name can be told apart. Fields go
through the walk, so arrays, tensors, frames and nested dataclasses inside a dataclass get
their own handlers and members. The class is found only among the classes the program has
defined; muutils is never imported here unless the program already did.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from zanj_core._plugins.compat import same_in_zanj06
from zanj_core.plugin import (
    FORMAT_KEY,
    JSONdict,
    LoadContext,
    LoaderHandler,
    ObjectPath,
    SaveContext,
    SerializerHandler,
    ZanjFormatError,
    ZanjMissingClassWarning,
    class_key,
    format_path,
    hookimpl,
    node_fields,
    resolve_class,
)

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""

SDC_MODULE = "muutils.json_serialize.serializable_dataclass"
SDC_TYPE = f"{SDC_MODULE}.SerializableDataclass"
TAG_SUFFIX = "(SerializableDataclass)"
CLASS_KEY = "__zanj_class__"


def serialize_dataclass(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    cls = type(obj)
    node: JSONdict = {FORMAT_KEY: f"{cls.__name__}{TAG_SUFFIX}", CLASS_KEY: class_key(cls)}
    base = sys.modules[SDC_MODULE].SerializableDataclass
    for field in dataclasses.fields(obj):
        if not getattr(field, "serialize", True):
            continue
        value = getattr(obj, field.name)
        serialization_fn = getattr(field, "serialization_fn", None)
        # as in muutils: a nested serializable dataclass ignores the field's serialization_fn
        if serialization_fn is not None and not isinstance(value, base):
            value = serialization_fn(value)
        node[field.name] = ctx.serialize(value, (*path, field.name))
    for prop in getattr(cls, "_properties_to_serialize", ()):
        node[prop] = ctx.serialize(getattr(obj, prop), (*path, prop))
    return node


def load_dataclass(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    name = tag[: -len(TAG_SUFFIX)]
    recorded = node.get(CLASS_KEY)
    recorded = recorded if isinstance(recorded, str) else None
    module = sys.modules.get(SDC_MODULE)
    where = f"{ctx.label} at {format_path(path)}"
    cls = (
        resolve_class(module.SerializableDataclass, name, recorded, "SerializableDataclass", where) if module else None
    )
    if cls is None:
        described = repr(recorded) if recorded else f"{name!r} (module not recorded: a zanj 0.6 file)"
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"dataclass {described} is not defined in this program",
            hint="import the module that defines it before reading (zanj never imports modules named in a file)",
            category=ZanjMissingClassWarning,
        )
    loaded: dict[str, Any] = {FORMAT_KEY: tag}
    for key, value in node.items():
        if key not in (FORMAT_KEY, CLASS_KEY):
            loaded[key] = ctx.load(value, (*path, key))
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init or field.name not in loaded:
            continue
        deserialize_fn = getattr(field, "deserialize_fn", None)
        loading_fn = getattr(field, "loading_fn", None)
        if deserialize_fn is not None:
            kwargs[field.name] = deserialize_fn(loaded[field.name])
        elif loading_fn is not None:
            kwargs[field.name] = loading_fn(loaded)  # muutils passes the whole dict to loading_fn
        else:
            kwargs[field.name] = loaded[field.name]
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ZanjFormatError(
            f"{where}: cannot construct {class_key(cls)} from the file's fields "
            f"{sorted(k for k in loaded if k != FORMAT_KEY)}: {exc}. The class may have changed since the file was written"
        ) from exc


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag=f"*{TAG_SUFFIX}",
            types=(SDC_TYPE,),
            serialize=serialize_dataclass,
            priority=5,
            description="muutils SerializableDataclass, field by field",
            compat=same_in_zanj06,
        )
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        LoaderHandler(
            tag=TAG_SUFFIX,
            match="suffix",
            load=load_dataclass,
            children=node_fields,
            description="muutils SerializableDataclass, resolved among defined classes",
        ),
    ]
