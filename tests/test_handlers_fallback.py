"""`ZANJ(handlers_fallback=...)`: one instance's handlers tried after every installed one.

They save objects nothing else accepts (before `error_mode` applies), read tags nothing else
reads, and provide member formats no plugin does; installed handlers keep everything they
take. They rank among themselves like any handler table, and the default (none) changes
nothing."""

from __future__ import annotations

import copy
import enum
import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import IO, Any

import pytest

from zanj_core import (
    REGISTRY,
    ZANJ,
    LoaderHandler,
    MemberFormat,
    SerializerHandler,
    ZanjError,
    ZanjMissingPluginWarning,
    ZanjSerializationError,
    register_serializer_handler,
)
from zanj_core.errors import ZanjPluginError
from zanj_core.plugin import FORMAT_KEY, REF_KEY, MemberSource


class Opaque:
    """Nothing installed saves it."""


class FallbackShade(enum.Enum):
    RED = 1


def _describe(obj: Any, path: Any, ctx: Any) -> str:
    return f"fallback:{type(obj).__name__}"


CATCH_ALL = SerializerHandler(tag="", serialize=_describe, description="every object")


def test_the_default_is_no_fallback_and_changes_nothing(zpath: Path) -> None:
    zanj = ZANJ()
    assert zanj.handlers_fallback == () and zanj.registry is REGISTRY
    with pytest.raises(ZanjSerializationError, match="no installed handler"):
        zanj.save(Opaque(), zpath)


def test_a_fallback_saves_what_nothing_installed_takes(zpath: Path) -> None:
    zanj = ZANJ(handlers_fallback=[CATCH_ALL])
    saved = [Opaque(), 1, "s", (1, 2), {3}, FallbackShade.RED, b"x"]
    back = zanj.read(zanj.save(saved, zpath))
    # installed handlers keep their objects, exactly; only the opaque one reaches the fallback
    assert back == ["fallback:Opaque", 1, "s", (1, 2), {3}, FallbackShade.RED, b"x"]
    assert zanj.registry.serializers_for(Opaque)[-1] is CATCH_ALL
    assert (
        zanj.registry.serializers_for(int)[-1] is CATCH_ALL and zanj.registry.serializers_for(int)[0] is not CATCH_ALL
    )


def test_a_fallback_comes_before_error_mode(zpath: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "warn" would warn, had no handler taken it
        zanj = ZANJ(error_mode="warn", handlers_fallback=[CATCH_ALL])
        assert zanj.read(zanj.save({"o": Opaque()}, zpath)) == {"o": "fallback:Opaque"}
    refusing = SerializerHandler(tag="", check=lambda obj, path, ctx: False, serialize=_describe)
    with pytest.raises(ZanjSerializationError, match="no installed handler"):
        ZANJ(handlers_fallback=[refusing]).save(Opaque(), zpath)


def test_order_is_pre_then_installed_then_fallback() -> None:
    pre = SerializerHandler(tag="", types=(FallbackShade,), serialize=lambda obj, path, ctx: "pre")
    last = SerializerHandler(tag="", types=(FallbackShade,), serialize=lambda obj, path, ctx: "last", priority=99)
    ranked = ZANJ(handlers_pre=[pre], handlers_fallback=[last]).registry.serializers_for(FallbackShade)
    assert ranked[0] is pre and ranked[-1] is last and len(ranked) > 2, "priority never lifts a fallback"


def test_fallbacks_rank_among_themselves_like_any_table(zpath: Path) -> None:
    class Base:
        pass

    class Derived(Base):
        pass

    for_base = SerializerHandler(tag="", types=(Base,), serialize=lambda obj, path, ctx: "base")
    for_derived = SerializerHandler(tag="", types=(Derived,), serialize=lambda obj, path, ctx: "derived")
    urgent = SerializerHandler(tag="", types=(Base,), serialize=lambda obj, path, ctx: "urgent", priority=5)
    zanj = ZANJ(handlers_fallback=[for_base, for_derived])
    assert zanj.read(zanj.save([Base(), Derived()], zpath)) == ["base", "derived"]
    zanj = ZANJ(handlers_fallback=[for_base, for_derived, urgent])
    assert zanj.read(zanj.save([Base(), Derived()], zpath)) == ["urgent", "urgent"]


def test_an_installed_registration_made_later_wins_over_the_fallback(fresh_registry: None, zpath: Path) -> None:
    zanj = ZANJ(handlers_fallback=[CATCH_ALL])
    assert zanj.read(zanj.save(Opaque(), zpath)) == "fallback:Opaque"
    mine = SerializerHandler(tag="", types=(Opaque,), serialize=lambda obj, path, ctx: "registered")
    register_serializer_handler(mine)
    try:
        assert zanj.read(zanj.save(Opaque(), zpath)) == "registered"
    finally:
        REGISTRY.unregister(mine)
    assert zanj.read(zanj.save(Opaque(), zpath)) == "fallback:Opaque"


def _file_with_nodes(path: Path, tree: Any) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__zanj__.json", json.dumps(tree))
        archive.writestr("__zanj_meta__.json", json.dumps({"plugins": {}}))
    return path


def test_a_fallback_loader_reads_only_tags_nothing_else_reads(zpath: Path) -> None:
    unknown = LoaderHandler(tag="test.unknown", load=lambda node, path, ctx: ("fallback", node["v"]))
    family = LoaderHandler(tag="test.", match="prefix", load=lambda node, path, ctx: "family")
    grabs_tuples = LoaderHandler(tag="tuple", load=lambda node, path, ctx: "never")
    _file_with_nodes(
        zpath,
        [{FORMAT_KEY: "test.unknown", "v": 1}, {FORMAT_KEY: "test.other"}, {FORMAT_KEY: "tuple", "data": [1]}],
    )
    zanj = ZANJ(handlers_fallback=[unknown, family, grabs_tuples])
    assert zanj.read(zpath) == [("fallback", 1), "family", (1,)]
    with zanj.open(zpath) as opened:  # the lazy reader dispatches through the same view
        assert opened["0"] == ("fallback", 1)
    pre = LoaderHandler(tag="test.unknown", load=lambda node, path, ctx: "pre")
    with pytest.warns(ZanjMissingPluginWarning, match="test.other"):
        assert ZANJ(handlers_pre=[pre], handlers_fallback=[unknown]).read(zpath)[0] == "pre"


def _write_text(data: Any, stream: IO[bytes]) -> None:
    stream.write(str(data).encode())


def _read_text(source: MemberSource) -> str:
    with source.open() as stream:
        return stream.read().decode()


def test_a_fallback_member_format_serves_only_names_no_plugin_provides(zpath: Path) -> None:
    text = MemberFormat(name="test-text", extension=".txt", write=_write_text, read=_read_text, binary=False)
    shadow = MemberFormat(name="jsonl", extension=".shadow", write=_write_text, read=_read_text)

    def save_member(obj: Opaque, path: Any, ctx: Any) -> Any:
        return {FORMAT_KEY: "test.text", REF_KEY: ctx.add_member(path, "test-text", "hello")}

    saver = SerializerHandler(tag="test.text", types=(Opaque,), serialize=save_member)
    loader = LoaderHandler(tag="test.text", load=lambda node, path, ctx: ctx.read_member(node, path, "test-text"))
    zanj = ZANJ(handlers_pre=[saver], handlers_fallback=[text, loader, shadow])
    assert zanj.read(zanj.save({"o": Opaque()}, zpath)) == {"o": "hello"}
    assert zanj.registry.member_format("jsonl") is not shadow and zanj.registry.member_formats()["jsonl"] is not shadow
    assert zanj.registry.member_formats()["test-text"] is text


def test_fallback_read_options_are_known_under_their_label() -> None:
    loader = LoaderHandler(tag="test.opt", load=lambda node, path, ctx: None, options=("test_fallback_option",))
    zanj = ZANJ(handlers_fallback=[loader])
    assert zanj.registry.read_options()["test_fallback_option"] == ["handlers_fallback"]
    zanj.check_read_options({"test_fallback_option": 1})
    with pytest.raises(ZanjError, match="unknown read option"):
        ZANJ().check_read_options({"test_fallback_option": 1})


def test_what_is_not_a_zanj_core_record_is_refused_by_name() -> None:
    with pytest.raises(ZanjPluginError, match="handlers_fallback takes zanj_core SerializerHandler"):
        ZANJ(handlers_fallback=["not a handler"])  # type: ignore[list-item]


def test_an_overlay_of_an_overlay_puts_its_own_layers_first() -> None:
    first = SerializerHandler(tag="", types=(Opaque,), serialize=lambda obj, path, ctx: "first")
    second = SerializerHandler(tag="", types=(Opaque,), serialize=lambda obj, path, ctx: "second")
    inner = REGISTRY.overlay([], fallback=[first])
    outer = inner.overlay([], fallback=[second])
    assert outer.serializers_for(Opaque) == (second, first) and outer.base is REGISTRY


def test_zanj_with_fallbacks_copies_and_pickles(zpath: Path) -> None:
    zanj = ZANJ(handlers_fallback=[CATCH_ALL], strict=True)
    for twin in (copy.deepcopy(zanj), pickle.loads(pickle.dumps(zanj))):
        assert twin.strict and twin.read(twin.save(Opaque(), zpath)) == "fallback:Opaque"


def test_a_fallback_saves_to_file_objects_and_reads_back() -> None:
    buffer = io.BytesIO()
    zanj = ZANJ(handlers_fallback=[CATCH_ALL])
    zanj.save({"o": Opaque()}, buffer)
    buffer.seek(0)
    assert zanj.read(buffer) == {"o": "fallback:Opaque"}
