"""Arrays and numpy scalars to JSON nodes and back.

Forms written (tags keep zanj 0.6's names, so 0.6 reads what it can represent):

- `numpy.ndarray:array_list_meta`: readable nested lists, for bool/int/uint and finite
  float16/32/64 arrays below `external_array_threshold` elements;
- `numpy.ndarray:array_b64_meta`: raw C-order bytes in base64, for every other small array
  (complex, datetime, strings, structured, non-finite floats...), exact to the bit;
- `numpy.ndarray:external`: an aligned `.npy` member, at or above the threshold;
- `numpy.ndarray:object`: object arrays element by element through the walk (never pickled).

Every node carries `dtype` (a numpy dtype string, or the npy descr list for structured
dtypes), `shape` and `n_elements`, so a file can be described without reading a member.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from zanj_core import FORMAT_KEY, REF_KEY, ZanjFormatError, ZanjSerializationError
from zanj_core.handlers import JSONdict, JSONitem, ObjectPath, format_path
from zanj_core.loading import LoadContext
from zanj_core.saving import SaveContext
from zanj_numpy import npy

ARRAY = "numpy.ndarray"
SCALAR = "numpy.generic"
READABLE_KINDS = frozenset("biu")


def dtype_to_json(dtype: np.dtype[Any]) -> JSONitem:
    """The dtype's plain name when that names it exactly (`float32`, `>i4`, `<U7`,
    `datetime64[ns]`), else its npy descr as nested lists (structured dtypes)."""
    if dtype.fields is None and dtype.subdtype is None:
        name = str(dtype)
        try:
            if np.dtype(name) == dtype:
                return name
        except TypeError:
            pass
    return _listify(np.lib.format.dtype_to_descr(dtype))


def _listify(value: Any) -> JSONitem:
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value  # type: ignore[no-any-return]


def _tuplify_descr(descr: Any) -> Any:
    """JSON lists back to the npy descr shape: a list of (name, format[, shape]) tuples."""
    if isinstance(descr, str):
        return descr
    if not isinstance(descr, list):
        raise ValueError(f"descr must be a string or a list, got {type(descr).__name__}")
    fields = []
    for field in descr:
        if not isinstance(field, list) or len(field) not in (2, 3):
            raise ValueError(f"bad field {field!r}")
        name = tuple(field[0]) if isinstance(field[0], list) else field[0]  # (title, name) pairs
        entry: tuple[Any, ...] = (name, _tuplify_descr(field[1]))
        if len(field) == 3:
            entry += (tuple(field[2]),)
        fields.append(entry)
    return fields


def dtype_from_json(value: Any, ctx: LoadContext, path: ObjectPath) -> np.dtype[Any]:
    try:
        dtype = np.dtype(value) if isinstance(value, str) else npy.descr_to_dtype(_tuplify_descr(value))
    except (TypeError, ValueError, KeyError, IndexError, SyntaxError) as exc:
        raise ZanjFormatError(
            f"{ctx.label}: array at {format_path(path)} has an unusable dtype {value!r}: {exc}"
        ) from None
    if dtype.hasobject:
        raise ZanjFormatError(
            f"{ctx.label}: array at {format_path(path)} declares an object dtype, which would need pickle; refused"
        )
    return dtype


def shape_from_json(node: JSONdict, ctx: LoadContext, path: ObjectPath) -> tuple[int, ...]:
    shape = ctx.require(node, "shape", list, path)
    if not all(type(d) is int and d >= 0 for d in shape):
        raise ZanjFormatError(f"{ctx.label}: array at {format_path(path)} has a bad shape {shape!r}")
    return tuple(shape)


def _meta(array: np.ndarray) -> JSONdict:
    return {"dtype": dtype_to_json(array.dtype), "shape": list(array.shape), "n_elements": int(array.size)}


def _readable(array: np.ndarray) -> bool:
    kind = array.dtype.kind
    if kind in READABLE_KINDS:
        return True
    return kind == "f" and array.dtype.itemsize <= 8 and bool(np.isfinite(array).all())


def inline_form(array: np.ndarray) -> tuple[str, JSONitem]:
    """(form, data) for an array kept in the JSON: readable nested lists where they are exact,
    else the raw C-order bytes in base64. Shared with plugins storing other array types."""
    if _readable(array):
        return "array_list_meta", array.tolist()
    return "array_b64_meta", base64.b64encode(array.tobytes(order="C")).decode("ascii")


def _inline(array: np.ndarray, family: str) -> JSONdict:
    form, data = inline_form(array)
    return {FORMAT_KEY: f"{family}:{form}", **_meta(array), "data": data}


def serialize_array(array: np.ndarray, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    if type(array) is not np.ndarray:
        # subclasses (np.matrix, masked arrays) carry state a plain array would drop
        raise ZanjSerializationError(
            f"cannot save the {type(array).__module__}.{type(array).__qualname__} at {format_path(path)}: "
            "only plain numpy.ndarray is supported; convert with np.asarray() (masked arrays: save .data and .mask)"
        )
    if array.dtype.hasobject:
        return _serialize_object_array(array, path, ctx)
    if array.size < ctx.zanj.external_array_threshold:
        return _inline(array, ARRAY)
    payload = npy.prepare(array)
    meta = _meta(array)
    name = ctx.add_member(path, "npy", payload, {"format": f"{ARRAY}:external", **meta}, size_hint=payload.size)
    return {FORMAT_KEY: f"{ARRAY}:external", REF_KEY: name, **meta}


def _serialize_object_array(array: np.ndarray, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    if array.dtype != np.dtype(object):
        raise ZanjSerializationError(
            f"cannot save the array at {format_path(path)}: its structured dtype {array.dtype} has object "
            "fields; split them into separate arrays"
        )
    # element by element through the walk: every element must itself be savable
    items = array.ravel(order="C").tolist()
    return {
        FORMAT_KEY: f"{ARRAY}:object",
        "dtype": "object",
        "shape": list(array.shape),
        "n_elements": int(array.size),
        "data": ctx.serialize(items, (*path, "data")),
    }


def serialize_scalar(value: np.generic, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    if value.dtype.hasobject:
        raise ZanjSerializationError(f"cannot save the numpy object scalar at {format_path(path)}")
    return _inline(np.asarray(value), SCALAR)


def _decode_inline(node: JSONdict, path: ObjectPath, ctx: LoadContext, form: str) -> np.ndarray:
    dtype = dtype_from_json(node.get("dtype"), ctx, path)
    return decode_inline(node, path, ctx, form, dtype)


def decode_inline(node: JSONdict, path: ObjectPath, ctx: LoadContext, form: str, dtype: np.dtype[Any]) -> np.ndarray:
    """The array of an inline node (`array_list_meta`, `array_b64_meta`, `array_hex_meta`,
    `zero_dim`) as `dtype`, checked against the node's shape."""
    shape = shape_from_json(node, ctx, path) if "shape" in node or form != "zero_dim" else ()
    count = math.prod(shape)
    data = node.get("data")
    if form in ("array_b64_meta", "array_hex_meta"):
        if not isinstance(data, str):
            raise ZanjFormatError(f"{ctx.label}: array at {format_path(path)} needs a string of data")
        try:
            raw = base64.b64decode(data, validate=True) if form == "array_b64_meta" else bytes.fromhex(data)
        except ValueError as exc:
            raise ZanjFormatError(f"{ctx.label}: array at {format_path(path)} has undecodable data: {exc}") from None
        if len(raw) != count * dtype.itemsize:
            raise ZanjFormatError(
                f"{ctx.label}: array at {format_path(path)} holds {len(raw)} bytes, "
                f"{count * dtype.itemsize} expected for shape {shape} of {dtype}"
            )
        if count == 0 or dtype.itemsize == 0:
            return np.empty(shape, dtype=dtype)
        decoded: np.ndarray = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape).copy()
        return decoded
    # readable forms: nested lists (array_list_meta) or one value (zero_dim)
    try:
        array: np.ndarray = np.array(data, dtype=dtype)
        return array.reshape(shape)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ZanjFormatError(
            f"{ctx.label}: array at {format_path(path)}: data does not fit shape {shape} of {dtype}: {exc}"
        ) from None


def _load_object_array(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> np.ndarray:
    shape = shape_from_json(node, ctx, path)
    items = ctx.load(node.get("data"), (*path, "data"))
    if not isinstance(items, list) or len(items) != math.prod(shape):
        raise ZanjFormatError(
            f"{ctx.label}: object array at {format_path(path)} does not hold {math.prod(shape)} items"
        )
    array = np.empty(len(items), dtype=object)
    array[:] = items if items else array
    return array.reshape(shape)


def load_array(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    form = tag.partition(":")[2]
    if form == "external":
        dtype = dtype_from_json(node.get("dtype"), ctx, path)
        shape = shape_from_json(node, ctx, path)
        return npy.read_npy(ctx.member(node, path), expect_dtype=dtype, expect_shape=shape)
    if form == "object":
        return _load_object_array(node, path, ctx)
    if form in ("array_list_meta", "array_b64_meta", "array_hex_meta", "zero_dim"):
        return _decode_inline(node, path, ctx, form)
    return ctx.missing(
        tag,
        node,
        path,
        reason=f"array form {form!r} is unknown to zanj-numpy",
        hint="upgrade zanj-numpy: pip install --upgrade zanj-numpy",
    )


def load_array_part(node: JSONdict, path: ObjectPath, ctx: LoadContext, key: Any) -> Any:
    """`array[key]`, reading only the rows `key` covers from an external member."""
    if str(node[FORMAT_KEY]).partition(":")[2] == "external":
        dtype = dtype_from_json(node.get("dtype"), ctx, path)
        shape = shape_from_json(node, ctx, path)
        return npy.read_part(ctx.member(node, path), key, expect_dtype=dtype, expect_shape=shape)
    return ctx.load(node, path)[key]


def load_scalar(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    form = tag.partition(":")[2]
    if form not in ("array_list_meta", "array_b64_meta"):
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"scalar form {form!r} is unknown to zanj-numpy",
            hint="upgrade zanj-numpy: pip install --upgrade zanj-numpy",
        )
    array = _decode_inline(node, path, ctx, form)
    if array.shape != ():
        raise ZanjFormatError(f"{ctx.label}: numpy scalar at {format_path(path)} has shape {array.shape}")
    # indexing strips trailing NULs from bytes_/str_ scalars; rebuild them from the raw bytes
    if array.dtype.kind == "S":
        return np.bytes_(array.tobytes())
    if array.dtype.kind == "U":
        return np.str_(array.astype(array.dtype.newbyteorder("<")).tobytes().decode("utf-32-le"))
    return array[()]
