"""The entry point: handler records whose functions import polars and pyarrow on first call."""

from __future__ import annotations

from typing import Any

from zanj_core.plugin import LoaderHandler, MemberFormat, SerializerHandler, deferred, hookimpl

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    serialize = deferred("zanj_polars.frames:serialize_polars")
    # polars reports its classes by their defining modules; the public aliases match too
    return [
        SerializerHandler(
            tag="polars.DataFrame:arrow",
            types=("polars.dataframe.frame.DataFrame", "polars.DataFrame"),
            serialize=serialize,
            compat=deferred("zanj_polars.compat:zanj06_frame_problem"),
            description="DataFrames as Arrow IPC members",
        ),
        SerializerHandler(
            tag="polars.Series:arrow",
            types=("polars.series.series.Series", "polars.Series"),
            serialize=serialize,
            description="Series as one-column Arrow IPC members",
        ),
        SerializerHandler(
            tag="polars.LazyFrame:arrow",
            types=("polars.lazyframe.frame.LazyFrame", "polars.LazyFrame"),
            serialize=serialize,
            description="LazyFrames, collected: their result as an Arrow IPC member",
        ),
    ]


def _strings(value: Any) -> list[str] | None:
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def describe_frame(node: dict[str, Any]) -> dict[str, Any]:
    """Shape, column names and dtypes from the node alone (no polars, no member read)."""
    tag = str(node.get("__muutils_format__", ""))
    n_rows = node.get("n_rows", node.get("len(data)"))  # zanj 0.6 frames say len(data)
    rows_known = type(n_rows) is int and n_rows >= 0
    columns = _strings(node.get("columns"))
    dtypes = _strings(node.get("dtypes"))
    facts: dict[str, Any] = {}
    if tag.startswith("polars.Series"):
        if rows_known:
            facts["shape"] = (n_rows,)
        if columns is not None and len(columns) == 1:
            facts["name"] = columns[0]
        if dtypes is not None and len(dtypes) == 1:
            facts["dtype"] = dtypes[0]
        return facts
    if rows_known and columns is not None:
        facts["shape"] = (n_rows, len(columns))
    if columns is not None:
        facts["columns"] = columns
    if dtypes is not None and columns is not None and len(dtypes) == len(columns):
        facts["dtypes"] = dtypes
        facts["schema"] = dict(zip(columns, dtypes, strict=True))
    return facts


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    load = deferred("zanj_polars.frames:load_polars")
    load_part = deferred("zanj_polars.frames:load_polars_part")
    return [
        LoaderHandler(
            tag=f"polars.{kind}",
            match="prefix",
            load=load,
            describe=describe_frame,
            load_part=load_part,
            description=description,
        )
        for kind, description in (
            ("DataFrame", "DataFrames (Arrow members; zanj 0.6 .jsonl members)"),
            ("Series", "Series (Arrow members)"),
            ("LazyFrame", "LazyFrames (collected, Arrow members)"),
        )
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [
        MemberFormat(
            name="polars-arrow",
            extension=".arrow",
            write=deferred("zanj_polars.ipc:write_frame"),
            read=deferred("zanj_polars.ipc:read_table"),
            binary=True,
            description="Apache Arrow IPC file format written by polars, uncompressed",
        )
    ]
