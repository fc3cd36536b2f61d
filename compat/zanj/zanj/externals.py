"""zanj 0.6's names for items stored in their own archive member ("externals")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any, Literal, NamedTuple, get_args

from zanj_core.plugin import JSONitem, ObjectPath

_ZANJ_pre: Any = Any
"""zanj 0.6's forward reference to `ZANJ`, for annotations."""

ZANJ_MAIN: str = "__zanj__.json"
ZANJ_META: str = "__zanj_meta__.json"

ExternalItemType = Literal["jsonl", "npy"]
ExternalItemType_vals = get_args(ExternalItemType)


class ExternalItem(NamedTuple):
    item_type: ExternalItemType
    data: Any
    path: ObjectPath


def load_jsonl(zanj: Any, fp: IO[bytes]) -> list[JSONitem]:
    return [json.loads(line) for line in fp]


def load_npy(zanj: Any, fp: IO[bytes]) -> Any:
    """An array from a `.npy` stream; never unpickles (object arrays are refused)."""
    import numpy as np

    return np.load(fp, allow_pickle=False)


EXTERNAL_LOAD_FUNCS: dict[str, Callable[[Any, IO[bytes]], Any]] = {"jsonl": load_jsonl, "npy": load_npy}


def GET_EXTERNAL_LOAD_FUNC(item_type: str) -> Callable[[Any, IO[bytes]], Any]:
    if item_type not in EXTERNAL_LOAD_FUNCS:
        raise ValueError(f"unknown external item type: {item_type}, needs to be one of {list(EXTERNAL_LOAD_FUNCS)}")
    return EXTERNAL_LOAD_FUNCS[item_type]
