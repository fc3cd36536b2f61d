"""zanj 0.6's names for items stored in their own archive member ("externals")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any, Literal, NamedTuple, get_args

from zanj_core.plugin import JSONitem, ObjectPath

_ZANJ_pre: Any = Any
"""zanj 0.6's forward reference to `ZANJ`, for annotations."""

ZANJ_MAIN: str = "__zanj__.json"
"""The archive member holding the data tree."""
ZANJ_META: str = "__zanj_meta__.json"
"""The archive member holding the metadata."""

ExternalItemType = Literal["jsonl", "npy"]
"""The kinds of data member zanj 0.6 wrote."""
ExternalItemType_vals = get_args(ExternalItemType)
"""`ExternalItemType`'s values, as a tuple."""


class ExternalItem(NamedTuple):
    """A data member as zanj 0.6 described it: its kind, its data and where it is in the object."""

    item_type: ExternalItemType
    data: Any
    path: ObjectPath


def load_jsonl(zanj: Any, fp: IO[bytes]) -> list[JSONitem]:
    """The items of a `.jsonl` stream, one JSON value a line."""
    return [json.loads(line) for line in fp]


def load_npy(zanj: Any, fp: IO[bytes]) -> Any:
    """An array from a `.npy` stream; never unpickles (object arrays are refused)."""
    import numpy as np

    return np.load(fp, allow_pickle=False)


EXTERNAL_LOAD_FUNCS: dict[str, Callable[[Any, IO[bytes]], Any]] = {"jsonl": load_jsonl, "npy": load_npy}
"""The reader of each kind of data member, by `ExternalItemType`."""


def GET_EXTERNAL_LOAD_FUNC(item_type: str) -> Callable[[Any, IO[bytes]], Any]:
    """The reader of a kind of data member; a `ValueError` for a kind zanj 0.6 did not write."""
    if item_type not in EXTERNAL_LOAD_FUNCS:
        raise ValueError(f"unknown external item type: {item_type}, needs to be one of {list(EXTERNAL_LOAD_FUNCS)}")
    return EXTERNAL_LOAD_FUNCS[item_type]
