"""The entry point: handler records whose functions import numpy only when first called.

Types are named by dotted string (`numpy.ndarray`, `numpy.generic`) and functions by
`deferred("module:function")`, so neither dispatch nor discovery imports numpy: saving or
reading a file without arrays never does.
"""

from __future__ import annotations

from zanj_core.plugin import LoaderHandler, MemberFormat, SerializerHandler, deferred, hookimpl

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""

ARRAY_TAG = "numpy.ndarray"
SCALAR_TAG = "numpy.generic"


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag=f"{ARRAY_TAG}:*",
            types=("numpy.ndarray",),
            serialize=deferred("zanj_numpy.arrays:serialize_array"),
            compat=deferred("zanj_numpy.compat:zanj06_array_problem"),
            description="numpy arrays: inline JSON below external_array_threshold, else .npy",
        ),
        SerializerHandler(
            tag=f"{SCALAR_TAG}:*",
            types=("numpy.generic",),
            serialize=deferred("zanj_numpy.arrays:serialize_scalar"),
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
            load=deferred("zanj_numpy.arrays:load_array"),
            load_part=deferred("zanj_numpy.arrays:load_array_part"),
            description="numpy arrays (array_list_meta, array_b64_meta, array_hex_meta, zero_dim, external, object)",
        ),
        LoaderHandler(
            tag=SCALAR_TAG, match="prefix", load=deferred("zanj_numpy.arrays:load_scalar"), description="numpy scalars"
        ),
    ]


@hookimpl
def zanj_member_formats() -> list[MemberFormat]:
    return [
        MemberFormat(
            name="npy",
            extension=".npy",
            write=deferred("zanj_numpy.npy:write_npy"),
            read=deferred("zanj_numpy.npy:read_npy"),
            binary=True,
            description="numpy .npy (header padded so the data is 64-byte aligned)",
        )
    ]
