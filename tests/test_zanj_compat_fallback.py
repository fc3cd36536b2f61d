"""zanj 1.0 saves what no installed plugin takes as zanj 0.6 did, through 0.6's default handlers.

zanj 0.6 ran muutils' default serializers: named tuples and plain dataclasses became dicts,
objects with `.serialize()` their result, other iterables lists, `torch.dtype` / `torch.device`
strings, and anything else muutils' description of it (a dict of `__name__`, `repr`...).
`zanj.ZANJ` hands those handlers to zanj-core as fallbacks: the expected node of each object
here is what muutils' own `json_serialize` (the same handlers, the same muutils zanj 0.6 used)
makes of it. Installed plugins keep what they save exactly."""

from __future__ import annotations

import collections
import dataclasses
import json
import pathlib
import typing
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zanj")
np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

from muutils.json_serialize import json_serialize  # noqa: E402
from muutils.json_serialize.json_serialize import SerializerHandler  # noqa: E402
from zanj import ZANJ  # noqa: E402
from zanj.serializing import DEFAULT_SERIALIZER_HANDLERS_ZANJ  # noqa: E402

import zanj_core  # noqa: E402


class Pair(typing.NamedTuple):
    a: int
    b: str


@dataclasses.dataclass
class PlainRecord:
    x: int
    y: list[int]


class HasSerialize:
    def serialize(self) -> dict[str, Any]:
        return {"hello": 1, "nested": [1, 2]}


class Opaque:
    pass


OPAQUE = Opaque()


class Words(list):  # type: ignore[type-arg]
    pass


class Label(str):
    __slots__ = ()


def _generator() -> Any:
    return (i * i for i in range(4))


OBJECTS: dict[str, Callable[[], Any]] = {
    "namedtuple": lambda: Pair(1, "b"),
    "plain dataclass": lambda: PlainRecord(1, [1, 2]),
    ".serialize()": HasSerialize,
    "defaultdict": lambda: collections.defaultdict(list, a=[1]),
    "Counter": lambda: collections.Counter("abca"),
    "deque": lambda: collections.deque([1, 2]),
    "range": lambda: range(3),
    "generator": _generator,
    "list subclass": lambda: Words([1, "w"]),
    "str subclass": lambda: Label("x"),
    "np.dtype": lambda: np.dtype("float32"),
    "a type": lambda: int,
    "a builtin function": lambda: len,
    "an opaque object": lambda: OPAQUE,  # one instance: its repr holds its address
}
"""Objects zanj-core refuses and zanj 0.6 saved, each made afresh (a generator is used up)."""


def _stored(path: str | Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("__zanj__.json"))


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_objects_no_plugin_takes_are_saved_and_read_as_zanj06_did(name: str, tmp_path: Path) -> None:
    make = OBJECTS[name]
    expected = json_serialize(make())
    with pytest.raises(zanj_core.ZanjSerializationError):
        zanj_core.ZANJ().save({"v": make()}, tmp_path / "core")  # the core itself keeps refusing
    path = ZANJ().save({"v": make()}, tmp_path / "compat")
    assert _stored(path)["v"] == expected
    assert ZANJ().read(path)["v"] == expected
    assert ZANJ().json_serialize(make()) == expected


def test_torch_dtypes_and_devices_are_strings_as_in_zanj06(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    saved = {"dtype": torch.float16, "device": torch.device("cpu"), "t": torch.arange(3)}
    back = ZANJ().read(ZANJ().save(saved, tmp_path / "t"))
    assert back["dtype"] == "torch.float16" and back["device"] == "cpu"
    assert torch.equal(back["t"], saved["t"]) and back["t"].dtype == torch.int64


@pytest.mark.parametrize("error_mode", ["except", "warn", "ignore"])
def test_the_catch_all_takes_any_object_in_every_error_mode(error_mode: str, tmp_path: Path) -> None:
    obj = Opaque()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = ZANJ(error_mode=error_mode).read(ZANJ(error_mode=error_mode).save({"o": obj}, tmp_path / "o"))
    assert back["o"] == json_serialize(obj)
    assert {"__name__", "__module__", "type", "repr"} <= set(back["o"]) and back["o"]["type"] == "Opaque"


def test_without_the_catch_all_error_mode_applies(tmp_path: Path) -> None:
    defaults = tuple(h for h in DEFAULT_SERIALIZER_HANDLERS_ZANJ if h.uid != "fallback")
    with pytest.raises(zanj_core.ZanjSerializationError, match="Opaque"):
        ZANJ(handlers_default=defaults).save({"o": Opaque()}, tmp_path / "x")
    assert not (tmp_path / "x.zanj").exists()
    with pytest.warns(UserWarning, match="Opaque"):
        path = ZANJ(error_mode="warn", handlers_default=defaults).save({"o": Opaque()}, tmp_path / "w")
    assert _stored(path)["o"]["__muutils_format__"] == zanj_core.plugin.UNSERIALIZABLE_TAG
    # the rest of 0.6's defaults still apply
    assert ZANJ(handlers_default=defaults).json_serialize(Pair(1, "b")) == {"a": 1, "b": "b"}


def test_installed_plugins_still_win_inside_what_the_fallbacks_save(tmp_path: Path) -> None:
    big = np.arange(300.0)
    record = PlainRecord(1, [2])
    saved = Pair(a=big, b={1, 2})  # type: ignore[arg-type]
    z = ZANJ()
    assert z.registry.serializers_for(np.ndarray)[0].source.distribution == "zanj-numpy"
    path = z.save({"pair": saved, "record": record, "t": (1, 2), "p": pathlib.Path("x")}, tmp_path / "p")
    with zipfile.ZipFile(path) as archive:
        assert "pair/a.npy" in archive.namelist(), "the array inside a named tuple is still a member"
    back = z.read(path)
    assert back["pair"]["b"] == {1, 2} and type(back["pair"]["b"]) is set
    assert np.array_equal(back["pair"]["a"], big) and back["pair"]["a"].dtype == big.dtype
    assert back["record"] == {"x": 1, "y": [2]}
    assert back["t"] == (1, 2) and back["p"] == pathlib.Path("x"), "what the core saves exactly stays exact"


def test_handlers_left_out_of_handlers_default_are_not_used(tmp_path: Path) -> None:
    no_namedtuples = tuple(h for h in DEFAULT_SERIALIZER_HANDLERS_ZANJ if h.uid != "namedtuple -> dict")
    # without its own handler, a named tuple reaches the next 0.6 default that takes it
    node = ZANJ(handlers_default=no_namedtuples).json_serialize(Pair(1, "b"))
    assert node == [1, "b"]
    assert ZANJ(handlers_default=()).handlers_fallback == ()


def test_fallbacks_nodes_pass_compat_06(tmp_path: Path) -> None:
    z = ZANJ(compat="0.6")
    path = z.save({"pair": Pair(1, "b"), "d": collections.deque([1]), "o": Opaque()}, tmp_path / "c")
    assert _stored(path)["pair"] == {"a": 1, "b": "b"}


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


POINT_06 = SerializerHandler(
    check=lambda self, obj, path: isinstance(obj, Point),
    serialize_func=lambda self, obj, path: {
        "__muutils_format__": "test.Point06",
        "x": obj.x,
        "y": self.json_serialize(obj.y, (*path, "y")),
    },
    uid="test.Point06",
    desc="a 0.6 handler of the user's",
)


def test_a_06_handler_is_accepted_under_compat(tmp_path: Path) -> None:
    path = ZANJ(handlers_pre=(POINT_06,), compat="0.6").save({"p": Point(1, 2)}, tmp_path / "p")
    assert _stored(path)["p"] == {"__muutils_format__": "test.Point06", "x": 1, "y": 2}


@pytest.mark.parametrize(
    ("child", "refused"),
    [({1, 2}, "'set' has no zanj 0.6 form"), (pathlib.Path("x"), "'pathlib.Path' has no zanj 0.6 form")],
)
def test_under_compat_a_06_handlers_children_are_judged_by_their_own_handlers(
    child: Any, refused: str, tmp_path: Path
) -> None:
    with pytest.raises(zanj_core.ZanjSerializationError, match=refused):
        ZANJ(handlers_pre=(POINT_06,), compat="0.6").save(Point(1, child), tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(zanj_core.ZanjSerializationError, match=refused):
        ZANJ(compat="0.6").save({"v": child}, tmp_path / "y")
