"""What the plugin adds to the `zanj` command line (plugin API 1.1).

`zanj polyline-length FILE PATH` prints the length of the polyline at PATH; `zanj ls DIR` lists
a polyline set, a directory holding `polylines.json` (name -> number of points) beside its
`.zanj` files. Everything the index says is checked before it is shown.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from zanj_core import ZANJ
from zanj_core.plugin import ListedItem, ZanjFormatError, safe_text
from zanj_testplugin import Polyline
from zanj_testplugin.plugin import TAG

INDEX = "polylines.json"
INDEX_MAX_BYTES = 1 << 20


def configure_length(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .zanj file")
    parser.add_argument("path", metavar="PATH", help="the polyline's item path, e.g. 'shapes/0'")


def run_length(args: argparse.Namespace) -> int:
    with ZANJ().open(args.file, storage_options=args.storage_options) as opened:
        item = opened[args.path]
    if not isinstance(item, Polyline):
        raise ZanjFormatError(
            f"{safe_text(args.path)} in {safe_text(args.file)} holds a {type(item).__name__}, not a polyline"
        )
    ends = item.points[1:] + (item.points[:1] if item.closed else [])
    pairs = zip(item.points[: len(ends)], ends, strict=True)
    print(f"{sum(math.dist(a, b) for a, b in pairs):.6g}")
    return 0


def recognizes_set(location: str, storage_options: Mapping[str, Any] | None) -> bool:
    return "://" not in location and os.path.isfile(os.path.join(location, INDEX))


def list_set(location: str, storage_options: Mapping[str, Any] | None) -> Sequence[ListedItem]:
    index = os.path.join(location, INDEX)
    with open(index, "rb") as stream:
        raw = stream.read(INDEX_MAX_BYTES + 1)
    try:
        entries = json.loads(raw) if len(raw) <= INDEX_MAX_BYTES else None
    except ValueError:
        entries = None
    if not isinstance(entries, dict) or not all(type(n) is int and n >= 0 for n in entries.values()):
        raise ZanjFormatError(
            f"{safe_text(index)} is not a polyline set index (a JSON object of name -> point count, "
            f"at most {INDEX_MAX_BYTES} bytes); rewrite it or remove it"
        )
    return [
        ListedItem(
            path=(name,), kind=TAG, shape=(count, 2), dtype="float64", data_bytes=16 * count, detail=f"{name}.zanj"
        )
        for name, count in sorted(entries.items())
    ]
