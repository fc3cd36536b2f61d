"""The entry point: records only, the handlers are imported on their first call."""

from __future__ import annotations

from typing import Any

from zanj_core.plugin import (
    CommandHandler,
    JSONdict,
    LoaderHandler,
    LocationLister,
    MemberFormat,
    SerializerHandler,
    deferred,
    hookimpl,
)

ZANJ_PLUGIN_API = "1.3"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""

TAG = "zanj_testplugin.Polyline"
MEMBER_FORMAT = "points"


def describe_polyline(node: JSONdict) -> dict[str, Any]:
    """What `zanj ls` shows of a polyline, from its node alone."""
    count = node.get("n_points")
    return {"length": count} if type(count) is int else {}


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag=TAG,
            types=("zanj_testplugin.Polyline",),
            serialize=deferred("zanj_testplugin.handlers:serialize_polyline"),
            description="polylines: points inline, or a .points member from external_array_threshold points",
        )
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        LoaderHandler(
            tag=TAG,
            load=deferred("zanj_testplugin.handlers:load_polyline"),
            describe=describe_polyline,
            description="polylines",
        )
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [
        MemberFormat(
            name=MEMBER_FORMAT,
            extension=".points",
            write=deferred("zanj_testplugin.handlers:write_points"),
            read=deferred("zanj_testplugin.handlers:read_points"),
            binary=True,
            description="2-D points as little-endian float64 pairs",
        )
    ]


@hookimpl
def zanj_commands() -> list[CommandHandler]:
    return [
        CommandHandler(
            name="polyline-length",
            help="print the length of a polyline",
            configure=deferred("zanj_testplugin.commands:configure_length"),
            run=deferred("zanj_testplugin.commands:run_length"),
        )
    ]


@hookimpl
def zanj_location_listers() -> list[LocationLister]:
    return [
        LocationLister(
            name="polyline sets",
            recognizes=deferred("zanj_testplugin.commands:recognizes_set"),
            list_items=deferred("zanj_testplugin.commands:list_set"),
            description="a directory of polylines with a polylines.json index",
        )
    ]
