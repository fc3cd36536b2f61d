"""Tensor nodes and their `.npy` members back to tensors, keeping shared storage shared.

Each storage member becomes one torch storage, loaded once per read; every other tensor over
it is rebuilt with `set_`, so tied weights are tied again and views are views again (the forms
are described in `zanj_torch.tensors`).

Nothing a file says is used unchecked: dtype names are looked up in `dtypes.DTYPES` (never
`getattr(torch, name)`), shapes, strides and offsets are checked with exact integer arithmetic
to stay inside the storage they view before `set_` (which would otherwise grow the storage with
uninitialised memory), every copy is charged to the read's budget before it is made, and only
the reader's `map_location` moves tensors to a device, never the file.

The common case, a member holding exactly the tensor its node describes, costs a table lookup
for the dtype and one call to the archive (`read_npy_written`: the `.npy` header compared with
the one zanj writes, and the data mapped, lent from the read-ahead window or copied), and the
tensor is made over that array as it is (`torch.from_numpy`), in its own shape and dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from zanj_numpy import (
    MAX_DIM,
    NpyHeader,
    Refused,
    check_shape,
    decode_inline_array,
    nbytes_within,
    read_npy,
    read_npy_bytes,
    read_npy_header,
    read_npy_rows,
    read_npy_written,
    shown,
    shown_error,
)

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    LoadContext,
    MemberSource,
    ObjectPath,
    ZanjFormatError,
    format_path,
)
from zanj_torch import dtypes
from zanj_torch.errors import ZanjDeviceError

LOAD_CACHE = "zanj_torch.storages"


def _where(ctx: LoadContext, path: ObjectPath) -> str:
    return f"{ctx.label}: tensor at {format_path(path)}"


def _device(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> torch.device | None:
    """Where the reader's `map_location` sends this tensor; None keeps it on the CPU, where it is
    read. The file never chooses a device: the `device` it recorded is only looked up in a
    `map_location` dict, and a device the dict does not name stays on the CPU."""
    option: Any = ctx.options.get("map_location")
    if option is None:
        return None
    if isinstance(option, dict):
        written = node.get("device", "cpu")
        if type(written) is not str or len(written) > 64:
            raise ZanjFormatError(f"{_where(ctx, path)} records a device {shown(written)} that is not a device name")
        option = option.get(written)
        if option is None:
            return None
    try:
        device = torch.device(option)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ZanjFormatError(
            f"{ctx.label}: map_location {shown(option)} is not a torch device ({shown_error(exc)})"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ZanjDeviceError(
            f"{ctx.label}: map_location asks for {device}, but CUDA is not available in this process "
            "(torch was built without it, or no GPU is visible); the file is fine: read it with "
            'map_location="cpu" or without map_location'
        )
    return device


def _nbytes(shape: tuple[int, ...], itemsize: int, limit: int, path: ObjectPath, ctx: LoadContext) -> int | None:
    """`prod(shape) * itemsize`, or None past `limit` (`zanj_numpy.nbytes_within`), as a ZanjFormatError
    for a shape no array can have."""
    try:
        return nbytes_within(shape, itemsize, limit)
    except Refused as refused:
        raise refused.error(_where(ctx, path)) from None


def _moved(tensor: torch.Tensor, device: torch.device | None, path: ObjectPath, ctx: LoadContext) -> torch.Tensor:
    """`tensor` on `device` (the reader's map_location); the copy is charged before it is made."""
    if device is None or device == tensor.device:
        return tensor
    ctx.charge(tensor.untyped_storage().nbytes(), path, f"tensor copy to {device}")
    return tensor.to(device)


def _shape(node: JSONdict, key: str, path: ObjectPath, ctx: LoadContext) -> tuple[int, ...]:
    """A shape or stride from the node: at most 64 ints in 0..2**63-1 (not bools)."""
    value = node.get(key)
    if type(value) is not list:
        value = ctx.require(node, key, list, path)  # raises for what is missing or not a list
    try:
        return check_shape(value, key)
    except Refused as refused:
        raise ZanjFormatError(f"{_where(ctx, path)} has a bad {key}: {refused}") from None


def _cached(node: JSONdict, ctx: LoadContext, device: torch.device | None) -> tuple[dict[Any, torch.Tensor], Any]:
    """This read's tensors by member (and device), and the key of `node`'s member in it."""
    cache: dict[Any, torch.Tensor] | None = ctx.cache.get(LOAD_CACHE)
    if cache is None:
        cache = ctx.cache[LOAD_CACHE] = {}
    member = str(node.get(REF_KEY))
    return cache, member if device is None else (member, str(device))


def _storage(
    node: JSONdict,
    path: ObjectPath,
    ctx: LoadContext,
    device: torch.device | None,
    expect: tuple[dtypes.Layout, tuple[int, ...]] | None = None,
    source: MemberSource | None = None,
) -> tuple[torch.Tensor, bool]:
    """(a tensor over the member's data, whether this call read it): each member is read once
    per read and device, and every tensor over it shares its storage, which holds exactly the
    member's data. `expect` is the (layout, shape) the node says the member holds, when it
    says; a member just read that holds exactly that comes back as that 1-d tensor, anything
    else as its bytes (uint8). `source`: the member, when the caller has it already."""
    cache, key = _cached(node, ctx, device)
    held = cache.get(key)
    if held is not None:
        return held, False
    held = _read_member(node, path, ctx, expect, source)
    cache[key] = held = held if device is None else _moved(held, device, path, ctx)
    return held, True


def _read_member(
    node: JSONdict,
    path: ObjectPath,
    ctx: LoadContext,
    expect: tuple[dtypes.Layout, tuple[int, ...]] | None,
    source: MemberSource | None = None,
) -> torch.Tensor:
    """The member's data on the CPU: a private copy-on-write map of the file when the reader
    maps, else a fresh buffer filled by one read (reserved by `read_npy_bytes`). A Fortran-ordered
    member is refused when mapped and copied to C order (charged first) when read."""
    if source is None:
        source = ctx.member(node, path)
    stored, shape = (expect[0].stored, expect[1]) if expect is not None else (None, None)
    mapped = source.memory_map(copy_on_write=True) if source.want_mmap else None
    data: Any
    if mapped is not None:  # straight from the private map: no numpy round trip
        header = read_npy_header(source, stored, shape)
        if header.fortran_order and len(header.shape) > 1:
            raise ZanjFormatError(f"{_where(ctx, path)}: its member {shown(source.name)} is Fortran-ordered")
        # the header check made the member's data exactly header.nbytes long
        data = mapped[header.data_offset :]
    else:
        header = read_npy_header(source, stored, shape, agree=True)
        if header.fortran_order and len(header.shape) > 1:
            array = read_npy(source, header=header)
            if not array.flags.c_contiguous:
                ctx.charge(array.nbytes, path, "tensor member in C order")
                array = np.ascontiguousarray(array)
            return torch.from_numpy(array.reshape(-1).view(np.uint8))
        data = read_npy_bytes(source, header) if header.nbytes else None
    if not header.nbytes:
        return torch.zeros(0, dtype=torch.uint8)
    if expect is not None and _holds_exactly(header, expect):
        return torch.frombuffer(data, dtype=expect[0].dtype)
    return torch.frombuffer(data, dtype=torch.uint8)


def _holds_exactly(header: NpyHeader, expect: tuple[dtypes.Layout, tuple[int, ...]]) -> bool:
    """Whether the member's data (`header.nbytes` > 0 bytes, checked against its header) are
    exactly the expected shape of elements of the expected size."""
    shape, itemsize = expect[1], expect[0].stored.itemsize
    if header.shape == shape and header.dtype.itemsize == itemsize:
        return True  # the header's own shape and itemsize make up its nbytes
    return 0 not in shape and nbytes_within(shape, itemsize, header.nbytes) == header.nbytes


def _bytes_of(held: torch.Tensor) -> torch.Tensor:
    """The whole storage under `held` as uint8 bytes."""
    if held.dtype is torch.uint8:
        return held  # _storage's uint8 tensors cover their storage from its start
    return torch.empty(0, dtype=torch.uint8, device=held.device).set_(held.untyped_storage())


def _external(
    node: JSONdict,
    path: ObjectPath,
    ctx: LoadContext,
    device: torch.device | None,
    layout: dtypes.Layout,
    shape: tuple[int, ...],
) -> torch.Tensor:
    """The tensor of an `external` node: the member is exactly this tensor, so the tensor is
    built over its bytes, sharing their storage (with the tensors of other nodes over it).

    A member not read yet that holds exactly what zanj writes for this tensor (the common case)
    is read in one call (`read_npy_written`) and becomes the tensor directly; the tensor is kept
    as the member's storage for other nodes over it, as `_storage` keeps it."""
    cache, key = _cached(node, ctx, device)
    source = None
    if key not in cache:
        stored = layout.stored
        source = ctx.member(node, path)
        array = read_npy_written(source, stored, shape, copy_on_write=True)
        if array is not None:  # its header made it exactly `shape` of `stored`, with data
            if layout.native and stored.isnative:
                tensor = torch.from_numpy(array)
            else:  # raw bits (bfloat16 and others numpy lacks), or another byte order
                tensor = torch.frombuffer(array, dtype=layout.dtype)
                if len(shape) != 1:
                    tensor = tensor.view(shape)
            if device is not None:
                tensor = _moved(tensor, device, path, ctx)
            cache[key] = tensor
            return tensor
    held, fresh = _storage(node, path, ctx, device, (layout, shape), source)
    if fresh and held.dtype is layout.dtype and held.dtype is not torch.uint8:
        # read just now as this dtype: _read_member found it holds exactly `shape`
        return held if len(shape) == 1 else held.view(shape)
    raw = _bytes_of(held)
    nbytes = raw.numel()
    if _nbytes(shape, layout.stored.itemsize, nbytes, path, ctx) != nbytes:
        raise ZanjFormatError(
            f"{_where(ctx, path)}: its member holds {nbytes} bytes, which is not shape {shown(shape)} of {layout.name}"
        )
    # with no bytes the shape has no elements, so `empty` has no memory to leave unfilled
    # (`zeros` is not implemented for every dtype)
    return raw.view(layout.dtype).view(shape) if nbytes else torch.empty(shape, dtype=layout.dtype, device=raw.device)


def _over_storage(
    raw: torch.Tensor,
    dtype: torch.dtype,
    shape: tuple[int, ...],
    stride: tuple[int, ...],
    offset: int,
    path: ObjectPath,
    ctx: LoadContext,
) -> torch.Tensor:
    """A tensor of `dtype` viewing `raw`'s storage at `offset` with `shape` and `stride` (in
    elements), once exact integer arithmetic shows every element it can reach lies inside the
    storage: `set_` would silently grow the storage, with uninitialised memory, to fit."""
    if len(stride) != len(shape):
        raise ZanjFormatError(f"{_where(ctx, path)} has {len(stride)} strides for its {len(shape)} dimensions")
    itemsize = dtype.itemsize
    if _nbytes(shape, itemsize, MAX_DIM, path, ctx) is None:  # stride-0 views can claim any size
        raise ZanjFormatError(f"{_where(ctx, path)} has shape {shown(shape)}, over 2**63-1 bytes")
    capacity = raw.untyped_storage().nbytes() // itemsize
    if 0 in shape:  # no element is reached; the offset must still lie in the storage
        extent = offset
    else:
        extent = offset + sum((size - 1) * step for size, step in zip(shape, stride, strict=True)) + 1
    if extent > capacity or extent > MAX_DIM:
        raise ZanjFormatError(
            f"{_where(ctx, path)} reaches element {extent} of a storage holding {capacity} elements of "
            f"{dtypes.dtype_name(dtype)} (storage_offset {offset}, shape {shown(shape)}, stride {shown(stride)})"
        )
    return torch.empty(0, dtype=dtype, device=raw.device).set_(raw.untyped_storage(), offset, shape, stride)


def _layout(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> tuple[str, dtypes.Layout | None]:
    """The node's dtype name and its layout, for a dtype in `dtypes.DTYPES` (None: not one
    zanj-torch reads). A name that cannot be a dtype name at all is refused as forged."""
    name = node.get("dtype")
    if type(name) is str:
        layout = dtypes.layout_named(name)  # table names pass every check below
        if layout is not None:
            return name, layout
    name = ctx.require(node, "dtype", str, path)
    if not dtypes.NAME_PATTERN.fullmatch(name):
        raise ZanjFormatError(f"{_where(ctx, path)} has dtype {shown(name)}, which is not a torch dtype name")
    return name, dtypes.layout_named(name)


def _missing_dtype(tag: str, name: str, node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    return ctx.missing(
        tag,
        node,
        path,
        reason=f"torch {torch.__version__} with zanj-torch has no dtype {shown(name)}",
        hint="upgrade torch and zanj-torch to releases that have it",
    )


def _with_flags(tensor: torch.Tensor, node: JSONdict, path: ObjectPath, ctx: LoadContext) -> torch.Tensor:
    """The node's `parameter` / `requires_grad` flags applied; only floating point and complex
    tensors can require gradients, so a file saying otherwise is refused with a clear message."""
    parameter = node.get("parameter") is True
    grad = node.get("requires_grad") is not False if parameter else node.get("requires_grad") is True
    if grad and not (tensor.is_floating_point() or tensor.is_complex()):
        raise ZanjFormatError(f"{_where(ctx, path)} of dtype {tensor.dtype} says it requires grad, which it cannot")
    if parameter:
        return torch.nn.Parameter(tensor, requires_grad=grad)
    if grad:
        tensor.requires_grad_(True)
    return tensor


def load_tensor(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    form = tag.partition(":")[2]
    name = node.get("dtype")
    layout = dtypes.layout_named(name) if type(name) is str else None  # `_layout`, for a name in the table
    if layout is None:
        name, layout = _layout(node, path, ctx)
        if layout is None:
            return _missing_dtype(tag, name, node, path, ctx)
    dtype = layout.dtype
    device = _device(node, path, ctx) if ctx.options else None  # no options: no map_location
    shape = _shape(node, "shape", path, ctx)
    if form == "external":
        tensor = _external(node, path, ctx, device, layout, shape)
    elif form == "view":
        stride = _shape(node, "stride", path, ctx)
        offset = ctx.require(node, "storage_offset", int, path)
        if offset < 0 or offset > MAX_DIM:
            raise ZanjFormatError(f"{_where(ctx, path)} has a storage offset {offset} outside 0..2**63-1")
        held, _ = _storage(node, path, ctx, device)
        tensor = _over_storage(held, dtype, shape, stride, offset, path, ctx)
    elif form in ("array_list_meta", "array_b64_meta", "array_hex_meta", "zero_dim"):
        array = decode_inline_array(node, path, ctx, form, layout.stored)
        if not array.flags.c_contiguous:
            ctx.charge(array.nbytes, path, "inline tensor in C order")
            array = array.copy(order="C")
        tensor = _moved(dtypes.from_numpy_bits(array, dtype), device, path, ctx)
    else:
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"tensor form {shown(form)} is unknown to zanj-torch",
            hint="upgrade zanj-torch: pip install --upgrade zanj-torch",
        )
    if "parameter" in node or "requires_grad" in node:  # neither: a plain tensor, as saved
        return _with_flags(tensor, node, path, ctx)
    return tensor


def load_tensor_part(node: JSONdict, path: ObjectPath, ctx: LoadContext, key: Any) -> Any:
    """`tensor[key]`, reading only the rows `key` covers from an external member; other forms
    (inline, views of shared storage) load whole and are indexed."""
    if str(node[FORMAT_KEY]).partition(":")[2] != "external":
        return load_tensor(node, path, ctx)[key]
    _, layout = _layout(node, path, ctx)
    if layout is None:
        return load_tensor(node, path, ctx)  # reports the missing dtype
    bits = read_npy_rows(
        ctx.member(node, path), key, expect_dtype=layout.stored, expect_shape=_shape(node, "shape", path, ctx)
    )
    if not (bits.flags.writeable and bits.flags.c_contiguous):
        ctx.charge(bits.nbytes, path, "rows of a mapped tensor")
        bits = np.array(bits, order="C")  # torch has no read-only tensors: copy the mapped rows
    return _moved(dtypes.from_numpy_bits(bits, layout.dtype), _device(node, path, ctx), path, ctx)
