"""The contract between the core and its plugins: precedence, the plugin API version, and the
plugin mistakes that must be loud (each a `ZanjBrokenPluginWarning` or an error naming who,
what and the fix).

Plugins here are fake entry points (`importlib.metadata.entry_points` patched) discovered by a
fresh `PluginRegistry`, so no test changes what the rest of the suite sees.
"""

from __future__ import annotations

import math
import re
import sys
import types
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from zanj_core import ZANJ, ZanjSerializationError
from zanj_core._version import __version__ as CORE_VERSION
from zanj_core._walk.registry import PluginRegistry
from zanj_core.plugin import (
    FORMAT_KEY,
    PLUGIN_API_VERSION,
    LoaderHandler,
    MemberFormat,
    SerializerHandler,
    ZanjBrokenPluginWarning,
    hookimpl,
)


class Celsius(float):
    pass


class _Dist:
    def __init__(self, name: str, version: str) -> None:
        self.metadata = {"Name": name}
        self.version = version


class _EntryPoint:
    def __init__(self, dist: str, name: str, plugin: Any, version: str = "1.2.3") -> None:
        self.name, self.value, self.dist = name, f"{dist.replace('-', '_')}_{name}", _Dist(dist, version)
        self._plugin = plugin

    def load(self) -> Any:
        return self._plugin


def _module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    return module


def _serializers(*handlers: SerializerHandler) -> Callable[[], list[SerializerHandler]]:
    @hookimpl
    def zanj_serializer_handlers() -> list[SerializerHandler]:
        return list(handlers)

    return zanj_serializer_handlers


def _loaders(*handlers: LoaderHandler) -> Callable[[], list[LoaderHandler]]:
    @hookimpl
    def zanj_loader_handlers() -> list[LoaderHandler]:
        return list(handlers)

    return zanj_loader_handlers


def _loader(tag: str, result: str, match: str = "exact") -> LoaderHandler:
    return LoaderHandler(tag=tag, match=match, load=lambda node, path, ctx: result)  # type: ignore[arg-type]


def _saver(tag: str, *types_: type | str, priority: int = 0) -> SerializerHandler:
    return SerializerHandler(tag=tag, types=types_, priority=priority, serialize=lambda o, p, c: {FORMAT_KEY: tag})


Discover = Callable[[Sequence[_EntryPoint]], PluginRegistry]


@pytest.fixture
def discover(monkeypatch: pytest.MonkeyPatch) -> Discover:
    """Discover the given fake entry points (in the order given) with a fresh registry."""
    import importlib.metadata

    def run(entry_points: Sequence[_EntryPoint]) -> PluginRegistry:
        monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: list(entry_points))
        registry = PluginRegistry()
        registry.ensure_discovered()
        return registry

    return run


def _plugin(registry: PluginRegistry, dist: str) -> Any:
    return next(p for p in registry.plugins if p.source.distribution == dist)


# -- precedence -------------------------------------------------------------------------------


def _rivals() -> list[_EntryPoint]:
    alpha = _module(
        "alpha",
        zanj_serializer_handlers=_serializers(_saver("test.alpha", Celsius)),
        zanj_loader_handlers=_loaders(_loader("test.shared", "alpha")),
    )
    beta = _module(
        "beta",
        zanj_serializer_handlers=_serializers(_saver("test.beta", Celsius)),
        zanj_loader_handlers=_loaders(_loader("test.shared", "beta")),
    )
    return [_EntryPoint("zanj-alpha", "a", alpha), _EntryPoint("Zanj_Beta", "b", beta)]


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_first_discovered_wins_whatever_order_entry_points_come_in(order: str, discover: Discover) -> None:
    entry_points = _rivals() if order == "as listed" else _rivals()[::-1]
    with pytest.warns(ZanjBrokenPluginWarning, match=r"'test\.shared'.*zanj-alpha 1\.2\.3.*keeps it.*Zanj_Beta"):
        registry = discover(entry_points)
    # the core's plugins first, then distributions by normalized name, whatever the metadata order
    assert [p.source.distribution for p in registry.plugins][-2:] == ["zanj-alpha", "Zanj_Beta"]
    assert registry.plugins[0].source.distribution == "zanj-core"
    loader = registry.loader_for("test.shared")
    assert loader is not None and loader.source.distribution == "zanj-alpha"
    assert loader.load({}, (), None) == "alpha"  # type: ignore[arg-type]
    assert [h.tag for h in registry.serializers_for(Celsius)[:2]] == ["test.alpha", "test.beta"]


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_entry_points_of_one_distribution_rank_by_name(order: str, discover: Discover) -> None:
    first = _module("first", zanj_serializer_handlers=_serializers(_saver("test.first", Celsius)))
    second = _module("second", zanj_serializer_handlers=_serializers(_saver("test.second", Celsius)))
    entry_points = [_EntryPoint("zanj-one", "a_first", first), _EntryPoint("zanj-one", "b_second", second)]
    registry = discover(entry_points if order == "as listed" else entry_points[::-1])
    assert [h.tag for h in registry.serializers_for(Celsius)[:2]] == ["test.first", "test.second"]


# -- the plugin API version ---------------------------------------------------------------------


def _versioned(declared: Any) -> types.ModuleType:
    plugin = _module("versioned", zanj_loader_handlers=_loaders(_loader("test.versioned", "ok")))
    if declared is not None:
        setattr(plugin, "ZANJ_PLUGIN_API", declared)  # noqa: B010 - a module built at run time
    return plugin


@pytest.mark.parametrize("declared", [None, PLUGIN_API_VERSION, "1.0"])
def test_a_plugin_for_this_api_or_declaring_none_is_used(declared: Any, discover: Discover) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        registry = discover([_EntryPoint("zanj-versioned", "v", _versioned(declared))])
    info = _plugin(registry, "zanj-versioned")
    assert info.error is None and info.api_version == declared
    assert registry.loader_for("test.versioned") is not None


@pytest.mark.parametrize(
    ("declared", "fix"),
    [
        ("1.7", r"Upgrade zanj-core \(pip install --upgrade zanj-core\)"),
        ("2.0", r"Upgrade zanj-core \(pip install --upgrade zanj-core\)"),
        ("0.9", r"Upgrade zanj-versioned to a release for plugin API 1\.x"),
    ],
)
def test_a_plugin_for_another_api_is_skipped_naming_both_versions(declared: str, fix: str, discover: Discover) -> None:
    expected = (
        rf"'v' \(zanj_versioned_v\) from zanj-versioned 4\.5\.6 does not fit this zanj-core and is skipped: "
        rf"it needs zanj plugin API {declared}, but zanj-core {CORE_VERSION} provides plugin API "
        rf"{PLUGIN_API_VERSION}\. {fix}"
    )
    with pytest.warns(ZanjBrokenPluginWarning, match=expected):
        registry = discover([_EntryPoint("zanj-versioned", "v", _versioned(declared), version="4.5.6")])
    assert _plugin(registry, "zanj-versioned").error
    assert registry.loader_for("test.versioned") is None


@pytest.mark.parametrize("declared", ["1", "v1.0", "1.0.0", " 1.0", 1.0, ("1", "0"), "01.0"])
def test_a_malformed_api_declaration_is_a_broken_plugin(declared: Any, discover: Discover) -> None:
    with pytest.warns(ZanjBrokenPluginWarning, match=r"zanj-versioned.*ZANJ_PLUGIN_API = .* is not a 'major\.minor'"):
        registry = discover([_EntryPoint("zanj-versioned", "v", _versioned(declared))])
    assert registry.loader_for("test.versioned") is None


def test_the_api_version_is_published() -> None:
    import zanj_core.plugin

    assert "PLUGIN_API_VERSION" in zanj_core.plugin.__all__
    major, minor = PLUGIN_API_VERSION.split(".")
    assert major.isdigit() and minor.isdigit()


# -- a forgotten or misspelled @hookimpl ---------------------------------------------------------


def _unmarked_loaders() -> list[LoaderHandler]:
    return [_loader("test.unmarked", "x")]


def test_a_hook_without_hookimpl_is_named_with_the_fix(discover: Discover) -> None:
    plugin = _module("forgetful", zanj_loader_handlers=_unmarked_loaders)
    with pytest.warns(ZanjBrokenPluginWarning) as record:
        registry = discover([_EntryPoint("zanj-forgetful", "f", plugin)])
    message = " ".join(str(w.message) for w in record)
    assert "zanj-forgetful" in message
    assert "defines zanj_loader_handlers without @hookimpl" in message and "decorate it with @hookimpl" in message
    assert "registers nothing" in message
    forgetful = _plugin(registry, "zanj-forgetful")
    # still used (what is marked works), but `zanj plugins` shows the problem, not "ok", and exits 1
    assert forgetful.error is None and any("without @hookimpl" in p for p in forgetful.problems)


def test_an_unmarked_hook_next_to_marked_ones_is_named(discover: Discover) -> None:
    plugin = _module(
        "half",
        zanj_serializer_handlers=_serializers(_saver("test.half", Celsius)),
        zanj_loader_handlers=_unmarked_loaders,
    )
    with pytest.warns(ZanjBrokenPluginWarning, match="defines zanj_loader_handlers without @hookimpl") as record:
        registry = discover([_EntryPoint("zanj-half", "h", plugin)])
    assert "registers nothing" not in str(record[0].message)
    assert registry.serializers_for(Celsius)[0].tag == "test.half"  # what is marked still works
    half = _plugin(registry, "zanj-half")
    assert half.error is None and half.problems  # used: a reader is not told to reinstall it


def test_a_misspelled_unmarked_hook_gets_the_right_name(discover: Discover) -> None:
    plugin = _module("typo", zanj_serialiser_handlers=lambda: [])
    with pytest.warns(
        ZanjBrokenPluginWarning, match=r"zanj_serialiser_handlers.*did you mean @hookimpl def zanj_serializer_handlers"
    ):
        discover([_EntryPoint("zanj-typo", "t", plugin)])


def test_a_misspelled_marked_hook_gets_the_right_name(discover: Discover) -> None:
    @hookimpl
    def zanj_loader_handler() -> list[LoaderHandler]:
        return []

    plugin = _module("typo", zanj_loader_handler=zanj_loader_handler)
    with pytest.warns(
        ZanjBrokenPluginWarning, match=r"zanj_loader_handler is not a zanj hook; did you mean zanj_loader_handlers\?"
    ):
        registry = discover([_EntryPoint("zanj-typo", "t", plugin)])
    assert _plugin(registry, "zanj-typo").error


def test_a_plugin_that_registers_nothing_warns(discover: Discover) -> None:
    plugin = _module("empty", ZANJ_PLUGIN_API="1.0", helper=lambda: None)
    with pytest.warns(ZanjBrokenPluginWarning, match=r"zanj-empty.*registers nothing.*@hookimpl"):
        discover([_EntryPoint("zanj-empty", "e", plugin)])


def test_a_plugin_with_only_other_zanj_functions_names_them(discover: Discover) -> None:
    plugin = _module("vague", zanj_loaders=lambda: [_loader("test.vague", "x")])
    with pytest.warns(ZanjBrokenPluginWarning, match=r"registers nothing.*\(zanj_loaders is not a hook\)"):
        registry = discover([_EntryPoint("zanj-vague", "v", plugin)])
    assert registry.loader_for("test.vague") is None


def test_helpers_named_zanj_something_are_not_hooks(discover: Discover) -> None:
    plugin = _module(
        "tidy", zanj_loader_handlers=_loaders(_loader("test.tidy", "x")), zanj_make_table=lambda: {}, zanj_version="1"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        registry = discover([_EntryPoint("zanj-tidy", "t", plugin)])
    assert _plugin(registry, "zanj-tidy").error is None


def test_installed_first_party_plugins_trip_no_check() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        registry = PluginRegistry()
        registry.ensure_discovered()
    assert all(info.error is None for info in registry.plugins)


# -- clashes between plugins --------------------------------------------------------------------


def test_two_distributions_writing_one_tag_are_both_named(discover: Discover) -> None:
    one = _module("one", zanj_serializer_handlers=_serializers(_saver("test.same", Celsius)))
    two = _module("two", zanj_serializer_handlers=_serializers(_saver("test.same", int)))
    with pytest.warns(
        ZanjBrokenPluginWarning, match=r"write the tag 'test\.same': zanj-one .* and zanj-two .*tag table"
    ):
        discover([_EntryPoint("zanj-one", "p", one), _EntryPoint("zanj-two", "p", two)])


def test_one_distribution_may_write_a_tag_from_two_handlers(discover: Discover) -> None:
    one = _module("one", zanj_serializer_handlers=_serializers(_saver("test.same", Celsius), _saver("test.same", int)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        discover([_EntryPoint("zanj-one", "p", one)])


@pytest.mark.parametrize(
    ("family", "exact_tag", "pattern"),
    [
        (_loader("test.array", "family", "prefix"), "test.array:external", r"'test\.array\*'"),
        (_loader("(Record)", "family", "suffix"), "Point(Record)", r"'\*\(Record\)'"),
    ],
)
def test_an_exact_tag_inside_another_plugins_family_is_named(
    family: LoaderHandler, exact_tag: str, pattern: str, discover: Discover
) -> None:
    owner = _module("owner", zanj_loader_handlers=_loaders(family))
    intruder = _module("intruder", zanj_loader_handlers=_loaders(_loader(exact_tag, "intruder")))
    expected = (
        rf"zanj-intruder 1\.2\.3 \(entry point 'i'\) loads the exact tag '{re.escape(exact_tag)}'.*{pattern} family that "
        r"zanj-owner .*zanj-intruder reads every .*Fix: zanj-intruder should use a tag outside that family.*register_loader_handler"
    )
    with pytest.warns(ZanjBrokenPluginWarning, match=expected):
        registry = discover([_EntryPoint("zanj-owner", "o", owner), _EntryPoint("zanj-intruder", "i", intruder)])
    found = registry.loader_for(exact_tag)
    assert found is not None and found.source.distribution == "zanj-intruder"


def test_a_runtime_override_of_a_family_tag_is_silent(discover: Discover) -> None:
    owner = _module("owner", zanj_loader_handlers=_loaders(_loader("test.array", "family", "prefix")))
    registry = discover([_EntryPoint("zanj-owner", "o", owner)])
    override = _loader("test.array:external", "mine")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        registry.register(override)
    assert registry.loader_for("test.array:external") is not None
    assert registry.loader_for("test.array:external").load({}, (), None) == "mine"  # type: ignore[arg-type,union-attr]
    assert registry.loader_for("test.array:inline").load({}, (), None) == "family"  # type: ignore[arg-type,union-attr]


# -- dotted type names: public aliases, typos ----------------------------------------------------


@pytest.fixture
def alias_package(monkeypatch: pytest.MonkeyPatch) -> type:
    """`zanj_alias_pkg._impl.Thing`, published as `zanj_alias_pkg.Thing` (as scipy.sparse does)."""
    package, impl = types.ModuleType("zanj_alias_pkg"), types.ModuleType("zanj_alias_pkg._impl")
    thing = type("Thing", (), {"__module__": "zanj_alias_pkg._impl"})
    impl.Thing = thing  # type: ignore[attr-defined]
    package.Thing = thing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zanj_alias_pkg", package)
    monkeypatch.setitem(sys.modules, "zanj_alias_pkg._impl", impl)
    return thing


def test_a_public_alias_matches_without_importing(alias_package: type) -> None:
    handler = _saver("test.thing", "zanj_alias_pkg.Thing")
    unimported = _saver("test.elsewhere", "zanj_never_imported_pkg.Thing")
    registry = ZANJ(handlers_pre=[unimported, handler]).registry
    child = type("Child", (alias_package,), {})
    assert registry.serializers_for(alias_package)[0] is handler
    assert registry.serializers_for(child)[0] is handler  # one step up the MRO
    assert unimported not in registry.serializers_for(alias_package)
    assert "zanj_never_imported_pkg" not in sys.modules


def test_a_typo_in_a_dotted_name_warns_once(alias_package: type) -> None:
    handler = _saver("test.typo", "zanj_alias_pkg.Thnig")
    registry = ZANJ(handlers_pre=[handler]).registry
    expected = (
        r"handler 'test\.typo' from <runtime>.*'zanj_alias_pkg\.Thnig'.*'zanj_alias_pkg' has no 'Thnig'.*never matches"
    )
    with pytest.warns(ZanjBrokenPluginWarning, match=expected):
        assert handler not in registry.serializers_for(alias_package)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        registry.serializers_for(type("Other", (), {}))


def test_a_module_with_lazy_attributes_is_not_accused_of_a_typo(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = types.ModuleType("zanj_lazy_pkg")
    lazy.__getattr__ = lambda name: (_ for _ in ()).throw(AttributeError(name))  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "zanj_lazy_pkg", lazy)
    registry = ZANJ(handlers_pre=[_saver("test.lazy", "zanj_lazy_pkg.Later")]).registry
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZanjBrokenPluginWarning)
        registry.serializers_for(Celsius)


def test_torch_parameter_matches_its_public_name() -> None:
    torch = pytest.importorskip("torch")
    handler = _saver("test.parameter", "torch.nn.Parameter", priority=50)
    registry = ZANJ(handlers_pre=[handler]).registry
    assert torch.nn.Parameter.__module__ == "torch.nn.parameter"
    assert registry.serializers_for(torch.nn.Parameter)[0] is handler
    assert handler not in registry.serializers_for(torch.Tensor)


# -- a handler returning values that are not JSON ------------------------------------------------


class Probe:
    def __init__(self, payload: Any) -> None:
        self.payload = payload


def _probe_saver(tag: str = "test.probe") -> SerializerHandler:
    def serialize(obj: Any, path: Any, ctx: Any) -> Any:
        return {FORMAT_KEY: tag, "payload": obj.payload} if tag else {"payload": obj.payload}

    return SerializerHandler(tag=tag, types=(Probe,), serialize=serialize)


@pytest.mark.parametrize(
    ("payload", "where", "why"),
    [
        ({1, 2}, "a/0/payload", r"a set is not a JSON type"),
        ([1.0, math.nan], "a/0/payload/1", r"nan is not a JSON number"),
        ({(1, 2): "x"}, "a/0/payload", r"its key \(1, 2\) \(tuple\) is not a JSON key"),
        ({"deep": [{"x": b"raw"}]}, "a/0/payload/deep/0/x", r"a bytes is not a JSON type"),
    ],
)
def test_non_json_output_names_the_handler_and_the_path(payload: Any, where: str, why: str, zpath: Path) -> None:
    zanj = ZANJ(handlers_pre=[_probe_saver()])
    expected = (
        rf"the value at {where} is not plain JSON: {why}; it is inside the 'test\.probe' node at a/0, "
        r"written by handler 'test\.probe' from <runtime>\. Handlers must return plain JSON"
    )
    with pytest.raises(ZanjSerializationError, match=expected):
        zanj.save({"a": [Probe(payload)]}, zpath)
    assert not zpath.exists()


def test_a_numpy_scalar_in_a_handlers_output_is_named(zpath: Path) -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(ZanjSerializationError, match=r"at x/payload .*numpy\.float32 is not a JSON type.*float\(x\)"):
        ZANJ(handlers_pre=[_probe_saver()]).save({"x": Probe(np.float32(1.5))}, zpath)


def test_non_json_output_outside_any_tagged_node(zpath: Path) -> None:
    with pytest.raises(ZanjSerializationError, match=r"at k/payload is not plain JSON.*no tagged node encloses it"):
        ZANJ(handlers_pre=[_probe_saver("")]).save({"k": Probe(frozenset())}, zpath)


def test_non_json_member_info_names_add_member(zpath: Path) -> None:
    blob = MemberFormat(name="test.blob", extension=".blob", write=lambda data, fh: None, read=lambda s: b"")

    def serialize(obj: Any, path: Any, ctx: Any) -> Any:
        return {FORMAT_KEY: "test.blob", "$ref": ctx.add_member(path, "test.blob", b"abc", info={"shape": {3}})}

    saver = SerializerHandler(tag="test.blob", types=(Probe,), serialize=serialize)
    with pytest.raises(
        ZanjSerializationError, match=r"info given to add_member for member '.*' is not plain JSON at shape"
    ):
        ZANJ(handlers_pre=[saver, blob]).save(Probe(None), zpath)


def test_non_json_output_of_an_installed_plugin_names_its_distribution(
    discover: Discover, monkeypatch: pytest.MonkeyPatch, zpath: Path
) -> None:
    sloppy = _module("sloppy", zanj_serializer_handlers=_serializers(_probe_saver("test.sloppy")))
    registry = discover([_EntryPoint("zanj-sloppy", "s", sloppy, version="0.3.1")])
    import zanj_core._walk.zanj as zanj_module

    monkeypatch.setattr(zanj_module, "REGISTRY", registry)
    expected = r"'test\.sloppy' node at <root>, written by handler 'test\.sloppy' from zanj-sloppy 0\.3\.1"
    with pytest.raises(ZanjSerializationError, match=expected):
        ZANJ().save(Probe({1}), zpath)


# -- output a reader could not take back ----------------------------------------------------------


def test_a_tag_that_is_not_a_string_is_refused_when_saving(zpath: Path) -> None:
    """Readers refuse a non-string tag for the whole file: the save refuses to write it."""
    numbered = SerializerHandler(tag="test.numbered", types=(Probe,), serialize=lambda o, p, c: {FORMAT_KEY: 5})
    with pytest.raises(
        ZanjSerializationError,
        match=r"'test\.numbered' from <runtime> wrote a __muutils_format__ of type int at 0: a format tag must",
    ):
        ZANJ(handlers_pre=[numbered]).save([Probe(None)], zpath)
    assert not zpath.exists()
    # an unhashable tag too, named at its own object path
    listed = SerializerHandler(tag="test.listed", types=(Probe,), serialize=lambda o, p, c: {FORMAT_KEY: ["x"]})
    with pytest.raises(
        ZanjSerializationError, match=r"'test\.listed' from <runtime> wrote a __muutils_format__ of type list at 1"
    ):
        ZANJ(handlers_pre=[listed]).save([1, Probe(None)], zpath)
    assert not zpath.exists()


def _installed(discover: Discover, monkeypatch: pytest.MonkeyPatch, *hooks: Callable[[], Any]) -> None:
    names = {f.__name__: f for f in hooks}
    registry = discover([_EntryPoint("zanj-sloppy", "s", _module("sloppy", **names), version="0.3.1")])
    import zanj_core._walk.zanj as zanj_module

    monkeypatch.setattr(zanj_module, "REGISTRY", registry)


def test_a_plugin_writing_a_tag_no_loader_reads_is_warned_about(
    discover: Discover, monkeypatch: pytest.MonkeyPatch, zpath: Path
) -> None:
    _installed(discover, monkeypatch, _serializers(_probe_saver("test.orphan")))
    with pytest.warns(ZanjBrokenPluginWarning, match=r"zanj-sloppy 0\.3\.1 wrote the tag 'test\.orphan', which no"):
        ZANJ().save(Probe(1), zpath)
    assert zpath.exists()  # a warning: the file is written, and says what it holds


def test_a_plugin_writing_a_tag_it_loads_is_not_warned_about(
    discover: Discover, monkeypatch: pytest.MonkeyPatch, zpath: Path
) -> None:
    _installed(discover, monkeypatch, _serializers(_probe_saver("test.kept")), _loaders(_loader("test", "x", "prefix")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ZANJ().save(Probe(1), zpath)


def test_a_handler_a_program_registers_may_write_for_readers_elsewhere(zpath: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ZANJ(handlers_pre=[_probe_saver("test.elsewhere")]).save(Probe(1), zpath)


@pytest.mark.parametrize(
    ("result", "shown"),
    [
        (LoaderHandler(tag="test.one", load=lambda n, p, c: 1), "returned a LoaderHandler, not a list"),
        ({"tag": "test.one"}, "returned a dict, not a list"),
        ([LoaderHandler(tag="test.one", load=lambda n, p, c: 1), "junk"], "holding a str, expected LoaderHandler"),
    ],
)
def test_a_hook_returning_something_else_than_a_list_of_records_tells_the_author(
    result: Any, shown: str, discover: Discover
) -> None:
    @hookimpl
    def zanj_loader_handlers() -> Any:
        return result

    with pytest.warns(ZanjBrokenPluginWarning) as caught:
        registry = discover(
            [_EntryPoint("zanj-sloppy", "s", _module("sloppy", zanj_loader_handlers=zanj_loader_handlers))]
        )
    message = str(caught[0].message)
    assert shown in message and "author must fix it: zanj_loader_handlers returns a list of LoaderHandler" in message
    assert registry.loader_for("test.one") is None


def test_a_plugin_with_one_failing_hook_is_skipped_whole(discover: Discover, zpath: Path) -> None:
    """Its serializer would write members of the format its failed hook never provided: nothing
    of it is used, as the warning says, and `zanj plugins` lists nothing it would save or load."""

    @hookimpl
    def zanj_member_formats() -> Any:
        raise TypeError("MemberFormat 'blobfmt': extension must start with '.'")

    plugin = _module(
        "partly",
        zanj_serializer_handlers=_serializers(_saver("test.partly", Celsius)),
        zanj_loader_handlers=_loaders(_loader("test.partly", "x", "prefix")),
        zanj_member_formats=zanj_member_formats,
    )
    with pytest.warns(ZanjBrokenPluginWarning, match=r"failed in zanj_member_formats and is skipped"):
        registry = discover([_EntryPoint("zanj-partly", "p", plugin)])
    assert registry.loader_for("test.partly") is None
    assert all(h.source.distribution != "zanj-partly" for h in registry.serializers_for(Celsius))
    (info,) = [i for i in registry.plugins if i.source.distribution == "zanj-partly"]
    assert info.error and not info.serializer_tags and not info.loader_tags


def test_zanj_plugins_shows_a_used_plugins_problems_and_exits_1(
    discover: Discover, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zanj_core._tools import cmd_plugins
    from zanj_core._tools.cli import main

    plugin = _module(
        "half",
        zanj_serializer_handlers=_serializers(_saver("test.half", Celsius)),
        zanj_loader_handlers=_unmarked_loaders,
    )
    with pytest.warns(ZanjBrokenPluginWarning):
        monkeypatch.setattr(cmd_plugins, "REGISTRY", discover([_EntryPoint("zanj-half", "h", plugin)]))
    assert main(["plugins"]) == 1
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("zanj-half"))
    assert "used, with problems: " in line and "without @hookimpl" in line and "FAILED" not in line
