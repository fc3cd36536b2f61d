"""What the walks remember between nodes stays right when the program changes under them.

Saving and reading find a dataclass's class and fields once per operation and dispatch through
the registry's per-class and per-tag tables. These tests change each input of those caches
between two operations (a class defined, redefined or dropped, a handler registered or
removed, a plugin installed) and check the next operation sees the change.
"""

from __future__ import annotations

import enum
import gc
import json
import warnings
import weakref
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field

from zanj_core import REGISTRY, ZANJ, ZanjMissingClassWarning, ZanjMissingPluginWarning, ZanjUnloaded
from zanj_core._walk import registry as registry_module
from zanj_core.plugin import FORMAT_KEY, LoaderHandler, PluginSource, SerializerHandler


def _tree(path: str | Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("__zanj__.json"))


def _make_point() -> type:
    """A new class `Point` each call: same module and qualified name, as a re-run cell makes."""

    @serializable_dataclass
    class Point(SerializableDataclass):
        x: int

    return Point


def test_a_redefined_class_is_found_anew_by_each_read(tmp_path: Path) -> None:
    first = _make_point()
    path = ZANJ().save([first(1), first(2)], tmp_path / "p")
    assert [type(p) for p in ZANJ().read(path)] == [first, first]
    second = _make_point()
    assert [type(p) for p in ZANJ().read(path)] == [second, second]
    third = _make_point()
    back = ZANJ().read(path)
    assert [type(p) for p in back] == [third, third] and [p.x for p in back] == [1, 2]


def test_a_redefinition_with_new_fields_is_built_from_its_own_fields(tmp_path: Path) -> None:
    def define(with_warmup: bool) -> type:
        if with_warmup:

            @serializable_dataclass
            class Config(SerializableDataclass):
                lr: float
                warmup: int = serializable_field(default=5)

        else:

            @serializable_dataclass
            class Config(SerializableDataclass):
                lr: float

        return Config

    zanj = ZANJ()
    old_class = define(False)
    path = zanj.save({"a": old_class(0.1), "b": old_class(0.2)}, tmp_path / "c")
    assert zanj.read(path) == {"a": old_class(0.1), "b": old_class(0.2)}
    new_class = define(True)
    back = zanj.read(path)
    assert type(back["a"]) is new_class and back["b"].lr == 0.2 and back["b"].warmup == 5
    saved = zanj.save(new_class(0.3, 7), tmp_path / "d")
    assert _tree(saved)["warmup"] == 7
    assert zanj.read(saved) == new_class(0.3, 7)


def test_a_class_defined_after_a_read_is_found_by_the_next(tmp_path: Path) -> None:
    def define() -> type:
        # muutils would register it with `zanj` (the compat package), which would keep it alive
        @serializable_dataclass(register_handler=False)
        class Late(SerializableDataclass):
            v: int

        return Late

    late = define()
    path = ZANJ().save({"late": late(4)}, tmp_path / "late")
    gone = weakref.ref(late)
    del late
    gc.collect()
    assert gone() is None  # what saving remembered of the class does not keep it alive
    with pytest.warns(ZanjMissingClassWarning, match="Late"):
        assert isinstance(ZANJ().read(path)["late"], ZanjUnloaded)
    again = define()
    back = ZANJ().read(path)["late"]
    assert type(back) is again and back.v == 4


def test_what_reading_remembers_of_a_class_does_not_keep_it_alive(tmp_path: Path) -> None:
    """A class's fields are worked out once and kept across reads, weakly: a dropped class goes."""

    def define() -> type:
        @serializable_dataclass(register_handler=False)
        class Kept(SerializableDataclass):
            v: int
            w: list[int] = serializable_field(default_factory=list)

        return Kept

    kept = define()
    path = ZANJ().save([kept(1, [2]), kept(3)], tmp_path / "kept")
    for _ in range(2):  # the second read uses what the first remembered
        back = ZANJ().read(path)
        assert [type(k) for k in back] == [kept, kept] and [(k.v, k.w) for k in back] == [(1, [2]), (3, [])]
    gone = weakref.ref(kept)
    del kept, back
    gc.collect()
    assert gone() is None


def test_fields_that_are_not_init_fields_are_left_out(tmp_path: Path) -> None:
    """A node may carry keys its class does not take (a serialized property, a field a newer
    version dropped): the class is built from its init fields alone, every read."""

    @serializable_dataclass(properties_to_serialize=["double"])
    class WithProperty(SerializableDataclass):
        v: int

        @property
        def double(self) -> int:
            return 2 * self.v

    path = ZANJ().save([WithProperty(2), WithProperty(5)], tmp_path / "prop")
    assert "double" in _tree(path)[0]
    for _ in range(2):
        assert ZANJ().read(path) == [WithProperty(2), WithProperty(5)]


def test_a_redefined_enum_is_found_anew_by_each_read(tmp_path: Path) -> None:
    def define() -> Any:
        class Colour(enum.Enum):
            RED = 1
            BLUE = 2

        return Colour

    first = define()
    path = ZANJ().save([first.RED, first.BLUE, first.RED], tmp_path / "e")
    assert ZANJ().read(path) == [first.RED, first.BLUE, first.RED]
    second = define()
    back = ZANJ().read(path)
    assert back == [second.RED, second.BLUE, second.RED] and all(type(m) is second for m in back)


@pytest.fixture
def registered() -> Iterator[list[Any]]:
    """Handlers registered by a test, removed after it."""
    handlers: list[Any] = []
    yield handlers
    for handler in handlers:
        REGISTRY.unregister(handler)


def test_a_handler_registered_between_saves_takes_the_class_over(tmp_path: Path, registered: list[Any]) -> None:
    point = _make_point()
    zanj = ZANJ()
    assert _tree(zanj.save(point(1), tmp_path / "a"))[FORMAT_KEY] == "Point(SerializableDataclass)"
    handler = SerializerHandler(
        tag="test.cached-point", types=(point,), priority=50, serialize=lambda obj, path, ctx: {"x": obj.x * 10}
    )
    REGISTRY.register(handler)
    registered.append(handler)
    assert _tree(zanj.save(point(1), tmp_path / "b")) == {"x": 10}
    REGISTRY.unregister(handler)
    assert _tree(zanj.save(point(1), tmp_path / "c"))[FORMAT_KEY] == "Point(SerializableDataclass)"


def test_a_zanj_with_its_own_handlers_sees_later_registrations(tmp_path: Path, registered: list[Any]) -> None:
    point = _make_point()
    unrelated = SerializerHandler(tag="test.unrelated", types=(complex,), priority=99, serialize=lambda o, p, c: 0)
    zanj = ZANJ(handlers_pre=[unrelated])
    assert _tree(zanj.save([point(2)], tmp_path / "a"))[0][FORMAT_KEY] == "Point(SerializableDataclass)"
    handler = SerializerHandler(tag="test.point2", types=(point,), priority=50, serialize=lambda o, p, c: "point")
    REGISTRY.register(handler)
    registered.append(handler)
    assert _tree(zanj.save([point(2)], tmp_path / "b")) == ["point"]


def test_a_loader_registered_between_reads_reads_its_tag(tmp_path: Path, registered: list[Any]) -> None:
    path = tmp_path / "tagged.zanj"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__zanj__.json", json.dumps([{FORMAT_KEY: "test.later-tag", "v": 3}] * 3))
    zanj = ZANJ()
    with pytest.warns(ZanjMissingPluginWarning, match="later-tag"):
        assert isinstance(zanj.read(path)[0], ZanjUnloaded)
    loader = LoaderHandler(tag="test.later-tag", load=lambda node, path, ctx: ("loaded", node["v"]))
    REGISTRY.register(loader)
    registered.append(loader)
    assert zanj.read(path) == [("loaded", 3)] * 3
    REGISTRY.unregister(loader)
    with pytest.warns(ZanjMissingPluginWarning):
        assert isinstance(zanj.read(path)[2], ZanjUnloaded)


def test_a_plugin_installed_between_reads_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`REGISTRY.refresh()` after installing a plugin (here: discovery finding one more)."""
    path = tmp_path / "plugged.zanj"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__zanj__.json", json.dumps({"t": {FORMAT_KEY: "test.installed", "v": 1}}))
    with pytest.warns(ZanjMissingPluginWarning):
        assert isinstance(ZANJ().read(path)["t"], ZanjUnloaded)
    original = registry_module.discover
    source = PluginSource("zanj-installed-later", "1.0", "later")
    loader = LoaderHandler(tag="test.installed", load=lambda node, path, ctx: "installed", source=source)

    def discover_one_more() -> Any:
        plugins, handlers = original()
        return plugins, [*handlers, loader]

    monkeypatch.setattr(registry_module, "discover", discover_one_more)
    try:
        REGISTRY.refresh()
        assert ZANJ().read(path) == {"t": "installed"}
    finally:
        monkeypatch.undo()
        REGISTRY.refresh()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert isinstance(ZANJ().read(path)["t"], ZanjUnloaded)
    assert any(issubclass(w.category, ZanjMissingPluginWarning) for w in caught)
