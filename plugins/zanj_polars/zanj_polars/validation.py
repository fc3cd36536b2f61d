"""Full validation of a table's arrays, shared with a helper thread when there is enough to check.

pyarrow's `validate(full=True)` checks every value (UTF-8, string views, offsets, dictionary
codes) and releases the GIL while it does, so the work splits across threads: reading a frame
of a million strings, checking them was most of the read. The checks are the same, on the
same arrays, and all of them end before `Checks.finish` returns; only their order changes.
A read can hand each record batch over as soon as its bytes are in (`ipc.read_streamed`), so
checking overlaps copying the member.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

PARALLEL_MIN_COST = 1 << 18
"""Below this much work (`_cost` units: about 1 ns each), handing some to a thread costs more
than it saves."""
JOB_COST = 1 << 19
"""Work per job handed to the helper (about half a millisecond): small enough for the two
threads to finish together, large enough that handing over costs little."""
PIECE_VALUES = 1 << 17
"""Flat string and binary view arrays longer than this are checked in slices of this many
rows (each slice checks its own views), so one long column still splits."""


def _cost(arrow_type: pa.DataType) -> int:
    """Relative cost per row of fully validating this type: 0 where only lengths are checked
    (fixed-size values), most for strings (UTF-8 and each view), measured with pyarrow 26."""
    if pa.types.is_dictionary(arrow_type):
        return 1 + _cost(arrow_type.value_type)  # the codes; the dictionary is usually small
    if pa.types.is_struct(arrow_type):
        return sum(_cost(arrow_type.field(i).type) for i in range(arrow_type.num_fields))
    if pa.types.is_fixed_size_list(arrow_type):
        return int(arrow_type.list_size) * _cost(arrow_type.value_type)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return 1 + _cost(arrow_type.value_type)
    if pa.types.is_string_view(arrow_type) or pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return 6
    if pa.types.is_binary_view(arrow_type) or pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return 2
    return 0


def _pieces(array: pa.Array) -> list[pa.Array]:
    """`array`, or slices of it covering every row once (flat view arrays only: a slice of a
    nested array would check its whole child again)."""
    flat_views = pa.types.is_string_view(array.type) or pa.types.is_binary_view(array.type)
    if not flat_views or len(array) <= PIECE_VALUES:
        return [array]
    return [array.slice(start, PIECE_VALUES) for start in range(0, len(array), PIECE_VALUES)]


def _jobs(arrays: list[pa.Array]) -> tuple[list[list[pa.Array]], int]:
    """Every array (or its pieces) in jobs of about `JOB_COST`, and the total cost."""
    jobs: list[list[pa.Array]] = [[]]
    job_cost = total = 0
    costs: dict[pa.DataType, int] = {}  # a table's chunks share few types
    for array in arrays:
        cost = costs.get(array.type)
        if cost is None:
            cost = costs[array.type] = _cost(array.type)
        for piece in _pieces(array):
            if job_cost >= JOB_COST:
                jobs.append([])
                job_cost = 0
            jobs[-1].append(piece)
            job_cost += cost * len(piece)
            total += cost * len(piece)
    return [job for job in jobs if job], total


@functools.cache
def _helper() -> ThreadPoolExecutor:
    """One helper thread for the process, started on the first large validation."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="zanj-polars-validate")


def _validate_all(arrays: list[pa.Array]) -> None:
    for array in arrays:
        array.validate(full=True)


class Checks:
    """Validation handed to the helper thread job by job; `finish` takes back the jobs the
    helper has not started, runs them here, waits for the rest and raises the first error."""

    def __init__(self) -> None:
        self._queued: list[tuple[Future[None], list[pa.Array]]] = []

    def submit(self, arrays: list[pa.Array]) -> None:
        for job in _jobs(arrays)[0]:
            self._queued.append((_helper().submit(_validate_all, job), job))

    def finish(self) -> None:
        """Return once every job has run; raise pyarrow's error of the first failing one."""
        errors: dict[int, BaseException] = {}
        # the helper takes jobs from the front; this thread takes them from the back
        for index in reversed(range(len(self._queued))):
            pending, job = self._queued[index]
            if pending.cancel():
                try:
                    _validate_all(job)
                except BaseException as exc:  # raised below, once no job is still running
                    errors[index] = exc
        for index, (pending, _) in enumerate(self._queued):
            if not pending.cancelled():
                error = pending.exception()  # waits for it
                if error is not None:
                    errors[index] = error
        self._queued = []
        if errors:
            raise errors[min(errors)]

    def abandon(self) -> None:
        """Drop the jobs not started and wait for the one running (the read is failing anyway)."""
        for pending, _ in self._queued:
            pending.cancel()
        for pending, _ in self._queued:
            if not pending.cancelled():
                pending.exception()
        self._queued = []


def validate_arrays(arrays: list[pa.Array]) -> None:
    """`validate(full=True)` of every array (raising pyarrow's error for the first bad one),
    the work shared between this thread and the helper when it is large."""
    jobs, total = _jobs(arrays)
    if total < PARALLEL_MIN_COST or len(jobs) < 2:
        _validate_all(arrays)
        return
    checks = Checks()
    checks.submit(arrays)
    checks.finish()
