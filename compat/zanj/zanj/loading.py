"""zanj 0.6's loading API: `LoaderHandler`, `register_loader_handler`, `LOADER_MAP`,
`get_item_loader`, `load_item_recursive` and `LoadedZANJ`, on zanj-core's registry and walk.

A handler registered here is kept in `LOADER_MAP` under its `uid` and, unless zanj-core already
reads its tag family, registered with zanj-core as the loader of the exact tag `uid`, so files
holding that tag load through it. Serializable dataclasses (`Name(SerializableDataclass)`, which
muutils registers for every class it decorates) are read by zanj-core's own dataclass loader:
it finds the class among those the program defined and loads every field through the walk.
Files are dispatched by tag; a handler's `check` is consulted by `get_item_loader` and
`load_item_recursive` on JSON in memory, never to pick a loader for a file's node.

Light on purpose: muutils imports this module while a dataclass is being defined.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muutils.errormode import ErrorMode

from zanj import _bridge, _memory
from zanj.externals import GET_EXTERNAL_LOAD_FUNC, ZANJ_MAIN, ZANJ_META, ExternalItem, _ZANJ_pre
from zanj_core import REGISTRY
from zanj_core import ZANJ as CoreZANJ
from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    JSONitem,
    LoadContext,
    ObjectPath,
    ZanjUnloaded,
)
from zanj_core.plugin import LoaderHandler as CoreLoaderHandler
from zanj_core.plugin import register_loader_handler as register_core_loader

DATACLASS_SUFFIX = "(SerializableDataclass)"
"""The tag family zanj-core's dataclass loader reads: handlers for it stay out of its registry."""

_FORMAT_KEY: str = FORMAT_KEY
_REF_KEY: str = REF_KEY

LAZY_NAMES = {
    "pandas_DataFrame": ("pandas", "DataFrame"),
    "polars_DataFrame": ("polars", "DataFrame"),
    "load_array": ("muutils.json_serialize.array", "load_array"),
    "safe_getsource": ("muutils.json_serialize.util", "safe_getsource"),
    "string_as_lines": ("muutils.json_serialize.util", "string_as_lines"),
}
"""Names zanj 0.6's module imported eagerly (pandas and polars among them), loaded on access here."""

__all__ = [
    "ErrorMode",
    "GET_EXTERNAL_LOAD_FUNC",
    "LOADER_MAP",
    "LOADER_MAP_LOCK",
    "LoadedZANJ",
    "LoaderHandler",
    "ZANJ_MAIN",
    "ZANJ_META",
    "_ZANJ_pre",
    "get_item_loader",
    "load_item_recursive",
    "register_loader_handler",
]


def __getattr__(name: str) -> Any:
    if name in LAZY_NAMES:
        import importlib

        module, attribute = LAZY_NAMES[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'zanj.loading' has no attribute {name!r}")


@dataclass
class LoaderHandler:
    """zanj 0.6's loader record: `check(json_item, path, z)` says whether it applies,
    `load(json_item, path, z)` builds the object; `uid` is the format tag it reads."""

    check: Callable[[Any, ObjectPath, Any], bool]
    load: Callable[[Any, ObjectPath, Any], Any]
    uid: str
    source_pckg: str
    priority: int = 0
    desc: str = "(no description)"

    def serialize(self) -> JSONdict:
        """zanj 0.6's description of the handler (its functions' source and docstrings)."""
        return {
            "check": _bridge.describe_function(self.check),
            "load": _bridge.describe_function(self.load),
            "uid": str(self.uid),
            "source_pckg": str(self.source_pckg),
            "priority": int(self.priority),
            "desc": str(self.desc),
        }

    @classmethod
    def from_formattedclass(cls, fc: type, priority: int = 0) -> LoaderHandler:
        """A loader for a class with `serialize` and `load` methods and a `__muutils_format__`
        string attribute; `AssertionError` when it lacks one, as in zanj 0.6."""
        for needed in ("serialize", "load"):
            if not callable(getattr(fc, needed, None)):
                raise AssertionError(f"{fc.__name__} needs a callable {needed!r} to be a formatted class")
        tag = getattr(fc, FORMAT_KEY, None)
        if not isinstance(tag, str):
            raise AssertionError(f"{fc.__name__}.{FORMAT_KEY} must be a str, got {type(tag).__name__}")
        loader: Any = fc

        def check(json_item: Any, path: ObjectPath | None = None, z: Any = None) -> bool:
            return bool(_tag_of(json_item) == tag)

        def load(json_item: Any, path: ObjectPath | None = None, z: Any = None) -> Any:
            return loader.load(json_item, path, z)

        return cls(
            check=check,
            load=load,
            uid=tag,
            source_pckg=str(fc.__module__),
            priority=priority,
            desc=f"formatted class loader for {fc.__name__}",
        )

    def core_handler(self) -> CoreLoaderHandler:
        """This handler as zanj-core's loader of the exact tag `uid`."""
        return CoreLoaderHandler(
            tag=self.uid,
            load=lambda node, path, ctx: _load_in_walk(self, node, path, ctx),
            description=f"zanj 0.6 handler from {self.source_pckg}: {self.desc}",
        )


def _tag_of(json_item: Any) -> Any:
    return json_item.get(FORMAT_KEY) if isinstance(json_item, Mapping) else None


def _load_in_walk(handler: LoaderHandler, node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    """Run a 0.6 loader inside zanj-core's walk: its member, if any, is read into `data` first
    (zanj 0.6 did so before any loader ran), and its `load_item_recursive` calls walk on."""
    ref = node.get(REF_KEY)
    if isinstance(ref, str) and "data" not in node and ctx.reader is not None:
        formats = _memory.member_formats_for(ctx.registry, ref)
        if formats:
            node = {**node, "data": ctx.read_member(node, path, formats[0].name)}
    with _bridge.active(_bridge.ACTIVE_LOAD, ctx):
        return handler.load(node, path, ctx.zanj)


def _load_with_core(json_item: Any, path: ObjectPath = (), z: Any = None) -> Any:
    return _walk(json_item, tuple(path or ()), z, allow_not_loading=True)


def _torch_loaderhandler_load(json_item: JSONitem, path: ObjectPath, z: Any = None) -> Any:
    """A tensor from its JSON node (zanj 0.6's torch loader): zanj-torch's loader, through the walk."""
    return _load_with_core(json_item, path, z)


def _core_family(uid: str, desc: str) -> LoaderHandler:
    """zanj 0.6's built-in loaders, whose tags zanj-core's plugins read (`uid` and `uid:*`)."""

    def check(json_item: Any, path: ObjectPath | None = None, z: Any = None) -> bool:
        tag = _tag_of(json_item)
        return isinstance(tag, str) and tag.startswith(uid)

    return LoaderHandler(
        check=check,
        load=_load_with_core,
        uid=uid,
        source_pckg="zanj",
        desc=desc,
    )


_CORE_FAMILIES: tuple[LoaderHandler, ...] = (
    _core_family("numpy.ndarray", "numpy.ndarray loader (zanj-numpy)"),
    _core_family("torch.Tensor", "torch.Tensor loader (zanj-torch)"),
    _core_family("pandas.DataFrame", "pandas.DataFrame loader (zanj-pandas)"),
    _core_family("polars.DataFrame", "polars.DataFrame loader (zanj-polars)"),
    _core_family("list", "list loader, for externals (zanj-core)"),
    _core_family("tuple", "tuple loader, for externals (zanj-core)"),
)

LOADER_MAP_LOCK = threading.Lock()
"""Held while the loader registry changes, as in zanj 0.6."""
LOADER_MAP: dict[str, LoaderHandler] = {handler.uid: handler for handler in _CORE_FAMILIES}
"""Every 0.6 loader by uid: zanj 0.6's built-in ones, muutils' dataclass loaders, yours."""
_IN_CORE: dict[str, CoreLoaderHandler] = {}
"""The zanj-core records registered for the handlers of `LOADER_MAP`, by uid."""


def _read_by_core(handler: Any) -> bool:
    """Whether zanj-core's walk reads what `handler` claims (its built-in and dataclass tags)."""
    uid = getattr(handler, "uid", None)
    return any(handler is family for family in _CORE_FAMILIES) or (
        isinstance(uid, str) and uid.endswith(DATACLASS_SUFFIX)
    )


def register_loader_handler(handler: LoaderHandler | CoreLoaderHandler) -> None:
    """Register a loader: a 0.6 `LoaderHandler` (replacing one of the same uid, as in zanj 0.6)
    or a zanj-core `LoaderHandler`, handed to zanj-core as it is."""
    if isinstance(handler, CoreLoaderHandler):
        register_core_loader(handler)
        return
    if not isinstance(handler, LoaderHandler):
        raise TypeError(
            f"expected a zanj.loading.LoaderHandler or zanj_core LoaderHandler, got {type(handler).__name__}"
        )
    with LOADER_MAP_LOCK:
        LOADER_MAP[handler.uid] = handler
        previous = _IN_CORE.pop(handler.uid, None)
        if previous is not None:
            REGISTRY.unregister(previous)
        if not _read_by_core(handler):
            record = handler.core_handler()
            _IN_CORE[handler.uid] = record
            register_core_loader(record)


def get_item_loader(
    json_item: JSONitem,
    path: ObjectPath,
    zanj: Any = None,
    error_mode: Any = ErrorMode.WARN,
) -> LoaderHandler | None:
    """The 0.6 loader for `json_item`: the one registered for its tag, else the first whose
    `check` accepts it, else None."""
    if isinstance(json_item, Mapping) and FORMAT_KEY in json_item:
        tag = json_item[FORMAT_KEY]
        if not isinstance(tag, str):
            raise TypeError(f"invalid __muutils_format__ type '{type(tag)}' in '{path=}': '{tag!r}'")
        if tag in LOADER_MAP:
            return LOADER_MAP[tag]
    for handler in list(LOADER_MAP.values()):
        if handler.check(json_item, path, zanj):
            return handler
    return None


def load_item_recursive(
    json_item: JSONitem,
    path: ObjectPath,
    zanj: Any = None,
    error_mode: Any = ErrorMode.WARN,
    allow_not_loading: bool = True,
) -> Any:
    """Load JSON (as `serialize()` returns it, or a node inside a file being read).

    Inside a read, the node goes through that read's walk. Otherwise a 0.6 handler of yours
    that claims it loads it, and zanj-core's walk loads the rest: tagged nodes by their
    loaders, a tag nothing reads as a dict (its items loaded). A node referring to a member
    loads from the content under its "data" (`LoadedZANJ.populate_externals()` puts it there),
    or, without it, comes back as a dict. A value that is not JSON is returned as it is, or
    raises `ValueError` with `allow_not_loading=False`."""
    active = _bridge.ACTIVE_LOAD.get()
    if active is not None:
        return active.load(json_item, tuple(path or ()))
    handler = get_item_loader(json_item, path, zanj, error_mode)
    if handler is not None and not _read_by_core(handler):
        return handler.load(json_item, path, zanj)
    return _walk(json_item, tuple(path or ()), zanj, allow_not_loading)


def _core_zanj(zanj: Any) -> CoreZANJ:
    if isinstance(zanj, CoreZANJ):
        return zanj
    from zanj.zanj import ZANJ

    return ZANJ()


def _is_06_loader(loader: CoreLoaderHandler) -> bool:
    """Whether zanj-core's `loader` is one registered here for a 0.6 `LoaderHandler`."""
    return any(loader is record for record in _IN_CORE.values())


def _walk(json_item: Any, path: ObjectPath, zanj: Any, allow_not_loading: bool) -> Any:
    return _memory.walk(json_item, path, _core_zanj(zanj), allow_not_loading, _is_06_loader)


# -- reading an archive's parts, as zanj 0.6's LoadedZANJ did --------------------------------------


def _populate_externals_error_checking(key: Any, item: Any) -> bool:
    """Check that `key` indexes `item` on the way to an external; True when `item` is an
    external node whose loaded content under "data" must be stepped into first."""
    if isinstance(item, Mapping) and isinstance(item.get(FORMAT_KEY), str) and item[FORMAT_KEY].endswith(":external"):
        if "data" in item:
            return True
        raise KeyError(f"expected an external item, but could not find data: {list(item.keys())}", item[FORMAT_KEY])
    if isinstance(item, Sequence) and not isinstance(item, str):
        if not isinstance(key, int):
            raise TypeError(f"improper type: '{type(key)}', expected int")
        if key >= len(item):
            raise IndexError(f"index out of range: '{key}', expected < {len(item)}")
    elif isinstance(item, Mapping):
        if not isinstance(key, str):
            raise TypeError(f"improper type: '{type(key)}', expected str")
        if key not in item:
            raise KeyError(f"key not in dict: '{key}', expected in {list(item.keys())}")
    else:
        raise TypeError(f"improper type: '{type(item)}', expected dict or list")
    return False


def _each_item_in_externals(
    externals: dict[str, ExternalItem], json_data: JSONitem
) -> Iterator[tuple[str, ExternalItem, Any, ObjectPath]]:
    """Each external with the node that refers to it, shallowest first:
    `(member name, external, node, object path)`."""
    for name, external in sorted(externals.items(), key=lambda pair: len(pair[1].path)):
        item: Any = json_data
        for index, key in enumerate(external.path):
            try:
                if _populate_externals_error_checking(key, item):
                    item = item["data"]
                item = item[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise KeyError(f"could not find {key!r} of external {name!r} at depth {index}") from exc
        yield name, external, item, tuple(external.path)


class LoadedZANJ:
    """An archive's parts as zanj 0.6 exposed them: `_meta`, `_json_data` (the tree before
    loading) and `_externals` (each member's raw content), read through zanj-core. After
    `populate_externals()`, `load_item_recursive(lz._json_data, (), z)` loads the object."""

    def __init__(self, path: str | Path, zanj: Any) -> None:
        self._path: str = str(path)
        self._zanj: Any = zanj
        self._externals: dict[str, ExternalItem] = {}
        with _core_zanj(zanj).open(self._path) as opened:
            self._meta: JSONdict = opened.meta
            self._json_data: JSONitem = opened.root
            ctx = opened.context()
            infos = self._meta.get("externals_info")
            info: Any
            for name, info in (infos if isinstance(infos, dict) else {}).items():
                where = tuple(info.get("path", ()))
                item_type = info.get("item_type")
                data = ctx.read_member({REF_KEY: name}, where, item_type)
                if isinstance(data, ZanjUnloaded):
                    continue  # a member format no installed plugin reads (warned about)
                self._externals[name] = ExternalItem(item_type=item_type, data=data, path=where)

    def populate_externals(self) -> None:
        """Put each external's content into its node, under "data", as zanj 0.6 did."""
        for name, external, item, _ in _each_item_in_externals(self._externals, self._json_data):
            if not (isinstance(item, dict) and item.get(REF_KEY) == name):
                raise KeyError(f"the node at {list(external.path)} does not refer to {name!r}")
            item["data"] = external.data
