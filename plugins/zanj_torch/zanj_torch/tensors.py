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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from zanj_numpy import arrays, npy

from zanj_core import FORMAT_KEY, REF_KEY, ZanjFormatError, ZanjSerializationError
from zanj_core.handlers import JSONdict, ObjectPath, format_path
from zanj_core.loading import LoadContext
from zanj_core.saving import SaveContext
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
    payload = npy.prepare(dtypes.to_numpy_bits(_cpu(tensor)))
    meta = _meta(tensor)
    name = ctx.add_member(path, "npy", payload, {"format": f"{TAG}:external", **meta}, size_hint=payload.size)
    return {FORMAT_KEY: f"{TAG}:external", REF_KEY: name, **meta}


def _storage_member(tensor: torch.Tensor, path: ObjectPath, ctx: SaveContext) -> str:
    """Store a tensor's whole storage as uint8 bytes (a view of part of it was asked for)."""
    raw = torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(tensor.untyped_storage())
    payload = npy.prepare(_cpu(raw).numpy())
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
            form, payload = arrays.inline_form(dtypes.to_numpy_bits(_cpu(data)))
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
    old_tag = str(stored.node[FORMAT_KEY])
    flags = {k: v for k, v in stored.node.items() if k in ("parameter", "requires_grad", "device")}
    external = _external(stored.tensor, stored.path, ctx)
    stored.node.clear()
    stored.node.update(external, **flags)
    stored.member = str(external[REF_KEY])
    if old_tag in ctx.tags_used:
        ctx.tags_used.setdefault(f"{TAG}:external", ctx.tags_used[old_tag])


# -- loading -------------------------------------------------------------------------------------


def _device(node: JSONdict, ctx: LoadContext) -> torch.device | None:
    option: Any = ctx.options.get("map_location")
    if option is None:
        return None
    if isinstance(option, dict):
        written = node.get("device", "cpu")
        option = option.get(written, written)
    try:
        return torch.device(option)
    except (TypeError, RuntimeError) as exc:
        raise ZanjFormatError(f"map_location {option!r} is not a torch device: {exc}") from None


def _shape(node: JSONdict, key: str, path: ObjectPath, ctx: LoadContext) -> tuple[int, ...]:
    value = ctx.require(node, key, list, path)
    if not all(type(d) is int and d >= 0 for d in value):
        raise ZanjFormatError(f"{ctx.label}: tensor at {format_path(path)} has a bad {key} {value!r}")
    return tuple(value)


def _storage(
    node: JSONdict,
    path: ObjectPath,
    ctx: LoadContext,
    device: torch.device | None,
    expect: tuple[np.dtype[Any], tuple[int, ...]] | None = None,
) -> torch.Tensor:
    """The member's bytes as a uint8 tensor, loaded once per member (and moved once).
    `expect` is the (numpy dtype, shape) the node says the member holds, when it says."""
    member = str(node.get(REF_KEY))
    cache: dict[tuple[str, str], torch.Tensor] = ctx.cache.setdefault(LOAD_CACHE, {})
    key = (member, str(device))
    if key not in cache:
        source = ctx.member(node, path)
        mapped = source.memory_map(copy_on_write=True) if source.want_mmap else None
        if mapped is not None:  # straight from the private map: no numpy round trip
            header = npy.read_header(source, *(expect or (None, None)))
            if header.fortran_order and len(header.shape) > 1:
                raise ZanjFormatError(f"{ctx.label}: tensor member {source.name!r} is Fortran-ordered")
            raw = (
                torch.frombuffer(mapped[header.data_offset :], dtype=torch.uint8)
                if header.nbytes
                else torch.empty(0, dtype=torch.uint8)
            )
        else:
            array = npy.read_npy(source, *(expect or (None, None)))
            if not array.flags.c_contiguous:
                array = np.ascontiguousarray(array)
            raw = torch.from_numpy(array.reshape(-1).view(np.uint8))
        cache[key] = raw if device is None else raw.to(device)
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
    itemsize = dtype.itemsize
    capacity = raw.numel() // itemsize
    extent = offset + sum((s - 1) * st for s, st in zip(shape, stride, strict=True)) + 1 if math.prod(shape) else 0
    if len(stride) != len(shape) or extent > capacity:
        raise ZanjFormatError(
            f"{ctx.label}: tensor at {format_path(path)} reaches element {extent} of a storage holding {capacity}"
        )
    return torch.empty(0, dtype=dtype, device=raw.device).set_(raw.untyped_storage(), offset, shape, stride)


def load_tensor(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    tag = str(node[FORMAT_KEY])
    form = tag.partition(":")[2]
    name = ctx.require(node, "dtype", str, path)
    dtype = dtypes.from_name(name)
    if dtype is None:
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"torch {torch.__version__} has no dtype {name!r}",
            hint="upgrade torch to a release that has it",
        )
    device = _device(node, ctx)
    shape = _shape(node, "shape", path, ctx)
    if form == "external":
        stored, _ = dtypes.numpy_dtype(dtype)
        raw = _storage(node, path, ctx, device, (stored, shape))
        if raw.numel() != math.prod(shape) * stored.itemsize:
            raise ZanjFormatError(f"{ctx.label}: tensor at {format_path(path)}: member size disagrees with its shape")
        # the member is exactly this tensor: a view of the bytes, sharing their storage
        tensor = raw.view(dtype).view(shape) if raw.numel() else torch.empty(shape, dtype=dtype, device=raw.device)
    elif form == "view":
        stride = _shape(node, "stride", path, ctx)
        offset = ctx.require(node, "storage_offset", int, path)
        if offset < 0:
            raise ZanjFormatError(f"{ctx.label}: tensor at {format_path(path)} has a negative storage offset")
        tensor = _over_storage(_storage(node, path, ctx, device), dtype, shape, stride, offset, path, ctx)
    elif form in ("array_list_meta", "array_b64_meta", "array_hex_meta", "zero_dim"):
        stored, _ = dtypes.numpy_dtype(dtype)
        array = arrays.decode_inline(node, path, ctx, form, stored)
        tensor = dtypes.from_numpy_bits(array if array.flags.c_contiguous else array.copy(order="C"), dtype)
        if device is not None:
            tensor = tensor.to(device)
    else:
        return ctx.missing(
            tag,
            node,
            path,
            reason=f"tensor form {form!r} is unknown to zanj-torch",
            hint="upgrade zanj-torch: pip install --upgrade zanj-torch",
        )
    if node.get("parameter") is True:
        return torch.nn.Parameter(tensor, requires_grad=node.get("requires_grad") is not False)
    if node.get("requires_grad") is True:
        tensor.requires_grad_(True)
    return tensor


def load_tensor_part(node: JSONdict, path: ObjectPath, ctx: LoadContext, key: Any) -> Any:
    """`tensor[key]`, reading only the rows `key` covers from an external member; other forms
    (inline, views of shared storage) load whole and are indexed."""
    if str(node[FORMAT_KEY]).partition(":")[2] != "external":
        return load_tensor(node, path, ctx)[key]
    dtype = dtypes.from_name(ctx.require(node, "dtype", str, path))
    if dtype is None:
        return load_tensor(node, path, ctx)  # reports the missing dtype
    stored, _ = dtypes.numpy_dtype(dtype)
    bits = npy.read_part(
        ctx.member(node, path), key, expect_dtype=stored, expect_shape=_shape(node, "shape", path, ctx)
    )
    if not (bits.flags.writeable and bits.flags.c_contiguous):
        bits = np.array(bits, order="C")  # torch has no read-only tensors: copy the mapped rows
    tensor = dtypes.from_numpy_bits(bits, dtype)
    device = _device(node, ctx)
    return tensor if device is None else tensor.to(device)
