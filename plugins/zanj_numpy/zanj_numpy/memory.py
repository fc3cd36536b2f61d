"""Fresh buffers for reads to fill, advised for transparent huge pages.

A read into new memory spends most of its time in page faults, one per 4 KiB page, rather than
in the copy. numpy already asks Linux for huge pages (one fault per 2 MiB) for arrays of 4 MiB
and more; reads here ask from 2 MiB, the smallest size a huge page can serve. With numpy's own
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
    return function  # type: ignore[no-any-return]


def empty_bytes(nbytes: int) -> np.ndarray:
    """An uninitialised uint8 array of `nbytes`, for a read to fill. From 2 MiB up, its whole
    pages are advised for huge pages before anything touches them (a failure is ignored: the
    advice only changes speed)."""
    buffer = np.empty(nbytes, dtype=np.uint8)
    if nbytes >= HUGE_PAGE_BYTES:
        madvise = _madvise()
        if madvise is not None:
            address = buffer.__array_interface__["data"][0]
            start = -address % _PAGE_BYTES
            length = (nbytes - start) // _PAGE_BYTES * _PAGE_BYTES
            madvise(address + start, length, _MADV_HUGEPAGE)
    return buffer
