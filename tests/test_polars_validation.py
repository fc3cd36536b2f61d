"""Validation shared between two threads (zanj_polars.validation) checks everything it did alone.

Large frames are validated half on a helper thread: a bad value must be caught wherever it
falls (on either thread, in any chunk or slice), and the read must end in a ZanjFormatError
only after both halves have finished.
"""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_polars")

from test_polars_hostile import forged, ipc_bytes, member_table, saved  # noqa: E402
from zanj_polars import validation  # noqa: E402

from zanj_core import ZANJ, ZanjFormatError  # noqa: E402

CHUNK_ROWS = 60_000
CHUNKS = 4


def strings(rows: int, start: int = 0) -> list[str]:
    return [
        f"v{k % 9973}-é" if k % 7 else f"a longer string, {k}, past the inline twelve"
        for k in range(start, start + rows)
    ]


def chunked_frame() -> Any:
    """A frame of CHUNKS record batches: a string column and a categorical, enough to split."""
    parts = [
        pl.DataFrame({"s": strings(CHUNK_ROWS, i * CHUNK_ROWS), "c": ["x", "y", "z"] * (CHUNK_ROWS // 3)}).with_columns(
            pl.col("c").cast(pl.Categorical)
        )
        for i in range(CHUNKS)
    ]
    frame = pl.concat(parts, rechunk=False)
    assert frame.n_chunks("all") == [CHUNKS, CHUNKS]
    return frame


def spoil_utf8(array: pa.Array, row: int) -> pa.Array:
    """`array` (string views) with the first inline string from `row` on made invalid UTF-8."""
    views = bytearray(array.buffers()[1].to_pybytes())
    at = (array.offset + row) * 16
    while struct.unpack_from("<i", views, at)[0] == 0 or struct.unpack_from("<i", views, at)[0] > 12:
        at += 16
    assert at < (array.offset + len(array)) * 16
    views[at + 4] = 0xFF
    buffers = [array.buffers()[0], pa.py_buffer(bytes(views)), *array.buffers()[2:]]
    return pa.Array.from_buffers(array.type, len(array) + array.offset, buffers, offset=array.offset)


@pytest.mark.parametrize("where", [(0, 5), (0, -9), (-1, 5), (-1, -9)], ids=["first", "mid", "late", "last"])
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_a_bad_string_in_any_chunk_is_caught(where: tuple[int, int], mmap: bool, tmp_path: Path) -> None:
    frame = chunked_frame()
    honest, _, member = saved(frame, tmp_path)
    assert ZANJ().read(honest, mmap=mmap)["df"].equals(frame)
    table = member_table(member)
    assert table.column("s").num_chunks >= 2  # record batches: polars may join chunks
    column = table.column("s").chunks
    chunk, row = where
    column[chunk] = spoil_utf8(column[chunk], row % len(column[chunk]))
    bad = table.set_column(0, table.schema.field(0), pa.chunked_array(column, column[0].type))
    with pytest.raises(ZanjFormatError, match="is not a valid Arrow IPC file") as caught:
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(bad)), mmap=mmap)
    assert "utf8" in str(caught.value).lower()


def test_long_columns_are_checked_in_slices_covering_every_row() -> None:
    array = pa.array(strings(3 * validation.PIECE_VALUES + 5), pa.string_view())
    pieces = validation._pieces(array)
    assert len(pieces) == 4 and sum(len(p) for p in pieces) == len(array)
    assert pa.concat_arrays(pieces).equals(array)
    for row in (0, validation.PIECE_VALUES - 1, validation.PIECE_VALUES, len(array) - 1):
        spoiled = spoil_utf8(array, row - 1 if row == len(array) - 1 else row)
        with pytest.raises(pa.ArrowInvalid, match="UTF8"):
            validation.validate_arrays([spoiled])


def helper_goes_first(monkeypatch: pytest.MonkeyPatch, helper_delay: float = 0.0) -> tuple[set[str], list[str]]:
    """Make the calling thread wait until the helper has started a job (so both take part,
    however busy the machine), the helper's jobs take `helper_delay` longer; returns the names
    of the threads that ran jobs and the helper's finished jobs."""
    threads: set[str] = set()
    finished: list[str] = []
    started = threading.Event()
    validate_all = validation._validate_all

    def recorded(batch: list[Any]) -> None:
        threads.add(threading.current_thread().name)
        if threading.current_thread() is threading.main_thread():
            assert started.wait(10)
            validate_all(batch)
            return
        started.set()
        time.sleep(helper_delay)
        validate_all(batch)
        finished.append("helper")

    monkeypatch.setattr(validation, "_validate_all", recorded)
    return threads, finished


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_the_error_is_raised_from_either_thread(position: int, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = [pa.array(strings(100_000, i * 100_000), pa.string_view()) for i in range(4)]
    arrays[position] = spoil_utf8(arrays[position], 50_001)
    validation.validate_arrays(arrays[:position] + arrays[position + 1 :])  # the others pass
    threads, _ = helper_goes_first(monkeypatch)
    with pytest.raises(pa.ArrowInvalid, match="UTF8"):
        validation.validate_arrays(arrays)
    assert len(threads) == 2  # the work was shared


def test_the_first_error_in_table_order_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = [pa.array(strings(100_000, i * 100_000), pa.string_view()) for i in range(4)]
    arrays[1] = pa.Array.from_buffers(pa.string_view(), 1, [None, pa.py_buffer(struct.pack("<i12x", -5))])
    arrays[3] = spoil_utf8(arrays[3], 7)
    helper_goes_first(monkeypatch)
    with pytest.raises(pa.ArrowInvalid, match="negative"):
        validation.validate_arrays(arrays)


def test_every_job_finishes_before_the_error_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure on the calling thread waits for the helper: nothing is left checking memory
    the caller is about to drop."""
    arrays = [pa.array(strings(100_000, i * 100_000), pa.string_view()) for i in range(3)]
    arrays[2] = spoil_utf8(arrays[2], 1)  # the last job: taken by the calling thread
    threads, finished = helper_goes_first(monkeypatch, helper_delay=0.2)
    with pytest.raises(pa.ArrowInvalid):
        validation.validate_arrays(arrays)
    assert finished and len(threads) == 2


def test_jobs_cover_every_array_once() -> None:
    arrays = [pa.array(strings(n), pa.string_view()) for n in (10, 300_000, 5)] + [pa.array(range(1000))]
    jobs, total = validation._jobs(arrays)
    assert len(jobs) > 2
    assert total == 6 * (10 + 300_000 + 5)
    pieces = [piece for job in jobs for piece in job]
    assert pieces[0].equals(arrays[0]) and pieces[-1].equals(arrays[-1])
    assert pa.concat_arrays(pieces[1:-2]).equals(arrays[1])


def test_small_tables_stay_on_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "_helper", lambda: pytest.fail("a helper for a small table"))
    validation.validate_arrays([pa.array(strings(1000), pa.string_view()), pa.array(range(10**6))])
    with pytest.raises(pa.ArrowInvalid):
        validation.validate_arrays([spoil_utf8(pa.array(strings(1000), pa.string_view()), 3)])


def test_costs_follow_the_types_polars_writes() -> None:
    assert validation._cost(pa.int64()) == 0
    assert validation._cost(pa.string_view()) > validation._cost(pa.binary_view()) > 0
    dictionary = pa.dictionary(pa.uint32(), pa.string_view())
    assert 0 < validation._cost(dictionary)
    nested = pa.large_list(pa.struct([("a", pa.string_view()), ("b", pa.int8())]))
    assert validation._cost(nested) > validation._cost(pa.string_view())
    assert validation._cost(pa.list_(pa.int8(), 4)) == 0
