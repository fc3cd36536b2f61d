"""Handler dispatch: which serializers an object's class gets, which loader reads a tag.

`PluginRegistry` holds the handlers of the discovered plugins (`discovery`, run once on first
use, not at import; `refresh()` runs it again) and those registered at run time, which come
first. `RegistryOverlay` lays one `ZANJ`'s own handlers over a registry: its `handlers_pre`
come before every installed handler and its `handlers_fallback` after all of them (for objects
and tags nothing installed takes); the rest is the registry's, refreshes included. All
dispatch through `HandlerTable`, the one ranking of the core:

- serializers: by descending `priority`, then by how close the handler's type sits on the
  object's MRO, then in table order (so earlier handlers win ties);
- loaders: the exact tag, else the longest matching prefix, else the longest matching suffix;
  for an exact tag claimed twice, the earlier handler keeps it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Sequence

from zanj_core._contract.records import LoaderHandler, MemberFormat, SerializerHandler
from zanj_core._walk.class_cache import ClassCache
from zanj_core._walk.conflicts import check_conflicts
from zanj_core._walk.discovery import AnyHandler, PluginInfo, discover
from zanj_core._walk.typenames import class_names, type_distance
from zanj_core.errors import ZanjBrokenPluginWarning, ZanjPluginError

__all__ = [
    "REGISTRY",
    "AnyHandler",
    "HandlerTable",
    "PluginInfo",
    "PluginRegistry",
    "RegistryOverlay",
    "register_loader_handler",
    "register_member_format",
    "register_serializer_handler",
]


TAG_CACHE_MAX = 4096
"""Most format tags whose loader lookup is remembered (files repeat a few tags many times)."""
TAG_CACHE_MAX_CHARS = 256

_NOT_CACHED = object()
_typos_reported: set[tuple[str, str, str]] = set()


class HandlerTable:
    """Dispatch over handlers given in precedence order, with per-class and per-tag caches."""

    def __init__(self, handlers: Iterable[AnyHandler]) -> None:
        self.serializers: list[SerializerHandler] = []
        self.exact: dict[str, LoaderHandler] = {}
        self.prefix: list[LoaderHandler] = []
        self.suffix: list[LoaderHandler] = []
        self.formats: dict[str, MemberFormat] = {}
        self.options: dict[str, list[str]] = {}
        """Each read option a loader declares -> the distributions that declare it."""
        for handler in handlers:
            if isinstance(handler, SerializerHandler):
                self.serializers.append(handler)
            elif isinstance(handler, MemberFormat):
                self.formats.setdefault(handler.name, handler)
            elif isinstance(handler, LoaderHandler):
                self._add_loader(handler)
            # the command-line records (CommandHandler, LocationLister) are the tools' concern
        # longest pattern first; a stable sort keeps precedence among equal lengths
        self.prefix.sort(key=lambda h: -len(h.tag))
        self.suffix.sort(key=lambda h: -len(h.tag))
        self.by_type = ClassCache()
        self.by_tag: dict[str, LoaderHandler | None] = {}

    def _add_loader(self, handler: LoaderHandler) -> None:
        if handler.match == "exact":
            self.exact.setdefault(handler.tag, handler)
        else:
            (self.prefix if handler.match == "prefix" else self.suffix).append(handler)
        for option in handler.options:
            declared = self.options.setdefault(option, [])
            if handler.source.distribution not in declared:
                declared.append(handler.source.distribution)

    def rank(self, cls: type) -> tuple[SerializerHandler, ...]:
        """Candidate handlers for objects of `cls`, in the order they should be tried (cached)."""
        mro = cls.__mro__
        names = class_names(mro)
        ranked: list[tuple[int, int, int, SerializerHandler]] = []
        for order, handler in enumerate(self.serializers):
            if not handler.types:
                ranked.append((-handler.priority, len(mro), order, handler))
                continue

            def typo(spec: str, module: str, handler: SerializerHandler = handler) -> None:
                _report_typo(handler, spec, module)

            distances = [d for d in (type_distance(s, cls, mro, names, typo) for s in handler.types) if d is not None]
            if distances:
                ranked.append((-handler.priority, min(distances), order, handler))
        ranked.sort(key=lambda r: r[:3])
        result = tuple(r[3] for r in ranked)
        self.by_type.put(cls, result)
        return result

    def find(self, tag: str) -> LoaderHandler | None:
        """The loader for a format tag: exact match, else longest prefix, else longest suffix (cached)."""
        found = self.exact.get(tag)
        if found is None:
            found = next((h for h in self.prefix if tag.startswith(h.tag)), None)
        if found is None:
            found = next((h for h in self.suffix if tag.endswith(h.tag)), None)
        if len(self.by_tag) < TAG_CACHE_MAX and len(tag) <= TAG_CACHE_MAX_CHARS:
            # bounded: tags come from files, and a process reading many hostile files must
            # not keep every string they held
            self.by_tag[tag] = found
        return found


def _report_typo(handler: SerializerHandler, spec: str, module: str) -> None:
    """Warn once that a handler names a class its (imported) module does not have."""
    key = (handler.source.distribution, handler.tag or handler.description, spec)
    if key in _typos_reported:
        return
    _typos_reported.add(key)
    attribute = spec[len(module) + 1 :]
    warnings.warn(
        f"the zanj serializer handler {handler.tag or handler.description!r} from {handler.source.distribution} "
        f"{handler.source.version} names the type {spec!r}, but the module {module!r} has no {attribute!r}, so "
        "the handler never matches it. Fix the name in its `types`: a class's `__module__` + '.' + "
        "`__qualname__`, or a public alias such as 'torch.nn.Parameter'.",
        ZanjBrokenPluginWarning,
        stacklevel=6,
    )


class PluginRegistry:
    """All handlers known to this process: discovered plugins plus run-time registrations."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._discovered = False
        self._plugins: list[PluginInfo] = []
        self._plugin_handlers: list[AnyHandler] = []
        self._runtime_handlers: list[AnyHandler] = []
        self._table = HandlerTable(())
        self.generation = 0
        """Counts rebuilds of the tables, so views built on them know when to forget."""

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every discovered entry point, in discovery order, with what it brought or why it failed."""
        return self._plugins

    # -- discovery -----------------------------------------------------------------------

    def ensure_discovered(self) -> None:
        if not self._discovered:
            with self._lock:
                if not self._discovered:
                    self._discover()

    def refresh(self) -> None:
        """Forget discovered plugins and find them again (e.g. after `pip install` at run time)."""
        with self._lock:
            self._discovered = False
            self._discover()

    def _discover(self) -> None:
        plugins, handlers = discover()
        self._plugins, self._plugin_handlers = plugins, handlers
        self._rebuild()
        self._discovered = True
        check_conflicts(handlers)

    # -- run-time registration -----------------------------------------------------------

    def register(self, handler: AnyHandler) -> None:
        """Register a handler for this process; it takes precedence over plugins."""
        if not isinstance(handler, (SerializerHandler, LoaderHandler, MemberFormat)):
            raise ZanjPluginError(
                f"cannot register {type(handler).__name__}: expected SerializerHandler, "
                "LoaderHandler or MemberFormat from zanj_core"
            )
        with self._lock:
            self._runtime_handlers.append(handler)
            if self._discovered:
                self._rebuild()

    def unregister(self, handler: AnyHandler) -> None:
        """Remove a run-time registration (matched by identity of its functions and tag)."""
        with self._lock:
            self._runtime_handlers = [h for h in self._runtime_handlers if h.with_source(handler.source) != handler]
            if self._discovered:
                self._rebuild()

    def _rebuild(self) -> None:
        # the latest run-time registration first, then the plugins in discovery order
        self._table = HandlerTable([*reversed(self._runtime_handlers), *self._plugin_handlers])
        self.generation += 1

    # -- dispatch ------------------------------------------------------------------------

    def serializers_for(self, cls: type) -> tuple[SerializerHandler, ...]:
        """Candidate handlers for objects of `cls`, in the order they should be tried."""
        entry = self._table.by_type.get(id(cls))  # `ClassCache.find`, inlined: once per object saved
        if entry is not None and entry[0]() is cls:
            return entry[1]
        self.ensure_discovered()
        return self._table.rank(cls)

    def loader_for(self, tag: str) -> LoaderHandler | None:
        """The loader for a format tag: exact match, else longest prefix, else longest suffix."""
        found = self._table.by_tag.get(tag, _NOT_CACHED)
        if found is _NOT_CACHED:
            self.ensure_discovered()
            return self._table.find(tag)
        return found  # type: ignore[return-value]

    def read_options(self) -> dict[str, list[str]]:
        """Every read option a loader declares -> the distributions that declare it."""
        self.ensure_discovered()
        return {option: list(dists) for option, dists in self._table.options.items()}

    def member_format(self, name: str) -> MemberFormat | None:
        self.ensure_discovered()
        return self._table.formats.get(name)

    def member_formats(self) -> dict[str, MemberFormat]:
        self.ensure_discovered()
        return dict(self._table.formats)

    def plugin_records(self) -> tuple[AnyHandler, ...]:
        """Every record the discovered plugins provided (not run-time registrations), in
        discovery order: what installed plugins declare (e.g. their `install_hint`s)."""
        self.ensure_discovered()
        return tuple(self._plugin_handlers)

    def overlay(
        self,
        handlers: Sequence[AnyHandler],
        label: str = "handlers_pre",
        fallback: Sequence[AnyHandler] = (),
    ) -> RegistryOverlay:
        """A view of this registry with `handlers` before every handler it holds and
        `fallback` after all of them."""
        return RegistryOverlay(self, handlers, label, fallback)


def _checked(handlers: Sequence[AnyHandler], label: str) -> tuple[AnyHandler, ...]:
    for handler in handlers:
        if not isinstance(handler, (SerializerHandler, LoaderHandler, MemberFormat)):
            raise ZanjPluginError(
                f"{label} takes zanj_core SerializerHandler, LoaderHandler or MemberFormat objects, "
                f"got {type(handler).__module__}.{type(handler).__qualname__}"
            )
    return tuple(handlers)


FALLBACK_LABEL = "handlers_fallback"


class RegistryOverlay(PluginRegistry):
    """A registry's view with some handlers laid over it (one `ZANJ`'s `handlers_pre`) and
    some under it (its `handlers_fallback`).

    Each layer's handlers are ranked among themselves by `HandlerTable`, as the registry's
    are. `handlers` come before every handler of the registry: their serializers are tried
    first and their loaders and member formats win their tags and names (pattern loaders
    included). `fallback` comes after every handler of the registry: its serializers are tried
    only when no other accepts the object, its loaders read only tags nothing else reads, its
    member formats only names nothing else provides. The rest, discovery, plugins and run-time
    registrations, is the registry's own and is seen live: a `refresh()` or a registration
    shows through at once. Registering through the view registers in the registry. An overlay
    of an overlay puts its own layers before the inner one's, in both places.
    """

    def __init__(
        self,
        base: PluginRegistry,
        handlers: Sequence[AnyHandler],
        label: str = "handlers_pre",
        fallback: Sequence[AnyHandler] = (),
    ) -> None:
        super().__init__()
        own, last = _checked(handlers, label), _checked(fallback, FALLBACK_LABEL)
        self.base: PluginRegistry = base.base if isinstance(base, RegistryOverlay) else base
        inner = base if isinstance(base, RegistryOverlay) else None
        self.handlers: tuple[AnyHandler, ...] = (*own, *inner.handlers) if inner else own
        self.fallback: tuple[AnyHandler, ...] = (*last, *inner.fallback) if inner else last
        self.label = label
        self._own = HandlerTable(self.handlers)
        self._last = HandlerTable(self.fallback)
        self._combined = ClassCache()
        self._seen_generation = -1

    @property
    def plugins(self) -> list[PluginInfo]:
        return self.base.plugins

    def ensure_discovered(self) -> None:
        self.base.ensure_discovered()

    def refresh(self) -> None:
        self.base.refresh()

    def register(self, handler: AnyHandler) -> None:
        self.base.register(handler)

    def unregister(self, handler: AnyHandler) -> None:
        self.base.unregister(handler)

    def serializers_for(self, cls: type) -> tuple[SerializerHandler, ...]:
        if self._seen_generation != self.base.generation:
            self._combined, self._seen_generation = ClassCache(), self.base.generation
        found = self._combined.find(cls)
        if found is None:
            found = _ranked(self._own, cls) + self.base.serializers_for(cls) + _ranked(self._last, cls)
            self._combined.put(cls, found)
        return found

    def loader_for(self, tag: str) -> LoaderHandler | None:
        found = _found(self._own, tag)
        if found is None:
            found = self.base.loader_for(tag)
        return found if found is not None else _found(self._last, tag)

    def read_options(self) -> dict[str, list[str]]:
        known = self.base.read_options()
        for table, label in ((self._own, self.label), (self._last, FALLBACK_LABEL)):
            for option in table.options:
                known.setdefault(option, []).append(label)
        return known

    def member_format(self, name: str) -> MemberFormat | None:
        return self._own.formats.get(name) or self.base.member_format(name) or self._last.formats.get(name)

    def member_formats(self) -> dict[str, MemberFormat]:
        return {**self._last.formats, **self.base.member_formats(), **self._own.formats}

    def plugin_records(self) -> tuple[AnyHandler, ...]:
        return self.base.plugin_records()


def _ranked(table: HandlerTable, cls: type) -> tuple[SerializerHandler, ...]:
    if not table.serializers:
        return ()
    found = table.by_type.find(cls)
    return found if found is not None else table.rank(cls)


def _found(table: HandlerTable, tag: str) -> LoaderHandler | None:
    """`table`'s loader for `tag` (cached), without a lookup when it has no loaders."""
    if not (table.exact or table.prefix or table.suffix):
        return None
    found = table.by_tag.get(tag, _NOT_CACHED)
    return table.find(tag) if found is _NOT_CACHED else found  # type: ignore[return-value]


REGISTRY = PluginRegistry()
"""The process-wide registry every `ZANJ` instance dispatches through."""


def register_serializer_handler(handler: SerializerHandler) -> None:
    """Register a serializer handler for this process, ahead of plugins of equal priority."""
    if not isinstance(handler, SerializerHandler):
        raise ZanjPluginError(f"expected a SerializerHandler, got {type(handler).__name__}")
    REGISTRY.register(handler)


def register_loader_handler(handler: LoaderHandler) -> None:
    """Register a loader handler for this process; it overrides a plugin's loader for its tag."""
    if not isinstance(handler, LoaderHandler):
        raise ZanjPluginError(f"expected a LoaderHandler, got {type(handler).__name__}")
    REGISTRY.register(handler)


def register_member_format(member_format: MemberFormat) -> None:
    """Register a member format for this process; it overrides a plugin's format of that name."""
    if not isinstance(member_format, MemberFormat):
        raise ZanjPluginError(f"expected a MemberFormat, got {type(member_format).__name__}")
    REGISTRY.register(member_format)
