"""Python containers, saved losslessly: lists, tuples, sets, dicts and `OrderedDict`s (part of
the core plugin `python_types`, which registers these functions).

Lists and dicts with string keys stay plain JSON; tuples, sets, dicts with other keys (or keys
that would read as zanj markers) and `OrderedDict`s get a tagged node. Reading refuses keys
crafted to collide (`MAX_EQUAL_HASHES`) before a set or dict is built from them.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from typing import Any

from zanj_core._plugins.direct_scalars import direct_scalars, write_item
from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    JSONitem,
    LoadContext,
    ObjectPath,
    SaveContext,
    ZanjFormatError,
    format_path,
)

_RESERVED_KEYS = frozenset({FORMAT_KEY, REF_KEY})


def serialize_list(obj: list[Any], path: ObjectPath, ctx: SaveContext) -> JSONitem:
    direct = direct_scalars(ctx, path)
    plain = direct.plain
    return [
        item if type(item) in plain else write_item(direct, item, path, index, ctx) for index, item in enumerate(obj)
    ]


def serialize_tuple(obj: tuple[Any, ...], path: ObjectPath, ctx: SaveContext) -> JSONdict:
    # "data" is the key zanj 0.6 reads for its tuple tag, so 0.6 reads these back as tuples too
    return {FORMAT_KEY: "tuple", "data": [ctx.serialize(item, (*path, i)) for i, item in enumerate(obj)]}


def serialize_set(obj: set[Any] | frozenset[Any], path: ObjectPath, ctx: SaveContext) -> JSONdict:
    items = [ctx.serialize(item, (*path, i)) for i, item in enumerate(obj)]
    # sort by canonical JSON so equal sets give identical files
    items.sort(key=lambda item: json.dumps(item, sort_keys=True))
    return {FORMAT_KEY: type(obj).__name__, "data": items}


def serialize_dict(obj: dict[Any, Any], path: ObjectPath, ctx: SaveContext) -> JSONitem:
    if all(type(key) is str for key in obj) and not _RESERVED_KEYS.intersection(obj):
        direct = direct_scalars(ctx, path)
        plain = direct.plain
        return {
            key: value if type(value) in plain else write_item(direct, value, path, key, ctx)
            for key, value in obj.items()
        }
    # non-string keys (or keys that would read as zanj markers): a list of pairs keeps them exact
    return {
        FORMAT_KEY: "dict",
        "data": [
            [ctx.serialize(key, (*path, f"<key {i}>")), ctx.serialize(value, (*path, str(key)))]
            for i, (key, value) in enumerate(obj.items())
        ],
    }


def serialize_ordered_dict(obj: OrderedDict[Any, Any], path: ObjectPath, ctx: SaveContext) -> JSONitem:
    # an OrderedDict (a torch state dict, for one) keeps its type; string keys stay readable
    if ctx.zanj.compat == "0.6":  # zanj 0.6 writes and reads them as plain dicts (order kept)
        return serialize_dict(dict(obj), path, ctx)
    if all(type(key) is str for key in obj):
        return {
            FORMAT_KEY: "collections.OrderedDict",
            "data": {k: ctx.serialize(v, (*path, k)) for k, v in obj.items()},
        }
    pairs = serialize_dict(dict(obj), path, ctx)
    return {FORMAT_KEY: "collections.OrderedDict", "pairs": pairs["data"] if isinstance(pairs, dict) else []}


def load_ordered_dict(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> OrderedDict[Any, Any]:
    if "data" in node:
        data = ctx.require(node, "data", dict, path)
        return OrderedDict((key, ctx.load(value, (*path, key))) for key, value in data.items())
    return OrderedDict(load_dict({FORMAT_KEY: "dict", "data": ctx.require(node, "pairs", list, path)}, path, ctx))


def _items(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[Any]:
    data = ctx.require(node, "data", list, path)
    return [ctx.load(item, (*path, index)) for index, item in enumerate(data)]


def load_tuple(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> tuple[Any, ...]:
    return tuple(_items(node, path, ctx))


MAX_EQUAL_HASHES = 8
"""Most keys of one set or dict that may share a hash value. String hashes are randomised per
process, but those of ints, floats and tuples of them are not: `k`, `k + (2**61 - 1)`, ...
all hash alike, and n of them make building a set cost n**2 / 2 comparisons. Legitimate data
has a handful of such keys at most (`hash(-1) == hash(-2)`); a file with more is forged."""


def _refuse_hash_flooding(keys: list[Any], what: str, path: ObjectPath, ctx: LoadContext) -> None:
    """Refuse keys crafted to collide, in linear time, before a set or dict is built from them."""
    if len(keys) <= MAX_EQUAL_HASHES:
        return
    try:
        counts = Counter(map(hash, keys))  # hash values are ints: they spread in the Counter
    except TypeError as exc:
        raise ZanjFormatError(f"{ctx.label}: {what} at {format_path(path)} holds an unhashable key: {exc}") from exc
    value, count = counts.most_common(1)[0]
    if count > MAX_EQUAL_HASHES:
        raise ZanjFormatError(
            f"{ctx.label}: {what} at {format_path(path)} holds {count} keys of equal hash {value}; "
            "keys crafted to collide make building it quadratic, so the file is refused"
        )


def load_set(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> set[Any] | frozenset[Any]:
    items = _items(node, path, ctx)
    _refuse_hash_flooding(items, "set", path, ctx)
    try:
        return frozenset(items) if node[FORMAT_KEY] == "frozenset" else set(items)
    except TypeError as exc:
        raise ZanjFormatError(f"{ctx.label}: set at {format_path(path)} holds an unhashable item: {exc}") from exc


def _pairs(node: JSONdict, key: str, path: ObjectPath, ctx: LoadContext) -> list[list[Any]]:
    pairs: list[list[Any]] = ctx.require(node, key, list, path)
    for index, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ZanjFormatError(f"{ctx.label}: dict at {format_path(path)}: entry {index} is not a [key, value] pair")
    return pairs


def sequence_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    return list(enumerate(ctx.require(node, "data", list, path)))


def _pair_children(node: JSONdict, key: str, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    """Items of a dict stored as [key, value] pairs, named as saving named them: the key
    itself when it is a str or int, else its str()."""
    children: list[tuple[str | int, Any]] = []
    for index, (raw_key, value) in enumerate(_pairs(node, key, path, ctx)):
        loaded = ctx.load(raw_key, (*path, f"<key {index}>"))
        children.append((loaded if type(loaded) in (str, int) else str(loaded), value))
    return children


def dict_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    return _pair_children(node, "data", path, ctx)


def ordered_dict_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    if "data" in node:
        return list(ctx.require(node, "data", dict, path).items())
    return _pair_children(node, "pairs", path, ctx)


def load_dict(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> dict[Any, Any]:
    pairs = _pairs(node, "data", path, ctx)
    keys = [ctx.load(pair[0], (*path, f"<key {index}>")) for index, pair in enumerate(pairs)]
    _refuse_hash_flooding(keys, "dict", path, ctx)
    result: dict[Any, Any] = {}
    for key, pair in zip(keys, pairs, strict=True):
        try:
            result[key] = ctx.load(pair[1], (*path, _key_label(key)))
        except TypeError as exc:
            raise ZanjFormatError(f"{ctx.label}: dict at {format_path(path)} has an unhashable key: {exc}") from exc
    return result


def _key_label(key: Any) -> str:
    """A key as a path component: its text, bounded (a path names where an error is, it need
    not spell out a 4000-digit key)."""
    text = str(key)
    return text if len(text) <= 100 else text[:97] + "..."
