"""The save walk: objects -> JSON tree plus a list of data members to stream afterwards."""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

from zanj_core._container.archive import PendingMember, member_name_for
from zanj_core._contract.nodes import FORMAT_KEY, UNSERIALIZABLE_TAG, JSONdict, JSONitem, ObjectPath, format_path
from zanj_core._contract.records import PluginSource, SerializerHandler
from zanj_core._walk.registry import REGISTRY, PluginRegistry
from zanj_core.errors import ZanjError, ZanjSerializationError

if TYPE_CHECKING:
    from zanj_core._walk.zanj import ZANJ

# objects of these types cannot contain themselves, so they skip the cycle check
_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes, complex})

# where to send users whose object belongs to a well-known library
KNOWN_PLUGINS_BY_MODULE: dict[str, str] = {
    "numpy": "zanj-numpy",
    "torch": "zanj-torch",
    "pandas": "zanj-pandas",
}


class SaveContext:
    """State of one `ZANJ.save` call, passed to every serializer handler.

    Handlers recurse through `serialize(child, path + (key,))` and put large data in members
    through `add_member`; `zanj` exposes the settings (thresholds, `custom_settings`).
    """

    def __init__(self, zanj: ZANJ, registry: PluginRegistry = REGISTRY) -> None:
        self.zanj = zanj
        self.registry = registry
        self.members: list[PendingMember] = []
        self.externals_info: dict[str, JSONdict] = {}
        self.tags_used: dict[str, PluginSource] = {}
        self.cache: dict[str, Any] = {}
        """Scratch space plugins share across one save (e.g. tensors already stored, by storage)."""
        self.zanj06_tags: set[str] = set()
        """With `ZANJ(compat="0.6")`: tags whose zanj 0.6 form a handler wrote and that zanj 0.6
        reads (a model's bare class name); every other tag is checked against a fixed list."""
        self._taken: set[str] = set()
        self._active: set[int] = set()
        self._pre: tuple[SerializerHandler, ...] = zanj.serializer_handlers_pre
        self._pre_cache: dict[type, tuple[SerializerHandler, ...]] = {}

    def _handlers_for(self, cls: type) -> tuple[SerializerHandler, ...]:
        if not self._pre:
            return self.registry.serializers_for(cls)
        try:
            return self._pre_cache[cls]
        except KeyError:
            names = {f"{k.__module__}.{k.__qualname__}" for k in cls.__mro__}
            pre = tuple(
                h
                for h in self._pre
                if not h.types
                or any(
                    (s in names) if isinstance(s, str) else isinstance(s, type) and issubclass(cls, s) for s in h.types
                )
            )
            result = pre + self.registry.serializers_for(cls)
            self._pre_cache[cls] = result
            return result

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
        try:
            for handler in self._handlers_for(cls):
                if handler.check is not None and not handler.check(obj, path, self):
                    continue
                out = handler.serialize(obj, path, self)
                if type(out) is dict and FORMAT_KEY in out:
                    self.tags_used.setdefault(str(out[FORMAT_KEY]), handler.source)
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

    def _unsupported(self, obj: Any, path: ObjectPath) -> JSONitem:
        cls = type(obj)
        top = cls.__module__.split(".")[0]
        hints = ["register a SerializerHandler (zanj_core.register_serializer_handler, or ZANJ(handlers_pre=...))"]
        if top in KNOWN_PLUGINS_BY_MODULE:
            dist = KNOWN_PLUGINS_BY_MODULE[top]
            installed = [p for p in self.registry.plugins if p.source.distribution == dist]
            if not installed:
                hints.insert(0, f"install the plugin for {top}: pip install {dist}")
            elif any(p.error for p in installed):
                hints.insert(0, f"{dist} is installed but failed to load ({installed[0].error}); reinstall it")
            else:
                hints.insert(
                    0, f"{dist} is installed but has no handler for this type; convert the object to one it supports"
                )
        elif dataclasses.is_dataclass(obj):
            hints.insert(0, "decorate the class with muutils' @serializable_dataclass")
        message = (
            f"cannot save the {_type_name(cls)} at {format_path(path)}: no installed handler "
            f"accepts it. To fix: {'; or '.join(hints)}."
        )
        mode = self.zanj.error_mode
        if mode == "except":
            raise ZanjSerializationError(message)
        if mode == "warn":
            warnings.warn(message + " It is stored as its repr() string.", stacklevel=3)
        return {FORMAT_KEY: UNSERIALIZABLE_TAG, "type": _type_name(cls), "repr": repr(obj)}

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
        member_format = self.zanj.member_formats_pre.get(format_name) or self.registry.member_format(format_name)
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
