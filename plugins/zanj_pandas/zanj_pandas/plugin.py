"""The entry point: handler records whose functions import pandas and pyarrow on first call."""

from __future__ import annotations

from typing import IO, Any

from zanj_core import LoaderHandler, MemberFormat, SerializerHandler, hookimpl
from zanj_core.archive import MemberSource
from zanj_core.handlers import JSONdict, JSONitem, ObjectPath
from zanj_core.loading import LoadContext
from zanj_core.saving import SaveContext


def _serialize(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    from zanj_pandas import frames

    return frames.serialize_pandas(obj, path, ctx)


def _load(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    from zanj_pandas import frames

    return frames.load_pandas(node, path, ctx)


def _write_arrow(data: Any, stream: IO[bytes]) -> None:
    from zanj_pandas import arrow

    arrow.write_table(data, stream)


def _read_arrow(source: MemberSource) -> Any:
    from zanj_pandas import arrow

    return arrow.read_table(source)


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag="pandas.DataFrame:arrow",
            types=("pandas.core.frame.DataFrame", "pandas.DataFrame"),
            serialize=_serialize,
            description="DataFrames as Arrow IPC members",
        ),
        SerializerHandler(
            tag="pandas.Series:arrow",
            types=("pandas.core.series.Series", "pandas.Series"),
            serialize=_serialize,
            description="Series as one-column Arrow IPC members",
        ),
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        LoaderHandler(
            tag="pandas.DataFrame",
            match="prefix",
            load=_load,
            description="DataFrames (Arrow members; zanj 0.6 .jsonl members)",
        ),
        LoaderHandler(tag="pandas.Series", match="prefix", load=_load, description="Series (Arrow members)"),
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [
        MemberFormat(
            name="arrow",
            extension=".arrow",
            write=_write_arrow,
            read=_read_arrow,
            binary=True,
            description="Apache Arrow IPC file format, uncompressed",
        )
    ]
