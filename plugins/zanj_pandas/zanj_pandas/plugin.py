"""The entry point: handler records whose functions import pandas and pyarrow on first call."""

from __future__ import annotations

from zanj_core import LoaderHandler, MemberFormat, SerializerHandler, deferred, hookimpl


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    serialize = deferred("zanj_pandas.frames:serialize_pandas")
    return [
        # pandas 3 reports its classes as pandas.DataFrame; earlier releases by their defining module
        SerializerHandler(
            tag="pandas.DataFrame:arrow",
            types=("pandas.core.frame.DataFrame", "pandas.DataFrame"),
            serialize=serialize,
            description="DataFrames as Arrow IPC members",
        ),
        SerializerHandler(
            tag="pandas.Series:arrow",
            types=("pandas.core.series.Series", "pandas.Series"),
            serialize=serialize,
            description="Series as one-column Arrow IPC members",
        ),
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    load = deferred("zanj_pandas.frames:load_pandas")
    return [
        LoaderHandler(
            tag="pandas.DataFrame",
            match="prefix",
            load=load,
            description="DataFrames (Arrow members; zanj 0.6 .jsonl members)",
        ),
        LoaderHandler(tag="pandas.Series", match="prefix", load=load, description="Series (Arrow members)"),
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
