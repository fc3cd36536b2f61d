"""`ZANJ().open`: items found by path, described from the JSON alone, loaded one at a time."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_identical
from dataclass_defs import Inner, Outer
from hypothesis import given, settings
from hypothesis import strategies as st

from zanj_core import (
    FORMAT_KEY,
    ZANJ,
    ZanjError,
    ZanjIndexError,
    ZanjKeyError,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
    ZanjUnloaded,
)
from zanj_core._walk.items import parse_path

SAMPLE: dict[str, Any] = {
    "name": "run",
    "layers": [{"w": [1.5, 2.5], "b": 0}, {"w": [3.5], "b": 1}],
    "pair": (1, ("x", None)),
    "ordered": OrderedDict([("z", 1), ("a", 2)]),
    "by_int": {1: "one", (2, 3): "two-three"},
    "tags": frozenset({"a", "b"}),
    "when": datetime.date(2026, 11, 28),
    "long": list(range(300)),  # a .jsonl member
    "blob": bytes(range(256)) * 4,  # a .bin member
    "a/b": "slash in a key",
}


def _bytes_read() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))


def bytes_read_by(action: Callable[[], Any]) -> tuple[Any, int]:
    """(result, bytes this process read through system calls while `action` ran)."""
    before = _bytes_read()
    result = action()
    return result, _bytes_read() - before


needs_proc_io = pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux /proc/self/io")


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    return Path(ZANJ().save(SAMPLE, tmp_path / "sample.zanj"))


def test_keys_len_iter_and_items(sample_file: Path) -> None:
    with ZANJ().open(sample_file) as f:
        assert f.keys() == list(SAMPLE) and list(f) == list(SAMPLE) and len(f) == len(SAMPLE)
        assert f.keys("layers") == [0, 1] and f.keys("layers/0") == ["w", "b"]
        assert_identical(f["layers/1/w"], [3.5])
        assert_identical(f[("layers", 0, "b")], 0)
        assert_identical(f["pair/1"], ("x", None))
        assert_identical(f["ordered"], SAMPLE["ordered"])
        assert_identical(f["ordered/a"], 2)
        assert_identical(f["by_int/1"], "one")
        assert_identical(f["by_int/(2, 3)"], "two-three")
        assert_identical(f["when"], SAMPLE["when"])
        assert_identical(f["long/299"], 299)
        assert_identical(f["blob"], SAMPLE["blob"])
        assert_identical(f[("a/b",)], "slash in a key")
        assert_identical(f.load(), SAMPLE)
        assert_identical(f[""], SAMPLE)


def test_paths_accept_strings_tuples_ints_and_negative_indices(sample_file: Path) -> None:
    with ZANJ().open(sample_file) as f:
        assert f["layers/-1/b"] == 1 and f[("layers", -2, "b")] == 0
        assert f["/layers/0/b/"] == 0
        assert f.keys(["layers", 0]) == ["w", "b"]
        assert "layers/1/w" in f and "layers/2" not in f and "nope" not in f
        assert f.get("layers/7", "default") == "default"
    with ZANJ().open(Path(ZANJ().save([10, 20], sample_file.with_name("list.zanj")))) as f:
        assert f[1] == 20 and f[-1] == 20


@pytest.mark.parametrize("bad", ["a//b", ("a", 1.5), ("a", True), 2.0, b"a"])
def test_malformed_paths_are_refused(bad: Any) -> None:
    with pytest.raises(ZanjKeyError):
        parse_path(bad)


def test_missing_key_names_the_closest(sample_file: Path) -> None:
    with ZANJ().open(sample_file) as f:
        with pytest.raises(ZanjKeyError) as info:
            f["layrs/0"]
        message = str(info.value)
        assert "'layrs'" in message and "<root>" in message and "did you mean 'layers'" in message
        assert "sample.zanj" in message
        with pytest.raises(KeyError):  # a ZanjKeyError is a KeyError too
            f["layers/0/weight"]
        with pytest.raises(ZanjKeyError, match="at layers/0; did you mean 'w'"):
            f["layers/0/ww"]
        with pytest.raises(ZanjKeyError, match="no item 5 at layers; it holds: 0, 1"):
            f[("layers", 5)]
        with pytest.raises(ZanjKeyError, match="is a str with no items"):
            f["name/0"]
        with pytest.raises(ZanjKeyError, match=r"a 'bytes' with no items to step into .*slice"):
            f["blob/0"]
        with pytest.raises(ZanjKeyError, match="not a container"):
            f.keys("name")


def test_loading_one_item_reads_only_its_members(sample_file: Path) -> None:
    """Opening reads the JSON members; `long` reads its .jsonl member only, not the blob."""
    with ZANJ().open(sample_file) as f:
        reader = f.reader
        read: list[str] = []
        original = reader.open_member

        def spy(info: zipfile.ZipInfo, *args: Any) -> Any:
            read.append(info.filename)
            return original(info, *args)

        reader.open_member = spy  # type: ignore[method-assign]
        f["layers/0"]
        f.info("blob")
        f.tree()
        assert read == []
        f["long/5"]
        assert read == ["long.jsonl"]


@needs_proc_io
def test_item_load_reads_a_fraction_of_a_large_file(tmp_path: Path) -> None:
    blobs = {f"b{i}": os.urandom(1 << 20) for i in range(16)}
    path = ZANJ().save(blobs, tmp_path / "blobs.zanj")

    def open_and_load() -> bytes:
        with ZANJ().open(path) as f:
            return f["b7"]  # type: ignore[no-any-return]

    value, count = bytes_read_by(open_and_load)
    assert value == blobs["b7"]
    assert count < (1 << 20) + 64 * 1024, f"read {count} bytes to load 1 MiB of a 16 MiB file"


def test_info_from_json_alone(sample_file: Path) -> None:
    with ZANJ().open(sample_file) as f:
        root = f.info()
        assert root.kind == "dict" and not root.tagged and root.length == len(SAMPLE) and root.name == "<root>"
        long = f.info("long")
        assert long.kind == "list:external" and long.length == 300 and long.member == "long.jsonl"
        assert long.plugin == "zanj-core" and long.loadable and long.member_bytes and long.stored_bytes
        assert long.stored_bytes < long.member_bytes  # jsonl members are deflated
        blob = f.info("blob")
        assert blob.kind == "bytes" and blob.member == "blob.bin" and blob.member_bytes == blob.data_bytes == 1024
        assert root.data_bytes == blob.data_bytes + long.data_bytes
        name = f.info("name")
        assert (name.kind, name.value, name.tagged, name.length) == ("str", "run", False, None)
        assert f.info("when").value == "2026-11-28" and f.info("pair").length == 2
        assert f.info("layers/0").as_json()["path"] == ["layers", 0]
        json.dumps([i.as_json() for i in f.tree()])  # JSON-ready


def test_tree_depth_and_members(sample_file: Path) -> None:
    with ZANJ().open(sample_file) as f:
        everything = f.tree()
        assert [i.path for i in everything[:4]] == [(), ("name",), ("layers",), ("layers", 0)]
        assert ("long", 0) not in {i.path for i in everything}  # a member's content is not opened
        assert {i.path for i in f.tree(max_depth=1)} == {(), *((k,) for k in SAMPLE)}
        layers = f.tree("layers", max_depth=1)
        assert [i.path for i in layers] == [("layers",), ("layers", 0), ("layers", 1)]
        expanded = f.tree("long", expand_members=True)
        assert len(expanded) == 301 and expanded[-1].value == 299


def test_read_is_open_and_load(sample_file: Path) -> None:
    assert_identical(ZANJ().read(sample_file), SAMPLE)
    with pytest.raises(ZanjError, match="unknown read option"):
        ZANJ().open(sample_file, map_locaton="cpu")


def test_closed_file_refuses_use(sample_file: Path) -> None:
    f = ZANJ().open(sample_file)
    assert "members" in repr(f) and not f.closed
    f.close()
    assert f.closed and "closed" in repr(f)
    f.close()  # twice is fine
    with pytest.raises(ZanjError, match="is closed"):
        f["name"]


def test_open_errors_are_zanj_errors(tmp_path: Path) -> None:
    with pytest.raises(ZanjError, match="no such file"):
        ZANJ().open(tmp_path / "absent.zanj")
    (tmp_path / "junk.zanj").write_bytes(b"not a zip")
    with pytest.raises(ZanjError, match=r"not a readable \.zanj file"):
        ZANJ().open(tmp_path / "junk.zanj")


def test_dataclasses_load_whole_or_field_by_field(tmp_path: Path) -> None:
    outer = Outer("o", Inner(1, ("t",)), [Inner(2), Inner(3, ("u", "v"))], {7: Inner(4)})
    path = ZANJ().save({"cfg": outer}, tmp_path / "dc.zanj")
    with ZANJ().open(path) as f:
        assert f["cfg"] == outer and type(f["cfg/inner"]) is Inner
        assert f.keys("cfg") == [field.name for field in dataclasses.fields(Outer)]
        assert f["cfg/items/1/tags"] == ("u", "v") and f["cfg/lookup/7"] == Inner(4)
        info = f.info("cfg")
        assert info.kind == "Outer(SerializableDataclass)" and info.length == 5 and info.plugin == "zanj-core"


def _file_with_unknown_tag(path: Path) -> Path:
    tree = {"w": {FORMAT_KEY: "acme.Widget", "size": 3, "$ref": "w.bin"}, "keep": [1, 2]}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps(tree))
        zf.writestr(
            "__zanj_meta__.json", json.dumps({"plugins": {"acme.Widget": {"dist": "zanj-acme", "version": "2"}}})
        )
        zf.writestr("w.bin", b"123")
    return path


def test_missing_plugin_is_listed_not_fatal(tmp_path: Path) -> None:
    with ZANJ().open(_file_with_unknown_tag(tmp_path / "acme.zanj")) as f:
        infos = {i.path: i for i in f.tree()}
        widget = infos[("w",)]
        assert not widget.loadable and widget.plugin is None and "package named 'zanj-acme'" in str(widget.install_hint)
        assert widget.member == "w.bin" and widget.data_bytes == 3
        assert f["keep"] == [1, 2]
        with pytest.raises(ZanjMissingPluginError, match=r"cannot look inside the 'acme\.Widget' item at w"):
            f["w/size"]
        with pytest.warns(ZanjMissingPluginWarning, match="package named 'zanj-acme'"):
            assert isinstance(f["w"], ZanjUnloaded)


def test_slice_of_items_without_a_part_loader(sample_file: Path) -> None:
    with ZANJ().open(sample_file) as f:
        part = f.slice("long")
        assert len(part) == 300 and part.shape is None and "long" in repr(part)
        assert part[10:13] == [10, 11, 12] and part[-1] == 299
        assert f.slice("blob")[:4] == bytes(range(4))
        with pytest.raises(ZanjIndexError, match="cannot index the item at long with 300"):
            part[300]
        with pytest.raises(IndexError):
            part[300]
        with pytest.raises(TypeError, match="has no length"):
            len(f.slice("name"))


# plain JSON trees and the builtins the walk tags: every item found by its path loads to
# exactly the same value as the original object holds there
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8), st.binary(max_size=8)
)
_keys = st.text(alphabet="abcxyz_/0123", min_size=1, max_size=4)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(_keys, inner, max_size=4),
        st.dictionaries(st.integers(-3, 3), inner, max_size=3),
    ),
    max_leaves=20,
)


def _navigate(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if isinstance(obj, dict):
            obj = obj[key] if key in obj else next(v for k, v in obj.items() if str(k) == str(key))
        else:
            obj = obj[key]
    return obj


@settings(max_examples=40)
@given(tree=_trees)
def test_every_listed_item_loads_to_the_original(tmp_path_factory: pytest.TempPathFactory, tree: Any) -> None:
    path = ZANJ(external_list_threshold=3).save(tree, tmp_path_factory.mktemp("lazy") / "t.zanj")
    with ZANJ().open(path) as f:
        for info in f.tree(expand_members=True):
            assert_identical(f[info.path], _navigate(tree, info.path), "/".join(map(str, info.path)))
