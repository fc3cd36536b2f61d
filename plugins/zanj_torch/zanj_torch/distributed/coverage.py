"""Whether the chunks of a global tensor tile it: every element covered exactly once, so no
element `consolidate` assembles is memory the checkpoint did not fill.

Comparing every pair of chunks is quadratic: 30,000 one-element chunks took minutes. Two checks
in about n log n instead, neither hashing anything the index chose:

- **a grid** (every layout DCP writes: DTensor and FSDP split each dimension into intervals and
  take every combination): the distinct intervals of each split dimension, sorted, must
  partition it, and the chunks must be exactly the combinations, each once;
- **signed corners**, for any other layout splitting at most `MAX_CORNER_DIMS` dimensions: give
  each chunk's 2**k corners the signs of the k-fold finite difference of its indicator function
  and add them up (in a dict keyed by bytes, whose hashes are randomised per process). The sum
  equals the tensor's own signed corners exactly when the chunks' indicators add up to the
  tensor's, since the difference operator is one-to-one on finite sets.

A layout that is neither (not a grid, more dimensions split) is refused: no DCP planner writes one.
"""

from __future__ import annotations

import bisect
import itertools
import math
import struct

from torch.distributed.checkpoint.metadata import TensorStorageMetadata

from zanj_core.errors import ZanjFormatError, ZanjLimitError
from zanj_core.plugin import safe_text

MAX_CORNER_DIMS = 3
"""Split dimensions the corner sum takes: 8 corners per chunk, about as much work as decoding it."""

Box = tuple[tuple[int, ...], tuple[int, ...]]


def _is_grid(boxes: list[Box], shape: tuple[int, ...], split: list[int]) -> bool:
    """Whether the chunks are exactly the cells of a grid of the tensor, each once (sorting and
    bisecting only: nothing is hashed)."""
    cells = [0] * len(boxes)
    count = 1
    for d in split:
        intervals = sorted((o[d], o[d] + s[d]) for o, s in boxes)
        distinct = [interval for i, interval in enumerate(intervals) if i == 0 or interval != intervals[i - 1]]
        previous_end = 0
        for start, end in distinct:
            if start != previous_end:
                return False  # the intervals of this dimension overlap or leave a gap
            previous_end = end
        if previous_end != shape[d]:
            return False
        count *= len(distinct)
        if count > len(boxes):
            return False
        starts = [start for start, _ in distinct]
        for position, (o, _) in enumerate(boxes):
            cells[position] = cells[position] * len(distinct) + bisect.bisect_left(starts, o[d])
    if count != len(boxes):
        return False
    seen = bytearray(count)
    for cell in cells:
        if seen[cell]:
            return False
        seen[cell] = 1
    return True


def _corners_cancel(boxes: list[Box], shape: tuple[int, ...], split: list[int]) -> bool:
    pack = struct.Struct(f"<{len(split)}q").pack
    signed: dict[bytes, int] = {}
    whole: Box = ((0,) * len(shape), shape)
    for sign, (offsets, sizes) in itertools.chain(((1, box) for box in boxes), [(-1, whole)]):
        axes = [(offsets[d], offsets[d] + sizes[d]) for d in split]
        for picks in itertools.product((0, 1), repeat=len(split)):
            corner = pack(*(axis[pick] for axis, pick in zip(axes, picks, strict=True)))
            signed[corner] = signed.get(corner, 0) + (-sign if sum(picks) & 1 else sign)
    return not any(signed.values())


def check_coverage(fqn: str, entry: TensorStorageMetadata, label: str) -> None:
    """Raise `ZanjFormatError` (naming `label`, the index) unless the chunks of `entry` tile it."""
    name = safe_text(repr(fqn))[:200]
    shape = tuple(int(d) for d in entry.size)
    boxes: list[Box] = [(tuple(c.offsets), tuple(c.sizes)) for c in entry.chunks]
    total = math.prod(shape)
    if sum(math.prod(sizes) for _, sizes in boxes) != total:
        raise ZanjFormatError(f"{label}: the chunks of {name} do not hold its {total} elements exactly once")
    boxes = [box for box in boxes if math.prod(box[1])]  # a chunk of no elements covers nothing
    split = [d for d in range(len(shape)) if any(o[d] or s[d] != shape[d] for o, s in boxes)]
    if not split or _is_grid(boxes, shape, split):  # no split: one chunk is the whole (the volumes say so)
        return
    if len(split) > MAX_CORNER_DIMS:
        raise ZanjLimitError(
            f"{label}: the chunks of {name} split {len(split)} dimensions in a layout that is not a grid; "
            f"zanj checks such layouts for at most {MAX_CORNER_DIMS} split dimensions, and DCP writes none"
        )
    if not _corners_cancel(boxes, shape, split):
        raise ZanjFormatError(f"{label}: two chunks of {name} overlap, or leave elements uncovered")
