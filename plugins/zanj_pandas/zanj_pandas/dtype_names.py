"""pandas dtype names, as `str(dtype)` spells them, and the Arrow types pyarrow stores each as.

A frame's node and its member's pandas metadata name dtypes by string, and pyarrow hands such
strings to `pandas.api.types.pandas_dtype` and `Index.astype`. Only names in the grammar of
dtypes zanj writes are accepted, and only for the Arrow type pyarrow stores that dtype as:
time zones are plain names or offsets, sizes are bounded, nothing names a registered
extension dtype of some other library.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from zanj_pandas.arrow_schema import TIME_ZONE

_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_NUMPY_ARROW: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    **{name: pa.type_for_alias(name) for name in _INTS},
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
}
"""numpy dtype names and the Arrow type pyarrow stores each as."""
_MASKED: dict[str, str] = {
    "boolean": "bool",
    **{"Int" + name[3:]: name for name in _INTS[:4]},
    **{"UInt" + name[4:]: name for name in _INTS[4:]},
    "Float32": "float32",
    "Float64": "float64",
}
"""pandas' nullable dtypes (values + mask) and the numpy dtype of their values."""
_STRING_DTYPES = frozenset({"str", "string", "string[python]", "string[pyarrow]"})
_UNIT = r"(?P<unit>s|ms|us|ns)"
_TEMPORAL = re.compile(rf"(?P<kind>datetime64|timedelta64)\[{_UNIT}(, (?P<tz>[^\]]{{1,300}}))?\]")
_PERIOD = re.compile(r"period\[[A-Za-z0-9\-]{1,32}\]")
_INTERVAL = re.compile(
    r"interval\[(u?int(8|16|32|64)|float(32|64)|(datetime64|timedelta64)\[(s|ms|us|ns)(, (?P<tz>[^\]]{1,300}))?\]), "
    r"(left|right|both|neither)\]"
)
_ARROW_DTYPE = "[pyarrow]"
MAX_DTYPE_NAME = 512

_COLUMN_INDEX_TYPES = frozenset(
    {*_NUMPY_ARROW, "unicode", "string", "bytes", "datetimetz", "integer", "floating", "decimal", "empty"}
    | {"mixed", "mixed-integer", "mixed-integer-float", "date", "datetime"}
)
"""`pandas_type` values of the column index (`column_indexes`) pyarrow writes and can read back."""


def _is_dictionary_or_extension(arrow_type: pa.DataType) -> bool:
    return pa.types.is_dictionary(arrow_type) or isinstance(arrow_type, pa.BaseExtensionType)


def dtype_fits(name: str, arrow_type: pa.DataType) -> bool:
    """Whether pyarrow stores a pandas column of dtype `name` (as `str(dtype)` spells it) as
    `arrow_type`. Names outside the grammar of dtypes zanj writes never fit."""
    if len(name) > MAX_DTYPE_NAME:
        return False
    if name in _NUMPY_ARROW:
        return bool(arrow_type == _NUMPY_ARROW[name])
    if name in _MASKED:
        return bool(arrow_type == _NUMPY_ARROW[_MASKED[name]])
    if name == "object":  # strings, bytes, None, dates, decimals, lists, dicts, or Python scalars
        return not _is_dictionary_or_extension(arrow_type)
    if name in _STRING_DTYPES:
        return any(
            test(arrow_type)
            for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view, pa.types.is_null)
        )
    if name == "category":
        return bool(pa.types.is_dictionary(arrow_type))
    temporal = _TEMPORAL.fullmatch(name)
    if temporal is not None:
        tz, unit = temporal["tz"], temporal["unit"]
        if tz is not None and not TIME_ZONE.fullmatch(tz):
            return False
        if temporal["kind"] == "timedelta64":
            return tz is None and pa.types.is_duration(arrow_type) and arrow_type.unit == unit
        return pa.types.is_timestamp(arrow_type) and arrow_type.unit == unit and (arrow_type.tz is None) == (tz is None)
    if _PERIOD.fullmatch(name):
        return isinstance(arrow_type, pa.BaseExtensionType) and arrow_type.extension_name == "pandas.period"
    interval = _INTERVAL.fullmatch(name)
    if interval is not None:
        tz = interval["tz"]
        if tz is not None and not TIME_ZONE.fullmatch(tz):
            return False
        return isinstance(arrow_type, pa.BaseExtensionType) and arrow_type.extension_name == "pandas.interval"
    if name.endswith(_ARROW_DTYPE):  # pd.ArrowDtype: the Arrow type itself, spelled by pyarrow
        return name == f"{arrow_type}{_ARROW_DTYPE}"
    return False


def index_dtype_fits(name: str, arrow_type: pa.DataType) -> bool:
    """An index level's dtype is that of its distinct values (`MultiIndex.levels`): a level of
    ints with missing entries is stored as float64 (NaN), as pandas gives its values."""
    return dtype_fits(name, arrow_type) or (name in _INTS and pa.types.is_float64(arrow_type))


def metadata_dtype_fits(name: str, arrow_type: pa.DataType) -> bool:
    """The pandas metadata's `numpy_type`: the dtype, except the codes' dtype for a categorical
    and the dtype without its zone for a tz-aware column (pyarrow's spelling)."""
    if name.endswith(_ARROW_DTYPE):
        return dtype_fits(name, arrow_type)
    if pa.types.is_dictionary(arrow_type):
        return name in _INTS[:4]
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        return name == f"datetime64[{arrow_type.unit}]"
    return dtype_fits(name, arrow_type)


def column_index_dtype_ok(name: Any) -> bool:
    """`numpy_type` of a column index level: plain dtypes only (the labels are `astype`d to it)."""
    if not isinstance(name, str):
        return False
    temporal = _TEMPORAL.fullmatch(name)
    return (
        name in _NUMPY_ARROW
        or name in _MASKED
        or name in _STRING_DTYPES
        or name == "object"
        or (temporal is not None and temporal["tz"] is None)
    )


def column_index_type_ok(pandas_type: Any) -> bool:
    """`pandas_type` of a column index level: one pyarrow writes and can read back."""
    if not isinstance(pandas_type, str):
        return False
    temporal = _TEMPORAL.fullmatch(pandas_type)
    return pandas_type in _COLUMN_INDEX_TYPES or (temporal is not None and temporal["tz"] is None)
