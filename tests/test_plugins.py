"""Plugin discovery, dispatch and missing plugins."""

from __future__ import annotations

import json
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from zanj_core import (
    FORMAT_KEY,
    REGISTRY,
    ZANJ,
    LoaderHandler,
    MemberFormat,
    SerializerHandler,
    ZanjBrokenPluginWarning,
    ZanjError,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
    ZanjPluginError,
    ZanjUnloaded,
    register_loader_handler,
    register_serializer_handler,
)
from zanj_core._walk.registry import PluginRegistry


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


POINT_SAVE = SerializerHandler(
    tag="test.Point", types=(Point,), serialize=lambda p, path, ctx: {FORMAT_KEY: "test.Point", "xy": [p.x, p.y]}
)
POINT_LOAD = LoaderHandler(tag="test.Point", load=lambda node, path, ctx: Point(*node["xy"]))


@pytest.fixture
def runtime_point(fresh_registry: None) -> Iterator[None]:
    register_serializer_handler(POINT_SAVE)
    register_loader_handler(POINT_LOAD)
    yield
    REGISTRY.unregister(POINT_SAVE)
    REGISTRY.unregister(POINT_LOAD)


def _fake_distribution(root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A real installed distribution on a sys.path folder: dist-info plus modules."""
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = ["[zanj]"] + [f"{name} = {value}" for name, value in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


GOOD_PLUGIN = """
from zanj_core import FORMAT_KEY, LoaderHandler, SerializerHandler, hookimpl

class Celsius(float):
    pass

@hookimpl
def zanj_serializer_handlers():
    return [SerializerHandler(tag="test.Celsius", types=("zanj_good_plugin.Celsius",),
            serialize=lambda obj, path, ctx: {FORMAT_KEY: "test.Celsius", "deg": float(obj)})]

@hookimpl
def zanj_loader_handlers():
    return [LoaderHandler(tag="test.Celsius", load=lambda node, path, ctx: Celsius(node["deg"]))]
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for fake installed distributions; removed (and plugins rediscovered) after."""
    root = tmp_path / "site"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield root
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]
    REGISTRY.refresh()


def test_core_handlers_come_through_entry_points() -> None:
    REGISTRY.ensure_discovered()
    core = [p for p in REGISTRY.plugins if p.source.distribution == "zanj-core"]
    assert {p.name for p in core} == {"builtins", "externals", "dataclasses"}
    assert all(p.error is None for p in core)
    assert all(p.value.startswith("zanj_core.") for p in core)


def test_discovery_is_lazy_and_cached() -> None:
    registry = PluginRegistry()
    assert registry.plugins == []
    registry.ensure_discovered()
    plugins = registry.plugins
    registry.ensure_discovered()
    assert registry.plugins is plugins


def test_third_party_plugin_found_by_entry_point(plugin_dir: Path, tmp_path: Path) -> None:
    _fake_distribution(plugin_dir, "zanj-good", {"good": "zanj_good_plugin"}, {"zanj_good_plugin": GOOD_PLUGIN})
    REGISTRY.refresh()
    import zanj_good_plugin  # type: ignore[import-not-found]

    value = {"t": zanj_good_plugin.Celsius(21.5)}
    path = ZANJ().save(value, tmp_path / "c")
    back = ZANJ().read(path)
    assert type(back["t"]) is zanj_good_plugin.Celsius and back["t"] == 21.5
    meta = json.loads(zipfile.ZipFile(path).read("__zanj_meta__.json"))
    assert meta["plugins"]["test.Celsius"] == {"dist": "zanj-good", "version": "1.2.3"}


BROKEN_VARIANTS = {
    "import error": ({"broken": "zanj_missing_module_xyz"}, {}),
    "raises on import": ({"broken": "zanj_raises"}, {"zanj_raises": "raise RuntimeError('boom at import')"}),
    "misspelled hook": (
        {"broken": "zanj_typo"},
        {"zanj_typo": "from zanj_core import hookimpl\n@hookimpl\ndef zanj_serializer_handler():\n    return []\n"},
    ),
    "hook raises": (
        {"broken": "zanj_hook_raises"},
        {
            "zanj_hook_raises": "from zanj_core import hookimpl\n@hookimpl\ndef zanj_loader_handlers():\n    raise ValueError('bad')\n"
        },
    ),
    "hook returns junk": (
        {"broken": "zanj_junk"},
        {
            "zanj_junk": "from zanj_core import hookimpl\n@hookimpl\ndef zanj_loader_handlers():\n    return [{'tag': 'x'}]\n"
        },
    ),
}


@pytest.mark.parametrize("variant", list(BROKEN_VARIANTS))
def test_broken_plugin_warns_by_name_and_the_rest_works(variant: str, plugin_dir: Path, tmp_path: Path) -> None:
    entry_points, modules = BROKEN_VARIANTS[variant]
    _fake_distribution(plugin_dir, "zanj-broken", entry_points, modules)
    _fake_distribution(plugin_dir, "zanj-good", {"good": "zanj_good_plugin"}, {"zanj_good_plugin": GOOD_PLUGIN})
    with pytest.warns(ZanjBrokenPluginWarning, match=r"'broken'.*zanj-broken 1\.2\.3"):
        REGISTRY.refresh()
    broken = [p for p in REGISTRY.plugins if p.source.distribution == "zanj-broken"]
    assert broken and broken[0].error
    # everything else, the other third-party plugin included, still saves and reads
    import zanj_good_plugin  # type: ignore[import-not-found]

    value = {"a": (1, 2), "t": zanj_good_plugin.Celsius(3.0)}
    back = ZANJ().read(ZANJ().save(value, tmp_path / "ok"))
    assert back == value and type(back["t"]) is zanj_good_plugin.Celsius


def test_runtime_registration_and_priority(runtime_point: None, zpath: Path) -> None:
    assert ZANJ().read(ZANJ().save({"p": Point(1, 2)}, zpath)) == {"p": Point(1, 2)}
    louder = SerializerHandler(
        tag="test.Point2",
        types=(Point,),
        priority=100,
        serialize=lambda p, path, ctx: {FORMAT_KEY: "test.Point", "xy": [p.y, p.x]},
    )
    register_serializer_handler(louder)
    try:
        assert ZANJ().read(ZANJ().save(Point(1, 2), zpath)) == Point(2, 1)
    finally:
        REGISTRY.unregister(louder)
    assert ZANJ().read(ZANJ().save(Point(1, 2), zpath)) == Point(1, 2)


def test_handlers_pre_apply_to_one_instance_only(zpath: Path) -> None:
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

    save = SerializerHandler(
        tag="test.Money", types=(Money,), serialize=lambda m, path, ctx: {FORMAT_KEY: "test.Money", "cents": m.cents}
    )
    load = LoaderHandler(tag="test.Money", load=lambda node, path, ctx: Money(node["cents"]))
    zanj = ZANJ(handlers_pre=[save, load])
    back = zanj.read(zanj.save([Money(5)], zpath))
    assert type(back[0]) is Money and back[0].cents == 5
    with pytest.warns(ZanjMissingPluginWarning, match="test.Money.*at 0.*register a LoaderHandler"):
        plain = ZANJ().read(zpath)
    assert isinstance(plain[0], ZanjUnloaded)


def test_handlers_pre_override_builtin_handlers(zpath: Path) -> None:
    upper = SerializerHandler(tag="", types=(str,), serialize=lambda s, path, ctx: s.upper())
    assert ZANJ(handlers_pre=[upper]).read(ZANJ(handlers_pre=[upper]).save(["abc"], zpath)) == ["ABC"]


def test_handlers_pre_pattern_loaders_work(zpath: Path) -> None:
    prefix = LoaderHandler(tag="test.family:", match="prefix", load=lambda node, path, ctx: ("prefix", node["v"]))
    suffix = LoaderHandler(tag="(Test)", match="suffix", load=lambda node, path, ctx: ("suffix", node["v"]))
    _file_with_nodes(zpath, [{FORMAT_KEY: "test.family:a", "v": 1}, {FORMAT_KEY: "Point(Test)", "v": 2}])
    zanj = ZANJ(handlers_pre=[prefix, suffix])
    assert zanj.read(zpath) == [("prefix", 1), ("suffix", 2)]
    with zanj.open(zpath) as opened:  # the lazy reader dispatches through the same overlay
        assert opened["1"] == ("suffix", 2)
    with pytest.warns(ZanjMissingPluginWarning):
        ZANJ().read(zpath)


def test_handlers_pre_rank_by_mro_distance_like_the_registry(zpath: Path) -> None:
    class Base:
        pass

    class Derived(Base):
        pass

    for_base = SerializerHandler(tag="", types=(Base,), serialize=lambda obj, path, ctx: "base")
    for_derived = SerializerHandler(tag="", types=(Derived,), serialize=lambda obj, path, ctx: "derived")
    zanj = ZANJ(handlers_pre=[for_base, for_derived])
    assert zanj.read(zanj.save([Base(), Derived()], zpath)) == ["base", "derived"]


def test_handlers_pre_come_before_installed_handlers_of_higher_priority(zpath: Path) -> None:
    import enum

    class Colour(enum.Enum):
        RED = 1

    # the core's enum handler has priority 1; an instance's own handler is still tried first
    mine = SerializerHandler(tag="", types=(Colour,), serialize=lambda obj, path, ctx: obj.name.lower())
    assert ZANJ(handlers_pre=[mine]).registry.serializers_for(Colour)[0] is mine
    assert ZANJ(handlers_pre=[mine]).read(ZANJ(handlers_pre=[mine]).save(Colour.RED, zpath)) == "red"


def test_handlers_pre_see_later_registrations(fresh_registry: None, zpath: Path) -> None:
    class Later:
        pass

    upper = SerializerHandler(tag="", types=(str,), serialize=lambda s, path, ctx: s.upper())
    zanj = ZANJ(handlers_pre=[upper])
    with pytest.raises(ZanjError, match="no installed handler"):
        zanj.save(Later(), zpath)
    handler = SerializerHandler(tag="", types=(Later,), serialize=lambda obj, path, ctx: "later")
    register_serializer_handler(handler)
    try:
        assert zanj.read(zanj.save([Later(), "a"], zpath)) == ["later", "A"]
    finally:
        REGISTRY.unregister(handler)
    with pytest.raises(ZanjError, match="no installed handler"):
        zanj.save(Later(), zpath)


def test_zanj_with_handlers_pre_copies_and_pickles(zpath: Path) -> None:
    import copy
    import pickle

    upper = SerializerHandler(tag="", types=(str,), serialize=_upper)
    copied = copy.deepcopy(ZANJ(handlers_pre=[upper]))
    assert copied.read(copied.save(["abc"], zpath)) == ["ABC"]
    unpickled = pickle.loads(pickle.dumps(ZANJ(handlers_pre=[upper], strict=True)))
    assert unpickled.strict and unpickled.read(unpickled.save(["abc"], zpath)) == ["ABC"]
    assert pickle.loads(pickle.dumps(ZANJ())).registry is REGISTRY


def _upper(text: str, path: Any, ctx: Any) -> str:
    return text.upper()


def test_predicate_only_handler_and_check(runtime_point: None, zpath: Path) -> None:
    class Tagged:
        zanj_tag = "test.tagged"

    handler = SerializerHandler(
        tag="test.tagged",
        check=lambda obj, path, ctx: getattr(obj, "zanj_tag", None) == "test.tagged",
        serialize=lambda obj, path, ctx: {FORMAT_KEY: "test.tagged"},
    )
    loader = LoaderHandler(tag="test.tagged", load=lambda node, path, ctx: "loaded-tagged")
    zanj = ZANJ(handlers_pre=[handler, loader])
    assert zanj.read(zanj.save([Tagged(), 1], zpath)) == ["loaded-tagged", 1]


def test_type_cache_is_cleared_on_registration(fresh_registry: None, zpath: Path) -> None:
    class Late:
        pass

    with pytest.raises(Exception, match="no installed handler"):
        ZANJ().save(Late(), zpath)
    handler = SerializerHandler(tag="", types=(Late,), serialize=lambda obj, path, ctx: "late")
    register_serializer_handler(handler)
    try:
        assert ZANJ().read(ZANJ().save(Late(), zpath)) == "late"
    finally:
        REGISTRY.unregister(handler)


def test_prefix_and_suffix_loaders(fresh_registry: None, zpath: Path) -> None:
    prefix = LoaderHandler(
        tag="test.family:", match="prefix", load=lambda node, path, ctx: ("prefix", node[FORMAT_KEY])
    )
    longer = LoaderHandler(
        tag="test.family:v2", match="prefix", load=lambda node, path, ctx: ("longer", node[FORMAT_KEY])
    )
    exact = LoaderHandler(tag="test.family:exact", load=lambda node, path, ctx: ("exact", node[FORMAT_KEY]))
    for handler in (prefix, longer, exact):
        register_loader_handler(handler)
    tree = [{FORMAT_KEY: t} for t in ("test.family:a", "test.family:v2.1", "test.family:exact")]
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps(tree))
    try:
        assert ZANJ().read(zpath) == [
            ("prefix", "test.family:a"),
            ("longer", "test.family:v2.1"),
            ("exact", "test.family:exact"),
        ]
    finally:
        for handler in (prefix, longer, exact):
            REGISTRY.unregister(handler)


def test_registering_wrong_objects_is_refused() -> None:
    with pytest.raises(ZanjPluginError):
        register_loader_handler(POINT_SAVE)  # type: ignore[arg-type]
    with pytest.raises(ZanjPluginError):
        register_serializer_handler(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SerializerHandler(tag="x", serialize="not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LoaderHandler(tag="x", load=lambda n, p, c: n, match="regex")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MemberFormat(name="x", extension="npy", write=print, read=print)


def test_handler_exception_is_wrapped_with_path(zpath: Path) -> None:
    def fail(obj: Any, path: Any, ctx: Any) -> Any:
        raise ValueError("inner problem")

    zanj = ZANJ(handlers_pre=[SerializerHandler(tag="test.fail", types=(Fraction,), serialize=fail)])
    with pytest.raises(Exception, match=r"Fraction at a/0 failed in handler 'test.fail'.*inner problem"):
        zanj.save({"a": [Fraction(1, 2)]}, zpath)


# -- missing plugins ---------------------------------------------------------------------------


def _file_with_nodes(path: Path, tree: Any, plugins: dict[str, Any] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps(tree))
        zf.writestr("__zanj_meta__.json", json.dumps({"plugins": plugins or {}}))
    return path


def test_missing_plugin_named_in_file_table(zpath: Path) -> None:
    node = {FORMAT_KEY: "acme.Widget", "size": 3}
    _file_with_nodes(zpath, {"w": node, "keep": [1, (2)]}, {"acme.Widget": {"dist": "zanj-acme", "version": "2.0.1"}})
    with pytest.warns(ZanjMissingPluginWarning) as record:
        back = ZANJ().read(zpath)
    message = str(record[0].message)
    # a package the reader does not know is shown as the file's claim, never as a command
    assert "acme.Widget" in message and "at w" in message and "pip install" not in message
    assert "package named 'zanj-acme', version 2.0.1 (unverified" in message
    assert back["keep"] == [1, 2]
    assert isinstance(back["w"], ZanjUnloaded) and back["w"].node == node and back["w"].tag == "acme.Widget"


@pytest.mark.parametrize(
    ("tag", "dist"),
    [("numpy.ndarray:external", "zanj-numpy"), ("torch.Tensor", "zanj-torch"), ("pandas.DataFrame", "zanj-pandas")],
)
def test_missing_standard_plugin_from_known_table(
    tag: str, dist: str, zpath: Path, fresh_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hide any installed plugin for this tag so the test means the same everywhere
    monkeypatch.setattr(REGISTRY, "loader_for", lambda t: None if t == tag else PluginRegistry.loader_for(REGISTRY, t))
    _file_with_nodes(zpath, [{FORMAT_KEY: tag, "$ref": "x.npy"}])
    with pytest.warns(ZanjMissingPluginWarning, match=f"pip install {dist}"):
        back = ZANJ().read(zpath)
    assert isinstance(back[0], ZanjUnloaded)


def test_unknown_tag_without_table(zpath: Path) -> None:
    _file_with_nodes(zpath, {FORMAT_KEY: "mystery.Thing"})
    with pytest.warns(ZanjMissingPluginWarning, match="does not say which package"):
        ZANJ().read(zpath)


def test_strict_mode_raises(zpath: Path) -> None:
    _file_with_nodes(zpath, {FORMAT_KEY: "acme.Widget"}, {"acme.Widget": {"dist": "zanj-acme", "version": "1"}})
    with pytest.raises(ZanjMissingPluginError, match="package named 'zanj-acme'"):
        ZANJ(strict=True).read(zpath)


def test_installed_but_broken_plugin_is_named_in_the_hint(plugin_dir: Path, zpath: Path) -> None:
    _fake_distribution(plugin_dir, "zanj-acme", {"acme": "zanj_acme_missing"}, {})
    with pytest.warns(ZanjBrokenPluginWarning):
        REGISTRY.refresh()
    _file_with_nodes(zpath, {FORMAT_KEY: "acme.Widget"}, {"acme.Widget": {"dist": "zanj-acme", "version": "1.2.3"}})
    with pytest.warns(ZanjMissingPluginWarning, match="zanj-acme is installed but failed to load"):
        ZANJ().read(zpath)


def test_importing_core_registers_nothing_eagerly() -> None:
    code = (
        "import zanj_core, sys; print(zanj_core.REGISTRY._discovered, 'zanj_core._plugins.python_types' in sys.modules)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_read_options_reach_loaders_that_declare_them(zpath: Path) -> None:
    seen: list[Any] = []
    loader = LoaderHandler(
        tag="test.opt",
        options=("flavour",),
        load=lambda node, path, ctx: seen.append(ctx.options.get("flavour")) or "ok",
    )
    _file_with_nodes(zpath, {FORMAT_KEY: "test.opt"})
    zanj = ZANJ(handlers_pre=[loader])
    assert zanj.read(zpath, flavour="mint") == "ok" and seen == ["mint"]
    with pytest.raises(ZanjError, match=r"unknown read option\(s\) \['flavor'\].*flavour"):
        zanj.read(zpath, flavor="mint")


def test_deferred_imports_on_first_call_only() -> None:
    from zanj_core import deferred

    sys.modules.pop("colorsys", None)
    convert = deferred("colorsys:rgb_to_hsv")
    assert "colorsys" not in sys.modules
    assert convert(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "colorsys" in sys.modules
    with pytest.raises(TypeError, match=r"package\.module:function"):
        deferred("colorsys.rgb_to_hsv")
