"""The load walk: JSON tree -> objects, pulling data members from the archive on demand."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from zanj_core.archive import ArchiveReader, MemberSource
from zanj_core.budget import ReadBudget, unlimited_budget
from zanj_core.errors import (
    ZanjError,
    ZanjFormatError,
    ZanjLimitError,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
)
from zanj_core.handlers import FORMAT_KEY, REF_KEY, JSONdict, LoaderHandler, ObjectPath, ZanjUnloaded, format_path
from zanj_core.registry import REGISTRY, PluginRegistry
from zanj_core.saving import KNOWN_PLUGINS_BY_MODULE

if TYPE_CHECKING:
    from zanj_core.zanj import ZANJ

# the standard tags and the distribution that reads them, for files that do not say
KNOWN_TAG_PREFIXES: dict[str, str] = {f"{module}.": dist for module, dist in KNOWN_PLUGINS_BY_MODULE.items()}


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
        registry: PluginRegistry = REGISTRY,
        options: dict[str, Any] | None = None,
        budget: ReadBudget | None = None,
    ) -> None:
        self.zanj = zanj
        self.budget = budget if budget is not None else (reader.new_budget() if reader is not None else unlimited_budget())
        self._expanding: set[str] = set()
        """Members whose content is being loaded right now: a `$ref` back to one is a cycle."""
        self.options: dict[str, Any] = dict(options or {})
        """Keyword options given to `ZANJ.read` for plugins (e.g. `map_location` for zanj-torch)."""
        self.reader = reader
        self.meta = meta
        self.registry = registry
        self.cache: dict[str, Any] = {}
        self.label = str(reader.path) if reader is not None else "<memory>"
        plugins = meta.get("plugins", {})
        self._tag_table: dict[str, Any] = plugins if isinstance(plugins, dict) else {}

    def loader_for(self, tag: str) -> LoaderHandler | None:
        """The loader for `tag`: this ZANJ's handlers_pre first, then the installed ones."""
        pre = self.zanj.loader_handlers_pre
        if pre:
            found = pre.get(tag)
            if found is not None:
                return found
        return self.registry.loader_for(tag)

    def load(self, node: Any, path: ObjectPath = ()) -> Any:
        """Load one JSON node found at `path`."""
        if len(path) > self.zanj.max_depth:
            raise ZanjLimitError(
                f"{self.label}: data at {format_path(path[:8])}/... is nested more than "
                f"{self.zanj.max_depth} levels deep"
            )
        kind = type(node)
        if kind is dict:
            tag = node.get(FORMAT_KEY)
            if tag is None:
                return {key: self.load(value, (*path, key)) for key, value in node.items()}
            if not isinstance(tag, str):
                raise ZanjFormatError(
                    f"{self.label}: at {format_path(path)}, {FORMAT_KEY} must be a string, got {type(tag).__name__}"
                )
            handler = self.loader_for(tag)
            if handler is None:
                return self.missing(tag, node, path)
            ref = node.get(REF_KEY)
            if type(ref) is str:
                return self._load_member_node(handler, tag, ref, node, path)
            try:
                return handler.load(node, path, self)
            except ZanjError:
                raise
            except RecursionError as exc:
                raise ZanjLimitError(f"{self.label}: data at {format_path(path)} is nested too deeply") from exc
            except Exception as exc:
                raise ZanjFormatError(
                    f"{self.label}: loading {tag!r} at {format_path(path)} failed in the loader from "
                    f"{handler.source.distribution}: {type(exc).__name__}: {exc}"
                ) from exc
        if kind is list:
            return [self.load(value, (*path, index)) for index, value in enumerate(node)]
        return node

    def _load_member_node(self, handler: LoaderHandler, tag: str, ref: str, node: JSONdict, path: ObjectPath) -> Any:
        """Load a node whose data is a member, refusing a member that (through the nodes it
        holds) refers back to itself: expanding such a cycle would never end."""
        if ref in self._expanding:
            raise ZanjFormatError(
                f"{self.label}: the {tag!r} node at {format_path(path)} refers to member {ref!r}, which "
                "holds this very node: members referring to each other in a cycle are forged"
            )
        self._expanding.add(ref)
        try:
            return handler.load(node, path, self)
        except ZanjError:
            raise
        except RecursionError as exc:
            raise ZanjLimitError(f"{self.label}: data at {format_path(path)} is nested too deeply") from exc
        except Exception as exc:
            raise ZanjFormatError(
                f"{self.label}: loading {tag!r} at {format_path(path)} failed in the loader from "
                f"{handler.source.distribution}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            self._expanding.discard(ref)

    def charge(self, nbytes: int, path: ObjectPath, what: str = "data") -> None:
        """Charge `nbytes` a loader is about to allocate for the node at `path` to this read's
        budget; raises `ZanjLimitError` (nothing allocated) when the file asks for too much."""
        self.budget.charge(nbytes, f"{what} at {format_path(path)}")

    def member(self, node: JSONdict, path: ObjectPath) -> MemberSource:
        """The member a `$ref` node points to, validated; its reads are charged to `budget`."""
        if self.reader is None:
            raise ZanjFormatError(f"node at {format_path(path)} refers to a member, but no archive is open")
        return self.reader.source(node.get(REF_KEY), path, self.budget)

    def read_member(self, node: JSONdict, path: ObjectPath, format_name: str) -> Any:
        """Read a `$ref` node's member with the member format `format_name`."""
        source = self.member(node, path)
        member_format = self.zanj.member_formats_pre.get(format_name) or self.registry.member_format(format_name)
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
        """What would let `tag` load: from the file's plugin table, else the known-tag table."""
        entry = self._tag_table.get(tag)
        dist = entry.get("dist") if isinstance(entry, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        if not isinstance(dist, str):
            dist = next((d for prefix, d in KNOWN_TAG_PREFIXES.items() if tag.startswith(prefix)), None)
            version = None
        if dist is None:
            return "the file does not say which package wrote it; find the plugin that provides it"
        if dist == "<runtime>":
            return (
                "it was written by a handler registered at run time in the writing program; "
                "register a LoaderHandler for it (zanj_core.register_loader_handler) before reading"
            )
        for info in self.registry.plugins:
            if info.source.distribution == dist and info.error:
                return f"{dist} is installed but failed to load ({info.error}); reinstall it: pip install --force-reinstall {dist}"
        written = f" (the file was written with {dist} {version})" if isinstance(version, str) and version else ""
        return f"install it with: pip install {dist}{written}"

    def missing(
        self,
        tag: str,
        node: JSONdict,
        path: ObjectPath,
        reason: str | None = None,
        hint: str | None = None,
        category: type[Warning] = ZanjMissingPluginWarning,
    ) -> ZanjUnloaded:
        """Report a node that cannot be loaded: warn and return a placeholder, or raise when strict."""
        hint = hint if hint is not None else self.install_hint(tag)
        reason = reason or f"no loader installed for format {tag!r}"
        message = f"{self.label}: {reason} at {format_path(path)}; {hint}."
        if self.zanj.strict:
            raise ZanjMissingPluginError(message)
        warnings.warn(
            message + " It is returned as a ZanjUnloaded placeholder holding the raw node.", category, stacklevel=2
        )
        return ZanjUnloaded(tag=tag, path=path, node=node, reason=reason, install_hint=hint)
