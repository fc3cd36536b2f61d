"""The load walk: JSON tree -> objects, pulling data members from the archive on demand."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from zanj_core._container.member_source import MemberSource
from zanj_core._container.reader import ArchiveReader
from zanj_core._contract.budget import ReadBudget, unlimited_budget
from zanj_core._contract.nodes import FORMAT_KEY, REF_KEY, JSONdict, ObjectPath, format_path
from zanj_core._contract.records import LoaderHandler, ZanjUnloaded
from zanj_core._contract.textsafe import quoted
from zanj_core._walk import hints
from zanj_core._walk.registry import PluginRegistry
from zanj_core.errors import (
    ZanjError,
    ZanjFormatError,
    ZanjLimitError,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
)

if TYPE_CHECKING:
    from zanj_core._walk.zanj import ZANJ

NODE_COST = 64
"""Charged per JSON node a load walks (a list slot and a small object, and the visit itself)."""
NODE_BATCH = 1024
"""Nodes walked between two charges, so the walk pays one call per thousand nodes."""

HINTS_KEPT = 256
"""Distinct tags whose install hint one read remembers."""

_SCALARS = frozenset({str, int, float, bool, type(None)})
"""What a JSON parser makes of a leaf: loaded as it is."""

MAX_WARNINGS_PER_READ = 20
"""A file of a million unknown nodes must not print a million warnings: past this many, one
closing warning counts the rest."""


class LoadContext:
    """State of one read, passed to every loader handler.

    Loaders recurse through `load(child, path + (key,))`, reach members through
    `member(node, path)` / `read_member(node, path, format_name)`, and report what they
    cannot load through `missing(...)`. `cache` is scratch space shared by one read.
    `budget` is what this operation may still materialise: members read through the context
    are charged to it, and a loader calls `charge(nbytes, path)` before allocating memory the
    file asks for in any other way (an array built from a JSON list, a converted table).
    """

    def __init__(
        self,
        zanj: ZANJ,
        reader: ArchiveReader | None,
        meta: JSONdict,
        options: dict[str, Any] | None = None,
        budget: ReadBudget | None = None,
    ) -> None:
        self.zanj = zanj
        self._max_depth = zanj.max_depth
        self.budget = (
            budget if budget is not None else (reader.new_budget() if reader is not None else unlimited_budget())
        )
        self._expanding: set[str] = set()
        """Members whose content is being loaded right now: a `$ref` back to one is a cycle."""
        self._unloaded = 0
        """Placeholders returned so far; warnings stop at MAX_WARNINGS_PER_READ."""
        self._walked = 0
        """Nodes loaded since the walk was last charged (charged in batches of NODE_BATCH)."""
        self._hints: dict[str, str] = {}
        """Install hints by tag: a file of many nodes of one missing tag asks the same question."""
        self.options: dict[str, Any] = dict(options or {})
        """Keyword options given to `ZANJ.read` for plugins (e.g. `map_location` for zanj-torch)."""
        self.reader = reader
        self.meta = meta
        self.registry: PluginRegistry = zanj.registry
        """The handlers this read dispatches through: the registry, with `zanj.handlers_pre` over it."""
        self.cache: dict[str, Any] = {}
        self.label = str(reader.location) if reader is not None else "<memory>"
        plugins = meta.get("plugins", {})
        self._tag_table: dict[str, Any] = plugins if isinstance(plugins, dict) else {}

    def loader_for(self, tag: str) -> LoaderHandler | None:
        """The loader for `tag`: this ZANJ's handlers_pre first, then the installed ones."""
        return self.registry.loader_for(tag)

    def load(self, node: Any, path: ObjectPath = ()) -> Any:
        """Load one JSON node found at `path`."""
        if len(path) > self._max_depth:
            raise ZanjLimitError(
                f"{self.label}: data at {format_path(path[:8])}/... is nested more than {self._max_depth} levels deep"
            )
        self._walked += 1
        if self._walked >= NODE_BATCH:
            self.walked(self._walked)
            self._walked = 0
        kind = type(node)
        if kind is dict:
            tag = node.get(FORMAT_KEY)
            if tag is None:
                return self._load_dict(node, path)
            if not isinstance(tag, str):
                raise ZanjFormatError(
                    f"{self.label}: at {format_path(path)}, {FORMAT_KEY} must be a string, got {type(tag).__name__}"
                )
            handler = self.registry.loader_for(tag)
            if handler is None:
                return self.missing(tag, node, path)
            ref = node.get(REF_KEY)
            if type(ref) is str:
                return self._load_member_node(handler, tag, ref, node, path)
            try:  # what a loader raises by accident becomes a ZanjError naming the tag, path and plugin
                return handler.load(node, path, self)
            except ZanjError:
                raise
            except Exception as exc:
                raise self._loader_failed(handler, tag, path, exc) from exc
        if kind is list:
            return self._load_list(node, path)
        return node

    # A plain dict's or list's scalar items are counted and kept in the loop that meets them,
    # in document order, exactly as `load` would count and return them: no call, no object
    # path. Where the items would be too deep, each goes through `load`, which refuses it.

    def _load_dict(self, node: JSONdict, path: ObjectPath, skipped: tuple[str, ...] = ()) -> dict[str, Any]:
        if len(path) >= self._max_depth:
            return {key: self.load(value, (*path, key)) for key, value in node.items() if key not in skipped}
        loaded: dict[str, Any] = {}
        for key, value in node.items():
            if key in skipped:
                continue
            if type(value) in _SCALARS:
                self._walked += 1
                if self._walked >= NODE_BATCH:
                    self.walked(self._walked)
                    self._walked = 0
                loaded[key] = value
            else:
                loaded[key] = self.load(value, (*path, key))
        return loaded

    def _load_fields(self, node: JSONdict, path: ObjectPath, skipped: tuple[str, ...]) -> dict[str, Any]:
        """A typed node's fields (its items but the `skipped` keys, such as its tag) loaded as
        `load` would load them as a plain dict at `path`, counted the same, without copying
        the node first (the core's dataclass loader; one call per dataclass node)."""
        self._walked += 1  # the fields' dict, as `load` counts it
        return self._load_dict(node, path, skipped)

    def _load_list(self, node: list[Any], path: ObjectPath) -> list[Any]:
        if len(path) >= self._max_depth:
            return [self.load(value, (*path, index)) for index, value in enumerate(node)]
        loaded: list[Any] = []
        append = loaded.append
        for index, value in enumerate(node):
            if type(value) in _SCALARS:
                self._walked += 1
                if self._walked >= NODE_BATCH:
                    self.walked(self._walked)
                    self._walked = 0
                append(value)
            else:
                append(self.load(value, (*path, index)))
        return loaded

    def _load_member_node(self, handler: LoaderHandler, tag: str, ref: str, node: JSONdict, path: ObjectPath) -> Any:
        """Load a node whose data is a member, refusing a member that (through the nodes it
        holds) refers back to itself: expanding such a cycle would never end."""
        if ref in self._expanding:
            raise ZanjFormatError(
                f"{self.label}: the {quoted(tag, 100)} node at {format_path(path)} refers to member {quoted(ref, 100)}, which "
                "holds this very node: members referring to each other in a cycle are forged"
            )
        self._expanding.add(ref)
        try:  # as in `load`
            return handler.load(node, path, self)
        except ZanjError:
            raise
        except Exception as exc:
            raise self._loader_failed(handler, tag, path, exc) from exc
        finally:
            self._expanding.discard(ref)

    def _loader_failed(self, handler: LoaderHandler, tag: str, path: ObjectPath, exc: Exception) -> ZanjError:
        """The error for `exc`, which a loader raised by accident, naming the tag, the path and
        the plugin (a RecursionError: data nested too deeply for this interpreter)."""
        if isinstance(exc, RecursionError):
            return ZanjLimitError(f"{self.label}: data at {format_path(path)} is nested too deeply")
        return ZanjFormatError(
            f"{self.label}: loading {quoted(tag, 100)} at {format_path(path)} failed in the loader from "
            f"{handler.source.distribution}: {type(exc).__name__}: {exc}"
        )

    def walked(self, nodes: int, cost: int = NODE_COST) -> None:
        """Charge the walk over `nodes` JSON nodes (each loaded, listed or checked): a tiny node
        costs little text but a visit and an object, and a member used many times is walked
        each time."""
        self.budget.charge(nodes * cost, lambda: f"the walk over {nodes} more items")

    def charge(self, nbytes: int, path: ObjectPath, what: str = "data") -> None:
        """Charge `nbytes` a loader is about to allocate for the node at `path` to this read's
        budget; raises `ZanjLimitError` (nothing allocated) when the file asks for too much."""
        self.budget.charge(nbytes, lambda: f"{what} at {format_path(path)}")

    def member(self, node: JSONdict, path: ObjectPath) -> MemberSource:
        """The member a `$ref` node points to, validated; its reads are charged to `budget`."""
        if self.reader is None:
            raise ZanjFormatError(f"node at {format_path(path)} refers to a member, but no archive is open")
        return self.reader.source(node.get(REF_KEY), path, self.budget)

    def read_member(self, node: JSONdict, path: ObjectPath, format_name: str) -> Any:
        """Read a `$ref` node's member with the member format `format_name`."""
        source = self.member(node, path)
        member_format = self.registry.member_format(format_name)
        if member_format is None:
            return self.missing(f"member format {format_name}", node, path)
        return member_format.read(source)

    def require(self, node: JSONdict, key: str, kind: type | tuple[type, ...], path: ObjectPath) -> Any:
        """`node[key]`, checked to be of `kind`, or a `ZanjFormatError` naming the node."""
        try:
            value = node[key]
        except KeyError:
            raise ZanjFormatError(
                f"{self.label}: the {node.get(FORMAT_KEY)!r} node at {format_path(path)} lacks the key {key!r}"
            ) from None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ZanjFormatError(
                f"{self.label}: the {node.get(FORMAT_KEY)!r} node at {format_path(path)} has {key!r} "
                f"of type {type(value).__name__}"
            )
        return value

    def install_hint(self, tag: str) -> str:
        """What would let `tag` load, as a sentence, from what this file's tag table says wrote
        it; only names this program vouches for appear in a `pip install` command (`hints`)."""
        hint = self._hints.get(tag)
        if hint is None:
            hint = hints.install_hint(tag, self._tag_table.get(tag), self.registry)
            if len(self._hints) < HINTS_KEPT:  # tags come from the file: keep a bounded number
                self._hints[tag] = hint
        return hint

    def missing(
        self,
        tag: str,
        node: JSONdict,
        path: ObjectPath,
        reason: str | None = None,
        hint: str | None = None,
        category: type[Warning] = ZanjMissingPluginWarning,
    ) -> ZanjUnloaded:
        """Report a node that cannot be loaded: warn and return a placeholder, or raise when strict.

        The tag is the file's text: it is quoted and cut, so a huge or hostile tag gives a
        bounded message that shows it as data."""
        hint = hint if hint is not None else self.install_hint(tag)
        reason = reason or f"no loader installed for format {quoted(tag, 100)}"
        message = f"{self.label}: {reason} at {format_path(path)}; {hint}."
        if self.zanj.strict:
            raise ZanjMissingPluginError(message)
        self._unloaded += 1
        if self._unloaded <= MAX_WARNINGS_PER_READ:
            warnings.warn(
                message + " It is returned as a ZanjUnloaded placeholder holding the raw node.", category, stacklevel=2
            )
        return ZanjUnloaded(tag=tag, path=path, node=node, reason=reason, install_hint=hint)

    def finish(self) -> None:
        """End of the operation: one warning counting the placeholders not warned about."""
        hidden = self._unloaded - MAX_WARNINGS_PER_READ
        if hidden > 0:
            warnings.warn(
                f"{self.label}: {hidden} more items could not be loaded and were returned as ZanjUnloaded "
                f"placeholders (warnings stop after {MAX_WARNINGS_PER_READ} per read; ZANJ().open(path).tree() "
                "lists every item and whether it loads)",
                ZanjMissingPluginWarning,
                stacklevel=3,
            )
