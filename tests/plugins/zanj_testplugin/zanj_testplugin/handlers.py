"""Saving and reading polylines: the node, and the `points` member format.

Everything a file says is checked before it is used: the node's keys and types, the number of
points against `n_points`, each point's shape, and the member's size against its pairs.
"""

from __future__ import annotations

import struct
from typing import IO, Any

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    LoadContext,
    MemberSource,
    ObjectPath,
    SaveContext,
    ZanjFormatError,
    format_path,
)
from zanj_testplugin import Polyline
from zanj_testplugin.plugin import MEMBER_FORMAT, TAG

POINT = struct.Struct("<2d")
WRITE_CHUNK_POINTS = 4096


def serialize_polyline(obj: Polyline, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    node: JSONdict = {
        FORMAT_KEY: TAG,
        "closed": obj.closed,
        "label": ctx.serialize(obj.label, (*path, "label")),
        "n_points": len(obj.points),
    }
    if len(obj.points) >= ctx.zanj.external_array_threshold:
        info: JSONdict = {"format": TAG, "n_points": len(obj.points)}
        node[REF_KEY] = ctx.add_member(path, MEMBER_FORMAT, obj.points, info, size_hint=POINT.size * len(obj.points))
    else:
        node["points"] = [[x, y] for x, y in obj.points]
    return node


def _point(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    return float(value[0]), float(value[1])


def load_polyline(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Polyline:
    where = f"{ctx.label}: polyline at {format_path(path)}"
    count = ctx.require(node, "n_points", int, path)
    closed = ctx.require(node, "closed", bool, path)
    label = ctx.load(node.get("label", ""), (*path, "label"))
    if not isinstance(label, str):
        raise ZanjFormatError(f"{where} has a label that is not a string")
    if REF_KEY in node:
        points = ctx.read_member(node, path, MEMBER_FORMAT)
    else:
        raw = ctx.require(node, "points", list, path)
        ctx.charge(64 * len(raw), path, "polyline points")
        points = []
        for index, value in enumerate(raw):
            point = _point(value)
            if point is None:
                raise ZanjFormatError(f"{where}: point {index} is not a pair of numbers")
            points.append(point)
    if len(points) != count:
        raise ZanjFormatError(f"{where} declares {count} points and holds {len(points)}")
    return Polyline(points, closed=closed, label=label)


def write_points(points: list[tuple[float, float]], stream: IO[bytes]) -> None:
    for start in range(0, len(points), WRITE_CHUNK_POINTS):
        chunk = points[start : start + WRITE_CHUNK_POINTS]
        stream.write(b"".join(POINT.pack(x, y) for x, y in chunk))


def read_points(source: MemberSource) -> list[tuple[float, float]]:
    if source.size % POINT.size:
        raise ZanjFormatError(
            f"member {source.name!r} of the polyline at {format_path(source.path)} holds {source.size} bytes, "
            f"not whole {POINT.size}-byte points"
        )
    source.charge(4 * source.size, "polyline points")  # a tuple and two floats per 16 bytes
    data = source.read_range(0, source.size)
    return [(x, y) for x, y in POINT.iter_unpack(data)]
