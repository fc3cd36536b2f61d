"""Stable dtype names for tensors, and how each one's bits are stored with numpy.

A dtype numpy has (float32, uint16, complex64...) is stored as that numpy dtype, so the
member is an ordinary `.npy` any numpy program reads. A dtype numpy lacks (bfloat16, the
float8 and float4 variants, complex32, bit types) is stored as the unsigned integer of the same
width holding its raw bits, and the node names the torch dtype. Names are torch's own attribute
names (`bfloat16`, `float8_e4m3fn`), which are stable across torch releases.

A name read from a file is only ever a key into `DTYPES`, a table built from the names listed
here: it never reaches `getattr(torch, ...)`, whose module `__getattr__` imports submodules
(`onnx`, `_dynamo`) and calls functions (`has_cuda`) for names that are not dtypes.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

import numpy as np
import torch

QUANTIZED = frozenset({"qint8", "quint8", "qint32", "quint4x2", "quint2x4"})
_CARRIERS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}

_NAMES = (
    "bool",
    *(f"{kind}{bits}" for kind in ("int", "uint") for bits in (8, 16, 32, 64)),
    *(f"{kind}{bits}" for kind in ("int", "uint") for bits in range(1, 8)),
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex32",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "bits8",
    "bits16",
)
"""Every dtype zanj-torch saves and reads (quantized ones need parameters a tensor node lacks);
those the installed torch lacks are left out of `DTYPES`."""
_ALIASES = {
    "half": "float16",
    "float": "float32",
    "double": "float64",
    "chalf": "complex32",
    "cfloat": "complex64",
    "cdouble": "complex128",
    "short": "int16",
    "int": "int32",
    "long": "int64",
}
"""torch's other names for the same dtypes, which other writers may have used."""


def _table() -> dict[str, torch.dtype]:
    table: dict[str, torch.dtype] = {}
    for name in _NAMES:  # names from this list only, never from a file
        value = getattr(torch, name, None)
        if isinstance(value, torch.dtype):
            table[name] = value
    for alias, name in _ALIASES.items():
        if name in table:
            table[alias] = table[name]
    return table


DTYPES: dict[str, torch.dtype] = _table()
"""Stored name -> torch dtype: the only dtypes a file can ask for."""
NAME_PATTERN = re.compile(r"(torch\.)?[a-z][a-z0-9_]{0,63}")
"""What a dtype name looks like (`bfloat16`, zanj 0.6's `torch.bfloat16`): anything else in a
file is not an unknown dtype but a forged name."""


@functools.cache
def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


@functools.cache
def numpy_dtype(dtype: torch.dtype) -> tuple[np.dtype, bool]:
    """(numpy dtype holding the values or bits, whether it is the values' own dtype)."""
    try:
        native = torch.empty(0, dtype=dtype).numpy().dtype
        return native.newbyteorder("<") if native.byteorder == "=" else native, True
    except (TypeError, RuntimeError):
        size = torch.empty(0, dtype=dtype).element_size()
        return np.dtype(f"<u{size}"), False


def from_name(name: str) -> torch.dtype | None:
    """The torch dtype for a stored name (`bfloat16`, or zanj 0.6's `torch.bfloat16`), looked up
    in `DTYPES`; None for a name not in it (a newer torch's dtype, or a forged name)."""
    return DTYPES.get(name.removeprefix("torch.")) if isinstance(name, str) else None


def is_known(dtype: torch.dtype) -> bool:
    """Whether a file can name `dtype` (so a tensor of it can be read back)."""
    return dtype_name(dtype) in DTYPES


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


class Layout(NamedTuple):
    """What saving and reading a tensor of one dtype need, worked out once per dtype."""

    dtype: torch.dtype
    name: str  # the stable name files record
    stored: np.dtype[Any]  # the numpy dtype of its `.npy` member
    native: bool  # whether `stored` is the values' own dtype (else the raw bits)


_BY_DTYPE: dict[torch.dtype, Layout] = {}
_BY_NAME: dict[str, Layout] = {}
"""Layouts worked out so far, by torch dtype (saving) and by stored name, with or without the
`torch.` prefix (reading): only names `from_name` knows are kept, so both stay small."""


def _layout(dtype: torch.dtype) -> Layout:
    return Layout(dtype, dtype_name(dtype), *numpy_dtype(dtype))


def layout_of(dtype: torch.dtype) -> Layout | None:
    """The layout of a tensor's dtype, or None for one a file cannot name (`is_known`)."""
    layout = _BY_DTYPE.get(dtype)
    if layout is None and is_known(dtype):
        layout = _BY_DTYPE[dtype] = _layout(dtype)
    return layout


def layout_named(name: str) -> Layout | None:
    """The layout for a dtype name read from a file, if `from_name` knows it; None otherwise."""
    layout = _BY_NAME.get(name)
    if layout is None:
        dtype = from_name(name)
        if dtype is not None:
            layout = _BY_NAME[name] = _layout(dtype)
    return layout
