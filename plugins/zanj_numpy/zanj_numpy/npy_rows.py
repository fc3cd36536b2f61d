"""Partial reads of `.npy` members: `array[key]` reading only the leading-axis rows it covers.

A slice of a large member on a lazy handle (`ZANJ().open(path)["x"][10:20]`) costs the bytes
of those rows, not the whole array; the header is checked exactly as a whole read checks it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from zanj_core.plugin import MemberSource
from zanj_numpy.memory import empty_bytes
from zanj_numpy.npy import array_from, read_header


def _leading_rows(key: Any, length: int) -> tuple[range | int, Any] | None:
    """Split an index into the rows of the first axis it covers (a range, or one int row) and
    what applies to each row after; None when the index is not a plain int or slice first."""
    first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
    if isinstance(first, (bool, np.bool_)):
        return None
    if isinstance(first, (int, np.integer)):
        row = int(first)
        if not -length <= row < length:
            raise IndexError(f"row {row} is out of range for a first axis of {length}")
        return row % length, rest
    if isinstance(first, slice):
        return range(*first.indices(length)), rest
    return None


def read_part(
    source: MemberSource,
    key: Any,
    expect_dtype: np.dtype[Any] | None = None,
    expect_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """`array[key]` reading only the rows of the first axis that `key` covers.

    With an int or a slice first, only the bytes of those rows are read (or mapped, when the
    reader maps); anything else (fancy indexes, Fortran-ordered or 0-d arrays) reads the whole
    array first. The result never aliases the file unless the reader maps it.
    """
    mapped = source.memory_map() if source.want_mmap else None
    header = read_header(source, expect_dtype, expect_shape, agree=True)
    split = _leading_rows(key, header.shape[0]) if header.shape and not header.fortran_order else None
    if split is None:
        return array_from(source, header, mapped)[key]  # type: ignore[no-any-return]
    rows, rest = split
    covered = range(rows, rows + 1) if isinstance(rows, int) else rows
    lo = min(covered) if covered else 0
    hi = max(covered) + 1 if covered else 0
    row_shape = header.shape[1:]
    row_bytes = math.prod(row_shape) * header.dtype.itemsize
    start = header.data_offset + lo * row_bytes
    length = (hi - lo) * row_bytes
    if mapped is not None:
        block = np.frombuffer(mapped[start : start + length], dtype=header.dtype).reshape((hi - lo, *row_shape))
    elif length:
        source.reserve(length)
        buffer = empty_bytes(length)
        source.read_into(buffer.data, start)  # fills all of it, or raises
        block = buffer.view(header.dtype).reshape((hi - lo, *row_shape))
    else:
        block = np.zeros((hi - lo, *row_shape), dtype=header.dtype)
    if isinstance(rows, int):
        within: tuple[Any, ...] = (0, *rest)
        return block[within]  # type: ignore[no-any-return]
    if rows.step != 1:
        block = block[rows.start - lo :: rows.step][: len(rows)]
    within = (slice(None), *rest)
    return block[within]  # type: ignore[no-any-return]
