"""`zanj.loading` and `zanj.serializing`: zanj 0.6's handler records and functions, working
through zanj-core's registry and walk (compat/zanj)."""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zanj")
np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

import zanj.loading  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field  # noqa: E402
from muutils.json_serialize.json_serialize import SerializerHandler as MuutilsSerializerHandler  # noqa: E402
from zanj import ZANJ  # noqa: E402
from zanj.consts import _FORMAT_KEY, _REF_KEY  # noqa: E402
from zanj.loading import (  # noqa: E402
    LOADER_MAP,
    LoadedZANJ,
    LoaderHandler,
    _populate_externals_error_checking,
    get_item_loader,
    load_item_recursive,
    register_loader_handler,
)
from zanj.serializing import ZANJSerializerHandler, jsonl_metadata, zanj_external_serialize  # noqa: E402

import zanj_core  # noqa: E402


class Point:
    """A formatted class, as zanj 0.6 users wrote them: `serialize`, `load`, `__muutils_format__`."""

    __muutils_format__ = "tests.Point"

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def serialize(self) -> dict[str, Any]:
        return {_FORMAT_KEY: self.__muutils_format__, "x": self.x, "y": self.y}

    @classmethod
    def load(cls, json_item: Any, path: Any = None, z: Any = None) -> Point:
        return cls(json_item["x"], json_item["y"])


POINT_SERIALIZER = ZANJSerializerHandler(
    check=lambda self, obj, path: isinstance(obj, Point),
    serialize_func=lambda self, obj, path: obj.serialize(),
    uid="tests.Point",
    source_pckg=__name__,
    desc="points",
)


@pytest.fixture
def registered() -> Iterator[list[LoaderHandler]]:
    """Handlers registered in a test, unregistered from zanj-core and LOADER_MAP afterwards."""
    added: list[LoaderHandler] = []
    yield added
    for handler in added:
        LOADER_MAP.pop(handler.uid, None)
        record = zanj.loading._IN_CORE.pop(handler.uid, None)
        if record is not None:
            zanj_core.REGISTRY.unregister(record)


def _register(handler: LoaderHandler, added: list[LoaderHandler]) -> None:
    added.append(handler)
    register_loader_handler(handler)


# -- LoaderHandler records --------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["serialize", "load", "__muutils_format__"])
def test_from_formattedclass_needs_every_part(missing: str) -> None:
    namespace = {"__muutils_format__": "t.X", "serialize": lambda self: {}, "load": classmethod(lambda cls, j: cls())}
    del namespace[missing]
    with pytest.raises(AssertionError):
        LoaderHandler.from_formattedclass(type("X", (), namespace))


def test_from_formattedclass_needs_a_string_tag() -> None:
    with pytest.raises(AssertionError, match="must be a str"):
        LoaderHandler.from_formattedclass(type("X", (), {"__muutils_format__": 1, "serialize": len, "load": len}))


def test_from_formattedclass_builds_the_loader() -> None:
    handler = LoaderHandler.from_formattedclass(Point, priority=3)
    assert (handler.uid, handler.source_pckg, handler.priority) == ("tests.Point", __name__, 3)
    assert "Point" in handler.desc
    node = Point(1, 2).serialize()
    assert handler.check(node, (), None) and not handler.check({_FORMAT_KEY: "other"}, (), None)
    assert handler.load(node, (), None) == Point(1, 2)
    described = handler.serialize()
    assert described["uid"] == "tests.Point" and "code" in described["load"]


def test_a_registered_formatted_class_saves_and_reads(tmp_path: Path, registered: list[LoaderHandler]) -> None:
    _register(LoaderHandler.from_formattedclass(Point), registered)
    assert LOADER_MAP["tests.Point"].uid == "tests.Point"
    z = ZANJ(handlers_pre=(POINT_SERIALIZER,))
    path = z.save({"p": Point(3, 4), "ps": [Point(i, -i) for i in range(3)]}, tmp_path / "points")
    back = ZANJ().read(path)
    assert back == {"p": Point(3, 4), "ps": [Point(0, 0), Point(1, -1), Point(2, -2)]}
    tree = json.loads(zipfile.ZipFile(path).read("__zanj__.json"))
    assert tree["p"] == {_FORMAT_KEY: "tests.Point", "x": 3, "y": 4}


def test_registering_a_uid_again_replaces_its_loader(tmp_path: Path, registered: list[LoaderHandler]) -> None:
    path = ZANJ(handlers_pre=(POINT_SERIALIZER,)).save(Point(5, 6), tmp_path / "p")
    _register(LoaderHandler.from_formattedclass(Point), registered)
    swapped = LoaderHandler(
        check=lambda j, p=None, z=None: True,
        load=lambda j, p=None, z=None: ("swapped", j["x"]),
        uid="tests.Point",
        source_pckg="t",
    )
    _register(swapped, registered)
    assert LOADER_MAP["tests.Point"] is swapped
    assert ZANJ().read(path) == ("swapped", 5)


def test_a_06_loader_recursing_the_06_way_gets_members(tmp_path: Path, registered: list[LoaderHandler]) -> None:
    """A 0.6 loader loads children with load_item_recursive: inside a read they go through the
    read's walk, so an array stored as a member arrives loaded."""

    def load_box(json_item: Any, path: Any, z: Any) -> tuple[str, Any]:
        return ("box", load_item_recursive(json_item["content"], (*path, "content"), z))

    _register(
        LoaderHandler(check=lambda j, p=None, z=None: False, load=load_box, uid="tests.Box", source_pckg="t"),
        registered,
    )
    array = np.arange(1000.0)
    box_serializer = MuutilsSerializerHandler(
        check=lambda self, obj, path: isinstance(obj, tuple) and obj[:1] == ("box",),
        serialize_func=lambda self, obj, path: {
            _FORMAT_KEY: "tests.Box",
            "content": self.json_serialize(obj[1], (*path, "content")),
        },
        uid="tests.Box",
        desc="boxes",
    )
    z = ZANJ(external_array_threshold=10, handlers_pre=(box_serializer,))
    path = z.save({"b": ("box", array)}, tmp_path / "box")
    assert any(name.endswith(".npy") for name in zipfile.ZipFile(path).namelist())
    kind, content = ZANJ().read(path)["b"]
    assert kind == "box" and content.tobytes() == array.tobytes()


def test_external_serialize_inside_a_save_writes_a_member_the_06_loader_reads(
    tmp_path: Path, registered: list[LoaderHandler]
) -> None:
    """A 0.6 serializer storing data with zanj_external_serialize gets a real member; its 0.6
    loader finds the member's content under "data", as zanj 0.6 populated it."""
    seen: list[Any] = []

    def load_blob(json_item: Any, path: Any, z: Any) -> Any:
        seen.append(sorted(json_item))
        return ("blob", json_item["data"])

    _register(
        LoaderHandler(check=lambda j, p=None, z=None: False, load=load_blob, uid="tests.Blob", source_pckg="t"),
        registered,
    )
    blob_serializer = ZANJSerializerHandler(
        check=lambda self, obj, path: isinstance(obj, tuple) and obj[:1] == ("blob",),
        serialize_func=lambda self, obj, path: zanj_external_serialize(self, obj[1], path, "npy", "tests.Blob"),
        uid="tests.Blob",
        source_pckg="t",
        desc="blobs",
    )
    rows_serializer = ZANJSerializerHandler(
        check=lambda self, obj, path: isinstance(obj, tuple) and obj[:1] == ("rows",),
        serialize_func=lambda self, obj, path: zanj_external_serialize(self, obj[1], path, "jsonl", "tests.Blob"),
        uid="tests.Blob",
        source_pckg="t",
        desc="rows",
    )
    data = np.arange(24, dtype=np.int32).reshape(4, 6)
    rows = [{"a": 1}, {"a": 2, "b": [3, None]}]
    z = ZANJ(handlers_pre=(blob_serializer, rows_serializer))
    path = z.save({"x": ("blob", data), "r": ("rows", rows)}, tmp_path / "blob")
    assert sorted(n for n in zipfile.ZipFile(path).namelist() if not n.startswith("__")) == ["r.jsonl", "x.npy"]
    back = ZANJ().read(path)
    kind, array = back["x"]
    assert kind == "blob" and array.dtype == data.dtype and array.tobytes() == data.tobytes()
    assert back["r"] == ("blob", rows)
    assert all("data" in keys and _REF_KEY in keys for keys in seen) and any("shape" in keys for keys in seen)


def test_register_loader_handler_takes_zanj_core_records_too() -> None:
    record = zanj_core.LoaderHandler(tag="tests.core-record", load=lambda node, path, ctx: "core")
    register_loader_handler(record)
    try:
        assert zanj_core.REGISTRY.loader_for("tests.core-record") is not None
    finally:
        zanj_core.REGISTRY.unregister(record)
    with pytest.raises(TypeError, match=r"expected a zanj\.loading\.LoaderHandler"):
        register_loader_handler("not a handler")  # type: ignore[arg-type]


# -- get_item_loader and load_item_recursive ---------------------------------------------------------


def test_get_item_loader_by_tag_then_by_check() -> None:
    assert get_item_loader({_FORMAT_KEY: "numpy.ndarray"}, ()) is LOADER_MAP["numpy.ndarray"]
    assert get_item_loader({_FORMAT_KEY: "numpy.ndarray:array_list_meta"}, ()) is LOADER_MAP["numpy.ndarray"]
    assert get_item_loader({"plain": 1}, ()) is None
    with pytest.raises(TypeError, match="invalid __muutils_format__ type"):
        get_item_loader({_FORMAT_KEY: 12345, "data": [1]}, ("t",))


def test_load_item_recursive_plain_json_is_returned_equal() -> None:
    data = {"name": "t", "value": 42, "list": [1, 2, 3], "nested": {"a": 1, "b": [None, True, 2.5]}}
    assert load_item_recursive(data, (), None) == data


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
        max_leaves=20,
    )
)
def test_load_item_recursive_returns_untagged_json_as_it_is(tree: Any) -> None:
    assert load_item_recursive(tree, (), None) == tree


def test_load_item_recursive_builds_arrays_and_dataclasses() -> None:
    @serializable_dataclass
    class Holder(SerializableDataclass):
        name: str
        data: list[int] = serializable_field(default_factory=list)

    rng = np.random.default_rng(5)
    arrays = [rng.random((3, 3)), rng.random((2, 2))]
    tree = {
        "arrays": [
            {
                _FORMAT_KEY: "numpy.ndarray:array_list_meta",
                "dtype": "float64",
                "shape": list(a.shape),
                "data": a.tolist(),
            }
            for a in arrays
        ],
        "holder": Holder("h", [1, 2]).serialize(),
    }
    back = load_item_recursive(tree, (), None)
    for got, want in zip(back["arrays"], arrays, strict=True):
        assert type(got) is np.ndarray and got.tobytes() == want.tobytes()
    assert type(back["holder"]) is Holder and back["holder"] == Holder("h", [1, 2])


def test_load_item_recursive_unknown_tags_come_back_as_dicts() -> None:
    node = {_FORMAT_KEY: "unknown.format.nobody.reads", "data": [1, 2, {"k": None}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zanj 0.6 was silent about these
        assert load_item_recursive(node, (), None) == node
        assert load_item_recursive(node, (), ZANJ(), allow_not_loading=False) == node


def test_load_item_recursive_values_that_are_not_json() -> None:
    class Opaque:
        pass

    item = Opaque()
    assert load_item_recursive(item, ("t",), None, allow_not_loading=True) is item
    assert load_item_recursive({"deep": [item]}, (), None)["deep"][0] is item
    with pytest.raises(ValueError, match="unknown type"):
        load_item_recursive({"deep": [item]}, (), None, allow_not_loading=False)


def test_load_item_recursive_lets_a_loaders_error_through(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        def load(self, json_item: Any, path: Any = None, z: Any = None) -> Any:
            raise ValueError("forced")

    monkeypatch.setattr(zanj.loading, "get_item_loader", lambda *args, **kwargs: Failing())
    with pytest.raises(ValueError, match="forced"):
        load_item_recursive({_FORMAT_KEY: "x"}, (), None)


# -- LoadedZANJ and its path checks ------------------------------------------------------------------


def test_loaded_zanj_exposes_the_parts_and_populates_externals(tmp_path: Path) -> None:
    array, items = np.random.default_rng(6).random((20, 20)), list(range(300))
    z = ZANJ(external_array_threshold=10)
    path = z.save({"large_array": array, "items": items, "small": [1]}, tmp_path / "parts")
    loaded = LoadedZANJ(path, z)
    assert loaded._path == str(path) and loaded._meta["zanj_cfg"]["external_array_threshold"] == 10
    by_path = {tuple(item.path): item for item in loaded._externals.values()}
    assert set(by_path) == {("large_array",), ("items",)}
    assert by_path[("large_array",)].item_type == "npy"
    assert by_path[("large_array",)].data.tobytes() == array.tobytes()
    assert by_path[("items",)].data == items
    assert "data" not in loaded._json_data["large_array"]
    loaded.populate_externals()
    assert loaded._json_data["large_array"]["data"] is by_path[("large_array",)].data
    assert loaded._json_data["small"] == [1]


@pytest.mark.parametrize(
    ("key", "item", "error", "match"),
    [
        ("k", {_FORMAT_KEY: "list:external", "other": 1}, KeyError, "expected an external item"),
        ("k", [1, 2, 3], TypeError, "expected int"),
        (100, [1, 2, 3], IndexError, "index out of range"),
        (123, {"a": 1}, TypeError, "expected str"),
        ("missing", {"a": 1}, KeyError, "key not in dict"),
        ("k", 42, TypeError, "expected dict or list"),
    ],
)
def test_external_path_checks_refuse_bad_steps(key: Any, item: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _populate_externals_error_checking(key, item)


def test_external_path_checks_accept_good_steps() -> None:
    assert _populate_externals_error_checking(1, [1, 2, 3]) is False
    assert _populate_externals_error_checking("a", {"a": 1}) is False
    assert _populate_externals_error_checking("k", {_FORMAT_KEY: "list:external", "data": [1]}) is True


# -- zanj_external_serialize outside a save ---------------------------------------------------------


def test_external_serialize_records_externals_and_refuses_clashes() -> None:
    z = ZANJ()
    node = zanj_external_serialize(z, np.zeros((10, 10)), ("valid",), "npy", "numpy.ndarray:external")
    assert node[_FORMAT_KEY] == "numpy.ndarray:external" and node[_REF_KEY] == "valid.npy"
    assert node["shape"] == [10, 10] and "valid.npy" in z._externals
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="already exists"):
        zanj_external_serialize(z, np.zeros(3), ("valid",), "npy", "numpy.ndarray:external")
    zanj_external_serialize(z, np.zeros(3), ("layer", "1"), "npy", "numpy.ndarray:external")
    zanj_external_serialize(z, np.zeros(3), ("layer", "10"), "npy", "numpy.ndarray:external")  # not a prefix
    for clash in (("layer", "1", "weight"), ("layer",)):
        with pytest.warns(UserWarning), pytest.raises(ValueError, match="is a prefix of another path"):
            zanj_external_serialize(z, np.zeros(3), clash, "npy", "numpy.ndarray:external")
    info = z.externals_info()
    assert list(info) == ["valid.npy", "layer/1.npy", "layer/10.npy"] and info["valid.npy"]["len(data)"] == 10


def test_external_serialize_jsonl_and_its_type_errors() -> None:
    z = ZANJ()
    records = [{"a": 1}, {"a": 2, "b": "x"}]
    node = zanj_external_serialize(z, records, ("rows",), "jsonl", "list:external")
    assert node[_REF_KEY] == "rows.jsonl" and node["len(data)"] == 2
    assert node["columns"]["b"] == {"types": ["str"], "len": 1}
    assert jsonl_metadata([])["len(data)"] == 0
    with pytest.raises(TypeError, match=r"expected numpy\.ndarray"):
        zanj_external_serialize(z, "not an array", ("s",), "npy", "numpy.ndarray:external")
    with pytest.raises(TypeError, match=r"expected list or pandas\.DataFrame"):
        zanj_external_serialize(z, object(), ("o",), "jsonl", "list:external")
    with pytest.raises(TypeError, match="path must be a tuple"):
        zanj_external_serialize(z, [1], ["list"], "jsonl", "list:external")  # type: ignore[arg-type]
