"""Python builtins, saved losslessly (core plugin).

JSON-native values stay plain JSON so files remain readable; everything JSON would change
(tuples, sets, non-string keys, bytes, big ints, NaN/inf/-0.0, complex, dates, paths, enum
members) gets a small tagged node. Handlers match exact types: a subclass such as an
named tuple or a `defaultdict` is refused rather than silently saved as its base (an
`OrderedDict`, common as torch state dicts, has its own handler).
"""

from __future__ import annotations

import base64
import datetime
import enum
import json
import math
import pathlib
import struct
from collections import Counter, OrderedDict
from typing import Any

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    UNSERIALIZABLE_TAG,
    JSONdict,
    JSONitem,
    LoadContext,
    LoaderHandler,
    ObjectPath,
    SaveContext,
    SerializerHandler,
    ZanjFormatError,
    ZanjMissingClassWarning,
    ZanjSerializationError,
    class_key,
    format_path,
    hookimpl,
    resolve_class,
)

JSON_SAFE_INT = 2**63  # beyond this, many JSON readers lose digits: store as a string
_RESERVED_KEYS = frozenset({FORMAT_KEY, REF_KEY})
_PATH_KINDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        pathlib.Path,
        pathlib.PosixPath,
        pathlib.WindowsPath,
        pathlib.PurePath,
        pathlib.PurePosixPath,
        pathlib.PureWindowsPath,
    )
}


def _exact(kind: type):  # type: ignore[no-untyped-def]
    return lambda obj, path, ctx: type(obj) is kind


def _same(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    return obj  # type: ignore[no-any-return]


# -- numbers -------------------------------------------------------------------------------


def _serialize_int(obj: int, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    if -JSON_SAFE_INT <= obj < JSON_SAFE_INT:
        return obj
    return {FORMAT_KEY: "int", "value": str(obj)}


def _serialize_float(obj: float, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    if math.isfinite(obj) and not (obj == 0.0 and math.copysign(1.0, obj) < 0):
        return obj
    node: JSONdict = {FORMAT_KEY: "float", "value": repr(obj)}
    if math.isnan(obj):
        node["bits"] = struct.pack(">d", obj).hex()  # keeps sign and payload of the NaN
    return node


def _load_int(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> int:
    text = ctx.require(node, "value", str, path)
    if len(text) > 10_000:
        raise ZanjFormatError(f"{ctx.label}: integer at {format_path(path)} has more than 10000 digits")
    return int(text)


def _load_float(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> float:
    bits = node.get("bits")
    if isinstance(bits, str):
        raw = bytes.fromhex(bits)
        if len(raw) != 8:
            raise ZanjFormatError(f"{ctx.label}: float at {format_path(path)} has bits of {len(raw)} bytes, 8 expected")
        return float(struct.unpack(">d", raw)[0])
    return float(ctx.require(node, "value", str, path))


def _serialize_complex(obj: complex, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {
        FORMAT_KEY: "complex",
        "real": ctx.serialize(obj.real, (*path, "real")),
        "imag": ctx.serialize(obj.imag, (*path, "imag")),
    }


def _load_complex(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> complex:
    real, imag = ctx.load(node.get("real"), (*path, "real")), ctx.load(node.get("imag"), (*path, "imag"))
    if not isinstance(real, float) or not isinstance(imag, float):
        raise ZanjFormatError(f"{ctx.label}: complex at {format_path(path)} needs float real and imag parts")
    return complex(real, imag)


# -- containers ----------------------------------------------------------------------------


def _serialize_list(obj: list[Any], path: ObjectPath, ctx: SaveContext) -> JSONitem:
    return [ctx.serialize(item, (*path, index)) for index, item in enumerate(obj)]


def _serialize_tuple(obj: tuple[Any, ...], path: ObjectPath, ctx: SaveContext) -> JSONdict:
    # "data" is the key zanj 0.6 reads for its tuple tag, so 0.6 reads these back as tuples too
    return {FORMAT_KEY: "tuple", "data": [ctx.serialize(item, (*path, i)) for i, item in enumerate(obj)]}


def _serialize_set(obj: set[Any] | frozenset[Any], path: ObjectPath, ctx: SaveContext) -> JSONdict:
    items = [ctx.serialize(item, (*path, i)) for i, item in enumerate(obj)]
    # sort by canonical JSON so equal sets give identical files
    items.sort(key=lambda item: json.dumps(item, sort_keys=True))
    return {FORMAT_KEY: type(obj).__name__, "data": items}


def _serialize_dict(obj: dict[Any, Any], path: ObjectPath, ctx: SaveContext) -> JSONitem:
    if all(type(key) is str for key in obj) and not _RESERVED_KEYS.intersection(obj):
        return {key: ctx.serialize(value, (*path, key)) for key, value in obj.items()}
    # non-string keys (or keys that would read as zanj markers): a list of pairs keeps them exact
    return {
        FORMAT_KEY: "dict",
        "data": [
            [ctx.serialize(key, (*path, f"<key {i}>")), ctx.serialize(value, (*path, str(key)))]
            for i, (key, value) in enumerate(obj.items())
        ],
    }


def _serialize_ordered_dict(obj: OrderedDict[Any, Any], path: ObjectPath, ctx: SaveContext) -> JSONitem:
    # an OrderedDict (a torch state dict, for one) keeps its type; string keys stay readable
    if ctx.zanj.compat == "0.6":  # zanj 0.6 writes and reads them as plain dicts (order kept)
        return _serialize_dict(dict(obj), path, ctx)
    if all(type(key) is str for key in obj):
        return {
            FORMAT_KEY: "collections.OrderedDict",
            "data": {k: ctx.serialize(v, (*path, k)) for k, v in obj.items()},
        }
    pairs = _serialize_dict(dict(obj), path, ctx)
    return {FORMAT_KEY: "collections.OrderedDict", "pairs": pairs["data"] if isinstance(pairs, dict) else []}


def _load_ordered_dict(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> OrderedDict[Any, Any]:
    if "data" in node:
        data = ctx.require(node, "data", dict, path)
        return OrderedDict((key, ctx.load(value, (*path, key))) for key, value in data.items())
    return OrderedDict(_load_dict({FORMAT_KEY: "dict", "data": ctx.require(node, "pairs", list, path)}, path, ctx))


def _items(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[Any]:
    data = ctx.require(node, "data", list, path)
    return [ctx.load(item, (*path, index)) for index, item in enumerate(data)]


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


def _load_set(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> set[Any] | frozenset[Any]:
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


def _sequence_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    return list(enumerate(ctx.require(node, "data", list, path)))


def _pair_children(node: JSONdict, key: str, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    """Items of a dict stored as [key, value] pairs, named as saving named them: the key
    itself when it is a str or int, else its str()."""
    children: list[tuple[str | int, Any]] = []
    for index, (raw_key, value) in enumerate(_pairs(node, key, path, ctx)):
        loaded = ctx.load(raw_key, (*path, f"<key {index}>"))
        children.append((loaded if type(loaded) in (str, int) else str(loaded), value))
    return children


def _dict_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    return _pair_children(node, "data", path, ctx)


def _ordered_dict_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    if "data" in node:
        return list(ctx.require(node, "data", dict, path).items())
    return _pair_children(node, "pairs", path, ctx)


def _load_dict(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> dict[Any, Any]:
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


# -- bytes ---------------------------------------------------------------------------------


def _serialize_bytes(obj: bytes | bytearray, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    tag = type(obj).__name__
    if len(obj) >= ctx.zanj.external_array_threshold:
        name = ctx.add_member(path, "bin", obj, {"format": tag, "len": len(obj)}, size_hint=len(obj))
        return {FORMAT_KEY: tag, REF_KEY: name, "len": len(obj)}
    return {FORMAT_KEY: tag, "base64": base64.b64encode(obj).decode("ascii")}


def _load_bytes(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> bytes | bytearray:
    if REF_KEY in node:
        data = ctx.read_member(node, path, "bin")
        declared = node.get("len")
        if type(declared) is int and isinstance(data, bytearray) and declared != len(data):
            raise ZanjFormatError(
                f"{ctx.label}: bytes at {format_path(path)} declare {declared} bytes, their member holds {len(data)}"
            )
    else:
        try:
            data = bytearray(base64.b64decode(ctx.require(node, "base64", str, path), validate=True))
        except ValueError as exc:
            raise ZanjFormatError(f"{ctx.label}: bytes at {format_path(path)} are not valid base64: {exc}") from exc
    return data if node[FORMAT_KEY] == "bytearray" else bytes(data)


# -- dates and times -----------------------------------------------------------------------


def _tz_fields(tz: datetime.tzinfo | None, path: ObjectPath) -> tuple[bool, JSONdict]:
    """(keep the UTC offset in the ISO text?, extra fields) for a tzinfo we can restore exactly."""
    if tz is None:
        return False, {}
    if type(tz) is datetime.timezone:
        name = tz.tzname(None)
        default = datetime.timezone(tz.utcoffset(None)).tzname(None)  # type: ignore[arg-type]
        return True, ({"tzname": name} if name != default else {})
    zone_key = getattr(tz, "key", None)
    if type(tz).__module__ == "zoneinfo" and isinstance(zone_key, str):
        return False, {"zone": zone_key}
    raise ZanjSerializationError(
        f"cannot save the time zone {tz!r} ({type(tz).__module__}.{type(tz).__qualname__}) at "
        f"{format_path(path)} exactly: convert it to zoneinfo.ZoneInfo or datetime.timezone first"
    )


def _serialize_datetime(obj: datetime.datetime | datetime.time, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    keep_offset, extra = _tz_fields(obj.tzinfo, path)
    text = obj.isoformat() if keep_offset else obj.replace(tzinfo=None).isoformat()
    node: JSONdict = {FORMAT_KEY: f"datetime.{type(obj).__name__}", "iso": text, **extra}
    if obj.fold:
        node["fold"] = 1
    return node


def _load_datetime(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> datetime.datetime | datetime.time:
    kind = datetime.datetime if node[FORMAT_KEY] == "datetime.datetime" else datetime.time
    value = kind.fromisoformat(ctx.require(node, "iso", str, path))
    zone = node.get("zone")
    if isinstance(zone, str):
        import zoneinfo

        value = value.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    tzname = node.get("tzname")
    if isinstance(tzname, str) and value.tzinfo is not None:
        value = value.replace(tzinfo=datetime.timezone(value.utcoffset(), tzname))  # type: ignore[arg-type]
    if node.get("fold") == 1:
        value = value.replace(fold=1)
    return value


def _serialize_date(obj: datetime.date, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {FORMAT_KEY: "datetime.date", "iso": obj.isoformat()}


def _load_date(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> datetime.date:
    return datetime.date.fromisoformat(ctx.require(node, "iso", str, path))


def _serialize_timedelta(obj: datetime.timedelta, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {
        FORMAT_KEY: "datetime.timedelta",
        "days": obj.days,
        "seconds": obj.seconds,
        "microseconds": obj.microseconds,
    }


def _load_timedelta(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> datetime.timedelta:
    return datetime.timedelta(
        days=ctx.require(node, "days", int, path),
        seconds=ctx.require(node, "seconds", int, path),
        microseconds=ctx.require(node, "microseconds", int, path),
    )


# -- paths and enums -----------------------------------------------------------------------


def _serialize_path(obj: pathlib.PurePath, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {FORMAT_KEY: "pathlib.Path", "kind": type(obj).__name__, "path": str(obj)}


def _load_path(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> pathlib.PurePath:
    kind = ctx.require(node, "kind", str, path)
    text = ctx.require(node, "path", str, path)
    cls = _PATH_KINDS.get(kind)
    if cls is None:
        raise ZanjFormatError(f"{ctx.label}: path at {format_path(path)} has unknown kind {kind!r}")
    if cls in (pathlib.PosixPath, pathlib.WindowsPath) and cls is not type(pathlib.Path()):
        # a concrete path of another operating system comes back as its pure counterpart
        cls = pathlib.PurePosixPath if cls is pathlib.PosixPath else pathlib.PureWindowsPath
    return cls(text)  # type: ignore[no-any-return]


def _serialize_enum(obj: enum.Enum, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    cls = type(obj)
    node: JSONdict = {FORMAT_KEY: "enum.Enum", "class": class_key(cls)}
    name = obj.name
    if name is not None and name in cls.__members__ and cls.__members__[name] is obj:
        node["name"] = name
    else:  # a combination of flags has no single member name
        node["value"] = ctx.serialize(obj.value, (*path, "value"))
    return node


def _load_enum(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    recorded = ctx.require(node, "class", str, path)
    qualname = recorded.rpartition(":")[2]
    cls = resolve_class(enum.Enum, qualname.rpartition(".")[2], recorded, "Enum", f"{ctx.label} at {format_path(path)}")
    if cls is None:
        return ctx.missing(
            "enum.Enum",
            node,
            path,
            reason=f"enum class {recorded!r} is not defined in this program",
            hint="import the module that defines it before reading (zanj never imports modules named in a file)",
            category=ZanjMissingClassWarning,
        )
    if "name" in node:
        name = ctx.require(node, "name", str, path)
        try:
            return cls[name]  # type: ignore[index]
        except KeyError:
            raise ZanjFormatError(
                f"{ctx.label}: enum {recorded} has no member {name!r} (at {format_path(path)})"
            ) from None
    try:
        return cls(ctx.load(node.get("value"), (*path, "value")))
    except ValueError as exc:
        raise ZanjFormatError(f"{ctx.label}: enum {recorded} at {format_path(path)}: {exc}") from exc


def _load_unserializable(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> str:
    return str(ctx.require(node, "repr", str, path))


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    def exact(kind: type, serialize: Any, tag: str = "") -> SerializerHandler:
        return SerializerHandler(tag=tag or kind.__name__, types=(kind,), check=_exact(kind), serialize=serialize)

    return [
        exact(str, _same),
        exact(bool, _same),
        exact(type(None), _same, "None"),
        exact(int, _serialize_int),
        exact(float, _serialize_float),
        exact(complex, _serialize_complex),
        exact(list, _serialize_list),
        exact(tuple, _serialize_tuple),
        exact(dict, _serialize_dict),
        exact(OrderedDict, _serialize_ordered_dict, "collections.OrderedDict"),
        exact(set, _serialize_set),
        exact(frozenset, _serialize_set),
        exact(bytes, _serialize_bytes),
        exact(bytearray, _serialize_bytes),
        exact(datetime.datetime, _serialize_datetime, "datetime.datetime"),
        exact(datetime.date, _serialize_date, "datetime.date"),
        exact(datetime.time, _serialize_datetime, "datetime.time"),
        exact(datetime.timedelta, _serialize_timedelta, "datetime.timedelta"),
        SerializerHandler(
            tag="pathlib.Path",
            types=(pathlib.PurePath,),
            check=lambda obj, path, ctx: type(obj).__name__ in _PATH_KINDS,
            serialize=_serialize_path,
        ),
        SerializerHandler(tag="enum.Enum", types=(enum.Enum,), serialize=_serialize_enum, priority=1),
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
        LoaderHandler(tag="int", load=_load_int, describe=_shown("value")),
        LoaderHandler(tag="float", load=_load_float, describe=_shown("value")),
        LoaderHandler(tag="complex", load=_load_complex),
        LoaderHandler(
            tag="tuple", load=lambda node, path, ctx: tuple(_items(node, path, ctx)), children=_sequence_children
        ),
        LoaderHandler(tag="set", load=_load_set, children=_sequence_children),
        LoaderHandler(tag="frozenset", load=_load_set, children=_sequence_children),
        LoaderHandler(tag="dict", load=_load_dict, children=_dict_children),
        LoaderHandler(tag="collections.OrderedDict", load=_load_ordered_dict, children=_ordered_dict_children),
        LoaderHandler(tag="bytes", load=_load_bytes),
        LoaderHandler(tag="bytearray", load=_load_bytes),
        LoaderHandler(tag="datetime.datetime", load=_load_datetime, describe=_shown("iso")),
        LoaderHandler(tag="datetime.time", load=_load_datetime, describe=_shown("iso")),
        LoaderHandler(tag="datetime.date", load=_load_date, describe=_shown("iso")),
        LoaderHandler(tag="datetime.timedelta", load=_load_timedelta),
        LoaderHandler(tag="pathlib.Path", load=_load_path, describe=_shown("path")),
        LoaderHandler(tag="enum.Enum", load=_load_enum, describe=_shown("class", "name")),
        LoaderHandler(
            tag=UNSERIALIZABLE_TAG,
            load=_load_unserializable,
            description="objects saved as their repr() under error_mode='warn'/'ignore'",
        ),
    ]
