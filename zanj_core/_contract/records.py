"""The records plugins hand to the core: serializer handlers, loader handlers, member formats.

They are frozen dataclasses rather than dicts so a typo is an error at definition time,
and so the registry can stamp each one with the distribution that provided it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal, Union

from zanj_core._contract.nodes import JSONdict, JSONitem, ObjectPath, TypeSpec

if TYPE_CHECKING:
    from zanj_core._container.member_source import MemberSource
    from zanj_core._walk.loading import LoadContext
    from zanj_core._walk.saving import SaveContext

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
PROJECT_NAME = re.compile(_NAME)
"""A PEP 508 project name (`fullmatch` it): what a distribution named by a file must look like."""
INSTALL_REQUIREMENT = re.compile(rf"(?P<name>{_NAME})(?:\[(?P<extras>{_NAME}(?:,{_NAME})*)\])?")
"""What an `install_hint` may be (`fullmatch` it): a PEP 508 project name with optional extras,
`zanj-foo` or `bigpkg[zanj]`; no versions, URLs, spaces or options, so it is one safe argument."""

CompatCallback = Callable[[str, JSONdict], Union[str, None]]
"""`compat(version, node)`: None when the old zanj `version` ("0.6") reads `node` back equal,
else a short reason it would not (see `SerializerHandler.compat`)."""


def canonical_name(name: str) -> str:
    """A distribution name compared as pip does (PEP 503): case and runs of `-_.` ignored."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _check_install_hint(kind: str, name: str, hint: object) -> None:
    if not isinstance(hint, str) or (hint and not INSTALL_REQUIREMENT.fullmatch(hint)):
        raise TypeError(
            f"{kind} {name!r}: install_hint must be a pip requirement such as 'zanj-foo' or 'bigpkg[zanj]' "
            f"(a name, optional extras), or empty for the providing distribution; got {hint!r}"
        )


@dataclass(frozen=True)
class PluginSource:
    """Which installed distribution provided a handler: recorded in each file's tag table."""

    distribution: str
    version: str
    plugin: str = ""

    def as_json(self) -> JSONdict:
        return {"dist": self.distribution, "version": self.version}


RUNTIME_DISTRIBUTION = "<runtime>"
"""The source of a record no plugin provided: one a program registered itself (or passed in
`ZANJ(handlers_pre=...)`); a file's tag table shows it under this name."""
RUNTIME_SOURCE = PluginSource(distribution=RUNTIME_DISTRIBUTION, version="", plugin=RUNTIME_DISTRIBUTION)


@dataclass(frozen=True)
class SerializerHandler:
    """Turns objects of some types into JSON nodes.

    Dispatch: the candidates for an object's type are the handlers whose `types` match a class
    in its MRO, plus the handlers with no `types` (predicate only); they are tried by
    descending `priority` and the first whose `check` passes (or that has no `check`) wins.
    """

    tag: str
    """The format tag written into the node (empty for handlers emitting plain JSON)."""
    serialize: Callable[[Any, ObjectPath, SaveContext], JSONitem]
    types: tuple[TypeSpec, ...] = ()
    check: Callable[[Any, ObjectPath, SaveContext], bool] | None = None
    priority: int = 0
    description: str = ""
    source: PluginSource = RUNTIME_SOURCE
    compat: CompatCallback | None = None
    """`compat(version, node)` for `ZANJ(compat=version)`: given a tagged node this handler
    wrote, None when that old zanj reads it back equal, else a short reason (`"dtype 'bfloat16'
    is not one zanj 0.6 reads"`). Without it, every tagged node the handler writes is refused
    under compat. Nodes it got from `ctx.serialize` are judged by their own handlers."""
    install_hint: str = ""
    """What `pip install` takes to get this handler (`"bigpkg[zanj]"`), when it is not the
    providing distribution itself; recorded in each file's tag table for readers lacking it."""

    def __post_init__(self) -> None:
        if not callable(self.serialize):
            raise TypeError(f"SerializerHandler {self.tag!r}: serialize must be callable")
        for hook in ("check", "compat"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise TypeError(f"SerializerHandler {self.tag!r}: {hook} must be callable or None")
        _check_install_hint("SerializerHandler", self.tag, self.install_hint)
        if not isinstance(self.types, tuple):
            object.__setattr__(self, "types", tuple(self.types))
        for spec in self.types:
            if not isinstance(spec, (type, str)):
                raise TypeError(
                    f"SerializerHandler {self.tag!r}: types must hold classes or dotted names, got {spec!r}"
                )

    def with_source(self, source: PluginSource) -> SerializerHandler:
        return dataclasses.replace(self, source=source)

    def tag_table_entry(self) -> JSONdict:
        """What a file's tag table says of the tags this handler writes: its distribution and
        version, and its `install_hint` when that differs from the distribution."""
        entry = self.source.as_json()
        if self.install_hint and canonical_name(self.install_hint) != canonical_name(self.source.distribution):
            entry["install"] = self.install_hint
        return entry


@dataclass(frozen=True)
class LoaderHandler:
    """Turns a JSON node carrying a format tag back into an object.

    `match` says how `tag` is compared with a node's tag: `exact` first, then the longest
    matching `prefix`, then the longest matching `suffix` (for families such as
    `Name(SerializableDataclass)`). Loading never scans handlers by predicate.
    """

    tag: str
    load: Callable[[JSONdict, ObjectPath, LoadContext], Any]
    match: Literal["exact", "prefix", "suffix"] = "exact"
    description: str = ""
    options: tuple[str, ...] = ()
    """Names of `ZANJ.read(..., **options)` keywords this loader understands (e.g. `map_location`);
    a read given an option no installed loader declares is refused, so typos are caught."""
    children: Callable[[JSONdict, ObjectPath, LoadContext], Iterable[tuple[str | int, Any]]] | None = None
    """For container nodes (tuples, dataclasses, models...): their items as `(key, child node)`
    pairs, so `ZANJ.open` can step inside and load one item without the rest. Called only on
    nodes without a `$ref` when listing (`tree`), so it may read the node's member when asked."""
    describe: Callable[[JSONdict], dict[str, Any]] | None = None
    """Facts about a node from its JSON alone (`shape`, `dtype`, `length`, anything else worth
    showing), for `info()` and `zanj ls`; by default the node's own `shape`, `dtype` and `len`."""
    load_part: Callable[[JSONdict, ObjectPath, LoadContext, Any], Any] | None = None
    """Load `item[key]` reading only the bytes it covers (rows of an uncompressed array);
    without it `ZanjFile.slice(path)[key]` loads the whole item and indexes it."""
    source: PluginSource = RUNTIME_SOURCE

    def __post_init__(self) -> None:
        if not callable(self.load):
            raise TypeError(f"LoaderHandler {self.tag!r}: load must be callable")
        for hook in ("children", "describe", "load_part"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise TypeError(f"LoaderHandler {self.tag!r}: {hook} must be callable or None")
        if self.match not in ("exact", "prefix", "suffix"):
            raise TypeError(f"LoaderHandler {self.tag!r}: match must be exact, prefix or suffix")
        if not self.tag:
            raise TypeError("LoaderHandler: tag must be a non-empty string")

    def with_source(self, source: PluginSource) -> LoaderHandler:
        return dataclasses.replace(self, source=source)


@dataclass(frozen=True)
class MemberFormat:
    """A kind of archive member other than the two JSON members (jsonl, npy, arrow...).

    `write` streams `data` into an open member; `read` gets a `MemberSource` that can open a
    stream, report sizes, or map an uncompressed member into memory. Binary formats are stored
    uncompressed and 64-byte aligned unless compression is asked for; text formats are deflated.
    """

    name: str
    extension: str
    write: Callable[[Any, IO[bytes]], None]
    read: Callable[[MemberSource], Any]
    binary: bool = True
    description: str = ""
    source: PluginSource = RUNTIME_SOURCE
    install_hint: str = ""
    """What `pip install` takes to get this format (`"bigpkg[zanj]"`), when it is not the
    providing distribution itself; a reader trusts it in the hints it prints."""

    def __post_init__(self) -> None:
        if not self.extension.startswith("."):
            raise TypeError(f"MemberFormat {self.name!r}: extension must start with '.'")
        if not callable(self.write) or not callable(self.read):
            raise TypeError(f"MemberFormat {self.name!r}: write and read must be callable")
        _check_install_hint("MemberFormat", self.name, self.install_hint)

    def with_source(self, source: PluginSource) -> MemberFormat:
        return dataclasses.replace(self, source=source)


@dataclass
class ZanjUnloaded:
    """Placeholder for a node that could not be loaded (missing plugin or class).

    It keeps the raw JSON node, so nothing from the file is lost; `install_hint` says
    what would let the node load.
    """

    tag: str
    path: ObjectPath
    node: JSONdict
    reason: str
    install_hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        where = "/".join(str(p) for p in self.path) or "<root>"
        return f"ZanjUnloaded(tag={self.tag!r}, path={where!r}, reason={self.reason!r})"


def deferred(target: str) -> Callable[..., Any]:
    """A stand-in for the function `"package.module:function"` that imports it on first call.

    Plugins build their handler records from these, so their entry-point module stays free of
    the framework it serves: numpy, torch or pandas is imported only when a handler runs.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise TypeError(f"deferred() takes 'package.module:function', got {target!r}")
    function: Callable[..., Any] | None = None

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal function
        if function is None:
            import importlib

            function = getattr(importlib.import_module(module_name), attribute)
        if kwargs:
            return function(*args, **kwargs)
        return function(*args)  # how the core calls handlers: no empty keyword dict to pass on

    call.__qualname__ = call.__name__ = f"deferred({target})"
    return call
