"""The scalars the core's own handlers write without a dispatch per value (core plugins' helper).

A config is mostly strings and numbers inside lists, dicts and dataclasses; sending each through
`SaveContext.serialize` (a handler lookup, a check, a call and an object path) cost a small
save a third of its time. When the first handler for `str`, `bool`, `None`, `int` or `float` in
this save is the core's own (`python_types`), a container or dataclass of the core writes such
a value itself, through that same function, and builds no object path; a value the function
tags (a NaN, a huge int) still goes through `serialize`, which records the tagged node. A type
another handler takes first (a program's `handlers_pre`, a plugin) is dispatched as always.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zanj_core._plugins.python_scalars import serialize_float, serialize_int
from zanj_core.plugin import JSONitem, ObjectPath, SaveContext


def same_value(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    """The serializer of values JSON holds as they are."""
    return obj  # type: ignore[no-any-return]


Serialize = Callable[[Any, ObjectPath, SaveContext], JSONitem]

OWN: dict[type, Serialize] = {
    str: same_value,
    bool: same_value,
    type(None): same_value,
    int: serialize_int,
    float: serialize_float,
}
"""The core's serializer of each scalar type, as `python_types` registers it."""

_CACHE_KEY = "zanj_core.direct_scalars"
CORE_DISTRIBUTION = "zanj-core"


class DirectScalars:
    """For one save: the scalar types written as they are (`plain`) and those written through
    the core's function directly (`converted`), each only where the core's handler is first."""

    __slots__ = ("converted", "plain")

    def __init__(self, plain: frozenset[type] = frozenset(), converted: dict[type, Serialize] | None = None) -> None:
        self.plain = plain
        self.converted: dict[type, Serialize] = converted or {}

    @classmethod
    def of_save(cls, ctx: SaveContext) -> DirectScalars:
        """What `ctx`'s save may write directly: each of `OWN` whose first handler is the core's."""
        own = {
            kind: serialize
            for kind, serialize in OWN.items()
            if (first := ctx.registry.serializers_for(kind)[:1])
            and first[0].serialize is serialize
            and first[0].source.distribution == CORE_DISTRIBUTION
        }
        plain = frozenset(kind for kind, serialize in own.items() if serialize is same_value)
        return cls(plain, {kind: serialize for kind, serialize in own.items() if serialize is not same_value})


NOTHING_DIRECT = DirectScalars()


def direct_scalars(ctx: SaveContext, path: ObjectPath) -> DirectScalars:
    """What a container or dataclass at `path` may write directly: nothing when its items would
    be too deep (`serialize` refuses them, with its message)."""
    if len(path) >= ctx.zanj.max_depth:
        return NOTHING_DIRECT
    found: DirectScalars | None = ctx.cache.get(_CACHE_KEY)
    if found is None:
        found = ctx.cache[_CACHE_KEY] = DirectScalars.of_save(ctx)
    return found


def write_item(direct: DirectScalars, item: Any, path: ObjectPath, key: str | int, ctx: SaveContext) -> JSONitem:
    """`ctx.serialize(item, (*path, key))`, without the dispatch where `direct` allows."""
    kind = type(item)
    if kind in direct.plain:
        return item  # type: ignore[no-any-return]
    convert = direct.converted.get(kind)
    if convert is not None:
        out = convert(item, path, ctx)
        if type(out) is not dict:
            return out
    return ctx.serialize(item, (*path, key))
