"""Layer 3, the walks: the text of the JSON members a save writes.

Strict JSON (no NaN), UTF-8. A member is laid out for a person reading it (`unzip -p`): a
container that holds containers gets one item per line, indented one space per level, and a
container of scalars stays on one line (`{"kind": "mlp", "width": 64}`), so a list of
dataclasses reads as one line each. A member of more than `PRETTY_JSON_MAX_LINES` lines or
`PRETTY_JSON_MAX_BYTES` bytes (trees of thousands of tensors) is written compact instead. Both
are made by the C encoder: the standard library's indenting encoder is pure Python and cost a
small save a sixth of its time. The layout is written straight away, not after a compact pass
to measure the text first: that pass cost a small save as much as its whole walk.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

PRETTY_JSON_MAX_BYTES = 1 << 20
"""JSON members whose laid-out text is larger are written compact."""
PRETTY_JSON_MAX_LINES = 10_000
"""A layout stops, and the member is written compact, past this many lines: a tree that large
is read through `zanj show` or `ZanjFile.tree()`, and stopping early bounds the work spent on a
layout that is thrown away (a few milliseconds for a tree of ten thousand tensors)."""

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
    layout = _Layout()
    try:
        layout.add(value, "\n")
    except (RecursionError, _TooLong):  # deeper than this printer recurses, or too long to lay out
        return _compact(value)
    text = "".join(layout.pieces)
    return _compact(value) if len(text) > PRETTY_JSON_MAX_BYTES else text.encode("utf-8")


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class _TooLong(Exception):
    """A layout ran past `PRETTY_JSON_MAX_LINES`."""


def _holds_containers(value: Any) -> bool:
    """Whether a dict or list holds a non-empty dict or list (and so is laid out on lines)."""
    items = value.values() if type(value) is dict else value
    for item in items:
        if type(item) in _CONTAINERS and item:
            return True
    return False


class _Layout:
    """The pieces of one member's laid-out text, and the lines left before it gives up."""

    __slots__ = ("lines_left", "pieces")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.lines_left = PRETTY_JSON_MAX_LINES

    def add(self, value: Any, newline: str) -> None:
        """Append `value`'s text; `newline` is a line break and the current indent. Every
        scalar and one-line container goes through the C encoder, which raises for what is not
        JSON exactly as `json.dumps` does (keys of a laid-out dict are strings, checked here)."""
        pieces = self.pieces
        kind = type(value)
        if kind is dict and _holds_containers(value) and all(type(key) is str for key in value):
            self._take_lines(len(value))
            inner = newline + " "
            separator = "{" + inner
            for key, item in value.items():
                pieces.append(separator)
                pieces.append(_key(key))
                pieces.append(": ")
                self.add(item, inner)
                separator = "," + inner
            pieces.append(newline + "}")
        elif kind is list and _holds_containers(value):
            self._take_lines(len(value))
            inner = newline + " "
            separator = "[" + inner
            for item in value:
                pieces.append(separator)
                self.add(item, inner)
                separator = "," + inner
            pieces.append(newline + "]")
        else:
            pieces.append(_line(value))

    def _take_lines(self, count: int) -> None:
        self.lines_left -= count
        if self.lines_left < 0:
            raise _TooLong
