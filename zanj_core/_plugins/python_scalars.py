"""Python scalars, saved losslessly: big ints, non-finite and negative-zero floats, complex
numbers, bytes, dates and times, paths and enum members (part of the core plugin
`python_types`, which registers these functions).

Each gets a small tagged node only where JSON would change it: an int below 2**63 or a finite
float stays a plain JSON number. Time zones are kept exactly or refused; paths come back as
the same kind (a concrete path of another operating system as its pure counterpart); enum
classes are resolved among those the program defined, never imported.
"""

from __future__ import annotations

import base64
import datetime
import enum
import math
import pathlib
import struct
from typing import Any

from zanj_core._plugins.defined_classes import defined_by_name
from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    JSONitem,
    LoadContext,
    ObjectPath,
    SaveContext,
    ZanjFormatError,
    ZanjMissingClassWarning,
    ZanjSerializationError,
    class_key,
    format_path,
    resolve_class,
)

JSON_SAFE_INT = 2**63  # beyond this, many JSON readers lose digits: store as a string
PATH_KINDS: dict[str, type] = {
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
"""The path classes saved, by the name a node records."""


# -- numbers -------------------------------------------------------------------------------


def serialize_int(obj: int, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    if -JSON_SAFE_INT <= obj < JSON_SAFE_INT:
        return obj
    return {FORMAT_KEY: "int", "value": str(obj)}


def serialize_float(obj: float, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    if math.isfinite(obj) and not (obj == 0.0 and math.copysign(1.0, obj) < 0):
        return obj
    node: JSONdict = {FORMAT_KEY: "float", "value": repr(obj)}
    if math.isnan(obj):
        node["bits"] = struct.pack(">d", obj).hex()  # keeps sign and payload of the NaN
    return node


def load_int(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> int:
    text = ctx.require(node, "value", str, path)
    if len(text) > 10_000:
        raise ZanjFormatError(f"{ctx.label}: integer at {format_path(path)} has more than 10000 digits")
    return int(text)


def load_float(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> float:
    bits = node.get("bits")
    if isinstance(bits, str):
        raw = bytes.fromhex(bits)
        if len(raw) != 8:
            raise ZanjFormatError(f"{ctx.label}: float at {format_path(path)} has bits of {len(raw)} bytes, 8 expected")
        return float(struct.unpack(">d", raw)[0])
    return float(ctx.require(node, "value", str, path))


def serialize_complex(obj: complex, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {
        FORMAT_KEY: "complex",
        "real": ctx.serialize(obj.real, (*path, "real")),
        "imag": ctx.serialize(obj.imag, (*path, "imag")),
    }


def load_complex(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> complex:
    real, imag = ctx.load(node.get("real"), (*path, "real")), ctx.load(node.get("imag"), (*path, "imag"))
    if not isinstance(real, float) or not isinstance(imag, float):
        raise ZanjFormatError(f"{ctx.label}: complex at {format_path(path)} needs float real and imag parts")
    return complex(real, imag)


# -- bytes ---------------------------------------------------------------------------------


def serialize_bytes(obj: bytes | bytearray, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    tag = type(obj).__name__
    if len(obj) >= ctx.zanj.external_array_threshold:
        name = ctx.add_member(path, "bin", obj, {"format": tag, "len": len(obj)}, size_hint=len(obj))
        return {FORMAT_KEY: tag, REF_KEY: name, "len": len(obj)}
    return {FORMAT_KEY: tag, "base64": base64.b64encode(obj).decode("ascii")}


def load_bytes(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> bytes | bytearray:
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
        default = datetime.timezone(tz.utcoffset(None)).tzname(None)
        return True, ({"tzname": name} if name != default else {})
    zone_key = getattr(tz, "key", None)
    if type(tz).__module__ == "zoneinfo" and isinstance(zone_key, str):
        return False, {"zone": zone_key}
    raise ZanjSerializationError(
        f"cannot save the time zone {tz!r} ({type(tz).__module__}.{type(tz).__qualname__}) at "
        f"{format_path(path)} exactly: convert it to zoneinfo.ZoneInfo or datetime.timezone first"
    )


def serialize_datetime(obj: datetime.datetime | datetime.time, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    keep_offset, extra = _tz_fields(obj.tzinfo, path)
    text = obj.isoformat() if keep_offset else obj.replace(tzinfo=None).isoformat()
    node: JSONdict = {FORMAT_KEY: f"datetime.{type(obj).__name__}", "iso": text, **extra}
    if obj.fold:
        node["fold"] = 1
    return node


def load_datetime(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> datetime.datetime | datetime.time:
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


def serialize_date(obj: datetime.date, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {FORMAT_KEY: "datetime.date", "iso": obj.isoformat()}


def load_date(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> datetime.date:
    return datetime.date.fromisoformat(ctx.require(node, "iso", str, path))


def serialize_timedelta(obj: datetime.timedelta, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {
        FORMAT_KEY: "datetime.timedelta",
        "days": obj.days,
        "seconds": obj.seconds,
        "microseconds": obj.microseconds,
    }


def load_timedelta(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> datetime.timedelta:
    return datetime.timedelta(
        days=ctx.require(node, "days", int, path),
        seconds=ctx.require(node, "seconds", int, path),
        microseconds=ctx.require(node, "microseconds", int, path),
    )


# -- paths and enums -----------------------------------------------------------------------


def serialize_path(obj: pathlib.PurePath, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {FORMAT_KEY: "pathlib.Path", "kind": type(obj).__name__, "path": str(obj)}


def load_path(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> pathlib.PurePath:
    kind = ctx.require(node, "kind", str, path)
    text = ctx.require(node, "path", str, path)
    cls = PATH_KINDS.get(kind)
    if cls is None:
        raise ZanjFormatError(f"{ctx.label}: path at {format_path(path)} has unknown kind {kind!r}")
    if cls in (pathlib.PosixPath, pathlib.WindowsPath) and cls is not type(pathlib.Path()):
        # a concrete path of another operating system comes back as its pure counterpart
        cls = pathlib.PurePosixPath if cls is pathlib.PosixPath else pathlib.PureWindowsPath
    return cls(text)  # type: ignore[no-any-return]


def serialize_enum(obj: enum.Enum, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    cls = type(obj)
    node: JSONdict = {FORMAT_KEY: "enum.Enum", "class": class_key(cls)}
    name = obj.name
    if name is not None and name in cls.__members__ and cls.__members__[name] is obj:
        node["name"] = name
    else:  # a combination of flags has no single member name
        node["value"] = ctx.serialize(obj.value, (*path, "value"))
    return node


ENUM_CLASSES = "zanj_core.python_scalars.enum_classes"
"""`ctx.cache` key of the enum classes one read resolved, by the class key its nodes record:
the defined enums are listed once per read (at its first enum node), each class found once."""
DEFINED_ENUMS = "zanj_core.python_scalars.defined_enums"


def load_enum(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    recorded = ctx.require(node, "class", str, path)
    resolved: dict[str, type | None] = ctx.cache.setdefault(ENUM_CLASSES, {})
    if recorded in resolved:
        cls = resolved[recorded]
    else:
        defined = defined_by_name(enum.Enum, ctx, DEFINED_ENUMS)
        name = recorded.rpartition(":")[2].rpartition(".")[2]
        where = f"{ctx.label} at {format_path(path)}"
        cls = resolved[recorded] = resolve_class(enum.Enum, name, recorded, "Enum", where, among=defined.get(name, ()))
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
