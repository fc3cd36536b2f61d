"""The text of the JSON members: the same JSON as `json.dumps`, laid out for reading when small."""

from __future__ import annotations

import json
import json.encoder
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zanj_core._walk import json_text
from zanj_core._walk.json_text import PRETTY_JSON_MAX_BYTES, PRETTY_JSON_MAX_LINES, encode_json

keys = st.one_of(
    st.text(max_size=8), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False)
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)


@given(values)
def test_the_text_is_the_json_of_json_dumps(value: Any) -> None:
    """Keys that are not strings become strings as `json.dumps` makes them."""
    assert json.loads(encode_json(value)) == json.loads(json.dumps(value))


def _portable_line_encoder() -> Any:
    """The line encoder of a Python without the C encoder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json.encoder, "c_make_encoder", None)
        return json_text._line_encoder()


PORTABLE_LINE = _portable_line_encoder()


@given(values)
def test_both_line_encoders_write_the_same_text(value: Any) -> None:
    assert json_text._line(value) == PORTABLE_LINE(value)
    assert json_text._line is not PORTABLE_LINE


def test_containers_of_containers_take_a_line_per_item_and_the_rest_one_line() -> None:
    value = {"name": "run", "layers": [{"kind": "mlp", "width": 64}, {"kind": "attn", "width": 128}], "empty": {}}
    assert encode_json(value).decode() == (
        '{\n "name": "run",\n "layers": [\n  {"kind": "mlp", "width": 64},\n  {"kind": "attn", "width": 128}\n ],\n'
        ' "empty": {}\n}'
    )
    assert encode_json([1, 2.5, "é", None]).decode() == '[1, 2.5, "é", null]'
    assert encode_json({1: [2]}).decode() == '{"1": [2]}'  # keys made strings: one line, as json.dumps writes it


def test_a_large_member_is_compact() -> None:
    value = {f"k{i:07d}": [i, {"v": i}] for i in range(PRETTY_JSON_MAX_BYTES // 20)}
    text = encode_json(value)
    assert len(text) > PRETTY_JSON_MAX_BYTES and b"\n" not in text and b", " not in text
    assert json.loads(text) == value


@pytest.mark.parametrize("lines", [PRETTY_JSON_MAX_LINES, PRETTY_JSON_MAX_LINES + 1])
def test_a_member_of_more_lines_than_the_limit_is_compact(lines: int) -> None:
    """Lines, not bytes: each item of a laid-out container is a line, wherever it is nested."""
    value = {"a": [[i] for i in range(lines - 3)], "b": {"c": [1]}}  # the root's 2 lines, a's, b's 1
    text = encode_json(value)
    assert json.loads(text) == value
    assert (b"\n" in text) is (lines <= PRETTY_JSON_MAX_LINES)
    assert text.count(b"\n") == (lines + 3 if lines <= PRETTY_JSON_MAX_LINES else 0)


def test_a_line_surely_past_the_limit_is_not_encoded_before_the_compact_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A string, list or dict whose text must pass the limit stops the layout before it is
    encoded: the member is then encoded once, compact, not twice."""
    encoded: list[Any] = []
    real_line = json_text._line
    monkeypatch.setattr(json_text, "_line", lambda value: encoded.append(value) or real_line(value))
    for big in (list(range(PRETTY_JSON_MAX_BYTES)), {str(i): i for i in range(PRETTY_JSON_MAX_BYTES // 6 + 1)}):
        encoded.clear()
        value = {"meta": [1], "data": big}
        text = encode_json(value)
        assert b"\n" not in text and json.loads(text) == value
        assert all(item is not big for item in encoded)


def test_indentation_counts_toward_the_limit() -> None:
    """Deep indents make a few thousand lines long: they count, so the member is compact."""
    deep: Any = [1]
    for _ in range(600):
        deep = [deep, [2]]
    compact = json.dumps(deep, separators=(",", ":"))
    assert len(compact) < PRETTY_JSON_MAX_BYTES // 20  # short written compact, long laid out
    text = encode_json(deep)
    assert b"\n" not in text and text.decode() == compact


@pytest.mark.parametrize(
    ("value", "error"), [({"x": math.nan}, ValueError), ([[math.inf]], ValueError), ({"x": object()}, TypeError)]
)
def test_what_is_not_strict_json_raises_as_json_dumps_does(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_json(value)


def test_nesting_the_printer_cannot_recurse_into_is_written_compact(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_deep(self: Any, value: Any, newline: str) -> None:
        raise RecursionError

    value: Any = [1]
    for _ in range(300):
        value = [value, {"k": 2}]
    laid_out = encode_json(value)
    assert laid_out.count(b"\n") > 300 and json.loads(laid_out) == value
    monkeypatch.setattr(json_text._Layout, "add", too_deep)
    compact = encode_json(value)
    assert b"\n" not in compact and json.loads(compact) == value
