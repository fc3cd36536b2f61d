"""Plugin discovery and handler dispatch.

Discovery runs once, on first use (not at import), through the `zanj` entry-point group;
the core's own handlers arrive through the same group. Results are cached; `refresh()`
rediscovers. A plugin that fails to import, breaks the hook contract, or returns junk yields
a `ZanjBrokenPluginWarning` naming it, and everything else keeps working.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Union

import pluggy

from zanj_core._contract import hookspecs
from zanj_core._contract.records import LoaderHandler, MemberFormat, PluginSource, SerializerHandler
from zanj_core.errors import ZanjBrokenPluginWarning, ZanjPluginError

AnyHandler = Union[SerializerHandler, LoaderHandler, MemberFormat]

CORE_DISTRIBUTION = "zanj-core"
# the core's own plugins, as declared in its pyproject; used only when its metadata is absent
# (running from a source tree that was never installed)
CORE_PLUGIN_MODULES: dict[str, str] = {
    "builtins": "zanj_core._plugins.python_types",
    "externals": "zanj_core._plugins.externals",
    "dataclasses": "zanj_core._plugins.serializable_dataclass",
}

_HOOKS: dict[str, type] = {
    "zanj_serializer_handlers": SerializerHandler,
    "zanj_loader_handlers": LoaderHandler,
    "zanj_member_formats": MemberFormat,
}

RUNTIME_SOURCE = PluginSource(distribution="<runtime>", version="", plugin="<runtime>")


TAG_CACHE_MAX = 4096
"""Most format tags whose loader lookup is remembered (files repeat a few tags many times)."""
TAG_CACHE_MAX_CHARS = 256


@dataclass
class PluginInfo:
    """What `zanj plugins` shows: one discovered entry point and what it brought."""

    name: str
    value: str
    source: PluginSource
    serializer_tags: list[str] = field(default_factory=list)
    loader_tags: list[str] = field(default_factory=list)
    member_formats: list[str] = field(default_factory=list)
    read_options: list[str] = field(default_factory=list)
    error: str | None = None


def _core_version() -> str:
    from zanj_core._version import __version__

    return __version__


class PluginRegistry:
    """All handlers known to this process: discovered plugins plus run-time registrations."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._discovered = False
        self.plugins: list[PluginInfo] = []
        self._plugin_handlers: list[AnyHandler] = []
        self._runtime_handlers: list[AnyHandler] = []
        self._serializers: list[SerializerHandler] = []
        self._loaders_exact: dict[str, LoaderHandler] = {}
        self._loaders_prefix: list[LoaderHandler] = []
        self._loaders_suffix: list[LoaderHandler] = []
        self._formats: dict[str, MemberFormat] = {}
        self._type_cache: dict[type, tuple[SerializerHandler, ...]] = {}
        self._tag_cache: dict[str, LoaderHandler | None] = {}

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
        import importlib.metadata  # deferred: it costs more to import than the rest of the core

        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        self.plugins = []
        infos: dict[str, PluginInfo] = {}

        candidates: list[tuple[str, str, PluginSource, Any]] = []
        seen_core = False
        for ep in importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else "<unknown>"
            version = dist.version if dist is not None else ""
            if dist_name.replace("_", "-").lower() == CORE_DISTRIBUTION:
                seen_core = True
                dist_name = CORE_DISTRIBUTION
            candidates.append((ep.name, ep.value, PluginSource(dist_name, version, ep.name), ep.load))
        if not seen_core:
            core = PluginSource(CORE_DISTRIBUTION, _core_version(), "")
            for name, module in CORE_PLUGIN_MODULES.items():
                src = PluginSource(core.distribution, core.version, name)
                candidates.insert(0, (name, module, src, lambda m=module: importlib.import_module(m)))
        # core first, then others in a stable order, so precedence does not depend on sys.path order
        candidates.sort(key=lambda c: (c[2].distribution != CORE_DISTRIBUTION, c[2].distribution, c[0]))

        for ep_name, value, source, load in candidates:
            key = f"{source.distribution}:{ep_name}"
            info = PluginInfo(name=ep_name, value=value, source=source)
            self.plugins.append(info)
            try:
                obj = load()
                if pm.is_registered(obj):
                    info.error = "already registered under another entry point"
                    continue
                pm.register(obj, name=key)
                try:
                    pm.check_pending()
                except pluggy.PluginValidationError:
                    pm.unregister(name=key)
                    raise
                infos[key] = info
            except Exception as exc:
                info.error = f"{type(exc).__name__}: {exc}"
                self._warn_broken(info, "failed to load")

        handlers: list[AnyHandler] = []
        for hook_name, record_type in _HOOKS.items():
            caller = getattr(pm.hook, hook_name)
            # pluggy returns implementations last-registered-first; restore discovery order
            for impl in reversed(caller.get_hookimpls()):
                info = infos[impl.plugin_name]
                try:
                    records = list(impl.function())
                    for record in records:
                        if not isinstance(record, record_type):
                            raise ZanjPluginError(
                                f"{hook_name} returned {type(record).__name__}, expected {record_type.__name__}"
                            )
                except Exception as exc:
                    info.error = f"{hook_name}: {type(exc).__name__}: {exc}"
                    self._warn_broken(info, f"failed in {hook_name}")
                    continue
                for record in records:
                    stamped = record.with_source(info.source)
                    handlers.append(stamped)
                    if isinstance(stamped, SerializerHandler):
                        info.serializer_tags.append(stamped.tag)
                    elif isinstance(stamped, LoaderHandler):
                        info.loader_tags.append(stamped.tag)
                        info.read_options.extend(o for o in stamped.options if o not in info.read_options)
                    else:
                        info.member_formats.append(stamped.name)

        self._plugin_handlers = handlers
        self._rebuild()
        self._discovered = True

    @staticmethod
    def _warn_broken(info: PluginInfo, what: str) -> None:
        warnings.warn(
            f"zanj plugin {info.name!r} ({info.value}) from {info.source.distribution} "
            f"{info.source.version} {what} and is skipped: {info.error}. "
            f"Reinstall or upgrade {info.source.distribution}, or uninstall it; "
            "`zanj plugins` lists every plugin and its status.",
            ZanjBrokenPluginWarning,
            stacklevel=4,
        )

    # -- run-time registration -----------------------------------------------------------

    def register(self, handler: AnyHandler) -> None:
        """Register a handler for this process; it takes precedence over plugins."""
        if not isinstance(handler, (SerializerHandler, LoaderHandler, MemberFormat)):
            raise ZanjPluginError(
                f"cannot register {type(handler).__name__}: expected SerializerHandler, "
                "LoaderHandler or MemberFormat from zanj_core"
            )
        if handler.source.distribution == "<runtime>":
            handler = handler.with_source(RUNTIME_SOURCE)
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
        serializers: list[SerializerHandler] = []
        exact: dict[str, LoaderHandler] = {}
        prefix: list[LoaderHandler] = []
        suffix: list[LoaderHandler] = []
        formats: dict[str, MemberFormat] = {}
        # run-time handlers win: processed first for first-wins tables
        for handler in [*reversed(self._runtime_handlers), *self._plugin_handlers]:
            if isinstance(handler, SerializerHandler):
                serializers.append(handler)
            elif isinstance(handler, MemberFormat):
                formats.setdefault(handler.name, handler)
            elif handler.match == "exact":
                kept = exact.setdefault(handler.tag, handler)
                if kept is not handler and kept.source != RUNTIME_SOURCE:
                    warnings.warn(
                        f"two zanj plugins load the tag {handler.tag!r}: "
                        f"{kept.source.distribution} (kept) and {handler.source.distribution} (ignored)",
                        ZanjBrokenPluginWarning,
                        stacklevel=3,
                    )
            elif handler.match == "prefix":
                prefix.append(handler)
            else:
                suffix.append(handler)
        # longest pattern first; stable sort keeps precedence among equal lengths
        prefix.sort(key=lambda h: -len(h.tag))
        suffix.sort(key=lambda h: -len(h.tag))
        self._serializers = serializers
        self._loaders_exact, self._loaders_prefix, self._loaders_suffix = exact, prefix, suffix
        self._formats = formats
        self._type_cache.clear()
        self._tag_cache.clear()

    # -- dispatch ------------------------------------------------------------------------

    def serializers_for(self, cls: type) -> tuple[SerializerHandler, ...]:
        """Candidate handlers for objects of `cls`, in the order they should be tried."""
        try:
            return self._type_cache[cls]
        except KeyError:
            pass
        self.ensure_discovered()
        mro = cls.__mro__
        names = {f"{k.__module__}.{k.__qualname__}": i for i, k in enumerate(mro)}
        ranked: list[tuple[int, int, int, SerializerHandler]] = []
        for order, handler in enumerate(self._serializers):
            if not handler.types:
                ranked.append((-handler.priority, len(mro), order, handler))
                continue
            distances = [d for d in (_type_distance(spec, cls, mro, names) for spec in handler.types) if d is not None]
            if distances:
                ranked.append((-handler.priority, min(distances), order, handler))
        ranked.sort(key=lambda r: r[:3])
        result = tuple(r[3] for r in ranked)
        self._type_cache[cls] = result
        return result

    def loader_for(self, tag: str) -> LoaderHandler | None:
        """The loader for a format tag: exact match, else longest prefix, else longest suffix."""
        try:
            return self._tag_cache[tag]
        except KeyError:
            pass
        self.ensure_discovered()
        found = self._loaders_exact.get(tag)
        if found is None:
            found = next((h for h in self._loaders_prefix if tag.startswith(h.tag)), None)
        if found is None:
            found = next((h for h in self._loaders_suffix if tag.endswith(h.tag)), None)
        if len(self._tag_cache) < TAG_CACHE_MAX and len(tag) <= TAG_CACHE_MAX_CHARS:
            # bounded: tags come from files, and a process reading many hostile files must
            # not keep every string they held
            self._tag_cache[tag] = found
        return found

    def read_options(self) -> dict[str, list[str]]:
        """Every read option a loader declares -> the distributions that declare it."""
        self.ensure_discovered()
        result: dict[str, list[str]] = {}
        for handler in [*self._runtime_handlers, *self._plugin_handlers]:
            if isinstance(handler, LoaderHandler):
                for option in handler.options:
                    result.setdefault(option, [])
                    if handler.source.distribution not in result[option]:
                        result[option].append(handler.source.distribution)
        return result

    def member_format(self, name: str) -> MemberFormat | None:
        self.ensure_discovered()
        return self._formats.get(name)

    def member_formats(self) -> dict[str, MemberFormat]:
        self.ensure_discovered()
        return dict(self._formats)


def _type_distance(spec: type | str, cls: type, mro: tuple[type, ...], names: dict[str, int]) -> int | None:
    """How far up `cls`'s MRO the handler type `spec` sits; None when it does not apply.

    Dotted names are compared without importing anything; abstract base classes that match
    only through `issubclass` rank after every real base class.
    """
    if isinstance(spec, str):
        return names.get(spec)
    if spec in mro:
        return mro.index(spec)
    try:
        return len(mro) if issubclass(cls, spec) else None
    except TypeError:
        return None


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
