"""Tensors to JSON nodes and `.npy` members, and back, keeping shared storage shared.

Forms (tags follow zanj 0.6 where it had one):

- `torch.Tensor:array_list_meta` / `:array_b64_meta`: small tensors inline (readable lists
  where exact, else the raw bits in base64);
- `torch.Tensor:external`: a `.npy` member holding the tensor (values for dtypes numpy has,
  raw bits of the same width for the others);
- `torch.Tensor:view`: a tensor over storage already stored for another tensor (tied weights),
  or a view of a larger buffer, which is stored whole as uint8 bytes: `$ref` names the
  member, `storage_offset` and `stride` (in elements of the tensor's dtype) place the view.

This module saves; `zanj_torch.tensor_loading` reads them back.

A save of many small tensors pays per tensor a few attribute reads, one numpy view and one
cached `.npy` header: what each dtype needs is worked out once (`dtypes.layout_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from zanj_numpy import inline_array_form, prepare_npy

from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    ObjectPath,
    SaveContext,
    ZanjSerializationError,
    format_path,
)
from zanj_torch import dtypes

TAG = "torch.Tensor"
SAVE_CACHE = "zanj_torch.storages"
EXTERNAL = f"{TAG}:external"


@dataclass(slots=True)
class _Stored:
    """A storage already met during this save."""

    member: str | None  # None while its only tensor is still inline
    node: JSONdict
    tensor: torch.Tensor
    layout: dtypes.Layout
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
    if tensor.is_meta:
        raise _refuse(tensor, path, "meta tensors hold no data")


def _savable_layout(tensor: torch.Tensor, path: ObjectPath) -> dtypes.Layout:
    """The tensor's dtype layout, once `_check_savable` would pass: the common case is decided
    by a table lookup and four attribute reads, anything else goes through the checks."""
    layout = dtypes.layout_of(tensor.dtype)  # None for quantized and unknown dtypes
    if layout is None or tensor.layout != torch.strided or tensor.is_quantized or tensor.is_nested or tensor.is_meta:
        _check_savable(tensor, path)  # raises the error for what is wrong
        layout = dtypes.layout_of(tensor.dtype)
        if layout is None:  # pragma: no cover - _check_savable refused it already
            raise _refuse(tensor, path, "zanj-torch cannot read this dtype back")
    return layout


def _flags(tensor: torch.Tensor) -> JSONdict:
    flags: JSONdict = {}
    # Parameter's isinstance goes through a slow metaclass hook: skip it for plain tensors
    if type(tensor) is not torch.Tensor and isinstance(tensor, torch.nn.Parameter):
        flags["parameter"] = True
        flags["requires_grad"] = bool(tensor.requires_grad)
    elif tensor.requires_grad:
        flags["requires_grad"] = True
    if not tensor.is_cpu:
        flags["device"] = str(tensor.device)
    return flags


def _meta(tensor: torch.Tensor, name: str) -> JSONdict:
    return {"dtype": name, "shape": list(tensor.shape), "n_elements": tensor.numel()}


def _cpu(tensor: torch.Tensor) -> torch.Tensor:
    return tensor if tensor.is_cpu else tensor.cpu()


def _bits(tensor: torch.Tensor, layout: dtypes.Layout) -> np.ndarray:
    """`dtypes.to_numpy_bits` of a CPU tensor, with its layout already known."""
    return tensor.numpy() if layout.native else dtypes.to_numpy_bits(tensor)


def _external(tensor: torch.Tensor, layout: dtypes.Layout, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    bits = _bits(_cpu(tensor), layout)
    payload = prepare_npy(bits)
    meta: JSONdict = {"dtype": layout.name, "shape": list(bits.shape), "n_elements": bits.size}  # the tensor's shape
    name = ctx.add_member(path, "npy", payload, {"format": EXTERNAL, **meta}, size_hint=payload.size)
    return {FORMAT_KEY: EXTERNAL, REF_KEY: name, **meta}


def _storage_member(tensor: torch.Tensor, path: ObjectPath, ctx: SaveContext) -> str:
    """Store a tensor's whole storage as uint8 bytes (a view of part of it was asked for)."""
    raw = torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(tensor.untyped_storage())
    payload = prepare_npy(_cpu(raw).numpy())
    info: JSONdict = {"format": f"{TAG}:storage", "nbytes": raw.numel()}
    return ctx.add_member(
        (*path[:-1], f"{path[-1] if path else 'tensor'}.storage"), "npy", payload, info, size_hint=payload.size
    )


def _view_node(tensor: torch.Tensor, layout: dtypes.Layout, member: str) -> JSONdict:
    return {
        FORMAT_KEY: f"{TAG}:view",
        REF_KEY: member,
        **_meta(tensor, layout.name),
        "stride": [int(s) for s in tensor.stride()],
        "storage_offset": int(tensor.storage_offset()),
    }


def serialize_tensor(tensor: torch.Tensor, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    layout = _savable_layout(tensor, path)
    flags = _flags(tensor)
    # a plain tensor outside autograd is its own data: detach only what needs it
    data = tensor if type(tensor) is torch.Tensor and not tensor.requires_grad else tensor.detach()
    if data.is_conj() or data.is_neg():
        data = data.resolve_conj().resolve_neg()  # a lazily conjugated view: store its values
    storage = data.untyped_storage()
    nbytes = storage.nbytes()
    key = (data.device, storage.data_ptr(), nbytes)
    seen: dict[Any, _Stored] = ctx.cache.setdefault(SAVE_CACHE, {})
    covers_storage = data.storage_offset() == 0 and data.is_contiguous() and data.nbytes == nbytes
    if nbytes and key in seen:
        stored = seen[key]
        if stored.member is None:
            _promote(stored, ctx)
        node = _view_node(data, layout, stored.member)  # type: ignore[arg-type]
    elif covers_storage or not nbytes:
        if data.numel() >= ctx.zanj.external_array_threshold:
            node = _external(data, layout, path, ctx)
        else:
            form, payload = inline_array_form(_bits(_cpu(data), layout))
            node = {FORMAT_KEY: f"{TAG}:{form}", **_meta(data, layout.name), "data": payload}
        if nbytes:
            seen[key] = _Stored(node.get(REF_KEY), node, data, layout, path)  # type: ignore[arg-type]
    else:
        member = _storage_member(data, path, ctx)
        seen[key] = _Stored(member, {}, data, layout, path)
        node = _view_node(data, layout, member)
    if flags:
        node.update(flags)
    return node


def _promote(stored: _Stored, ctx: SaveContext) -> None:
    """A second tensor shares the storage of one kept inline: move the first to a member."""
    flags = {k: v for k, v in stored.node.items() if k in ("parameter", "requires_grad", "device")}
    external = _external(stored.tensor, stored.layout, stored.path, ctx)
    stored.node.clear()
    stored.node.update(external, **flags)
    stored.member = str(external[REF_KEY])
