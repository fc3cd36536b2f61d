"""The Arrow types a member may hold: those zanj-pandas writes, checked before anything
converts them; and how values from a file are shown in this plugin's messages.

pyarrow reads unions, run-end encoded arrays, foreign extension types and types nested
hundreds of levels deep without complaint; converting them runs other libraries' code or
allocates without bound. `check_schema` refuses all of them, and time zones or period
frequencies that are not plain names (a time zone resolver could be sent to a file path).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

import pyarrow as pa

from zanj_core.plugin import ZanjFormatError, ZanjLimitError

MAX_FIELDS = 1 << 20
"""Most fields (columns and the fields nested in them) one member's schema may hold."""
MAX_NESTING = 32
"""Deepest nesting of list, struct, map and dictionary types (pyarrow itself stops at 64)."""

PANDAS_EXTENSIONS = frozenset({"pandas.period", "pandas.interval"})
"""The Arrow extension types zanj writes (pandas' own, for period and interval columns). Any
other would run the to_pandas code of whatever library registered that name in this process."""

TIME_ZONE = re.compile(r"[A-Za-z0-9_+\-:]{1,64}(/[A-Za-z0-9_+\-:]{1,64}){0,3}")
"""A time zone as a name (`Europe/Paris`, `UTC`) or an offset (`+01:00`): relative, no dots, no
empty parts, so no resolver can be sent to a file path or a package of the file's choosing."""
_PERIOD_FREQ = re.compile(r"[A-Za-z0-9\-]{1,32}")


def shown(value: Any, limit: int = 80) -> str:
    """`value` from a file as its repr, cut to about `limit` characters: a message stays short
    and a hostile string (control characters, megabytes) shows as data. `reprlib` bounds the
    work too: it cuts strings before quoting them and stops at a few items and levels."""
    cut = reprlib.Repr()
    cut.maxstring = cut.maxother = limit
    cut.maxlevel, cut.maxlist, cut.maxdict = 3, 6, 6
    return cut.repr(value)


_FLAT_TYPES = (
    pa.types.is_null,
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_string_view,
    pa.types.is_binary,
    pa.types.is_large_binary,
    pa.types.is_binary_view,
    pa.types.is_fixed_size_binary,
    pa.types.is_date,
    pa.types.is_time,
    pa.types.is_timestamp,
    pa.types.is_duration,
    lambda t: t.id == pa.month_day_nano_interval().id,
)


def _children(arrow_type: pa.DataType) -> list[pa.DataType] | None:
    """The types nested in `arrow_type`, or None when zanj never writes that kind of type."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return [arrow_type.storage_type]
    if pa.types.is_dictionary(arrow_type):
        return [arrow_type.value_type] if pa.types.is_integer(arrow_type.index_type) else None
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return [arrow_type.value_type]
    if pa.types.is_map(arrow_type):
        return [arrow_type.key_type, arrow_type.item_type]
    if pa.types.is_struct(arrow_type):
        return [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
    if any(test(arrow_type) for test in _FLAT_TYPES):
        return []
    return None


def check_schema(schema: pa.Schema, where: str) -> None:
    """Refuse types zanj never writes (unions, run-end encoded, list views, foreign extension
    types), nesting deeper than `MAX_NESTING`, more than `MAX_FIELDS` fields, and time zones
    or period frequencies that are not plain names, before anything converts them."""
    budget = MAX_FIELDS
    for column in schema:
        pending = [(column.type, 1)]
        while pending:
            arrow_type, depth = pending.pop()
            budget -= 1
            if budget < 0:
                raise ZanjLimitError(
                    f"{where} has more than {MAX_FIELDS} fields (columns and the fields nested in them)"
                )
            if depth > MAX_NESTING:
                raise ZanjLimitError(
                    f"{where}: column {shown(column.name)} nests types more than {MAX_NESTING} levels deep; "
                    "zanj writes no such frame"
                )
            children = _children(arrow_type)
            if children is None:
                raise ZanjFormatError(
                    f"{where}: column {shown(column.name)} has Arrow type {shown(str(arrow_type))}, which "
                    "zanj-pandas never writes and does not read"
                )
            if isinstance(arrow_type, pa.BaseExtensionType):
                _check_extension(arrow_type, column.name, where)
            if (
                pa.types.is_timestamp(arrow_type)
                and arrow_type.tz is not None
                and not TIME_ZONE.fullmatch(arrow_type.tz)
            ):
                raise ZanjFormatError(
                    f"{where}: column {shown(column.name)} has the time zone {shown(arrow_type.tz)}, which is "
                    "not a time zone name or offset"
                )
            pending += [(child, depth + 1) for child in children]


def _check_extension(arrow_type: pa.BaseExtensionType, column: str, where: str) -> None:
    name = arrow_type.extension_name
    if name not in PANDAS_EXTENSIONS:
        raise ZanjFormatError(
            f"{where}: column {shown(column)} has the Arrow extension type {shown(name)}; zanj-pandas reads "
            f"only {', '.join(sorted(PANDAS_EXTENSIONS))} (converting another runs the code of whatever "
            "registered that name)"
        )
    freq = getattr(arrow_type, "freq", None)
    if name == "pandas.period" and not (isinstance(freq, str) and _PERIOD_FREQ.fullmatch(freq)):
        raise ZanjFormatError(f"{where}: column {shown(column)} has the period frequency {shown(freq)}")
