"""What an open file says about itself and its items without reading a data member: its
location, `ItemInfo`s, and the members under each node (`ref_set`, shared by a whole listing)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hostile_corpus import FORMAT_KEY, zanj_bytes

from zanj_core import ZANJ, ZanjError
from zanj_core._walk.items import ItemInfo, RefMemo, parse_path, ref_set


def test_location_names_the_file_and_path_stays_its_old_name(tmp_path: Path) -> None:
    target = tmp_path / "x.zanj"
    ZANJ().save({"a": 1}, target)
    with ZANJ().open(target) as opened:
        assert str(opened.location) == str(target)
        assert opened.path == opened.location
        assert str(target) in repr(opened)
    with pytest.raises(ZanjError, match="is closed; open it again") as raised:
        opened.keys()
    assert str(raised.value).startswith(f"{target} is closed")


def test_a_file_object_is_named_in_messages() -> None:
    with ZANJ().open(io.BytesIO(zanj_bytes({"a": [1]}))) as opened:
        assert opened.location == "<BytesIO>"
        with pytest.raises(ZanjError, match=r"^<BytesIO>: no item 'b'"):
            opened.load("b")


def test_info_of_plain_and_typed_items(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    target = tmp_path / "x.zanj"
    ZANJ().save({"w": np.zeros((300, 4), dtype="float32"), "t": (1, 2, 3), "s": "text"}, target)
    with ZANJ().open(target) as opened:
        w, t, s = opened.info("w"), opened.info("t"), opened.info("s")
    assert (w.tagged, w.shape, w.dtype, w.member is not None) == (True, (300, 4), "float32", True)
    assert w.data_bytes >= 300 * 4 * 4
    assert (t.kind, t.length, t.data_bytes) == ("tuple", 3, 0)
    assert (s.kind, s.tagged, s.value) == ("str", False, "text")
    assert isinstance(s, ItemInfo) and s.name == "s"


def test_ref_set_is_computed_once_per_container_and_shared() -> None:
    leaf_a = {FORMAT_KEY: "x", "$ref": "a.npy"}
    leaf_b = {FORMAT_KEY: "x", "$ref": "b.npy"}
    plain = {"n": [1, 2, {"m": 3}]}
    tree = {"one": [leaf_a, plain], "two": {"b": leaf_b, "again": leaf_a}}
    memo: RefMemo = {}
    assert ref_set(tree, memo) == {"a.npy", "b.npy"}
    assert ref_set(tree["one"], memo) == {"a.npy"}
    assert ref_set(plain, memo) == frozenset()
    assert ref_set(plain, memo) is ref_set({"other": []}, {})  # nodes without members share one set
    assert id(plain) in memo and id(plain["n"]) in memo
    assert ref_set(5, memo) == frozenset()


def test_ref_set_of_a_deep_tree_does_not_recurse() -> None:
    tree: list[object] = [{"$ref": "deep.npy"}]
    for _ in range(50_000):
        tree = [tree]
    assert ref_set(tree, {}) == {"deep.npy"}


def test_parse_path_forms() -> None:
    assert parse_path(None) == parse_path("") == parse_path("/") == ()
    assert parse_path("a/0/b") == ("a", "0", "b")
    assert parse_path(("a", 0)) == ("a", 0)
    assert parse_path(3) == (3,)


def test_a_plain_key_or_list_index_is_found_without_listing_its_siblings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Looking each item of a wide dict up in turn (a rank file's tensors) stays linear."""
    from zanj_core._walk.lazy import ZanjFile

    target = ZANJ().save({"wide": {f"k{i}": [i, {"x": i}] for i in range(2000)}, "t": (1, 2)}, tmp_path / "w.zanj")
    listed: list[object] = []
    real = ZanjFile._children

    def counting(self: ZanjFile, node: object, *args: object, **kwargs: object) -> object:
        listed.append(node)
        return real(self, node, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ZanjFile, "_children", counting)
    with ZANJ().open(target) as opened:
        assert [opened[("wide", f"k{i}", 1, "x")] for i in range(0, 2000, 7)] == list(range(0, 2000, 7))
        assert listed == [], "plain keys and in-range indices need no listing"
        assert opened["wide/k5/-1/x"] == 5 and opened["t/1"] == 2  # negative indices and tuples still work
        with pytest.raises(ZanjError, match="no item"):
            opened["wide/k2000"]
