"""The entry point: handler records whose functions import pandas and pyarrow on first call."""

from __future__ import annotations

from typing import Any

from zanj_core.plugin import LoaderHandler, MemberFormat, SerializerHandler, deferred, hookimpl

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    serialize = deferred("zanj_pandas.frames:serialize_pandas")
    return [
        # pandas 3 reports its classes as pandas.DataFrame; earlier releases by their defining module
        SerializerHandler(
            tag="pandas.DataFrame:arrow",
            types=("pandas.core.frame.DataFrame", "pandas.DataFrame"),
            serialize=serialize,
            compat=deferred("zanj_pandas.compat:zanj06_frame_problem"),
            description="DataFrames as Arrow IPC members",
        ),
        SerializerHandler(
            tag="pandas.Series:arrow",
            types=("pandas.core.series.Series", "pandas.Series"),
            serialize=serialize,
            description="Series as one-column Arrow IPC members",
        ),
    ]


def _labels(columns: Any) -> list[Any] | None:
    """Column labels as written: a plain list, or a tuple/list node holding them."""
    if isinstance(columns, dict):
        columns = columns.get("data")
    if isinstance(columns, list) and all(isinstance(c, (str, int, float, bool)) or c is None for c in columns):
        return columns
    return None


def describe_frame(node: dict[str, Any]) -> dict[str, Any]:
    """Shape, column labels and dtypes of a frame or series, from its node alone (no pandas)."""
    tag = str(node.get("__muutils_format__", ""))
    n_rows = node.get("n_rows", node.get("len(data)"))  # zanj 0.6 frames say len(data)
    dtypes = node.get("dtypes")
    labels = _labels(node.get("columns"))
    facts: dict[str, Any] = {}
    rows_known = type(n_rows) is int and n_rows >= 0
    if tag.startswith("pandas.Series"):
        if rows_known:
            facts["shape"] = (n_rows,)
        if isinstance(dtypes, list) and len(dtypes) == 1:
            facts["dtype"] = str(dtypes[0])
        return facts
    n_columns = len(labels) if labels is not None else len(dtypes) if isinstance(dtypes, list) else None
    if rows_known and n_columns is not None:
        facts["shape"] = (n_rows, n_columns)
    if labels is not None:
        facts["columns"] = labels
    if isinstance(dtypes, list):
        facts["dtypes"] = [str(d) for d in dtypes]
    return facts


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    load = deferred("zanj_pandas.frames:load_pandas")
    return [
        LoaderHandler(
            tag="pandas.DataFrame",
            match="prefix",
            load=load,
            describe=describe_frame,
            description="DataFrames (Arrow members; zanj 0.6 .jsonl members)",
        ),
        LoaderHandler(
            tag="pandas.Series",
            match="prefix",
            load=load,
            describe=describe_frame,
            description="Series (Arrow members)",
        ),
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [
        MemberFormat(
            name="arrow",
            extension=".arrow",
            write=deferred("zanj_pandas.arrow:write_table"),
            read=deferred("zanj_pandas.arrow:read_table"),
            binary=True,
            description="Apache Arrow IPC file format, uncompressed",
        )
    ]
