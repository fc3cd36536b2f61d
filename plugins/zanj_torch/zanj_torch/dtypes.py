"""Stable dtype names for tensors, and how each one's bits are stored with numpy.

A dtype numpy has (float32, uint16, complex64...) is stored as that numpy dtype, so the
member is an ordinary `.npy` any numpy program reads. A dtype numpy lacks (bfloat16, the
float8 and float4 variants, complex32, bit types) is stored as the unsigned integer of the same
width holding its raw bits, and the node names the torch dtype. Names are torch's own attribute
names (`bfloat16`, `float8_e4m3fn`), which are stable across torch releases.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

QUANTIZED = frozenset({"qint8", "quint8", "qint32", "quint4x2", "quint2x4"})
_CARRIERS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


@functools.cache
def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


@functools.cache
def numpy_dtype(dtype: torch.dtype) -> tuple[np.dtype, bool]:  # type: ignore[type-arg]
    """(numpy dtype holding the values or bits, whether it is the values' own dtype)."""
    try:
        native = torch.empty(0, dtype=dtype).numpy().dtype
        return native.newbyteorder("<") if native.byteorder == "=" else native, True
    except (TypeError, RuntimeError):
        size = torch.empty(0, dtype=dtype).element_size()
        return np.dtype(f"<u{size}"), False


def from_name(name: str) -> torch.dtype | None:
    """The torch dtype for a stored name (`bfloat16`, or zanj 0.6's `torch.bfloat16`)."""
    value = getattr(torch, name.removeprefix("torch."), None)
    return value if isinstance(value, torch.dtype) else None


def to_numpy_bits(tensor: torch.Tensor) -> np.ndarray:
    """A numpy view (no copy) of a CPU tensor's values, or of its raw bits."""
    _, native = numpy_dtype(tensor.dtype)
    if native:
        return tensor.numpy()
    carrier = _CARRIERS[tensor.element_size()]
    return tensor.view(carrier).numpy().view(numpy_dtype(tensor.dtype)[0])


def from_numpy_bits(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A tensor sharing `array`'s memory, reinterpreting raw bits where the dtype needs it."""
    stored, native = numpy_dtype(dtype)
    if native:
        return torch.from_numpy(array)
    carrier = _CARRIERS[stored.itemsize]
    signed = array.view(torch.empty(0, dtype=carrier).numpy().dtype)
    return torch.from_numpy(signed).view(dtype)
