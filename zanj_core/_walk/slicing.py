"""Layer 3, the walks: `ZanjFile.slice(path)[rows]`, loading part of one item.

Apart from the reader (`zanj_core._walk.lazy`) because it is a small object of its own that
users hold: it asks the item's loader for only the rows indexed (`load_part`), or loads the
item whole and indexes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zanj_core._contract.nodes import FORMAT_KEY, ObjectPath, format_path
from zanj_core._walk.items import ItemInfo
from zanj_core.errors import ZanjError, ZanjIndexError

if TYPE_CHECKING:
    from zanj_core._walk.lazy import ZanjFile


class ItemSlicer:
    """The result of `ZanjFile.slice(path)`; index it to load part of the item."""

    def __init__(self, file: ZanjFile, path: ObjectPath, node: Any) -> None:
        self._file = file
        self.path = path
        self._node = node

    def info(self) -> ItemInfo:
        ctx = self._file.context()
        return self._file._info(self._node, self.path, ctx, None)

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self.info().shape

    @property
    def dtype(self) -> str | None:
        return self.info().dtype

    def __len__(self) -> int:
        info = self.info()
        if info.shape:
            return info.shape[0]
        if info.length is not None:
            return info.length
        raise TypeError(f"the item at {format_path(self.path)} has no length")

    def __getitem__(self, key: Any) -> Any:
        ctx = self._file.context()
        node = self._node
        if type(node) is dict and isinstance(node.get(FORMAT_KEY), str):
            handler = ctx.loader_for(node[FORMAT_KEY])
            if handler is not None and handler.load_part is not None:
                try:
                    return handler.load_part(node, self.path, ctx, key)
                except ZanjError:
                    raise
                except (IndexError, KeyError, TypeError, ValueError) as exc:
                    raise _index_error(self._file, self.path, key, exc) from exc
        whole = self._file._load(node, self.path, ctx)
        try:
            return whole[key]
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise _index_error(self._file, self.path, key, exc) from exc

    def __repr__(self) -> str:
        return f"<ItemSlicer {format_path(self.path)} of {str(self._file.location)!r}>"


def _index_error(file: ZanjFile, path: ObjectPath, key: Any, exc: Exception) -> ZanjError:
    return ZanjIndexError(f"{file.location}: cannot index the item at {format_path(path)} with {key!r}: {exc}")
