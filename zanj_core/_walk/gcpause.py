"""Pausing Python's cyclic garbage collector while a save or a read walks its objects.

A walk over thousands of items makes tens of thousands of short-lived containers (JSON nodes,
member records, the zip directory) that all live until the walk ends. Each time enough of
them pile up, the collector scans them, and then every object the program holds (with torch
imported, some 170,000): on a state dict of 10,000 tensors that was a third of a save and
two fifths of a read. None of these containers forms a reference cycle, so reference counting
frees them all when the walk ends; the scans find nothing. While paused, cycles made by other
threads wait for the collector too, which runs again as soon as the last walk ends.
`ZANJ(pause_gc=False)` turns this off.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_walks = 0
_resume = False


@contextlib.contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """Run the body with the cyclic collector disabled (unless `pause` is false). Walks may
    nest or overlap in threads: the first to start disables the collector, the last to end
    enables it again, and only if it was enabled when the first started."""
    global _walks, _resume
    if not pause:
        yield
        return
    with _lock:
        if _walks == 0:
            _resume = gc.isenabled()
            gc.disable()
        _walks += 1
    try:
        yield
    finally:
        with _lock:
            _walks -= 1
            if _walks == 0 and _resume:
                gc.enable()
