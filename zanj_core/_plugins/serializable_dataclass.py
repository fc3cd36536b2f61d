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
import weakref
from typing import Any

from zanj_core._plugins.compat import same_in_zanj06
from zanj_core._plugins.defined_classes import defined_by_name
from zanj_core._plugins.direct_scalars import direct_scalars, write_item
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
_TAG_KEYS = (FORMAT_KEY, CLASS_KEY)


SAVE_PLANS = "zanj_core.serializable_dataclass.save_plans"
"""`ctx.cache` key of one save's `_SavePlan`s, by class."""
LOAD_PLANS = "zanj_core.serializable_dataclass.load_plans"
"""`ctx.cache` key of one read's `_LoadPlan`s, by the name and class key its nodes record."""
DEFINED = "zanj_core.serializable_dataclass.defined"
"""`ctx.cache` key of the dataclasses defined when a read met its first dataclass node, by name."""


class _SavePlan:
    """What saving a class's instances needs from its definition, found once per save: its
    tag, its class key, and its serialized fields with their `serialization_fn`."""

    __slots__ = ("class_key", "fields", "properties", "tag")

    def __init__(self, cls: type) -> None:
        self.tag = f"{cls.__name__}{TAG_SUFFIX}"
        self.class_key = class_key(cls)
        self.fields = [
            (field.name, getattr(field, "serialization_fn", None))
            for field in dataclasses.fields(cls)
            if getattr(field, "serialize", True)
        ]
        self.properties = tuple(getattr(cls, "_properties_to_serialize", ()))


def serialize_dataclass(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    cls = type(obj)
    plans: dict[type, _SavePlan] = ctx.cache.setdefault(SAVE_PLANS, {})
    plan = plans.get(cls)
    if plan is None:
        plan = plans[cls] = _SavePlan(cls)
    node: JSONdict = {FORMAT_KEY: plan.tag, CLASS_KEY: plan.class_key}
    base = sys.modules[SDC_MODULE].SerializableDataclass
    direct = direct_scalars(ctx, path)
    plain = direct.plain
    for name, serialization_fn in plan.fields:
        value = getattr(obj, name)
        # as in muutils: a nested serializable dataclass ignores the field's serialization_fn
        if serialization_fn is not None and not isinstance(value, base):
            value = serialization_fn(value)
        node[name] = value if type(value) in plain else write_item(direct, value, path, name, ctx)
    for prop in plan.properties:
        node[prop] = ctx.serialize(getattr(obj, prop), (*path, prop))
    return node


class _LoadFields:
    """What loading a class's instances needs from its definition: its init fields with their
    `deserialize_fn` and `loading_fn`. A class's fields are fixed once it is defined, so this is
    worked out once per class and kept, weakly, across reads (`_FIELDS`)."""

    __slots__ = ("fields", "needs_whole", "plain_names")

    def __init__(self, cls: type) -> None:
        self.fields = [
            (field.name, getattr(field, "deserialize_fn", None), getattr(field, "loading_fn", None))
            for field in dataclasses.fields(cls)
            if field.init
        ]
        self.needs_whole = any(deserialize is None and loading is not None for _, deserialize, loading in self.fields)
        """Whether a `loading_fn` is called: muutils hands it the whole node, tag included."""
        plain = all(deserialize is None and loading is None for _, deserialize, loading in self.fields)
        self.plain_names = frozenset(name for name, _, _ in self.fields) if plain else None
        """The init fields, when none has a hook: each is passed as loaded."""


_FIELDS: weakref.WeakKeyDictionary[type, _LoadFields] = weakref.WeakKeyDictionary()
"""`_LoadFields` by class, for as long as the class lives."""


def _fields_of(cls: type) -> _LoadFields:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = _LoadFields(cls)
    return found


class _LoadPlan:
    """The class a read's nodes of one name (and recorded class key) resolve to, and its
    fields, found once per read: the classes a read sees are those defined when it first meets
    the name."""

    __slots__ = ("cls", "fields", "needs_whole", "plain_names")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        found = _fields_of(cls)
        self.fields = found.fields
        self.needs_whole = found.needs_whole
        self.plain_names = found.plain_names


def _load_plan(name: str, recorded: str | None, path: ObjectPath, ctx: LoadContext) -> _LoadPlan | None:
    """The plan for nodes of this name and recorded class key, made on the first of them a
    read meets (the class is looked for among those defined then) and kept for the rest."""
    plans: dict[tuple[str, str | None], _LoadPlan | None] = ctx.cache.setdefault(LOAD_PLANS, {})
    module = sys.modules.get(SDC_MODULE)
    cls = None
    if module is not None:
        base = module.SerializableDataclass
        defined = defined_by_name(base, ctx, DEFINED)
        where = _where(path, ctx)
        cls = resolve_class(base, name, recorded, "SerializableDataclass", where, among=defined.get(name, ()))
    plan = plans[(name, recorded)] = _LoadPlan(cls) if cls is not None else None
    return plan


def _where(path: ObjectPath, ctx: LoadContext) -> str:
    return f"{ctx.label} at {format_path(path)}"


def load_dataclass(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    name = tag[: -len(TAG_SUFFIX)]
    recorded = node.get(CLASS_KEY)
    recorded = recorded if isinstance(recorded, str) else None
    plans: dict[tuple[str, str | None], _LoadPlan | None] | None = ctx.cache.get(LOAD_PLANS)
    key = (name, recorded)
    plan = plans[key] if plans is not None and key in plans else _load_plan(name, recorded, path, ctx)
    if plan is None:
        described = repr(recorded) if recorded else f"{name!r} (module not recorded: a zanj 0.6 file)"
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"dataclass {described} is not defined in this program",
            hint="import the module that defines it before reading (zanj never imports modules named in a file)",
            category=ZanjMissingClassWarning,
        )
    # the fields as a plain dict: the walk loads each at (*path, key), in the node's order
    loaded: dict[str, Any] = ctx._load_fields(node, path, _TAG_KEYS)
    plain = plan.plain_names
    if plain is not None:  # no field hooks: each field as loaded; keys that are no init field are left out
        if plain.issuperset(loaded):
            return _construct(plan.cls, loaded, loaded, path, ctx)
        return _construct(plan.cls, {n: v for n, v in loaded.items() if n in plain}, loaded, path, ctx)
    if plan.needs_whole:
        loaded = {FORMAT_KEY: tag, **loaded}
    kwargs = {}
    for field_name, deserialize_fn, loading_fn in plan.fields:
        if field_name not in loaded:
            continue
        if deserialize_fn is not None:
            kwargs[field_name] = deserialize_fn(loaded[field_name])
        elif loading_fn is not None:
            kwargs[field_name] = loading_fn(loaded)  # muutils passes the whole dict to loading_fn
        else:
            kwargs[field_name] = loaded[field_name]
    return _construct(plan.cls, kwargs, loaded, path, ctx)


def _construct(cls: type, kwargs: dict[str, Any], loaded: dict[str, Any], path: ObjectPath, ctx: LoadContext) -> Any:
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ZanjFormatError(
            f"{_where(path, ctx)}: cannot construct {class_key(cls)} from the file's fields "
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
