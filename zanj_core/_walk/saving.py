"""The save walk: objects -> JSON tree plus a list of data members to stream afterwards."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from zanj_core._container.writer import PendingMember, member_name_for
from zanj_core._contract.nodes import FORMAT_KEY, UNSERIALIZABLE_TAG, JSONdict, JSONitem, ObjectPath, format_path
from zanj_core._contract.records import RUNTIME_DISTRIBUTION, PluginSource, SerializerHandler
from zanj_core._walk.compat import CompatCheck
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

    def __init__(self, zanj: ZANJ, registry: PluginRegistry | None = None) -> None:
        self.zanj = zanj
        self.registry = zanj.dispatch_over(registry)
        """The handlers this save dispatches through: the registry, with `zanj.handlers_pre` over it."""
        self.members: list[PendingMember] = []
        self.externals_info: dict[str, JSONdict] = {}
        self.tag_writers: dict[str, SerializerHandler] = {}
        """The handler that first wrote each tag: the file's tag table names its distribution, and
        a handler whose output is not JSON is named through it. A handler that rewrites a node
        under another tag records the new tag here too."""
        self.cache: dict[str, Any] = {}
        """Scratch space plugins share across one save (e.g. tensors already stored, by storage)."""
        self.compat: CompatCheck | None = CompatCheck(zanj.compat) if zanj.compat else None
        """With `ZANJ(compat=...)`: the tagged nodes written, judged by their handlers after the walk."""
        self._taken: set[str] = set()
        self._active: set[int] = set()

    @property
    def tags_used(self) -> dict[str, PluginSource]:
        """Each tag written, with the distribution whose handler wrote it (the file's tag table)."""
        return {tag: handler.source for tag, handler in self.tag_writers.items()}

    def serialize(self, obj: Any, path: ObjectPath = ()) -> JSONitem:
        """Serialize one object found at `path`, dispatching to the first handler that accepts it."""
        if len(path) > self.zanj.max_depth:
            raise ZanjSerializationError(
                f"object at {format_path(path[:8])}/... is nested more than {self.zanj.max_depth} "
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
        handlers = self.registry.serializers_for(cls)
        try:
            for handler in handlers:
                if handler.check is not None and not handler.check(obj, path, self):
                    continue
                out = handler.serialize(obj, path, self)
                if type(out) is dict and FORMAT_KEY in out:
                    tag = out[FORMAT_KEY]
                    if type(tag) is not str:
                        raise ZanjSerializationError(
                            f"handler {handler.tag or handler.description!r} from {handler.source.distribution} "
                            f"wrote a {FORMAT_KEY} of type {type(tag).__name__} for the {_type_name(cls)} at "
                            f"{format_path(path)}: a format tag must be a string (readers refuse the file otherwise)"
                        )
                    self.tag_writers.setdefault(tag, handler)
                    if self.compat is not None:
                        self.compat.record(handler, out, path)
                return out
        except ZanjError:
            raise
        except RecursionError as exc:
            raise ZanjSerializationError(
                f"object at {format_path(path[:8])}/... is nested too deeply for Python's recursion limit; flatten it"
            ) from exc
        except Exception as exc:
            raise ZanjSerializationError(
                f"saving the {_type_name(cls)} at {format_path(path)} failed in handler "
                f"{handler.tag or handler.description!r} from {handler.source.distribution}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            if tracked:
                self._active.discard(key)
        return self._unsupported(obj, path)

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
            f"cannot save the {_type_name(cls)} at {format_path(path)}: no installed handler "
            f"accepts it. To fix: {'; or '.join(unsupported_hints(obj, self.registry))}."
        )
        mode = self.zanj.error_mode
        if mode == "except":
            raise ZanjSerializationError(message)
        if mode == "warn":
            warnings.warn(message + " It is stored as its repr() string.", stacklevel=3)
        node: JSONdict = {FORMAT_KEY: UNSERIALIZABLE_TAG, "type": _type_name(cls), "repr": repr(obj)}
        if self.compat is not None:
            self.compat.record(None, node, path)
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


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" else cls.__qualname__
