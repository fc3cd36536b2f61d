"""The save walk: objects -> JSON tree plus a list of data members to stream afterwards."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from zanj_core._container.writer import PendingMember, member_name_for
from zanj_core._contract.classes import type_name
from zanj_core._contract.nodes import FORMAT_KEY, UNSERIALIZABLE_TAG, JSONdict, JSONitem, ObjectPath, format_path
from zanj_core._contract.records import RUNTIME_DISTRIBUTION, SerializerHandler
from zanj_core._walk.compat import CompatCheck, WrittenNode
from zanj_core._walk.hints import unsupported_hints
from zanj_core._walk.registry import PluginRegistry
from zanj_core.errors import ZanjBrokenPluginWarning, ZanjError, ZanjSerializationError

if TYPE_CHECKING:
    from zanj_core._walk.zanj import ZANJ

# objects of these types cannot contain themselves, so they skip the cycle check
_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes, complex})


class SaveContext:
    """State of one `ZANJ.save` call, passed to every serializer handler.

    Handlers recurse through `serialize(child, path + (key,))` and put large data in members
    through `add_member`; `zanj` exposes the settings (thresholds, `custom_settings`).
    """

    def __init__(self, zanj: ZANJ) -> None:
        self.zanj = zanj
        self.registry: PluginRegistry = zanj.registry
        """The handlers this save dispatches through: the registry, with `zanj.handlers_pre` over it."""
        self._serializers_for = self.registry.serializers_for
        self._max_depth = zanj.max_depth
        self.members: list[PendingMember] = []
        self.externals_info: dict[str, JSONdict] = {}
        self.cache: dict[str, Any] = {}
        """Scratch space plugins share across one save (e.g. tensors already stored, by storage)."""
        self.tag_writers: dict[str, SerializerHandler] = {}
        """After the walk (`finish_walk`): the handler that first wrote each tag, whose
        distribution the file's tag table names."""
        self._written: list[WrittenNode] = []
        self._taken: set[str] = set()
        self._active: set[int] = set()

    def serialize(self, obj: Any, path: ObjectPath = ()) -> JSONitem:
        """Serialize one object found at `path`, dispatching to the first handler that accepts it."""
        if len(path) > self._max_depth:
            raise ZanjSerializationError(
                f"object at {format_path(path[:8])}/... is nested more than {self._max_depth} "
                "levels deep; flatten it or raise ZANJ(max_depth=...)"
            )
        cls = type(obj)
        tracked = cls not in _ATOMIC
        if tracked:
            key = id(obj)
            if key in self._active:
                raise ZanjSerializationError(
                    f"reference cycle: the {cls.__name__} at {format_path(path)} contains itself; "
                    "zanj saves trees, break the cycle before saving"
                )
            self._active.add(key)
        handlers = self._serializers_for(cls)
        try:
            for handler in handlers:
                check = handler.check
                if check is not None and not check(obj, path, self):
                    continue
                out = handler.serialize(obj, path, self)
                if type(out) is dict and FORMAT_KEY in out:
                    self._written.append((handler, out, path))
                return out
        except ZanjError:
            raise
        except RecursionError as exc:
            raise ZanjSerializationError(
                f"object at {format_path(path[:8])}/... is nested too deeply for Python's recursion limit; flatten it"
            ) from exc
        except Exception as exc:
            raise ZanjSerializationError(
                f"saving the {type_name(cls)} at {format_path(path)} failed in handler "
                f"{handler.tag or handler.description!r} from {handler.source.distribution}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            if tracked:
                self._active.discard(key)
        return self._unsupported(obj, path)

    def finish_walk(self) -> None:
        """After the walk: each tagged node judged as finally written (a handler may still change
        a node it returned, as zanj-torch does when a second tensor shares a storage). Fills
        `tag_writers`, refuses a tag that is not a string (every reader refuses the file), and
        with `ZANJ(compat=...)` asks each node's handler whether that old zanj reads it back."""
        writers: dict[Any, SerializerHandler] = {}
        try:
            for handler, node, _ in reversed(self._written):  # the first writer of a tag is kept
                if handler is not None:
                    writers[node[FORMAT_KEY]] = handler
        except TypeError:  # an unhashable tag (a list, a dict)
            self._refuse_tag_types()
        if any(type(tag) is not str for tag in writers):
            self._refuse_tag_types()
        self.tag_writers = writers
        if self.zanj.compat:
            CompatCheck(self.zanj.compat).refuse_unreadable(self._written)

    def _refuse_tag_types(self) -> None:
        """Name the first node whose tag is not a string, its handler and its object path."""
        for handler, node, path in self._written:
            tag = node[FORMAT_KEY]
            if type(tag) is not str:
                who = "no handler" if handler is None else f"handler {handler.tag or handler.description!r}"
                raise ZanjSerializationError(
                    f"{who} from {handler.source.distribution if handler else 'zanj-core'} wrote a {FORMAT_KEY} "
                    f"of type {type(tag).__name__} at {format_path(path)}: a format tag must be a string "
                    "(readers refuse the whole file otherwise)"
                )

    def tag_table(self) -> JSONdict:
        """The file's tag table: each tag written -> the distribution (and version, and the
        install requirement if it differs) of the handler that wrote it."""
        return {tag: handler.tag_table_entry() for tag, handler in sorted(self.tag_writers.items())}

    def warn_unreadable_tags(self) -> None:
        """Warn, as a plugin's mistake, about each tag a plugin's handler wrote that no loader
        here reads: the file would come back, even on this machine, with `ZanjUnloaded`
        placeholders where those objects were. Once per distinct tag, after the walk. Handlers a
        program registers itself may write for readers elsewhere: they are not warned about."""
        for tag, handler in self.tag_writers.items():
            source = handler.source
            if source.distribution == RUNTIME_DISTRIBUTION or tag == UNSERIALIZABLE_TAG:
                continue
            if self.registry.loader_for(tag) is None:
                warnings.warn(
                    f"the handler {handler.tag or handler.description!r} from {source.distribution} "
                    f"{source.version} wrote the tag {tag!r}, which no installed loader reads: reading "
                    f"this file gives ZanjUnloaded placeholders for those objects. {source.distribution} "
                    "must also provide a LoaderHandler for it, or write a tag it loads.",
                    ZanjBrokenPluginWarning,
                    stacklevel=4,
                )

    def _unsupported(self, obj: Any, path: ObjectPath) -> JSONitem:
        cls = type(obj)
        message = (
            f"cannot save the {type_name(cls)} at {format_path(path)}: no installed handler "
            f"accepts it. To fix: {'; or '.join(unsupported_hints(obj, self.registry))}."
        )
        mode = self.zanj.error_mode
        if mode == "except":
            raise ZanjSerializationError(message)
        if mode == "warn":
            warnings.warn(message + " It is stored as its repr() string.", stacklevel=3)
        node: JSONdict = {FORMAT_KEY: UNSERIALIZABLE_TAG, "type": type_name(cls), "repr": repr(obj)}
        self._written.append((None, node, path))
        return node

    def add_member(
        self,
        path: ObjectPath,
        format_name: str,
        data: Any,
        info: JSONdict | None = None,
        size_hint: int | None = None,
    ) -> str:
        """Queue `data` to be written as a member of format `format_name`; returns its name.

        `info` is recorded in the meta's `externals_info`, so a file can be described without
        opening the member; `size_hint` (exact byte size, if known) lets large members skip
        zip64 guessing and be aligned precisely.
        """
        member_format = self.registry.member_format(format_name)
        if member_format is None:
            raise ZanjSerializationError(
                f"object at {format_path(path)} needs member format {format_name!r}, which no installed plugin provides"
            )
        name = member_name_for(path, member_format.extension, self._taken)
        self.externals_info[name] = {"item_type": member_format.name, "path": list(path), **(info or {})}
        self.members.append(PendingMember(name, member_format, data, path, size_hint))
        return name
