"""Layer 3, the walks: remembering what dispatch found for a class without keeping it alive."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Union

from zanj_core._contract.records import SerializerHandler

Ranked = tuple[SerializerHandler, ...]


Entry = tuple[Callable[[], Union[type, None]], Ranked]


class ClassCache(dict[int, Entry]):
    """What was found for each class, held without keeping the class alive.

    A strong key would keep every class ever saved in memory, and with it every class a
    notebook cell redefined: the old definitions would stay "defined" for class resolution
    (`zanj_core._contract.classes`). Entries are keyed by `id(cls)`, hold a weak reference to
    the class that is checked on each lookup (an id is reused once its class is gone), and are
    dropped when the class is collected. A lookup is a dict access and a call; the hot path
    (`PluginRegistry.serializers_for`) does it inline."""

    def find(self, cls: type) -> Ranked | None:
        entry = self.get(id(cls))
        if entry is not None and entry[0]() is cls:
            return entry[1]
        return None

    def put(self, cls: type, found: Ranked) -> None:
        key = id(cls)

        def forget(reference: object, entries: ClassCache = self) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is reference:  # not a newer class given the same id
                entries.pop(key, None)

        try:
            reference: Callable[[], type | None] = weakref.ref(cls, forget)
        except TypeError:  # a class that cannot be referenced weakly is kept
            reference = lambda: cls  # noqa: E731
        self[key] = (reference, found)
