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

Reading trusts none of it: dtypes and shapes pass `zanj_numpy.checks` first, an inline node's
data must match its shape exactly before anything is built from it, and what an array will take
is charged to the read's budget (`ctx.charge`) before it is allocated.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    JSONitem,
    LoadContext,
    ObjectPath,
    SaveContext,
    ZanjFormatError,
    ZanjSerializationError,
    format_path,
)
from zanj_numpy import dtype_names, npy, npy_rows
from zanj_numpy.checks import Refused, check_dtype, check_shape, nbytes_within, shown, shown_error
from zanj_numpy.dtype_names import dtype_to_json

ARRAY = "numpy.ndarray"
SCALAR = "numpy.generic"
READABLE_KINDS = frozenset("biu")


def where(ctx: LoadContext, path: ObjectPath, what: str = "array") -> str:
    """The prefix of every message about a node: the file and the object path."""
    return f"{ctx.label}: {what} at {format_path(path)}"


def dtype_from_json(value: Any, ctx: LoadContext, path: ObjectPath) -> np.dtype[Any]:
    """The node's dtype, if a read may build arrays of it (`dtype_names.dtype_from_json`)."""
    try:
        return dtype_names.dtype_from_json(value)
    except Refused as refused:
        raise refused.error(where(ctx, path)) from None


def shape_from_json(node: JSONdict, ctx: LoadContext, path: ObjectPath) -> tuple[int, ...]:
    """The node's shape: at most 64 ints in 0..2**63-1 (not bools), whose product numpy can hold."""
    shape = node.get("shape")
    if type(shape) is not list:
        shape = ctx.require(node, "shape", list, path)  # raises for what is missing or not a list
    try:
        return check_shape(shape)
    except Refused as refused:
        raise ZanjFormatError(f"{where(ctx, path)} has a bad shape: {refused}") from None


def _nbytes(shape: tuple[int, ...], dtype: np.dtype[Any], limit: int, ctx: LoadContext, path: ObjectPath) -> int | None:
    """`prod(shape) * itemsize` bounded by `limit` (None past it), for a checked shape."""
    try:
        return nbytes_within(shape, dtype.itemsize, limit)
    except Refused as refused:
        raise refused.error(where(ctx, path)) from None


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
    return "array_b64_meta", base64.b64encode(without_padding(array).tobytes(order="C")).decode("ascii")


def _inline(array: np.ndarray, family: str) -> JSONdict:
    form, data = inline_form(array)
    return {FORMAT_KEY: f"{family}:{form}", **_meta(array), "data": data}


def _check_savable_dtype(dtype: np.dtype[Any], path: ObjectPath) -> None:
    """Refuse to write what no read would accept (zero-size or over-wide elements, dtypes other
    libraries register): better an error now than a file that cannot be read back."""
    try:
        check_dtype(dtype)
    except Refused as refused:
        raise ZanjSerializationError(
            f"cannot save the array at {format_path(path)}: {refused}, and reading refuses it"
        ) from None


def serialize_array(array: np.ndarray, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    if type(array) is not np.ndarray:
        # subclasses (np.matrix, masked arrays) carry state a plain array would drop
        raise ZanjSerializationError(
            f"cannot save the {type(array).__module__}.{type(array).__qualname__} at {format_path(path)}: "
            "only plain numpy.ndarray is supported; convert with np.asarray() (masked arrays: save .data and .mask)"
        )
    if array.dtype.hasobject:
        return _serialize_object_array(array, path, ctx)
    _check_savable_dtype(array.dtype, path)
    if array.size < ctx.zanj.external_array_threshold:
        return _inline(array, ARRAY)
    payload = npy.prepare(without_padding(array))
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
    _check_savable_dtype(value.dtype, path)
    return _inline(np.asarray(value), SCALAR)


def _decode_inline(node: JSONdict, path: ObjectPath, ctx: LoadContext, form: str) -> np.ndarray:
    dtype = dtype_from_json(node.get("dtype"), ctx, path)
    return decode_inline(node, path, ctx, form, dtype)


def _leaves(data: Any, shape: tuple[int, ...]) -> list[Any] | None:
    """The scalars of nested lists `data` in C order when they nest exactly as `shape` says
    (a list of `shape[0]` lists of `shape[1]`... of scalars), else None. It walks the JSON
    already in memory and multiplies nothing, so a shape of 2**30 x 2**30 over three values
    costs one comparison; the work is the size of the data, never of the shape."""
    level: list[Any] = [data]
    for dim in shape:
        below: list[Any] = []
        for item in level:
            if type(item) is not list or len(item) != dim:
                return None
            below.extend(item)
        level = below
    if any(type(leaf) in (list, dict) for leaf in level):
        return None
    return level


def _zeros(shape: tuple[int, ...], dtype: np.dtype[Any], ctx: LoadContext, path: ObjectPath) -> np.ndarray:
    """The array of a node with no elements: nothing to fill, nothing to charge."""
    try:
        return np.zeros(shape, dtype=dtype)
    except ValueError as exc:  # a shape numpy cannot describe
        raise ZanjFormatError(f"{where(ctx, path)} has a shape numpy cannot hold ({shown_error(exc)})") from None


def decode_inline(node: JSONdict, path: ObjectPath, ctx: LoadContext, form: str, dtype: np.dtype[Any]) -> np.ndarray:
    """The array of an inline node (`array_list_meta`, `array_b64_meta`, `array_hex_meta`,
    `zero_dim`) as `dtype` (checked by the caller), checked against the node's shape.

    The data must hold exactly shape x itemsize bytes (or nest exactly as the shape says) before
    anything is built, and the array is charged to the read's budget before it is allocated: a
    300-byte node cannot ask for gigabytes. The result is always filled from the node's data."""
    shape = shape_from_json(node, ctx, path) if "shape" in node or form != "zero_dim" else ()
    data = node.get("data")
    if form in ("array_b64_meta", "array_hex_meta"):
        if not isinstance(data, str):
            raise ZanjFormatError(f"{where(ctx, path)} needs a string of data")
        # what the text decodes to, at most: compared before decoding, so nothing is allocated
        # for data that cannot fit the shape
        decoded_size = len(data) * 3 // 4 if form == "array_b64_meta" else len(data) // 2
        expected = _nbytes(shape, dtype, decoded_size, ctx, path)
        if expected is None:
            raise ZanjFormatError(
                f"{where(ctx, path)} holds at most {decoded_size} bytes, fewer than shape {shown(shape)} "
                f"of {shown(str(dtype))} needs"
            )
        ctx.charge(decoded_size, path, "decoding inline array data")
        try:
            raw = base64.b64decode(data, validate=True) if form == "array_b64_meta" else bytes.fromhex(data)
        except ValueError as exc:
            raise ZanjFormatError(f"{where(ctx, path)} has undecodable data: {shown_error(exc)}") from None
        if len(raw) != expected:
            raise ZanjFormatError(
                f"{where(ctx, path)} holds {len(raw)} bytes, {expected} expected for shape {shown(shape)} "
                f"of {shown(str(dtype))}"
            )
        if expected == 0:
            return _zeros(shape, dtype, ctx, path)
        ctx.charge(expected, path, "inline array")
        decoded: np.ndarray = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return decoded
    # readable forms: nested lists (array_list_meta) or one value (zero_dim)
    leaves = _leaves(data, shape)
    if leaves is None:
        raise ZanjFormatError(
            f"{where(ctx, path)}: data does not fit shape {shown(shape)} of {shown(str(dtype))}: "
            "its lists do not nest as the shape says"
        )
    if not leaves:
        return _zeros(shape, dtype, ctx, path)
    # one element per value in the JSON, so the shape's product is exactly their count
    ctx.charge(len(leaves) * dtype.itemsize, path, "inline array")
    try:
        array: np.ndarray = np.array(leaves, dtype=dtype)
        return clear_padding(array).reshape(shape)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ZanjFormatError(
            f"{where(ctx, path)}: data does not fit shape {shown(shape)} of {shown(str(dtype))}: {shown_error(exc)}"
        ) from None


def value_bytes(dtype: np.dtype[Any]) -> np.ndarray:
    """Which bytes of one element of `dtype` hold its value (a bool mask of `itemsize`): not the
    gaps between a structured dtype's fields, nor the six pad bytes of an x86 80-bit long
    double stored in 16."""
    mask = np.zeros(dtype.itemsize, dtype=bool)
    if dtype.fields is not None:
        for field in dtype.fields.values():
            sub, offset = field[0], field[1]
            mask[offset : offset + sub.itemsize] |= value_bytes(sub)
    elif dtype.subdtype is not None:
        base, shape = dtype.subdtype
        mask[:] = np.tile(value_bytes(base), int(np.prod(shape, dtype=np.int64)))
    elif dtype.kind in "fc" and dtype.itemsize in (12, 16, 24, 32) and np.finfo(dtype).nmant == 63:
        part = dtype.itemsize // (2 if dtype.kind == "c" else 1)  # x87 extended: 10 bytes of each part
        for start in range(0, dtype.itemsize, part):
            first = start if dtype.byteorder != ">" else start + part - 10
            mask[first : first + 10] = True
    else:
        mask[:] = True
    return mask


def clear_padding(array: np.ndarray) -> np.ndarray:
    """Zero the bytes of a freshly built array that hold no value. numpy builds an array from
    Python values field by field (and a long double through a 16-byte C variable), leaving the
    other bytes as the allocator gave them: heap pointers, freed secrets. Only bytes from the
    file may come back, so those are zeroed."""
    mask = value_bytes(array.dtype)
    if mask.all() or array.size == 0:
        return array
    rows = array.reshape(-1).view(np.uint8).reshape(array.size, array.dtype.itemsize)
    rows[:, ~mask] = 0
    return array


def without_padding(array: np.ndarray) -> np.ndarray:
    """The array, or, where its dtype has bytes that hold no value, a copy in the same memory
    order with them zeroed: a save writes neither heap contents nor bytes that change from run
    to run (numpy leaves those bytes as the allocator gave them)."""
    dtype = array.dtype
    plain = dtype.fields is None and dtype.subdtype is None and not (dtype.kind in "fc" and dtype.itemsize >= 12)
    if plain or array.size == 0 or value_bytes(dtype).all():
        return array
    fortran = array.ndim > 1 and bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    copy = np.array(array, order="F" if fortran else "C", copy=True)
    clear_padding(copy.T if fortran else copy)
    return copy


def _load_object_array(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> np.ndarray:
    shape = shape_from_json(node, ctx, path)
    items = ctx.load(node.get("data"), (*path, "data"))
    count = _nbytes(shape, np.dtype("u1"), len(items), ctx, path) if isinstance(items, list) else None
    if not isinstance(items, list) or count != len(items):
        raise ZanjFormatError(
            f"{where(ctx, path, 'object array')} does not hold as many items as its shape {shown(shape)} says"
        )
    if not items:
        return _zeros(shape, np.dtype(object), ctx, path)
    ctx.charge(len(items) * np.dtype(object).itemsize, path, "object array")
    array = np.empty(len(items), dtype=object)  # numpy fills object arrays with None
    array[:] = items
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
        reason=f"array form {shown(form)} is unknown to zanj-numpy",
        hint="upgrade zanj-numpy: pip install --upgrade zanj-numpy",
    )


def load_array_part(node: JSONdict, path: ObjectPath, ctx: LoadContext, key: Any) -> Any:
    """`array[key]`, reading only the rows `key` covers from an external member."""
    if str(node[FORMAT_KEY]).partition(":")[2] == "external":
        dtype = dtype_from_json(node.get("dtype"), ctx, path)
        shape = shape_from_json(node, ctx, path)
        return npy_rows.read_part(ctx.member(node, path), key, expect_dtype=dtype, expect_shape=shape)
    return ctx.load(node, path)[key]


def load_scalar(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    form = tag.partition(":")[2]
    if form not in ("array_list_meta", "array_b64_meta"):
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"scalar form {shown(form)} is unknown to zanj-numpy",
            hint="upgrade zanj-numpy: pip install --upgrade zanj-numpy",
        )
    if node.get("shape", []) != []:  # checked before the data is decoded
        raise ZanjFormatError(f"{where(ctx, path, 'numpy scalar')} has shape {shown(node.get('shape'))}, not []")
    array = _decode_inline(node, path, ctx, form)
    # indexing strips trailing NULs from bytes_/str_ scalars; rebuild them from the raw bytes
    if array.dtype.kind == "S":
        return np.bytes_(array.tobytes())
    if array.dtype.kind == "U":
        ctx.charge(2 * array.nbytes, path, "numpy str scalar")
        try:
            return np.str_(array.astype(array.dtype.newbyteorder("<")).tobytes().decode("utf-32-le"))
        except UnicodeDecodeError as exc:
            raise ZanjFormatError(
                f"{where(ctx, path, 'numpy scalar')} holds bytes that are not unicode text ({shown_error(exc)})"
            ) from None
    return array[()]
