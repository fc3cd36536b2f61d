"""zanj 0.6's serializing API: `ZANJSerializerHandler`, the default handler records,
`zanj_external_serialize` and the member writers, over zanj-core.

A 0.6 serializer handler given to `ZANJ(handlers_pre=...)` becomes a zanj-core
`SerializerHandler` tried before every installed one (`core_serializer`); when it calls
`z.json_serialize(child, path)` the child goes through zanj-core's walk. The default records
are zanj 0.6's defaults: `ZANJ` hands them to zanj-core as fallbacks, tried after every
installed plugin, so they save only what no plugin takes, as zanj 0.6 saved it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from muutils.json_serialize.array import arr_metadata
from muutils.json_serialize.json_serialize import DEFAULT_HANDLERS, SerializerHandler
from muutils.json_serialize.util import MonoTuple

from zanj import _bridge
from zanj.externals import ExternalItem, ExternalItemType, _ZANJ_pre
from zanj_core.plugin import FORMAT_KEY, REF_KEY, JSONdict, JSONitem, ObjectPath, SaveContext
from zanj_core.plugin import SerializerHandler as CoreSerializerHandler

_FORMAT_KEY: str = FORMAT_KEY
_REF_KEY: str = REF_KEY

__all__ = [
    "DEFAULT_SERIALIZER_HANDLERS_ZANJ",
    "EXTERNAL_STORE_FUNCS",
    "KW_ONLY_KWARGS",
    "ExternalItem",
    "ExternalItemType",
    "MonoTuple",
    "ZANJSerializerHandler",
    "_ZANJ_pre",
    "arr_metadata",
    "core_serializer",
    "jsonl_metadata",
    "store_jsonl",
    "store_npy",
    "zanj_external_serialize",
]

KW_ONLY_KWARGS: dict[str, Any] = {"kw_only": True}
"""Keyword arguments making a dataclass keyword-only, as zanj 0.6 passed them."""

MEMBER_FORMATS = {"npy": "npy", "jsonl": "jsonl"}
"""zanj 0.6's external item types -> zanj-core's member formats of the same layout."""


def jsonl_metadata(data: list[JSONdict]) -> dict[str, Any]:
    """zanj 0.6's summary of a list of records: its length, each column's types and count."""
    columns = {col for item in data for col in item}
    output: dict[str, Any] = {
        "len(data)": len(data),
        "columns": {
            col: {
                "types": sorted({type(item[col]).__name__ for item in data if col in item}),
                "len": sum(1 for item in data if col in item),
            }
            for col in columns
            if col != FORMAT_KEY
        },
    }
    if data:
        output["data[0]"] = data[0]
    return output


def store_npy(self: Any, fp: IO[bytes], data: Any) -> None:
    """Write an array as `.npy` (never pickled)."""
    import numpy as np

    np.lib.format.write_array(fp, np.asanyarray(data), allow_pickle=False)


def store_jsonl(self: Any, fp: IO[bytes], data: Sequence[JSONitem]) -> None:
    """Write JSON items one per line."""
    for item in data:
        fp.write(json.dumps(item).encode("utf-8") + b"\n")


EXTERNAL_STORE_FUNCS: dict[str, Callable[[Any, IO[bytes], Any], None]] = {"npy": store_npy, "jsonl": store_jsonl}
"""The writer of each kind of data member, by `ExternalItemType`."""


@dataclass(kw_only=True)
class ZANJSerializerHandler(SerializerHandler):
    """zanj 0.6's serializer record: muutils' handler plus the package that provides it."""

    source_pckg: str


def _written_for_zanj06(version: str, node: JSONdict) -> str | None:
    """A 0.6 handler's own nodes are what zanj 0.6 wrote and read: `ZANJ(compat="0.6")` takes
    them (the objects its children stand for are judged by their own handlers)."""
    return None


def core_serializer(handler: SerializerHandler) -> CoreSerializerHandler:
    """A 0.6 (muutils) serializer handler as a zanj-core handler tried for every object: its
    `check(z, obj, path)` and `serialize_func(z, obj, path)` get the saving `ZANJ`, and
    `ZANJ(compat="0.6")` accepts the nodes it returns."""

    def serialize(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
        with _bridge.active(_bridge.ACTIVE_SAVE, ctx):
            return cast(JSONitem, handler.serialize_func(cast(Any, ctx.zanj), obj, path))

    return CoreSerializerHandler(
        tag=handler.uid,
        check=lambda obj, path, ctx: bool(handler.check(cast(Any, ctx.zanj), obj, path)),
        serialize=serialize,
        description=f"zanj 0.6 handler from {getattr(handler, 'source_pckg', 'muutils')}: {handler.desc}",
        compat=_written_for_zanj06,
    )


def _is_frame(data: Any, library: str) -> bool:
    return library in type(data).__module__ and type(data).__name__ == "DataFrame"


def zanj_external_serialize(
    jser: Any,
    data: Any,
    path: ObjectPath,
    item_type: str,
    _format: str,
) -> JSONitem:
    """Store `data` in its own member (`item_type` "npy" or "jsonl") and return the node that
    refers to it, tagged `_format`. During a save the member is zanj-core's (the walk names it);
    outside one it is recorded in `jser._externals`, as zanj 0.6 did, checking that no
    recorded member has the same path or one inside it."""
    if not isinstance(path, tuple):
        raise TypeError(f"path must be a tuple, got {type(path).__name__} {path!r}")
    joined = "/".join(str(p) for p in path)
    archive_path = f"{joined}.{item_type}"
    externals: dict[str, ExternalItem] = jser._externals
    if archive_path in externals:
        warnings.warn(f"external path {archive_path} already exists!", stacklevel=2)
        raise ValueError(f"external path {archive_path} already exists!")
    for existing in externals:
        stem = existing.rsplit(".", 1)[0]
        if stem.startswith(joined + "/") or joined.startswith(stem + "/"):
            warnings.warn(f"external path {joined} is a prefix of another path {existing}!", stacklevel=2)
            raise ValueError(f"external path {joined} is a prefix of another path {existing}!")
    output: dict[str, Any] = {FORMAT_KEY: _format}
    if item_type == "npy":
        stored = _as_array(data)
        output.update(arr_metadata(stored))
    elif item_type == "jsonl":
        stored, columns = _as_records(jser, data, path)
        if all(isinstance(item, dict) for item in stored):
            output.update(jsonl_metadata(stored))
        if columns is not None:
            output["columns"] = columns
    else:
        raise ValueError(f"unknown external item type {item_type!r}, expected 'npy' or 'jsonl'")
    active = _bridge.ACTIVE_SAVE.get()
    if active is not None:
        output[REF_KEY] = active.add_member(path, MEMBER_FORMATS[item_type], stored)
    else:
        output[REF_KEY] = archive_path
        externals[archive_path] = ExternalItem(item_type=item_type, data=stored, path=path)  # type: ignore[arg-type]
    return output


def _as_array(data: Any) -> Any:
    kind = f"{type(data).__module__}.{type(data).__name__}"
    if kind == "torch.Tensor":
        return data.detach().cpu().numpy()
    if kind == "numpy.ndarray":
        return data
    raise TypeError(f"expected numpy.ndarray, got {kind}")


def _as_records(jser: Any, data: Any, path: ObjectPath) -> tuple[list[Any], list[str] | None]:
    if _is_frame(data, "pandas"):
        return data.to_dict(orient="records"), [str(c) for c in data.columns]
    if _is_frame(data, "polars"):
        return data.to_dicts(), list(data.columns)
    if isinstance(data, Iterable):
        return [jser.json_serialize(item, (*path, i)) for i, item in enumerate(data)], None
    raise TypeError(f"expected list or pandas.DataFrame for jsonl, got {type(data)}")


def _default(uid: str, item_type: str, check: Callable[[Any, Any, Any], bool], desc: str) -> ZANJSerializerHandler:
    def serialize_func(self: Any, obj: Any, path: Any) -> Any:
        return zanj_external_serialize(self, obj, tuple(path), item_type=item_type, _format=uid)

    return ZANJSerializerHandler(check=check, serialize_func=serialize_func, uid=uid, source_pckg="zanj", desc=desc)


def _kind(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__name__}"


DEFAULT_SERIALIZER_HANDLERS_ZANJ: tuple[SerializerHandler, ...] = (
    _default(
        "numpy.ndarray:external",
        "npy",
        lambda self, obj, path: _kind(obj) == "numpy.ndarray" and obj.size >= self.external_array_threshold,
        "external numpy array",
    ),
    _default(
        "torch.Tensor:external",
        "npy",
        lambda self, obj, path: _kind(obj) == "torch.Tensor" and int(obj.nelement()) >= self.external_array_threshold,
        "external torch tensor",
    ),
    _default(
        "list:external",
        "jsonl",
        lambda self, obj, path: isinstance(obj, list) and len(obj) >= self.external_list_threshold,
        "external list",
    ),
    _default(
        "tuple:external",
        "jsonl",
        lambda self, obj, path: isinstance(obj, tuple) and len(obj) >= self.external_list_threshold,
        "external tuple",
    ),
    _default(
        "pandas.DataFrame:external",
        "jsonl",
        lambda self, obj, path: _is_frame(obj, "pandas"),
        "external pandas DataFrame",
    ),
    _default(
        "polars.DataFrame:external",
        "jsonl",
        lambda self, obj, path: _is_frame(obj, "polars"),
        "external polars DataFrame",
    ),
    *DEFAULT_HANDLERS,
)
"""zanj 0.6's default serializers, as records. `ZANJ` hands those of its `handlers_default` to
zanj-core as fallbacks (`handlers_fallback`): tried after every installed handler, they save
what no plugin takes (named tuples, plain dataclasses, objects with `.serialize()`, other
iterables, `torch.dtype`, and anything else as muutils' description of it) as zanj 0.6 did."""
