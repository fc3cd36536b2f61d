"""Fresh buffers for reads to fill, advised for transparent huge pages.

A read into new memory spends most of its time in page faults, one per 4 KiB page, rather than
in the copy. numpy asks Linux for huge pages (one fault per 2 MiB) for arrays of 4 MiB and
more, but malloc's memory is not 2 MiB aligned, so few of those pages can be huge; read buffers
here are aligned and advised from 2 MiB, the smallest size a huge page serves. With numpy's own
switch `NUMPY_MADVISE_HUGEPAGE=0` set, or off Linux, buffers are plain `np.empty`.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

import numpy as np

HUGE_PAGE_BYTES = 2 << 20
_PAGE_BYTES = 4096
_MADV_HUGEPAGE = 14  # from <sys/mman.h> on Linux
_MADV_NOHUGEPAGE = 15


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    """libc's `madvise`, or None where huge pages cannot be asked for."""
    if not sys.platform.startswith("linux") or os.environ.get("NUMPY_MADVISE_HUGEPAGE") == "0":
        return None
    try:
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):  # pragma: no cover - a libc without madvise
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def empty_bytes(nbytes: int) -> np.ndarray:
    """An uninitialised uint8 array of `nbytes`, for a read to fill.

    From 2 MiB up it starts on a 2 MiB boundary, so every whole 2 MiB of it can be one huge
    page (a buffer from malloc is never aligned so: a 4 MiB one held one huge page at most, and
    its read was 1.5x slower), and its pages are advised for huge pages before anything touches
    them. The alignment slack either side is never touched and is advised against huge pages,
    so it stays virtual. A failed advice is ignored: it only changes speed."""
    madvise = _madvise() if nbytes >= HUGE_PAGE_BYTES else None
    if madvise is None:
        return np.empty(nbytes, dtype=np.uint8)
    block = np.empty(nbytes + HUGE_PAGE_BYTES, dtype=np.uint8)
    base = block.__array_interface__["data"][0]
    start = base + (-base % HUGE_PAGE_BYTES)
    stop = start + nbytes
    madvise(start, (stop - start) // _PAGE_BYTES * _PAGE_BYTES, _MADV_HUGEPAGE)
    head = base + (-base % _PAGE_BYTES)
    if start > head:
        madvise(head, start - head, _MADV_NOHUGEPAGE)
    tail, end = stop + (-stop % _PAGE_BYTES), (base + block.nbytes) // _PAGE_BYTES * _PAGE_BYTES
    if end > tail:
        madvise(tail, end - tail, _MADV_NOHUGEPAGE)
    return block[start - base : stop - base]
