"""Layer 3, the walks: the text of the two JSON members a save writes.

Strict JSON (no NaN), UTF-8. A small member is laid out for a person reading it (`unzip -p`):
a container that holds containers gets one item per line, indented one space per level, and
a container of scalars stays on one line (`{"kind": "mlp", "width": 64}`), so a list of
dataclasses reads as one line each. A member past `PRETTY_JSON_MAX_BYTES` (trees of thousands
of tensors) is written compact. Both are made by the C encoder: the standard library's
indenting encoder is pure Python and cost a small save a sixth of its time.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

PRETTY_JSON_MAX_BYTES = 1 << 20
"""JSON members up to this size (compact) are laid out for reading; larger ones stay compact."""

_CONTAINERS = (dict, list)


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _line_encoder() -> Callable[[Any], str]:
    """One JSON value on one line, `", "` and `": "` between items, by the C encoder when
    this Python has it (through `json.JSONEncoder` otherwise: the same text, slower)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode
    chunks = make(None, _refuse, json.encoder.encode_basestring, None, ": ", ", ", False, False, False)
    return lambda value: "".join(chunks(value, 0))


_line = _line_encoder()
_key = json.encoder.encode_basestring


def encode_json(value: Any) -> bytes:
    """A JSON member's bytes: strict JSON (no NaN), UTF-8, laid out for reading when small.

    Raises what `json.dumps` raises for a value that is not JSON (TypeError, ValueError)."""
    compact = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if len(compact) > PRETTY_JSON_MAX_BYTES:
        return compact.encode("utf-8")
    pieces: list[str] = []
    try:
        _lay_out(value, "\n", pieces)
    except RecursionError:  # deeper than this printer recurses: the compact text says the same
        return compact.encode("utf-8")
    return "".join(pieces).encode("utf-8")


def _holds_containers(value: Any) -> bool:
    """Whether a dict or list holds a non-empty dict or list (and so is laid out on lines)."""
    items = value.values() if type(value) is dict else value
    for item in items:
        if type(item) in _CONTAINERS and item:
            return True
    return False


def _lay_out(value: Any, newline: str, pieces: list[str]) -> None:
    """Append `value`'s text to `pieces`; `newline` is a line break and the current indent.
    `value` has been encoded once already (compact), so it is known to be JSON."""
    kind = type(value)
    if kind is dict and _holds_containers(value) and all(type(key) is str for key in value):
        inner = newline + " "
        separator = "{" + inner
        for key, item in value.items():
            pieces.append(separator)
            pieces.append(_key(key))
            pieces.append(": ")
            _lay_out(item, inner, pieces)
            separator = "," + inner
        pieces.append(newline + "}")
    elif kind is list and _holds_containers(value):
        inner = newline + " "
        separator = "[" + inner
        for item in value:
            pieces.append(separator)
            _lay_out(item, inner, pieces)
            separator = "," + inner
        pieces.append(newline + "]")
    else:
        pieces.append(_line(value))
