"""zanj 0.6's `ZANJ`: zanj-core's `ZANJ` with 0.6's arguments, defaults and methods.

Saving and reading are zanj-core's. What this class adds: 0.6's constructor (the
`internal_array_mode`, `handlers_pre` and `handlers_default` of muutils' serializers, and
`compress=True` by default, as in 0.6), `meta()`, `externals_info()` and `json_serialize()`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from muutils.errormode import ErrorMode
from muutils.json_serialize.json_serialize import SerializerHandler

from zanj import _bridge
from zanj.externals import ZANJ_MAIN, ZANJ_META, ExternalItem
from zanj.loading import LOADER_MAP, LoadedZANJ, load_item_recursive
from zanj.serializing import DEFAULT_SERIALIZER_HANDLERS_ZANJ, EXTERNAL_STORE_FUNCS, KW_ONLY_KWARGS, core_serializer
from zanj_core import REGISTRY
from zanj_core import ZANJ as CoreZANJ
from zanj_core.plugin import JSONdict, JSONitem, LoaderHandler, MemberFormat, ObjectPath, SaveContext
from zanj_core.plugin import SerializerHandler as CoreSerializerHandler

ZANJitem = Any
"""What zanj 0.6 saved and read: JSON, arrays, tensors, frames, dataclasses, models."""

ARRAY_MODES = ("list", "array_list_meta", "array_hex_meta", "array_b64_meta", "external", "zero_dim")
"""The values of zanj 0.6's `internal_array_mode` (muutils' `ArrayMode`)."""

__all__ = [
    "ZANJ",
    "ZANJitem",
    "ZANJ_GLOBAL_DEFAULTS",
    "ZANJ_MAIN",
    "ZANJ_META",
    "EXTERNAL_STORE_FUNCS",
    "LOADER_MAP",
    "ExternalItem",
    "LoadedZANJ",
    "load_item_recursive",
]


@dataclass(**KW_ONLY_KWARGS)
class _ZANJ_GLOBAL_DEFAULTS_CLASS:
    error_mode: ErrorMode = ErrorMode.EXCEPT
    internal_array_mode: str = "array_list_meta"
    external_array_threshold: int = 256
    external_list_threshold: int = 256
    compress: bool | int = True
    custom_settings: dict[str, Any] | None = None


ZANJ_GLOBAL_DEFAULTS: _ZANJ_GLOBAL_DEFAULTS_CLASS = _ZANJ_GLOBAL_DEFAULTS_CLASS()
"""The defaults of `ZANJ`'s parameters, as in zanj 0.6 (read once, when this module is imported)."""


_DEFAULT_RECORDS: dict[int, CoreSerializerHandler] = {}
"""zanj-core records of zanj 0.6's default serializers, by `id` of the 0.6 record (made once)."""


def _default_record(handler: Any) -> CoreSerializerHandler | None:
    """The zanj-core record of `handler` if it is one of zanj 0.6's defaults, else None."""
    if not any(handler is default for default in DEFAULT_SERIALIZER_HANDLERS_ZANJ):
        return None
    record = _DEFAULT_RECORDS.get(id(handler))
    if record is None:
        record = _DEFAULT_RECORDS[id(handler)] = core_serializer(handler)
    return record


def _core_record(handler: Any) -> Any:
    """A zanj-core record for a handler given: 0.6 (muutils) serializers are wrapped, zanj-core
    records pass as they are."""
    if isinstance(handler, (CoreSerializerHandler, LoaderHandler, MemberFormat)):
        return handler
    if isinstance(handler, SerializerHandler):
        return _default_record(handler) or core_serializer(handler)
    raise TypeError(f"expected muutils or zanj_core handler records, got {type(handler).__name__}")


def _split_handlers(handlers_pre: tuple[Any, ...], handlers_default: tuple[Any, ...]) -> tuple[list[Any], list[Any]]:
    """zanj-core's `(handlers_pre, handlers_fallback)` for 0.6's arguments: `handlers_pre` and the
    handlers you added to `handlers_default` come before every installed handler; zanj 0.6's
    defaults among `handlers_default` come after all of them, in the order given."""
    pre = [_core_record(handler) for handler in handlers_pre]
    fallback: list[Any] = []
    for handler in handlers_default:
        default = _default_record(handler)
        (pre if default is None else fallback).append(default or _core_record(handler))
    return pre, fallback


class ZANJ(CoreZANJ):
    """Saves objects to `.zanj` files and reads them back, with zanj 0.6's arguments.

    `internal_array_mode` is recorded (`array_mode`) and accepted for every 0.6 value; inline
    arrays are written in zanj-numpy's exact form, and every 0.6 form still reads. Handlers in
    `handlers_pre` (and any you add to `handlers_default`) are tried before every installed
    one. zanj 0.6's defaults in `handlers_default` are zanj-core fallbacks: tried after every
    installed handler, so plugins keep what they save exactly and an object no plugin takes is
    saved as zanj 0.6 saved it (its catch-all included: `error_mode` is reached only when one of
    them is left out). Keyword options of zanj-core (`strict`, `read_limits`, `compat`...) pass
    through.
    """

    def __init__(
        self,
        error_mode: Any = ZANJ_GLOBAL_DEFAULTS.error_mode,
        internal_array_mode: str = ZANJ_GLOBAL_DEFAULTS.internal_array_mode,
        external_array_threshold: int = ZANJ_GLOBAL_DEFAULTS.external_array_threshold,
        external_list_threshold: int = ZANJ_GLOBAL_DEFAULTS.external_list_threshold,
        compress: bool | int = ZANJ_GLOBAL_DEFAULTS.compress,
        custom_settings: dict[str, Any] | None = ZANJ_GLOBAL_DEFAULTS.custom_settings,
        handlers_pre: tuple[Any, ...] = (),
        handlers_default: tuple[Any, ...] = DEFAULT_SERIALIZER_HANDLERS_ZANJ,
        **core_options: Any,
    ) -> None:
        mode = str(getattr(internal_array_mode, "value", internal_array_mode))
        if mode not in ARRAY_MODES:
            raise ValueError(f"internal_array_mode must be one of {ARRAY_MODES}, got {internal_array_mode!r}")
        pre, fallback = _split_handlers(tuple(handlers_pre), tuple(handlers_default))
        super().__init__(
            error_mode=error_mode,
            external_array_threshold=external_array_threshold,
            external_list_threshold=external_list_threshold,
            compress=compress,
            custom_settings=custom_settings,
            handlers_pre=pre,
            # yours first: 0.6's catch-all, last, takes every object
            handlers_fallback=[*core_options.pop("handlers_fallback", ()), *fallback],
            **core_options,
        )
        self.array_mode: str = mode
        self.handlers: tuple[Any, ...] = (*handlers_pre, *handlers_default)
        """zanj 0.6's handler list (`handlers_pre` then `handlers_default`), as given."""
        self._externals: dict[str, ExternalItem] = {}

    def settings(self) -> JSONdict:
        """zanj-core's settings, plus 0.6's `array_mode` and the uids of the loaders registered
        through `zanj.loading` (0.6 recorded its loaders; their source code is not written)."""
        loaders: JSONdict = {
            uid: {"source_pckg": h.source_pckg, "desc": h.desc} for uid, h in sorted(LOADER_MAP.items())
        }
        return {**super().settings(), "array_mode": self.array_mode, "load_handlers": loaders}

    def externals_info(self) -> dict[str, dict[str, Any]]:
        """zanj 0.6's summary of the externals recorded by `zanj_external_serialize` outside a
        save (a save's members are listed in its file's `externals_info`)."""
        output: dict[str, dict[str, Any]] = {}
        for key, item in self._externals.items():
            info: dict[str, Any] = {
                "item_type": item.item_type,
                "path": list(item.path),
                "type(data)": str(type(item.data)),
                "len(data)": len(item.data),
            }
            if item.item_type == "jsonl" and len(item.data) > 0:
                info["data[0]"] = item.data[0]
            output[key] = info
        return dict(sorted(output.items(), key=lambda pair: len(pair[1]["path"])))

    def meta(self) -> JSONdict:
        """zanj 0.6's description of this instance. Its `zanj_cfg` is the `zanj_cfg` a save writes
        (`settings()`) plus `serialization_handlers`; `externals_info` is what
        `zanj_external_serialize` recorded outside a save; `sysinfo` and `timestamp` are not
        written into files."""
        from muutils.json_serialize import json_serialize
        from muutils.sysinfo import SysInfo

        serializers: dict[str, Any] = {}
        for handler in self.handlers:
            if isinstance(handler, SerializerHandler):
                serializers[handler.uid] = handler.serialize()
        for record in REGISTRY.plugin_records():
            if isinstance(record, CoreSerializerHandler):
                serializers.setdefault(
                    record.tag or record.description,
                    {"uid": record.tag, "source_pckg": record.source.distribution, "desc": record.description},
                )
        return {
            "zanj_cfg": {**self.settings(), "serialization_handlers": serializers},
            "sysinfo": json_serialize(SysInfo.get_all(include=("python",))),
            "externals_info": self.externals_info(),
            "timestamp": time.time(),
        }

    def json_serialize(self, obj: Any, path: ObjectPath = ()) -> JSONitem:
        """`obj` as JSON: during a save through that save's walk (members and all), otherwise
        through a walk of its own whose members are dropped (large data comes back as `$ref`
        nodes)."""
        active = _bridge.ACTIVE_SAVE.get()
        if active is not None:
            return active.serialize(obj, tuple(path))
        return SaveContext(self).serialize(obj, tuple(path))

    def save(self, obj: Any, file_path: Any, **kwargs: Any) -> str:
        """zanj-core's save; as in zanj 0.6, it starts by forgetting the recorded externals."""
        self._externals = {}
        return super().save(obj, file_path, **kwargs)
