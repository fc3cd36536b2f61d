"""The entry point: handler records whose functions import numpy only when first called.

Types are named by dotted string (`numpy.ndarray`, `numpy.generic`), so dispatch needs no
numpy import either: saving or reading a file without arrays never imports numpy.
"""

from __future__ import annotations

from typing import IO, Any

from zanj_core import LoaderHandler, MemberFormat, SerializerHandler, hookimpl
from zanj_core.archive import MemberSource
from zanj_core.handlers import JSONdict, JSONitem, ObjectPath
from zanj_core.loading import LoadContext
from zanj_core.saving import SaveContext

ARRAY_TAG = "numpy.ndarray"
SCALAR_TAG = "numpy.generic"


def _serialize_array(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    from zanj_numpy import arrays

    return arrays.serialize_array(obj, path, ctx)


def _serialize_scalar(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    from zanj_numpy import arrays

    return arrays.serialize_scalar(obj, path, ctx)


def _load_array(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    from zanj_numpy import arrays

    return arrays.load_array(node, path, ctx)


def _load_scalar(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    from zanj_numpy import arrays

    return arrays.load_scalar(node, path, ctx)


def _write_npy(data: Any, stream: IO[bytes]) -> None:
    from zanj_numpy import npy

    npy.write_npy(data, stream)


def _read_npy(source: MemberSource) -> Any:
    from zanj_numpy import npy

    return npy.read_npy(source)


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag=f"{ARRAY_TAG}:*",
            types=("numpy.ndarray",),
            serialize=_serialize_array,
            description="numpy arrays: inline JSON below external_array_threshold, else .npy",
        ),
        SerializerHandler(
            tag=f"{SCALAR_TAG}:*",
            types=("numpy.generic",),
            serialize=_serialize_scalar,
            description="numpy scalars, restored as the same numpy type",
        ),
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        # one loader for the whole family, zanj 0.6's forms included
        LoaderHandler(
            tag=ARRAY_TAG,
            match="prefix",
            load=_load_array,
            description="numpy arrays (array_list_meta, array_b64_meta, array_hex_meta, zero_dim, external, object)",
        ),
        LoaderHandler(tag=SCALAR_TAG, match="prefix", load=_load_scalar, description="numpy scalars"),
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [
        MemberFormat(
            name="npy",
            extension=".npy",
            write=_write_npy,
            read=_read_npy,
            binary=True,
            description="numpy .npy (header padded so the data is 64-byte aligned)",
        )
    ]
