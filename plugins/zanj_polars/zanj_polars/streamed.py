"""A large member read into memory batch by batch, each batch checked while the next is copied.

A copying read of a stored member costs a copy of it (about 4 ms for 48 MB here) and the
validation of its values (as long again for a million strings). Read in the member's own
order instead, a record batch can be checked as soon as its bytes are in: the layout of its
header (`ipc_layout.check_block`), its structure, the charge for its conversion, then its
values on the helper thread (`validation.Checks`) while this thread copies the next. Every
check of the whole-member read happens, each before pyarrow or polars reads what it guards,
and all end before the table is returned; the whole member is read, as before.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from zanj_core.plugin import MemberSource, ZanjError, ZanjFormatError
from zanj_polars.ipc import COLUMN_OVERHEAD, check_column_chunks, cut, values_cost, where
from zanj_polars.ipc_layout import MAGIC, batch_blocks, check_block, footer_start
from zanj_polars.validation import Checks

STREAM_MIN_BYTES = 4 << 20
"""Smaller members are read whole, then checked: a helper thread would cost more than it saves."""


def streams(source: MemberSource) -> bool:
    """Whether `source` is read this way: a large stored member, copied (not mapped)."""
    return not source.want_mmap and not source.compressed and source.size >= STREAM_MIN_BYTES


def read_streamed(
    source: MemberSource, check_schema: Callable[[pa.Schema], None], max_rows: int, charge: Callable[[int], None]
) -> pa.Table:
    """The member's table, every value validated. `check_schema` refuses a schema before any
    batch is read, a member holding more than `max_rows` rows is refused as soon as it shows,
    and `charge` is told what converting each batch will allocate before its values are checked."""
    described = where(source)
    size = source.size
    if size < 18 or source.read_range(0, 6) != MAGIC:
        raise ZanjFormatError(f"{described} is not an Arrow IPC file: it lacks the ARROW1 magic")
    source.reserve(size)
    # pyarrow's allocator: 64-byte aligned and not zero-filled (every byte is read in below)
    view = memoryview(pa.allocate_buffer(size))
    source.read_into(view[size - 10 :], size - 10)
    body_end = footer_start(size, bytes(view[size - 10 :]), described)
    source.read_into(view[body_end : size - 10], body_end)
    filled = 0

    def fill(end: int) -> None:
        """Read the member from where the copy stands up to `end` (never into the footer)."""
        nonlocal filled
        end = min(end, body_end)
        if end > filled:
            source.read_into(view[filled:end], filled)
            filled = end

    fill(8)
    dictionaries, records = batch_blocks(view, described)
    # dictionaries (and the schema message before the first batch) before pyarrow opens the file
    fill(max([sum(block) for block in dictionaries] + [min((block[0] for block in records), default=body_end)]))
    for number, block in enumerate(dictionaries):
        check_block(view, block, number, described)
    checks = Checks()
    try:
        reader = pa.ipc.open_file(pa.py_buffer(view))
        check_schema(reader.schema)
        if reader.num_record_batches != len(records):
            raise ZanjFormatError(f"{described} is not a valid Arrow IPC file: its footer disagrees with itself")
        check_column_chunks(len(records), len(reader.schema), source)
        batches = []
        rows = 0
        for index, block in enumerate(records):
            fill(sum(block))
            check_block(view, block, len(dictionaries) + index, described)
            batch = reader.get_batch(index)
            batch.validate()
            rows += batch.num_rows
            if rows > max_rows:
                raise ZanjFormatError(
                    f"{described}: its node declares {max_rows} rows, its member holds at least {rows}"
                )
            charge(COLUMN_OVERHEAD * max(batch.num_columns, 1) + values_cost(batch.columns))
            checks.submit(batch.columns)
            batches.append(batch)
        fill(body_end)
        checks.finish()
        return pa.Table.from_batches(batches, schema=reader.schema)
    except ZanjError:  # a ZanjFormatError is a ValueError too: not wrapped again
        checks.abandon()
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        checks.abandon()
        raise ZanjFormatError(f"{described} is not a valid Arrow IPC file: {cut(exc)}") from None
    except BaseException:
        checks.abandon()
        raise
