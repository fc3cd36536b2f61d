"""Finding plugins: the `zanj` entry points, loaded, checked and asked for their handlers.

Discovery order is the precedence order, and it is fixed by names alone, never by the order
`importlib.metadata` or pluggy return things: the core's own plugins first, then the other
distributions by normalized name, then each distribution's entry points by name. Each plugin
is checked on its own (plugin API version, hook markers, hook results); a plugin that fails a
check is named in a `ZanjBrokenPluginWarning` that says how to fix it, and the others keep
working. Clashes between plugins are `zanj_core._walk.conflicts`' concern. The entry points
come from `zanj_core._walk.entry_point_cache` (importlib.metadata's answer, kept per user while
the installed distributions do not change); pluggy loads with the first discovery.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from zanj_core._contract.records import (
    LoaderHandler,
    MemberFormat,
    PluginSource,
    SerializerHandler,
    canonical_name,
)
from zanj_core._version import __version__ as CORE_VERSION
from zanj_core._walk.entry_point_cache import find_entry_points, load_entry_point
from zanj_core.errors import ZanjBrokenPluginWarning

if TYPE_CHECKING:  # pluggy, the hook specifications and the command-line records load with the first discovery
    import pluggy

    from zanj_core._contract.commands import CommandHandler, LocationLister

AnyHandler = Union[SerializerHandler, LoaderHandler, MemberFormat, "CommandHandler", "LocationLister"]
"""Any record a hook returns: the dispatch handlers, and the command-line records (API 1.1)."""

CORE_DISTRIBUTION = "zanj-core"
# the core's own plugins, as declared in its pyproject; used only when its metadata is absent
# (running from a source tree that was never installed)
CORE_PLUGIN_MODULES: dict[str, str] = {
    "builtins": "zanj_core._plugins.python_types",
    "externals": "zanj_core._plugins.externals",
    "dataclasses": "zanj_core._plugins.serializable_dataclass",
}

HOOKS = (
    "zanj_serializer_handlers",
    "zanj_loader_handlers",
    "zanj_member_formats",
    "zanj_commands",
    "zanj_location_listers",
)
"""Every hook, in the order it is asked (`record_types` gives the records each returns)."""

API_DECLARATION = "ZANJ_PLUGIN_API"
"""The attribute of a plugin's entry-point object that names the plugin API it was written for."""
_API_TEXT = r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})"  # compiled on first use, by discovery


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
    commands: list[str] = field(default_factory=list)
    location_listers: list[str] = field(default_factory=list)
    error: str | None = None
    """Why the plugin was skipped; None when it is used."""
    problems: list[str] = field(default_factory=list)
    """Mistakes in a plugin that is used all the same (a hook function without `@hookimpl`)."""
    api_version: str | None = None
    """The plugin API the plugin declares (`ZANJ_PLUGIN_API`); None when it declares none."""

    def drop_records(self) -> None:
        """Forget what the plugin's hooks returned: it is skipped, so it provides nothing."""
        for listed in (
            self.serializer_tags,
            self.loader_tags,
            self.member_formats,
            self.read_options,
            self.commands,
            self.location_listers,
        ):
            listed.clear()


class _Candidate:
    """One entry point found, not yet loaded."""

    __slots__ = ("load", "name", "source", "value")

    def __init__(self, name: str, value: str, source: PluginSource, load: Callable[[], Any]) -> None:
        self.name, self.value, self.source, self.load = name, value, source, load

    @property
    def order(self) -> tuple[bool, str, str]:
        """Discovery (and so precedence) order: the core first, then by distribution, entry point."""
        dist = self.source.distribution
        return (dist != CORE_DISTRIBUTION, canonical_name(dist), self.name)


def record_types() -> dict[str, type]:
    """Each hook and the record type its results must have. The command-line records are
    imported here, with the first discovery: reading a file of plain JSON values needs none."""
    from zanj_core._contract.commands import CommandHandler, LocationLister

    return dict(
        zip(HOOKS, (SerializerHandler, LoaderHandler, MemberFormat, CommandHandler, LocationLister), strict=True)
    )


def discover() -> tuple[list[PluginInfo], list[AnyHandler]]:
    """Every plugin of the `zanj` group, in discovery order, and the handlers they provide
    (stamped with their source, in the same order)."""
    from zanj_core._contract import hookspecs

    manager = _plugin_manager()
    plugins: list[PluginInfo] = []
    loaded: list[tuple[PluginInfo, str]] = []
    for candidate in sorted(_candidates(hookspecs.ENTRY_POINT_GROUP), key=lambda c: c.order):
        info = PluginInfo(name=candidate.name, value=candidate.value, source=candidate.source)
        plugins.append(info)
        key = f"{candidate.source.distribution}:{candidate.name}"
        if _register(manager, candidate, info, key):
            loaded.append((info, key))
    # pluggy's own call order is an implementation detail: look each plugin's hooks up by name
    impls = {
        hook: {impl.plugin_name: impl.function for impl in getattr(manager.hook, hook).get_hookimpls()}
        for hook in HOOKS
    }
    handlers: list[AnyHandler] = []
    for info, key in loaded:
        provided: list[AnyHandler] = []
        for hook, record_type in record_types().items():
            function = impls[hook].get(key)
            if function is not None:
                provided.extend(_ask(info, hook, record_type, function))
        if info.error is None:
            handlers.extend(provided)
        else:  # one failed hook skips the whole plugin, as its warning says: the rest may rely on it
            info.drop_records()
    return plugins, handlers


def _plugin_manager() -> pluggy.PluginManager:
    """A pluggy manager with zanj's hooks that inspects each plugin attribute once: the check
    for plugin mistakes (`_hook_functions`) and pluggy's registration ask the same question."""
    import pluggy

    from zanj_core._contract import hookspecs

    class Manager(pluggy.PluginManager):
        def __init__(self) -> None:
            super().__init__(hookspecs.PROJECT_NAME)
            # keyed by id, holding the plugin so that no other object takes its id meanwhile
            self.answers: dict[tuple[int, str], tuple[object, Any]] = {}

        def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
            known = self.answers.get((id(plugin), name))
            if known is None or known[0] is not plugin:
                known = (plugin, super().parse_hookimpl_opts(plugin, name))
                self.answers[(id(plugin), name)] = known
            return known[1]

    manager = Manager()
    manager.add_hookspecs(hookspecs)
    return manager


def _candidates(group: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    for ep in find_entry_points(group):
        dist_name = ep.distribution
        if canonical_name(dist_name) == CORE_DISTRIBUTION:
            dist_name = CORE_DISTRIBUTION
        found.append(_Candidate(ep.name, ep.value, PluginSource(dist_name, ep.version, ep.name), ep.load))
    if not any(c.source.distribution == CORE_DISTRIBUTION for c in found):
        for name, module in CORE_PLUGIN_MODULES.items():
            source = PluginSource(CORE_DISTRIBUTION, CORE_VERSION, name)
            found.append(_Candidate(name, module, source, functools.partial(load_entry_point, module)))
    return found


def _register(manager: pluggy.PluginManager, candidate: _Candidate, info: PluginInfo, key: str) -> bool:
    """Load one plugin and register it with pluggy, or warn why not; True when registered."""
    try:
        plugin = candidate.load()
    except Exception as exc:
        return _broken(info, "failed to load", f"{type(exc).__name__}: {exc}")
    api_problem, fix = api_version_problem(plugin, info)
    if api_problem:
        return _broken(info, "does not fit this zanj-core", api_problem, fix)
    if manager.is_registered(plugin):
        info.error = "already registered under another entry point"
        return False
    marked, unmarked = _hook_functions(manager, plugin)
    unknown = [name for name in marked if name not in HOOKS]
    if unknown:
        return _broken(info, "failed to load", "; ".join(_unknown_hook(name) for name in unknown))
    try:
        manager.register(plugin, name=key)
        manager.check_pending()
    except Exception as exc:
        if manager.is_registered(plugin):
            manager.unregister(name=key)
        return _broken(info, "failed to load", f"{type(exc).__name__}: {exc}")
    problems = _hook_problems(info, marked, unmarked)
    if problems:
        fix = f"Fix the plugin as said, or uninstall {info.source.distribution}."
        _broken(info, "is not used as written", "; ".join(problems), fix, skipped=False)
    return True


def _hook_problems(info: PluginInfo, marked: list[str], unmarked: list[str]) -> list[str]:
    """What is wrong with a registered plugin's hooks: functions that look like hooks but lack
    `@hookimpl` (pluggy ignores them), or no hook at all."""
    problems: list[str] = []
    others: list[str] = []
    for name in unmarked:
        close = _closest_hook(name)
        if close is None:
            others.append(name)
        elif name == close:
            problems.append(
                f"{info.value} defines {name} without @hookimpl, so it is never called: decorate it with @hookimpl"
            )
        else:
            problems.append(
                f"{info.value} defines {name} without @hookimpl, so it is never called: did you mean @hookimpl def {close}?"
            )
    if not marked:
        named = f" ({', '.join(others)} {'is not a hook' if len(others) == 1 else 'are not hooks'})" if others else ""
        problems.append(
            f"it registers nothing: {info.value} has no function marked with @hookimpl (from zanj_core.plugin) "
            f"named {' / '.join(HOOKS)}{named}"
        )
    return problems


def api_version_problem(plugin: object, info: PluginInfo) -> tuple[str | None, str]:
    """Why `plugin`'s declared plugin API does not fit this core (None when it fits), and the fix.

    A plugin that declares nothing is accepted: it is taken to target major version 1, the
    API that existed before declarations did."""
    from zanj_core._contract import hookspecs

    declared = getattr(plugin, API_DECLARATION, None)
    if declared is None:
        return None, ""
    dist = info.source.distribution
    parsed = re.fullmatch(_API_TEXT, declared) if isinstance(declared, str) else None
    if parsed is None:
        shown = repr(declared)[:60]
        return (
            f"its {API_DECLARATION} = {shown} is not a 'major.minor' string such as {hookspecs.PLUGIN_API_VERSION!r}",
            f"The plugin's author must fix the declaration; meanwhile upgrade {dist}, or uninstall it.",
        )
    info.api_version = declared
    needed = (int(parsed[1]), int(parsed[2]))
    have_major, have_minor = (int(part) for part in hookspecs.PLUGIN_API_VERSION.split("."))
    if needed[0] == have_major and needed[1] <= have_minor:
        return None, ""
    problem = (
        f"it needs zanj plugin API {declared}, but zanj-core {CORE_VERSION} provides plugin API "
        f"{hookspecs.PLUGIN_API_VERSION}"
    )
    if needed > (have_major, have_minor):
        fix = f"Upgrade zanj-core (pip install --upgrade zanj-core), or install a release of {dist} for API {have_major}.x."
    else:
        fix = (
            f"Upgrade {dist} to a release for plugin API {have_major}.x (pip install --upgrade {dist}), "
            f"or install a zanj-core that provides API {declared}."
        )
    return problem, fix


def _hook_functions(manager: pluggy.PluginManager, plugin: object) -> tuple[list[str], list[str]]:
    """The names of `plugin`'s functions marked with `@hookimpl`, and of its unmarked
    functions named `zanj_*`."""
    marked: list[str] = []
    unmarked: list[str] = []
    for name in dir(plugin):
        if manager.parse_hookimpl_opts(plugin, name) is not None:
            marked.append(name)
        elif name.startswith("zanj_") and callable(getattr(plugin, name, None)):
            unmarked.append(name)
    return marked, unmarked


def _closest_hook(name: str) -> str | None:
    import difflib  # only for plugin mistakes: not worth importing with the core

    close = difflib.get_close_matches(name, HOOKS, n=1, cutoff=0.8)
    return close[0] if close else None


def _unknown_hook(name: str) -> str:
    close = _closest_hook(name)
    suggestion = f"; did you mean {close}?" if close else f"; the hooks are {', '.join(HOOKS)}"
    return f"its @hookimpl function {name} is not a zanj hook{suggestion}"


def _ask(info: PluginInfo, hook: str, record_type: type, function: Callable[[], Any]) -> list[AnyHandler]:
    """One plugin's results for one hook, stamped with its source; [] (warned) when they are junk."""
    author_fix = (
        f"The plugin's author must fix it: {hook} returns a list of {record_type.__name__} records. "
        f"Meanwhile upgrade {info.source.distribution}, or uninstall it."
    )
    try:
        result = function()
    except Exception as exc:
        _broken(info, f"failed in {hook}", f"{hook}: {type(exc).__name__}: {exc}")
        return []
    if isinstance(result, (*record_types().values(), str, bytes, dict)) or not hasattr(result, "__iter__"):
        _broken(info, f"failed in {hook}", f"{hook} returned a {type(result).__name__}, not a list", author_fix)
        return []
    try:
        records = list(result)
    except Exception as exc:
        _broken(info, f"failed in {hook}", f"{hook}: {type(exc).__name__}: {exc}")
        return []
    junk = next((r for r in records if not isinstance(r, record_type)), None)
    if junk is not None:
        why = f"{hook} returned a list holding a {type(junk).__name__}, expected {record_type.__name__} records"
        _broken(info, f"failed in {hook}", why, author_fix)
        return []
    stamped: list[AnyHandler] = [record.with_source(info.source) for record in records]
    for handler in stamped:
        if isinstance(handler, SerializerHandler):
            info.serializer_tags.append(handler.tag)
        elif isinstance(handler, LoaderHandler):
            info.loader_tags.append(handler.tag)
            info.read_options.extend(o for o in handler.options if o not in info.read_options)
        elif isinstance(handler, MemberFormat):
            info.member_formats.append(handler.name)
        elif isinstance(handler, record_types()["zanj_commands"]):
            info.commands.append(handler.name)
        else:
            info.location_listers.append(handler.name)
    return stamped


def _broken(info: PluginInfo, what: str, error: str, fix: str | None = None, *, skipped: bool = True) -> bool:
    """Record and warn that a plugin is broken; False, for the caller to return."""
    if skipped:
        info.error = error
    else:
        info.problems.append(error)
    dist = info.source.distribution
    fix = fix or f"Reinstall or upgrade {dist}, or uninstall it; `zanj plugins` lists every plugin and its status."
    warnings.warn(
        f"zanj plugin {info.name!r} ({info.value}) from {dist} {info.source.version} {what}"
        f"{' and is skipped' if skipped else ''}: {error}{'' if error.endswith(('.', '?')) else '.'} {fix}",
        ZanjBrokenPluginWarning,
        stacklevel=2,
    )
    return False
