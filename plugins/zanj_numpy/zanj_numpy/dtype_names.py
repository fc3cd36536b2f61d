"""numpy dtypes as JSON nodes write them, and back: a plain name (`float32`, `>i4`, `<U7`,
`datetime64[ns]`) or, for records, the npy descr as nested lists.

Both directions keep what they worked out: a save of many arrays meets few dtypes (and `str`
of a dtype costs microseconds), and a read of many nodes meets few dtype strings. Only plain
dtypes and strings that passed `checks.check_dtype` are kept, at most `DTYPES_KEPT` of each,
so a file of many distinct strings cannot grow them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zanj_core.plugin import JSONitem
from zanj_numpy import npy
from zanj_numpy.checks import MAX_DESCR_DEPTH, Refused, check_dtype, check_shape, shown, shown_error

DTYPES_KEPT = 1024
"""Plain dtypes whose JSON name `dtype_to_json` keeps, and dtype strings from files whose
checked dtype `dtype_from_json` keeps (past this many, the rest are worked out each time)."""
_JSON_NAMES: dict[np.dtype[Any], str] = {}
_FROM_JSON: dict[str, np.dtype[Any]] = {}


def dtype_to_json(dtype: np.dtype[Any]) -> JSONitem:
    """The dtype's plain name when that names it exactly (`float32`, `>i4`, `<U7`,
    `datetime64[ns]`), else its npy descr as nested lists (structured dtypes)."""
    name = _JSON_NAMES.get(dtype)
    if name is not None:
        return name
    if dtype.fields is None and dtype.subdtype is None:
        name = str(dtype)
        try:
            if np.dtype(name) == dtype:
                if dtype.metadata is None and len(_JSON_NAMES) < DTYPES_KEPT:
                    _JSON_NAMES[dtype] = name
                return name
        except TypeError:
            pass
    return _listify(np.lib.format.dtype_to_descr(dtype))


def _listify(value: Any) -> JSONitem:
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value  # type: ignore[no-any-return]


def _tuplify_descr(descr: Any, depth: int = 0) -> Any:
    """JSON lists back to the npy descr shape: a list of (name, format[, shape]) tuples."""
    if isinstance(descr, str):
        return descr
    if depth > MAX_DESCR_DEPTH:
        raise Refused(f"its dtype nests records more than {MAX_DESCR_DEPTH} levels deep")
    if not isinstance(descr, list):
        raise Refused(f"its dtype {shown(descr)} is neither a dtype string nor a list of fields")
    fields = []
    for field in descr:
        if not isinstance(field, list) or len(field) not in (2, 3):
            raise Refused(f"its dtype has a field {shown(field)} that is not [name, dtype(, shape)]")
        name = tuple(field[0]) if isinstance(field[0], list) else field[0]  # (title, name) pairs
        entry: tuple[Any, ...] = (name, _tuplify_descr(field[1], depth + 1))
        if len(field) == 3:
            entry += (check_shape(field[2], "field shape"),)
        fields.append(entry)
    return fields


def dtype_from_json(value: Any) -> np.dtype[Any]:
    """A node's dtype, if a read may build arrays of it (`checks.check_dtype`); raises `Refused`.
    A dtype string that passed is kept: the same string always names the same dtype."""
    if type(value) is str:
        known = _FROM_JSON.get(value)
        if known is not None:
            return known
    if not isinstance(value, str):
        return npy.descr_to_dtype(_tuplify_descr(value))
    try:
        dtype = np.dtype(value)
    except npy._DTYPE_ERRORS as exc:
        raise Refused(f"it has an unusable dtype {shown(value)} ({shown_error(exc)})") from None
    check_dtype(dtype)
    if type(value) is str and len(_FROM_JSON) < DTYPES_KEPT:
        _FROM_JSON[value] = dtype
    return dtype
