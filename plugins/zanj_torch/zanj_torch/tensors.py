"""Tensors to JSON nodes and `.npy` members, and back, keeping shared storage shared.

Forms (tags follow zanj 0.6 where it had one):

- `torch.Tensor:array_list_meta` / `:array_b64_meta`: small tensors inline (readable lists
  where exact, else the raw bits in base64);
- `torch.Tensor:external`: a `.npy` member holding the tensor (values for dtypes numpy has,
  raw bits of the same width for the others);
- `torch.Tensor:view`: a tensor over storage already stored for another tensor (tied weights),
  or a view of a larger buffer, which is stored whole as uint8 bytes: `$ref` names the
  member, `storage_offset` and `stride` (in elements of the tensor's dtype) place the view.

On reading, each storage member becomes one torch storage; every tensor over it is rebuilt
with `set_`, so tied weights are tied again and views are views again.

Nothing a file says is used unchecked: dtype names are looked up in `dtypes.DTYPES` (never
`getattr(torch, name)`), shapes, strides and offsets are checked with exact integer arithmetic
to stay inside the storage they view before `set_` (which would otherwise grow the storage with
uninitialised memory), every copy is charged to the read's budget before it is made, and only
the reader's `map_location` moves tensors to a device, never the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from zanj_numpy import (
    MAX_DIM,
    Refused,
    check_shape,
    decode_inline_array,
    inline_array_form,
    nbytes_within,
    prepare_npy,
    read_npy,
    read_npy_header,
    read_npy_rows,
    shown,
    shown_error,
)

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    LoadContext,
    ObjectPath,
    SaveContext,
    ZanjFormatError,
    ZanjSerializationError,
    format_path,
)
from zanj_torch import dtypes

TAG = "torch.Tensor"
SAVE_CACHE = "zanj_torch.storages"
LOAD_CACHE = "zanj_torch.storages"


@dataclass
class _Stored:
    """A storage already met during this save."""

    member: str | None  # None while its only tensor is still inline
    node: JSONdict
    tensor: torch.Tensor
    path: ObjectPath


def _refuse(tensor: torch.Tensor, path: ObjectPath, why: str) -> ZanjSerializationError:
    return ZanjSerializationError(f"cannot save the {tensor.dtype} tensor at {format_path(path)}: {why}")


def _check_savable(tensor: torch.Tensor, path: ObjectPath) -> None:
    if tensor.layout != torch.strided:
        raise _refuse(tensor, path, f"layout {tensor.layout} is not supported; call .to_dense() first")
    if tensor.is_quantized or dtypes.dtype_name(tensor.dtype) in dtypes.QUANTIZED:
        raise _refuse(
            tensor,
            path,
            "quantized tensors need their scale and zero point; save .dequantize() or "
            ".int_repr() with the quantization parameters",
        )
    if not dtypes.is_known(tensor.dtype):
        raise _refuse(tensor, path, "zanj-torch cannot read this dtype back; upgrade zanj-torch or convert the tensor")
    if tensor.is_nested:
        raise _refuse(tensor, path, "nested tensors are not supported; save .unbind() as a list")
    if tensor.device.type == "meta":
        raise _refuse(tensor, path, "meta tensors hold no data")


def _flags(tensor: torch.Tensor) -> JSONdict:
    flags: JSONdict = {}
    # Parameter's isinstance goes through a slow metaclass hook: skip it for plain tensors
    if type(tensor) is not torch.Tensor and isinstance(tensor, torch.nn.Parameter):
        flags["parameter"] = True
        flags["requires_grad"] = bool(tensor.requires_grad)
    elif tensor.requires_grad:
        flags["requires_grad"] = True
    if tensor.device.type != "cpu":
        flags["device"] = str(tensor.device)
    return flags


def _meta(tensor: torch.Tensor) -> JSONdict:
    return {"dtype": dtypes.dtype_name(tensor.dtype), "shape": list(tensor.shape), "n_elements": tensor.numel()}


def _cpu(tensor: torch.Tensor) -> torch.Tensor:
    return tensor if tensor.device.type == "cpu" else tensor.cpu()


def _external(tensor: torch.Tensor, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    payload = prepare_npy(dtypes.to_numpy_bits(_cpu(tensor)))
    meta = _meta(tensor)
    name = ctx.add_member(path, "npy", payload, {"format": f"{TAG}:external", **meta}, size_hint=payload.size)
    return {FORMAT_KEY: f"{TAG}:external", REF_KEY: name, **meta}


def _storage_member(tensor: torch.Tensor, path: ObjectPath, ctx: SaveContext) -> str:
    """Store a tensor's whole storage as uint8 bytes (a view of part of it was asked for)."""
    raw = torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(tensor.untyped_storage())
    payload = prepare_npy(_cpu(raw).numpy())
    info: JSONdict = {"format": f"{TAG}:storage", "nbytes": raw.numel()}
    return ctx.add_member(
        (*path[:-1], f"{path[-1] if path else 'tensor'}.storage"), "npy", payload, info, size_hint=payload.size
    )


def _view_node(tensor: torch.Tensor, member: str) -> JSONdict:
    return {
        FORMAT_KEY: f"{TAG}:view",
        REF_KEY: member,
        **_meta(tensor),
        "stride": [int(s) for s in tensor.stride()],
        "storage_offset": int(tensor.storage_offset()),
    }


def serialize_tensor(tensor: torch.Tensor, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    _check_savable(tensor, path)
    flags = _flags(tensor)
    data = tensor.detach()
    if data.is_conj() or data.is_neg():
        data = data.resolve_conj().resolve_neg()  # a lazily conjugated view: store its values
    storage = data.untyped_storage()
    nbytes = storage.nbytes()
    key = (str(data.device), storage.data_ptr(), nbytes)
    seen: dict[Any, _Stored] = ctx.cache.setdefault(SAVE_CACHE, {})
    covers_storage = (
        data.storage_offset() == 0 and data.is_contiguous() and data.numel() * data.element_size() == nbytes
    )
    if nbytes and key in seen:
        stored = seen[key]
        if stored.member is None:
            _promote(stored, ctx)
        node = _view_node(data, stored.member)  # type: ignore[arg-type]
    elif covers_storage or not nbytes:
        if data.numel() >= ctx.zanj.external_array_threshold:
            node = _external(data, path, ctx)
        else:
            form, payload = inline_array_form(dtypes.to_numpy_bits(_cpu(data)))
            node = {FORMAT_KEY: f"{TAG}:{form}", **_meta(data), "data": payload}
        if nbytes:
            seen[key] = _Stored(node.get(REF_KEY), node, data, path)  # type: ignore[arg-type]
    else:
        member = _storage_member(data, path, ctx)
        seen[key] = _Stored(member, {}, data, path)
        node = _view_node(data, member)
    node.update(flags)
    return node


def _promote(stored: _Stored, ctx: SaveContext) -> None:
    """A second tensor shares the storage of one kept inline: move the first to a member."""
    flags = {k: v for k, v in stored.node.items() if k in ("parameter", "requires_grad", "device")}
    external = _external(stored.tensor, stored.path, ctx)
    stored.node.clear()
    stored.node.update(external, **flags)
    stored.member = str(external[REF_KEY])


# -- loading -------------------------------------------------------------------------------------


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
        return torch.device(option)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ZanjFormatError(
            f"{ctx.label}: map_location {shown(option)} is not a torch device ({shown_error(exc)})"
        ) from None


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
    value = ctx.require(node, key, list, path)
    try:
        return check_shape(value, key)
    except Refused as refused:
        raise ZanjFormatError(f"{_where(ctx, path)} has a bad {key}: {refused}") from None


def _storage(
    node: JSONdict,
    path: ObjectPath,
    ctx: LoadContext,
    device: torch.device | None,
    expect: tuple[np.dtype[Any], tuple[int, ...]] | None = None,
) -> torch.Tensor:
    """The member's bytes as a uint8 tensor, loaded once per member (and moved once).
    `expect` is the (numpy dtype, shape) the node says the member holds, when it says.
    Copies (a Fortran-ordered member, a move to `device`) are charged before they are made;
    the member read itself is reserved by `read_npy`."""
    member = str(node.get(REF_KEY))
    cache: dict[tuple[str, str], torch.Tensor] = ctx.cache.setdefault(LOAD_CACHE, {})
    key = (member, str(device))
    if key not in cache:
        source = ctx.member(node, path)
        mapped = source.memory_map(copy_on_write=True) if source.want_mmap else None
        if mapped is not None:  # straight from the private map: no numpy round trip
            header = read_npy_header(source, *(expect or (None, None)))
            if header.fortran_order and len(header.shape) > 1:
                raise ZanjFormatError(f"{_where(ctx, path)}: its member {shown(source.name)} is Fortran-ordered")
            # the header check made the member's data exactly header.nbytes long
            raw = (
                torch.frombuffer(mapped[header.data_offset :], dtype=torch.uint8)
                if header.nbytes
                else torch.zeros(0, dtype=torch.uint8)
            )
        else:
            array = read_npy(source, *(expect or (None, None)))
            if not array.flags.c_contiguous:
                ctx.charge(array.nbytes, path, "tensor member in C order")
                array = np.ascontiguousarray(array)
            raw = torch.from_numpy(array.reshape(-1).view(np.uint8))
        cache[key] = _moved(raw, device, path, ctx)
    return cache[key]


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


def _dtype(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> tuple[str, torch.dtype | None]:
    """The node's dtype name and its torch dtype from `dtypes.DTYPES` (None: not one zanj-torch
    reads). A name that cannot be a dtype name at all is refused as forged."""
    name = ctx.require(node, "dtype", str, path)
    if not dtypes.NAME_PATTERN.fullmatch(name):
        raise ZanjFormatError(f"{_where(ctx, path)} has dtype {shown(name)}, which is not a torch dtype name")
    return name, dtypes.from_name(name)


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
    name, dtype = _dtype(node, path, ctx)
    if dtype is None:
        return _missing_dtype(tag, name, node, path, ctx)
    device = _device(node, path, ctx)
    shape = _shape(node, "shape", path, ctx)
    if form == "external":
        stored, _ = dtypes.numpy_dtype(dtype)
        raw = _storage(node, path, ctx, device, (stored, shape))
        if _nbytes(shape, stored.itemsize, raw.numel(), path, ctx) != raw.numel():
            raise ZanjFormatError(
                f"{_where(ctx, path)}: its member holds {raw.numel()} bytes, which is not shape {shown(shape)} "
                f"of {dtypes.dtype_name(dtype)}"
            )
        # the member is exactly this tensor: a view of the bytes, sharing their storage; with no
        # bytes the shape has no elements, so `empty` has no memory to leave unfilled (`zeros`
        # is not implemented for every dtype)
        tensor = raw.view(dtype).view(shape) if raw.numel() else torch.empty(shape, dtype=dtype, device=raw.device)
    elif form == "view":
        stride = _shape(node, "stride", path, ctx)
        offset = ctx.require(node, "storage_offset", int, path)
        if offset < 0 or offset > MAX_DIM:
            raise ZanjFormatError(f"{_where(ctx, path)} has a storage offset {offset} outside 0..2**63-1")
        tensor = _over_storage(_storage(node, path, ctx, device), dtype, shape, stride, offset, path, ctx)
    elif form in ("array_list_meta", "array_b64_meta", "array_hex_meta", "zero_dim"):
        stored, _ = dtypes.numpy_dtype(dtype)
        array = decode_inline_array(node, path, ctx, form, stored)
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
    return _with_flags(tensor, node, path, ctx)


def load_tensor_part(node: JSONdict, path: ObjectPath, ctx: LoadContext, key: Any) -> Any:
    """`tensor[key]`, reading only the rows `key` covers from an external member; other forms
    (inline, views of shared storage) load whole and are indexed."""
    if str(node[FORMAT_KEY]).partition(":")[2] != "external":
        return load_tensor(node, path, ctx)[key]
    _, dtype = _dtype(node, path, ctx)
    if dtype is None:
        return load_tensor(node, path, ctx)  # reports the missing dtype
    stored, _ = dtypes.numpy_dtype(dtype)
    bits = read_npy_rows(
        ctx.member(node, path), key, expect_dtype=stored, expect_shape=_shape(node, "shape", path, ctx)
    )
    if not (bits.flags.writeable and bits.flags.c_contiguous):
        ctx.charge(bits.nbytes, path, "rows of a mapped tensor")
        bits = np.array(bits, order="C")  # torch has no read-only tensors: copy the mapped rows
    return _moved(dtypes.from_numpy_bits(bits, dtype), _device(node, path, ctx), path, ctx)
