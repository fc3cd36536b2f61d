"""Long lists and tuples as `.jsonl` members, and raw bytes as `.bin` members (core plugin).

Same layout as zanj 0.6 (`list:external` / `tuple:external` nodes with a `$ref`), so files of
either version read in the other. Items are serialized by the walk first, so an item that has
its own member (an array inside a long list) still gets one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, Any

from zanj_core._plugins.compat import same_in_zanj06
from zanj_core.plugin import (
    FORMAT_KEY,
    ITEM_COST,
    JSON_OBJECT_FACTOR,
    REF_KEY,
    JSONdict,
    JSONitem,
    LoadContext,
    LoaderHandler,
    MemberFormat,
    MemberSource,
    ObjectPath,
    SaveContext,
    SerializerHandler,
    hookimpl,
    json_errors,
    json_structure_cost,
)

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""

EXTERNAL_PRIORITY = 10
_DECODER = json.JSONDecoder()


def _write_jsonl(items: list[JSONitem], stream: IO[bytes]) -> None:
    for item in items:
        stream.write(json.dumps(item, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        stream.write(b"\n")


def _read_jsonl(source: MemberSource) -> list[Any]:
    source.check_json_size()
    # what parsing builds, charged before reading; each reference to the member pays again
    source.reserve(source.size * JSON_OBJECT_FACTOR)
    with json_errors(source.location, source.name), source.open() as stream:
        raw = stream.read(source.size + 1)
        source.charge(json_structure_cost(raw), f"the objects of member {source.name!r}")
        text = raw.decode("utf-8")
        lines = [line for line in text.split("\n") if line.strip()]
        # each item costs a walk and a loader call, however short its line: a member of a
        # thousand one-character lines used a thousand times must not be nearly free
        source.charge(len(lines) * ITEM_COST, f"the {len(lines)} items of member {source.name!r}")
        decode = _DECODER.decode  # one decoder for every line: no per-line setup
        return [decode(line) for line in lines]


def _write_bin(data: bytes | bytearray, stream: IO[bytes]) -> None:
    stream.write(memoryview(data))


def _read_bin(source: MemberSource) -> bytearray:
    source.reserve(source.size)
    buffer = bytearray(source.size)
    source.read_into(memoryview(buffer))
    return buffer


JSONL = MemberFormat(
    name="jsonl",
    extension=".jsonl",
    write=_write_jsonl,
    read=_read_jsonl,
    binary=False,
    description="one JSON value per line",
)
BIN = MemberFormat(name="bin", extension=".bin", write=_write_bin, read=_read_bin, binary=True, description="raw bytes")


def _long_sequence(obj: Sequence[Any], path: ObjectPath, ctx: SaveContext) -> bool:
    return len(obj) >= ctx.zanj.external_list_threshold


def _serialize_external(tag: str):  # type: ignore[no-untyped-def]
    def serialize(obj: Sequence[Any], path: ObjectPath, ctx: SaveContext) -> JSONdict:
        items = [ctx.serialize(item, (*path, index)) for index, item in enumerate(obj)]
        name = ctx.add_member(path, "jsonl", items, {"format": tag, "len": len(items)})
        return {FORMAT_KEY: tag, REF_KEY: name, "len": len(items)}

    return serialize


def _load_external(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[Any] | tuple[Any, ...]:
    items = ctx.read_member(node, path, "jsonl")
    loaded = [ctx.load(item, (*path, index)) for index, item in enumerate(items)]
    return tuple(loaded) if str(node[FORMAT_KEY]).startswith("tuple") else loaded


def _external_children(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> list[tuple[str | int, Any]]:
    items = ctx.read_member(node, path, "jsonl")
    if not isinstance(items, list):  # the jsonl format is missing (overridden): nothing to step into
        return []
    return list(enumerate(items))


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag="list:external",
            types=(list,),
            priority=EXTERNAL_PRIORITY,
            check=lambda obj, path, ctx: type(obj) is list and _long_sequence(obj, path, ctx),
            serialize=_serialize_external("list:external"),
            compat=same_in_zanj06,
            description="lists of external_list_threshold items or more, as a .jsonl member",
        ),
        SerializerHandler(
            tag="tuple:external",
            types=(tuple,),
            priority=EXTERNAL_PRIORITY,
            check=lambda obj, path, ctx: type(obj) is tuple and _long_sequence(obj, path, ctx),
            serialize=_serialize_external("tuple:external"),
            compat=same_in_zanj06,
            description="tuples of external_list_threshold items or more, as a .jsonl member",
        ),
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        LoaderHandler(
            tag="list:external",
            load=_load_external,
            children=_external_children,
            description="list from a .jsonl member",
        ),
        LoaderHandler(
            tag="tuple:external",
            load=_load_external,
            children=_external_children,
            description="tuple from a .jsonl member",
        ),
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [JSONL, BIN]
