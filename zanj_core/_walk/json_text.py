"""Layer 3, the walks: the text of the JSON members a save writes.

Strict JSON (no NaN), UTF-8. A member is laid out for a person reading it (`unzip -p`): a
container that holds containers gets one item per line, indented one space per level, and a
container of scalars stays on one line (`{"kind": "mlp", "width": 64}`), so a list of
dataclasses reads as one line each. A member of more than `PRETTY_JSON_MAX_LINES` lines or
`PRETTY_JSON_MAX_BYTES` characters (trees of thousands of tensors) is written compact instead. Both
are made by the C encoder: the standard library's indenting encoder is pure Python and cost a
small save a sixth of its time. The layout is written straight away, not after a compact pass
to measure the text first: that pass cost a small save as much as its whole walk.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterable
from typing import Any

PRETTY_JSON_MAX_BYTES = 256 << 10
"""JSON members whose laid-out text would be longer (in characters) are written compact."""
PRETTY_JSON_MAX_LINES = 10_000
"""A layout stops, and the member is written compact, past this many items of containers laid
out one item per line: a tree that large is read through `zanj show` or `ZanjFile.tree()`, and
stopping early (here, or at `PRETTY_JSON_MAX_BYTES` of text) bounds the work spent on a layout
that is thrown away."""

_CONTAINERS = (dict, list)
_LEAST_PER_ELEMENT = 2
_LEAST_PER_ITEM = 6
"""Fewest characters of text per element of a list (`v,`) and per item of a dict (`"k":v,`),
and per character of a string: how long a value's text surely is, before it is encoded."""


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
    laid_out = _laid_out(value)
    return laid_out if laid_out is not None else _compact(value)


def _laid_out(value: Any) -> bytes | None:
    """The laid-out text, or None when it would be too long (or too deep for this printer):
    the layout stops as soon as its text passes the limits, and what it made is freed before a
    compact text is made instead."""
    layout = _Layout()
    try:
        layout.add(value, "\n")
    except (RecursionError, _TooLong):
        return None
    text = "".join(layout.pieces)
    return None if len(text) > PRETTY_JSON_MAX_BYTES else text.encode("utf-8")


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class _TooLong(Exception):
    """A layout ran past `PRETTY_JSON_MAX_LINES` or `PRETTY_JSON_MAX_BYTES`."""


def _holds_containers(value: Any) -> bool:
    """Whether a dict or list holds a non-empty dict or list (and so is laid out on lines)."""
    items = value.values() if type(value) is dict else value
    for item in items:
        if type(item) in _CONTAINERS and item:
            return True
    return False


class _Layout:
    """The pieces of one member's laid-out text, and the lines and characters left before it
    gives up (its closing brackets aside: the final text is measured whole)."""

    __slots__ = ("chars_left", "lines_left", "pieces")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.lines_left = PRETTY_JSON_MAX_LINES
        self.chars_left = PRETTY_JSON_MAX_BYTES

    def add(self, value: Any, newline: str) -> None:
        """Append `value`'s text; `newline` is a line break and the current indent. Every
        scalar and one-line container goes through the C encoder, which raises for what is not
        JSON exactly as `json.dumps` does (keys of a laid-out dict are strings, checked here).
        A string, list or dict whose text is surely longer than what is left stops the layout
        before anything of it is looked at: it is not encoded here only to be encoded again."""
        kind = type(value)
        if kind is dict or kind is list:
            if len(value) * (_LEAST_PER_ITEM if kind is dict else _LEAST_PER_ELEMENT) > self.chars_left:
                raise _TooLong
            if _holds_containers(value):
                if len(value) > self.lines_left:
                    raise _TooLong
                if kind is list:
                    self._lay_out_items(enumerate(value), len(value), False, newline)
                    return
                if all(type(key) is str for key in value):
                    self._lay_out_items(value.items(), len(value), True, newline)
                    return
        elif kind is str and len(value) > self.chars_left:
            raise _TooLong
        line = _line(value)
        self.chars_left -= len(line)
        if self.chars_left < 0:
            raise _TooLong
        self.pieces.append(line)

    def _lay_out_items(self, entries: Iterable[tuple[Any, Any]], count: int, keyed: bool, newline: str) -> None:
        """The `count` items of a dict (`keyed`: its keys are written) or a list, one per line."""
        self.lines_left -= count
        pieces = self.pieces
        inner = newline + " "
        step = len(inner) + 1  # each item's separator and indent count: deep indents are long
        separator = ("{" if keyed else "[") + inner
        for key, item in entries:
            pieces.append(separator)
            if keyed:
                text = _key(key)
                pieces.append(text)
                pieces.append(": ")
                self.chars_left -= step + len(text) + 2
            else:
                self.chars_left -= step
            self.add(item, inner)
            separator = "," + inner
        pieces.append(newline + ("}" if keyed else "]"))
