"""What zanj 0.6 reads back from zanj-numpy's nodes: the `compat` callback of the array handler.

zanj 0.6 reads arrays in its own inline forms and as `.npy` members, for the plain numeric
dtypes whose names it knows. Anything else (datetimes, complex numbers, object arrays, numpy
scalars, whose handler declares no callback) it would not read back equal. This module
imports nothing heavy: the callback sees JSON nodes only.
"""

from __future__ import annotations

from zanj_core.plugin import FORMAT_KEY, JSONdict

ZANJ06 = "0.6"

ZANJ06_ARRAY_TAGS = frozenset(
    {
        "numpy.ndarray:array_list_meta",
        "numpy.ndarray:array_b64_meta",
        "numpy.ndarray:array_hex_meta",
        "numpy.ndarray:zero_dim",
        "numpy.ndarray:external",
    }
)
"""The array nodes zanj 0.6 has loaders for."""

ZANJ06_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"}
)
"""The dtype names that mean the same to zanj 0.6."""


def zanj06_numeric_problem(version: str, node: JSONdict, readable_tags: frozenset[str]) -> str | None:
    """None when zanj `version` reads this node back equal: one of `readable_tags`, holding one
    of `ZANJ06_DTYPES`; else why not. Shared with plugins that store arrays as zanj-numpy does
    (zanj-torch's tensors)."""
    tag = node.get(FORMAT_KEY)
    if version != ZANJ06 or tag not in readable_tags:
        return f"{tag!r} has no zanj {version} form"
    dtype = node.get("dtype")
    if dtype not in ZANJ06_DTYPES:
        return f"dtype {dtype!r} is not one zanj 0.6 reads (it reads {', '.join(sorted(ZANJ06_DTYPES))})"
    return None


def zanj06_array_problem(version: str, node: JSONdict) -> str | None:
    """None when zanj `version` reads this array node back equal, else why not."""
    return zanj06_numeric_problem(version, node, ZANJ06_ARRAY_TAGS)
