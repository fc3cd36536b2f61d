"""`walk_nodes`, the one walk of a JSON tree, and the two walks built on it: `verify_file`'s
checks and `ZanjFile.tree` (with `.jsonl` members opened, and member cycles refused)."""

from __future__ import annotations

import inspect
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hostile_corpus import FORMAT_KEY, Entry, zanj_bytes
from hypothesis import given
from hypothesis import strategies as st

from zanj_core import ZANJ, ZanjFormatError, ZanjLimitError, verify_file
from zanj_core._contract.nodes import ObjectPath, walk_nodes

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=40,
)


def recursive_walk(node: Any, path: ObjectPath = ()) -> Iterator[tuple[ObjectPath, Any]]:
    """The walk spelt out recursively: the node, then each value or entry in document order."""
    yield path, node
    if type(node) is dict:
        for key, value in node.items():
            yield from recursive_walk(value, (*path, key))
    elif type(node) is list:
        for index, item in enumerate(node):
            yield from recursive_walk(item, (*path, index))


def chain(depth: int) -> list[Any]:
    """A list nested `depth` levels deep, built without recursion."""
    tree: list[Any] = []
    for _ in range(depth):
        tree = [tree]
    return tree


@given(JSON)
def test_walk_is_preorder_in_document_order(tree: Any) -> None:
    walked = list(walk_nodes(tree))
    expected = list(recursive_walk(tree))
    assert [path for path, _ in walked] == [path for path, _ in expected]
    assert all(a is b for (_, a), (_, b) in zip(walked, expected, strict=True))


@given(JSON, st.lists(st.text(max_size=3) | st.integers(0, 5), max_size=3))
def test_paths_name_their_nodes_below_the_start(tree: Any, start: list[str | int]) -> None:
    for path, node in walk_nodes(tree, tuple(start)):
        assert path[: len(start)] == tuple(start)
        found = tree
        for key in path[len(start) :]:
            found = found[key]
        assert found is node


def test_dict_keys_keep_their_order() -> None:
    tree = {"z": 1, "a": {"y": 2, "b": 3}, "m": [4, 5]}
    assert [path for path, _ in walk_nodes(tree)] == [
        (),
        ("z",),
        ("a",),
        ("a", "y"),
        ("a", "b"),
        ("m",),
        ("m", 0),
        ("m", 1),
    ]


def test_items_is_asked_once_per_node_right_after_it_is_yielded() -> None:
    tree = {"a": [1, {"b": 2}], "c": 3}
    events: list[tuple[str, ObjectPath]] = []

    def items(path: ObjectPath, node: Any) -> list[tuple[str | int, Any]] | None:
        events.append(("items", path))
        if type(node) is dict:
            return list(node.items())
        return list(enumerate(node)) if type(node) is list else None

    for path, _ in walk_nodes(tree, (), items):
        events.append(("yield", path))
    paths = [path for path, _ in recursive_walk(tree)]
    assert events == [event for path in paths for event in (("yield", path), ("items", path))]


def test_items_decides_what_is_walked() -> None:
    """Skipped keys, a subtree cut off, items that are not in the tree (a member's lines)."""
    tree = {"keep": {"x": 1}, "skip": {"y": 2}, "ref": {"$ref": "m.jsonl"}}
    lines = ["line0", "line1"]

    def items(path: ObjectPath, node: Any) -> list[tuple[str | int, Any]] | None:
        if type(node) is not dict:
            return None
        held: list[tuple[str | int, Any]] = [(k, v) for k, v in node.items() if k not in ("skip", "$ref")]
        if "$ref" in node:
            held.extend(enumerate(lines))
        return held

    assert [path for path, _ in walk_nodes(tree, (), items)] == [
        (),
        ("keep",),
        ("keep", "x"),
        ("ref",),
        ("ref", 0),
        ("ref", 1),
    ]


def test_loop_may_decide_the_items_of_the_node_it_was_given() -> None:
    """What `ZanjFile.tree` relies on: the loop opens a node's items, `items` hands them on."""
    tree = {"a": {"b": {"c": 1}}, "d": 2}
    opened: list[tuple[str | int, Any]] | None = None
    seen = []

    def items(path: ObjectPath, node: Any) -> list[tuple[str | int, Any]] | None:
        return opened

    for path, node in walk_nodes(tree, (), items):
        seen.append(path)
        opened = sorted(node.items(), reverse=True) if type(node) is dict else None
    assert seen == [(), ("d",), ("a",), ("a", "b"), ("a", "b", "c")]


def test_a_tree_100k_levels_deep_walks_without_recursion() -> None:
    """A reader stops at its depth bound (as `ZANJ.max_depth` does); nothing recurses on the way."""
    tree = chain(100_000)
    bound = 2_000

    def items(path: ObjectPath, node: Any) -> list[tuple[str | int, Any]] | None:
        return list(enumerate(node)) if len(path) < bound else None

    depths = [len(path) for path, _ in walk_nodes(tree, (), items)]
    assert depths == list(range(bound + 1))


def test_a_whole_deep_walk_needs_no_stack() -> None:
    """10k levels walked to the bottom with the recursion limit a few frames above the caller."""
    tree = chain(10_000)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 30)
    try:
        depths, last = [], None
        for path, node in walk_nodes(tree):  # paths are not kept: together they hold 50M keys
            depths.append(len(path))
            last = node
    finally:
        sys.setrecursionlimit(limit)
    assert depths == list(range(10_001))
    assert last == []


# -- the walks built on it ------------------------------------------------------------------


def test_verify_reports_the_tree_in_document_order() -> None:
    tree = {
        "a": {FORMAT_KEY: "list:external", "$ref": "absent.jsonl"},
        "b": [{"$ref": 3}],
        "c": {FORMAT_KEY: 5},
    }
    report = verify_file(io.BytesIO(zanj_bytes(tree)))
    assert [problem.path for problem in report.problems] == [("a",), ("b", 0), ("c",)]
    assert report.status == "corrupt"


def test_verify_walks_the_lines_of_a_jsonl_member_once() -> None:
    lines = b'{"__muutils_format__": 7}\n[1, 2]\n'
    tree = {
        "x": {FORMAT_KEY: "list:external", "$ref": "x.jsonl", "len": 2},
        "y": {FORMAT_KEY: "list:external", "$ref": "x.jsonl", "len": 2},
    }
    report = verify_file(io.BytesIO(zanj_bytes(tree, [Entry.of("x.jsonl", lines)])))
    assert [(problem.path, "not a string" in problem.message) for problem in report.problems] == [(("x", 0), True)]


def test_verify_reports_nesting_past_max_depth_and_goes_on() -> None:
    tree = {"deep": chain(30), "after": {FORMAT_KEY: 5}}
    report = verify_file(io.BytesIO(zanj_bytes(tree)), ZANJ(max_depth=10))
    messages = [problem.message for problem in report.problems]
    assert "nested more than 10 levels deep" in messages[0]
    assert "__muutils_format__ is not a string" in messages[1]


def test_verify_loads_what_a_dataclass_of_an_unknown_class_holds() -> None:
    """`within` (the nearest node with a loader that holds a node) survives the walk: the items
    of a dataclass whose class is missing are loaded one by one, each counted once."""
    inner = {FORMAT_KEY: "tuple", "data": [1, 2]}
    tree = {
        "obj": {FORMAT_KEY: "NoSuchClass(SerializableDataclass)", "__zanj_class__": "nowhere:NoSuchClass", "t": inner},
        "u": {FORMAT_KEY: "tuple", "data": [3]},
    }
    report = verify_file(io.BytesIO(zanj_bytes(tree)), load=True)
    assert report.ok, report.problems
    assert report.items_loaded == 2  # "obj/t" once it is known "obj" cannot load, and "u"


def listing_file(tree: Any, members: dict[str, list[Any]]) -> bytes:
    return zanj_bytes(
        tree,
        [
            Entry.of(name, b"".join(json.dumps(line).encode() + b"\n" for line in lines))
            for name, lines in members.items()
        ],
    )


def test_tree_opens_a_member_each_time_it_is_referred_to() -> None:
    """Two references to one member, side by side, are no cycle."""
    ref = {FORMAT_KEY: "list:external", "$ref": "m.jsonl", "len": 2}
    data = listing_file({"a": ref, "b": [ref]}, {"m.jsonl": [1, [2]]})
    with ZANJ().open(io.BytesIO(data)) as opened:
        paths = [info.path for info in opened.tree(expand_members=True)]
    assert paths == [
        (),
        ("a",),
        ("a", 0),
        ("a", 1),
        ("a", 1, 0),
        ("b",),
        ("b", 0),
        ("b", 0, 0),
        ("b", 0, 1),
        ("b", 0, 1, 0),
    ]


def test_tree_refuses_members_that_hold_each_other() -> None:
    to_b = {FORMAT_KEY: "list:external", "$ref": "b.jsonl", "len": 1}
    to_a = {FORMAT_KEY: "list:external", "$ref": "a.jsonl", "len": 1}
    data = listing_file({"start": to_a}, {"a.jsonl": [to_b], "b.jsonl": [to_a]})
    with ZANJ().open(io.BytesIO(data)) as opened:
        assert len(opened.tree()) == 2  # members unopened: nothing to refuse
        with pytest.raises(ZanjFormatError, match="cycle"):
            opened.tree(expand_members=True)


def test_tree_lists_to_its_depth_and_refuses_nesting_past_max_depth() -> None:
    data = zanj_bytes({"a": chain(5)})
    with ZANJ().open(io.BytesIO(data)) as opened:
        assert [len(info.path) for info in opened.tree("a", max_depth=2)] == [1, 2, 3]
        assert opened.tree("a", max_depth=2)[-1].length == 1  # its items are counted, not listed
    with ZANJ(max_depth=3).open(io.BytesIO(data)) as opened, pytest.raises(ZanjLimitError, match="more than 3 levels"):
        opened.tree()
