"""polars dtypes as JSON, and back, without evaluating anything a file says.

A frame's node records its schema in this form so that a reader can describe the frame from
the JSON alone and, before polars sees the member, know exactly which Arrow schema polars
writes for it (`frames.expected_arrow_schema`). A dtype is a string for the flat types
(`"Int64"`, `"String"`) or a one-key object for the parametrised ones
(`{"Datetime": ["us", "Europe/Paris"]}`, `{"List": "Int8"}`, `{"Struct": [["a", "Int8"]]}`).
Types zanj does not store (Object, Int128, extension types) are refused on save with the fix.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from zanj_core.plugin import JSONitem

MAX_NESTING = 32
"""Deepest nesting of List, Array and Struct a schema may declare."""
MAX_ARRAY_WIDTH = 1 << 24
"""Most values one row of an Array column may declare (product of its shape)."""

_FLAT: dict[str, Any] = {
    name: getattr(pl, name)
    for name in (
        "Boolean",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float16",
        "Float32",
        "Float64",
        "String",
        "Binary",
        "Date",
        "Time",
        "Null",
    )
    if hasattr(pl, name)
}
_UNITS = frozenset({"ns", "us", "ms"})
_CATEGORY_PHYSICAL = {"UInt8": pl.UInt8, "UInt16": pl.UInt16, "UInt32": pl.UInt32}
TIME_ZONE = re.compile(r"[A-Za-z0-9_+\-:]{1,64}(/[A-Za-z0-9_+\-:]{1,64}){0,3}")
"""A time zone as a name (`Europe/Paris`) or an offset (`+01:00`): no dots, no empty parts."""


class UnsupportedDtype(Exception):
    """A dtype zanj-polars does not store; the message says which and what to do."""


class BadDtype(Exception):
    """A dtype in a file that is not one zanj-polars writes; the message says what is wrong."""


def encode(dtype: Any, depth: int = 0) -> JSONitem:
    """`dtype` as JSON (see the module's docstring); `UnsupportedDtype` for the rest."""
    if depth > MAX_NESTING:
        raise UnsupportedDtype(f"it nests types more than {MAX_NESTING} levels deep")
    base = dtype.base_type()
    name: str = base.__name__
    if name in _FLAT and dtype == _FLAT[name]:
        return name
    if base is pl.Datetime:
        return {"Datetime": [dtype.time_unit, dtype.time_zone]}
    if base is pl.Duration:
        return {"Duration": dtype.time_unit}
    if base is pl.Decimal:
        return {"Decimal": [dtype.precision, dtype.scale]}
    if base is pl.List:
        return {"List": encode(dtype.inner, depth + 1)}
    if base is pl.Array:
        inner = dtype
        while isinstance(inner, pl.Array):
            inner = inner.inner
        return {"Array": [encode(inner, depth + 1), list(dtype.shape)]}
    if base is pl.Struct:
        return {"Struct": [[field.name, encode(field.dtype, depth + 1)] for field in dtype.fields]}
    if base is pl.Enum:
        return {"Enum": dtype.categories.to_list()}
    if base is pl.Categorical:
        categories = getattr(dtype, "categories", None)
        if categories is None or not hasattr(categories, "physical"):
            return {"Categorical": ["", "", "UInt32"]}
        return {"Categorical": [categories.name(), categories.namespace(), str(categories.physical())]}
    if name in ("Int128", "UInt128"):
        raise UnsupportedDtype(f"dtype {name} has no Arrow type that can be checked on reading; cast it to Decimal")
    raise UnsupportedDtype(f"dtype {dtype} is not one zanj-polars stores; cast the column to a plain type first")


def _expect(condition: bool, detail: str) -> None:
    if not condition:
        raise BadDtype(detail)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def decode(item: Any, depth: int = 0) -> Any:
    """The polars dtype `item` names (as `encode` writes it); `BadDtype` for anything else."""
    _expect(depth <= MAX_NESTING, f"its schema nests types more than {MAX_NESTING} levels deep")
    if isinstance(item, str):
        _expect(item in _FLAT, f"{_short(item)} is not a dtype zanj-polars writes")
        return _FLAT[item]
    _expect(isinstance(item, dict) and len(item) == 1, f"{_short(item)} is not a dtype zanj-polars writes")
    ((kind, args),) = item.items()
    if kind == "Datetime":
        _expect(isinstance(args, list) and len(args) == 2, f"Datetime needs [unit, zone], not {_short(args)}")
        unit, zone = args
        _expect(unit in _UNITS, f"time unit {_short(unit)} is not ns, us or ms")
        _expect(
            zone is None or (isinstance(zone, str) and TIME_ZONE.fullmatch(zone) is not None),
            f"time zone {_short(zone)}",
        )
        return pl.Datetime(unit, zone)
    if kind == "Duration":
        _expect(args in _UNITS, f"time unit {_short(args)} is not ns, us or ms")
        return pl.Duration(args)
    if kind == "Decimal":
        _expect(
            isinstance(args, list)
            and len(args) == 2
            and all(type(a) is int for a in args)
            and 1 <= args[0] <= 38
            and 0 <= args[1] <= args[0],
            f"Decimal needs [precision 1..38, scale 0..precision], not {_short(args)}",
        )
        return pl.Decimal(args[0], args[1])
    if kind == "List":
        return pl.List(decode(args, depth + 1))
    if kind == "Array":
        _expect(isinstance(args, list) and len(args) == 2 and isinstance(args[1], list), f"Array {_short(args)}")
        shape = args[1]
        _expect(
            0 < len(shape) <= MAX_NESTING and all(type(s) is int and 0 <= s <= MAX_ARRAY_WIDTH for s in shape),
            f"Array shape {_short(shape)}",
        )
        width = 1
        for size in shape:
            width *= size
        _expect(width <= MAX_ARRAY_WIDTH, f"Array shape {_short(shape)} holds over {MAX_ARRAY_WIDTH} values a row")
        return pl.Array(decode(args[0], depth + len(shape)), tuple(shape))
    if kind == "Struct":
        _expect(isinstance(args, list), f"Struct fields {_short(args)}")
        fields = []
        for entry in args:
            _expect(
                isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str),
                f"Struct field {_short(entry)}",
            )
            fields.append(pl.Field(entry[0], decode(entry[1], depth + 1)))
        _expect(len({f.name for f in fields}) == len(fields), "a Struct names one field twice")
        return pl.Struct(fields)
    if kind == "Enum":
        _expect(isinstance(args, list) and all(isinstance(c, str) for c in args), f"Enum categories {_short(args)}")
        _expect(len(set(args)) == len(args), "Enum categories hold a duplicate")
        return pl.Enum(args)
    if kind == "Categorical":
        _expect(
            isinstance(args, list)
            and len(args) == 3
            and isinstance(args[0], str)
            and isinstance(args[1], str)
            and args[2] in _CATEGORY_PHYSICAL,
            f"Categorical needs [name, namespace, physical], not {_short(args)}",
        )
        name, namespace, physical = args
        # polars asserts (an AssertionError, gone under -O) that the global categories, named "",
        # take no namespace and only UInt32
        _expect(name != "" or (namespace == "" and physical == "UInt32"), "the global categories are UInt32, unnamed")
        if not hasattr(pl, "Categories"):
            _expect(name == namespace == "" and physical == "UInt32", "named categories need polars >= 1.32")
            return pl.Categorical()
        return pl.Categorical(pl.Categories(name, namespace, _CATEGORY_PHYSICAL[physical]))
    raise BadDtype(f"{_short(kind)} is not a dtype zanj-polars writes")
