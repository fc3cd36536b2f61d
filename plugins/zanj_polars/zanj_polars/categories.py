"""Enum and Categorical columns' dictionaries, checked against the declared dtype before polars
maps them.

polars maps a dictionary's values onto the declared categories by value: an Enum value outside
its categories silently becomes null, and a Categorical's values are inserted into a
process-wide mapping (the global one, or a named `pl.Categories`) before polars finds they do
not fit its physical type, so a failed read would still leave them behind. Every dictionary is
therefore checked first: an Enum's values are among its categories, none is null, and a named
Categorical's new values fit what its physical type still has room for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import pyarrow as pa

from zanj_core.plugin import ZanjFormatError

ROOM = {pl.UInt8: (1 << 8) - 1, pl.UInt16: (1 << 16) - 1, pl.UInt32: (1 << 32) - 1}
"""Most categories polars holds in one `Categories` of each physical type."""
COUNTED = (pl.UInt8, pl.UInt16)
"""Physical types whose room a file could fill: their mappings are counted before a read adds to
them (a UInt32 one has room for more values than a file within the read budget holds)."""


def _dictionaries(array: pa.Array, dtype: Any, column: str) -> Iterator[tuple[str, Any, pa.Array]]:
    """(column, Enum or Categorical dtype, its dictionary) for each one in `array` of `dtype`,
    nested ones included (the schema was checked against `dtype` already)."""
    pending: list[tuple[pa.Array, Any]] = [(array, dtype)]
    while pending:
        item, kind = pending.pop()
        base = kind.base_type()
        if base is pl.Enum or base is pl.Categorical:
            yield column, kind, item.dictionary
        elif base is pl.List or base is pl.Array:
            pending.append((item.values, kind.inner))
        elif base is pl.Struct:
            pending += [(item.field(i), field.dtype) for i, field in enumerate(kind.fields)]


def _short(values: list[Any]) -> str:
    text = repr(values[:5])
    return text if len(text) <= 120 else text[:117] + "..."


def _check_enum(column: str, dtype: Any, dictionary: pa.Array, where: str) -> None:
    categories = dtype.categories.to_list()
    if len(dictionary) > len(categories) or dictionary.null_count:
        raise ZanjFormatError(
            f"{where}: column {column[:80]!r}'s dictionary holds {len(dictionary)} values"
            f"{' and a null' if dictionary.null_count else ''} for the {len(categories)} categories its "
            "Enum declares; the file was altered or is corrupt: re-save the frame"
        )
    foreign = sorted(set(dictionary.to_pylist()) - set(categories))
    if foreign:
        raise ZanjFormatError(
            f"{where}: column {column[:80]!r}'s dictionary holds values its Enum does not declare "
            f"({len(foreign)}, such as {_short(foreign)}), which polars would read as nulls; the file "
            "was altered or is corrupt: re-save the frame"
        )


def _identity(dictionary: pa.Array) -> tuple[int, ...]:
    """The same for every chunk's view of one dictionary: an IPC file's record batches share
    their dictionary batch, so a frame of 4,095 batches is checked once, not 4,095 times."""
    buffers = dictionary.buffers()
    return (dictionary.offset, len(dictionary), *(0 if buffer is None else buffer.address for buffer in buffers))


def check_dictionaries(table: pa.Table, declared: dict[str, Any], where: str) -> None:
    """Refuse (`ZanjFormatError`) dictionaries polars would map lossily or could not fit,
    before polars sees any: nothing is added to a program's categories by a read that fails."""
    added: dict[Any, set[str]] = {}
    seen: set[tuple[Any, ...]] = set()
    for index, ((column, dtype), chunked) in enumerate(zip(declared.items(), table.columns, strict=True)):
        for chunk in chunked.chunks:
            for nth, (name, kind, dictionary) in enumerate(_dictionaries(chunk, dtype, column)):
                identity = (index, nth, *_identity(dictionary))
                if identity in seen:  # another batch's view of a dictionary already checked
                    continue
                seen.add(identity)
                if kind.base_type() is pl.Enum:
                    _check_enum(name, kind, dictionary, where)
                    continue
                categories = kind.categories
                room = ROOM[categories.physical()]
                if dictionary.null_count or len(dictionary) > room:
                    raise ZanjFormatError(
                        f"{where}: column {name[:80]!r}'s dictionary holds {len(dictionary)} values"
                        f"{', a null among them,' if dictionary.null_count else ''} for a Categorical of "
                        f"{categories.physical()}, which holds at most {room} and never a null; the file was "
                        "altered or is corrupt: re-save the frame"
                    )
                if categories.physical() in COUNTED and not categories.is_global():
                    added.setdefault(categories, set()).update(dictionary.to_pylist())
    for categories, values in added.items():
        present = categories.to_dict()
        total = len(present) + sum(1 for value in values if value not in present)
        room = ROOM[categories.physical()]
        if total > room:
            raise ZanjFormatError(
                f"{where}: its Categorical columns add {total - len(present)} values to the program's "
                f"{str(categories)[:160]}, which holds {len(present)} already and at most {room}; reading it "
                "would leave that mapping full. Cast the column to a larger physical type (or to String) "
                "before saving"
            )
