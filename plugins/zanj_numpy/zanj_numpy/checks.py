"""Checks on what a file says about an array (dtype, shape, sizes), made before anything is
allocated for it.

A file is untrusted input: a 300-byte node can name a dtype of 2 GB per element, a shape whose
product overflows int64, or a zero-size dtype that numpy silently widens to one byte per element
of *uninitialised* memory. Every number and dtype a file gives passes through here first; the
checks raise `Refused`, which the caller turns into a `ZanjFormatError` (or, for a size over a
limit, a `ZanjLimitError`) naming the file and the object path.

Shared with zanj-torch, which stores its tensors as the same nodes and `.npy` members.
"""

from __future__ import annotations

import reprlib
from typing import Any

import numpy as np

from zanj_core.plugin import ZanjFormatError, ZanjLimitError

MAX_NDIM = 64
"""Most dimensions an array may have (numpy's own limit)."""
MAX_DIM = (1 << 63) - 1
"""Largest length of one dimension (and stride, and offset): what int64 holds."""
MAX_ITEMSIZE = 1 << 20
"""Largest element, in bytes, a read accepts: 1 MiB. No numeric or datetime dtype is over 16
bytes and real string or record dtypes are far below it; a wider one is how a tiny node asks for
gigabytes (`V2000000000`)."""
MAX_DESCR_DEPTH = 16
"""Deepest nesting of structured dtypes (records inside records) a read accepts."""
SHOWN_CHARS = 200
"""Strings from a file are shown in messages through `repr`, cut to about this many characters."""

_ALLOWED_KINDS = frozenset("biufcmMSUV")
_ALLOWED_SCALARS = frozenset(np.dtype(code).type for code in "?bhilqBHILQefdgFDGMmSUV")
"""numpy's own scalar types: object, StringDType (`T`, which holds pointers) and dtypes other
libraries register are left out."""

_repr = reprlib.Repr()
_repr.maxstring = SHOWN_CHARS // 2
_repr.maxother = SHOWN_CHARS // 2
_repr.maxlong = 60
_repr.maxlevel = 3
_repr.maxlist = _repr.maxtuple = 8
_repr.maxdict = 4


def shown(value: Any) -> str:
    """A bounded repr of a value from a file: control characters escaped, long strings and
    containers cut, so a hostile value cannot flood a terminal or drive it."""
    text = _repr.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def shown_error(exc: BaseException) -> str:
    """An exception raised on file data (numpy's messages quote that data), cut like `shown`."""
    text = f"{type(exc).__name__}: {exc}"[: SHOWN_CHARS * 2]
    text = "".join(c if c.isprintable() and c.isascii() else repr(c)[1:-1] for c in text)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


class Refused(Exception):
    """A value from a file that is refused; `error(where)` makes the error to raise."""

    def __init__(self, problem: str, limit: bool = False) -> None:
        super().__init__(problem)
        self.limit = limit

    def error(self, where: str) -> ZanjFormatError:
        """`ZanjLimitError` for a size over a limit, else `ZanjFormatError`, prefixed by `where`
        (the file and object path)."""
        kind = ZanjLimitError if self.limit else ZanjFormatError
        return kind(f"{where}: {self}")


def check_shape(value: Any, what: str = "shape") -> tuple[int, ...]:
    """A shape (or strides) from a file as a tuple of ints in 0..2**63-1, at most `MAX_NDIM`
    long. bools are not ints here, though Python says they are."""
    if not isinstance(value, (list, tuple)):
        raise Refused(f"its {what} {shown(value)} is not a list of non-negative ints")
    if len(value) > MAX_NDIM:
        raise Refused(f"its {what} has {len(value)} dimensions; arrays have at most {MAX_NDIM}")
    for dim in value:
        if type(dim) is not int or not 0 <= dim <= MAX_DIM:
            raise Refused(f"its {what} {shown(value)} is not a list of non-negative ints below 2**63")
    return tuple(value)


def nbytes_within(shape: tuple[int, ...], itemsize: int, limit: int) -> int | None:
    """`prod(shape) * itemsize`, or None as soon as it is known to pass `limit`: the product is
    never taken further than needed, so 64 dimensions of 2**62 cost no huge-integer arithmetic.
    Raises `Refused` for an empty shape numpy could not make (`(0, 2**62, 2**62)`)."""
    if 0 in shape:
        # no bytes, but numpy still refuses a shape whose other dimensions overflow its size
        if nbytes_within(tuple(d for d in shape if d), max(itemsize, 1), MAX_DIM) is None:
            raise Refused(f"its shape {shown(shape)} is larger than any array numpy can describe")
        return 0
    total = itemsize
    for dim in shape:
        total *= dim
        if total > limit:
            return None
    return total


def check_descr(descr: Any, depth: int = 0) -> None:
    """The shape of an npy descr before numpy sees it: a dtype string, or a list of
    `(name, descr[, shape])` fields (lists or tuples), nested at most `MAX_DESCR_DEPTH` deep.
    numpy's parser recurses without a bound and accepts odd objects as names and titles."""
    if depth > MAX_DESCR_DEPTH:
        raise Refused(f"its dtype nests records more than {MAX_DESCR_DEPTH} levels deep")
    if isinstance(descr, str):
        return
    if not isinstance(descr, (list, tuple)):
        raise Refused(f"its dtype {shown(descr)} is neither a dtype string nor a list of fields")
    for field in descr:
        if not isinstance(field, (list, tuple)) or len(field) not in (2, 3):
            raise Refused(f"its dtype has a field {shown(field)} that is not (name, dtype[, shape])")
        name = field[0]
        names = name if isinstance(name, (list, tuple)) else (name,)
        if len(names) not in (1, 2) or not all(isinstance(n, str) for n in names):
            raise Refused(f"its dtype has a field name {shown(name)} that is not a string or a (title, name) pair")
        check_descr(field[1], depth + 1)
        if len(field) == 3:
            check_shape(field[2], "field shape")


def check_dtype(dtype: np.dtype[Any], depth: int = 0) -> np.dtype[Any]:
    """`dtype`, if a read may build arrays of it: numpy's own numeric, datetime, bytes, str and
    void types and records and sub-arrays of them; no object fields (pickle) anywhere, no
    variable-width strings (pointers), no zero-size element or field (numpy widens those to one
    byte and hands back uninitialised memory), nothing wider than `MAX_ITEMSIZE`."""
    if dtype in _PLAIN_PASSED:
        return dtype
    if depth > MAX_DESCR_DEPTH:
        raise Refused(f"its dtype nests records more than {MAX_DESCR_DEPTH} levels deep")
    if dtype.hasobject or dtype.kind == "O":
        raise Refused("it declares an object dtype, which would need pickle; refused")
    if dtype.itemsize > MAX_ITEMSIZE:
        raise Refused(
            f"its dtype {shown(str(dtype))} has elements of {dtype.itemsize} bytes, over zanj-numpy's limit of "
            f"{MAX_ITEMSIZE} bytes per element (zanj_numpy.checks.MAX_ITEMSIZE); no real dtype is that wide",
            limit=True,
        )
    if dtype.itemsize == 0:
        raise Refused(
            f"its dtype {shown(str(dtype))} has zero-size elements, which hold no data; numpy would widen "
            "them and return uninitialised memory, so they are refused"
        )
    if dtype.subdtype is not None:
        check_dtype(dtype.subdtype[0], depth + 1)
    elif dtype.fields is not None:
        for field in dtype.fields.values():
            check_dtype(field[0], depth + 1)
    elif dtype.kind not in _ALLOWED_KINDS or dtype.type not in _ALLOWED_SCALARS:
        raise Refused(f"its dtype {shown(str(dtype))} is not one of numpy's own fixed-size dtypes")
    elif len(_PLAIN_PASSED) < _PLAIN_KEPT:
        _PLAIN_PASSED.add(dtype)  # equal plain dtypes have the same kind, type and size
    return dtype


_PLAIN_KEPT = 1024
_PLAIN_PASSED: set[np.dtype[Any]] = set()
"""Plain (not record, not sub-array) dtypes `check_dtype` passed, so each is checked once."""
