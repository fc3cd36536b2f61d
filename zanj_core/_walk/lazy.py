"""`ZANJ().open(path)`: look inside a file and load only the items asked for.

Opening parses the zip directory and the two JSON members, nothing else. Items are found by
path (`"layers/17/w"` or `("layers", 17, "w")`) through the JSON tree: plain dicts and lists
directly, typed containers (tuples, dataclasses, models...) through their loader's `children`
hook. Loading an item reads only the members under it; `info` and `tree` read none.
`ZANJ.read` is `open` followed by loading the root, so there is one reader.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from zanj_core._container.archive import MAIN_MEMBER, ArchiveReader
from zanj_core._container.storage import Location
from zanj_core._contract.budget import ReadBudget
from zanj_core._contract.nodes import FORMAT_KEY, REF_KEY, JSONdict, JSONitem, ObjectPath, format_path
from zanj_core._contract.records import LoaderHandler
from zanj_core._contract.textsafe import quoted, safe_text
from zanj_core._walk.gcpause import collector_paused
from zanj_core._walk.loading import LoadContext
from zanj_core._walk.registry import REGISTRY
from zanj_core.errors import (
    ZanjError,
    ZanjFormatError,
    ZanjIndexError,
    ZanjKeyError,
    ZanjLimitError,
    ZanjMissingPluginError,
)

if TYPE_CHECKING:
    from zanj_core._walk.zanj import ZANJ

ItemPath = Union[str, int, Sequence[Union[str, int]], None]
"""How users name an item: `"a/0/b"`, `("a", 0, "b")`, one key, or None / `""` for the root."""

_INDEX = re.compile(r"-[0-9]+")
CHILDREN_CACHE_NODES = 16
"""Typed nodes of an open file whose items are kept between operations (least recently used)."""
LISTED_ITEM_COST = 512
"""Charged per item `tree` lists: an `ItemInfo` and its path, kept until the listing returns."""
_SUGGEST_MAX_KEYS = 2000
_SUGGEST_KEY_CHARS = 80
_JSON_KINDS: dict[type, str] = {
    dict: "dict",
    list: "list",
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "null",
}


def parse_path(path: ItemPath) -> ObjectPath:
    """A user's path as a tuple of keys; string paths split on `/` (use a tuple for keys holding `/`)."""
    if path is None:
        return ()
    if isinstance(path, str):
        text = path.strip("/")
        if not text:
            return ()
        parts = text.split("/")
        if "" in parts:
            raise ZanjKeyError(f"path {path!r} has an empty component; write keys holding '/' as a tuple")
        return tuple(parts)
    if isinstance(path, int) and not isinstance(path, bool):
        return (path,)
    if isinstance(path, (tuple, list)):
        for part in path:
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                raise ZanjKeyError(f"path components must be str or int, got {part!r} in {path!r}")
        return tuple(path)
    raise ZanjKeyError(f"a path is a '/'-separated string or a tuple of keys and indices, got {path!r}")


@dataclass(frozen=True)
class ItemInfo:
    """What the JSON says about one item, without reading any data member."""

    path: ObjectPath
    kind: str
    """The format tag of a typed node, else the JSON type: dict, list, str, int, float, bool, null."""
    tagged: bool
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    length: int | None = None
    """Number of items of a container (keys of a dict, entries of a list or tuple, fields...)."""
    member: str | None = None
    """The archive member holding this item's data, if it has its own."""
    member_bytes: int | None = None
    """Uncompressed size of that member."""
    stored_bytes: int | None = None
    """Size of that member in the archive (smaller when compressed)."""
    data_bytes: int = 0
    """Uncompressed size of every member under this item (its own included)."""
    plugin: str | None = None
    """The distribution whose loader reads this item (`zanj-core` for builtins); None if missing."""
    loadable: bool = True
    install_hint: str | None = None
    value: JSONitem = None
    """Plain JSON scalars: the value itself; small typed values (dates, big ints, paths): their text."""
    details: dict[str, Any] = field(default_factory=dict)
    """Further facts from the loader's `describe` hook (columns of a frame, ...)."""

    @property
    def name(self) -> str:
        return str(self.path[-1]) if self.path else "<root>"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "kind": self.kind,
            "tagged": self.tagged,
            "shape": list(self.shape) if self.shape is not None else None,
            "dtype": self.dtype,
            "length": self.length,
            "member": self.member,
            "member_bytes": self.member_bytes,
            "stored_bytes": self.stored_bytes,
            "data_bytes": self.data_bytes,
            "plugin": self.plugin,
            "loadable": self.loadable,
            "install_hint": self.install_hint,
            "value": self.value,
            "details": self.details,
        }


def default_description(node: JSONdict) -> dict[str, Any]:
    """`shape`, `dtype` and `length` read from the keys array-like nodes carry (zanj 0.6's too)."""
    facts: dict[str, Any] = {}
    shape = node.get("shape")
    if isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape):
        facts["shape"] = tuple(shape)
    dtype = node.get("dtype")
    if isinstance(dtype, str):
        facts["dtype"] = dtype
    length = node.get("len")
    if type(length) is int and length >= 0:
        facts["length"] = length
    return facts


RefMemo = dict[int, tuple[Any, frozenset[str]]]
"""The members under each container node of a JSON tree, by `id`, filled by `_ref_set`; each
entry holds its node too, so no id is reused while the memo lives."""
_NO_REFS: frozenset[str] = frozenset()


def _ref_set(node: Any, memo: RefMemo) -> frozenset[str]:
    """Every `$ref` in a JSON subtree, each container's set computed once (post-order, with
    its own stack): containers without members share one empty set, so the cost is one pass
    over the nodes plus the members times their depth."""
    if type(node) not in (dict, list):
        return _NO_REFS
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        if key in memo:
            continue
        children = [c for c in (current.values() if type(current) is dict else current) if type(c) in (dict, list)]
        if not done:
            stack.append((current, True))
            stack.extend((child, False) for child in children if id(child) not in memo)
            continue
        own = current.get(REF_KEY) if type(current) is dict else None
        parts = [memo[id(child)][1] for child in children if memo[id(child)][1]]
        if type(own) is str:
            parts.append(frozenset((own,)))
        memo[key] = (current, frozenset().union(*parts) if len(parts) > 1 else (parts[0] if parts else _NO_REFS))
    return memo[id(node)][1]


class ZanjFile:
    """An open `.zanj` file: its metadata and tree are parsed, its data members read on demand.

    Use it as a context manager (or call `close()`). Arrays loaded with `mmap=True` stay valid
    after closing: they keep the mapping alive.
    """

    def __init__(
        self,
        zanj: ZANJ,
        path: Location,
        *,
        mmap: bool = False,
        storage_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if options:
            zanj.check_read_options(options)
        self.zanj = zanj
        self.options = options
        self.mmap = mmap
        self._reader: ArchiveReader | None = None
        reader = ArchiveReader(
            path, zanj.read_limits, mmap=mmap, verify_checksums=zanj.verify_checksums, storage_options=storage_options
        )
        self.open_budget: ReadBudget = reader.new_budget()
        """The budget of opening; `ZANJ.read` loads under it too, so a read has one budget."""
        try:
            self.meta: JSONdict = reader.read_meta(self.open_budget)
            """The file's metadata: format version, writer, settings, plugins used."""
            self.root: Any = reader.read_json(MAIN_MEMBER, self.open_budget)
            """The parsed JSON tree of the whole file (data members not read)."""
        except BaseException:
            reader.close()
            raise
        self._reader = reader
        self.path = reader.path
        self._children_cache: OrderedDict[int, tuple[Any, list[tuple[str | int, Any]]]] = OrderedDict()
        self._children_lock = threading.Lock()

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> ZanjFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def closed(self) -> bool:
        return self._reader is None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.reader.names())} members"
        return f"<ZanjFile {str(self.path)!r} ({state})>"

    @property
    def reader(self) -> ArchiveReader:
        if self._reader is None:
            raise ZanjError(f"{self.path} is closed; open it again with ZANJ().open(path)")
        return self._reader

    def context(self, budget: ReadBudget | None = None) -> LoadContext:
        """A fresh load context: each load shares storage within itself, not with earlier loads,
        and has a budget of its own (see `zanj_core._contract.budget`) unless one is given."""
        return LoadContext(self.zanj, self.reader, self.meta, REGISTRY, self.options, budget)

    # -- finding items ---------------------------------------------------------------------

    def _children(
        self, node: Any, path: ObjectPath, ctx: LoadContext, for_lookup: bool
    ) -> list[tuple[str | int, Any]] | None:
        """The items of a container node, None for a leaf. Raises for a typed node whose
        loader is missing when `for_lookup` (its layout is unknown without the plugin)."""
        kind = type(node)
        if kind is list:
            return list(enumerate(node))
        if kind is not dict:
            return None
        tag = node.get(FORMAT_KEY)
        if tag is None:
            return list(node.items())
        handler = ctx.loader_for(tag) if isinstance(tag, str) else None
        if handler is None:
            if for_lookup:
                raise ZanjMissingPluginError(
                    f"{self.path}: cannot look inside the {quoted(str(tag), 100)} item at {format_path(path)}: no loader "
                    f"is installed for it; {ctx.install_hint(str(tag))}"
                )
            return None
        if handler.children is None:
            return None
        if REF_KEY in node:  # read from a member: each use is charged and read again
            return list(handler.children(node, path, ctx))
        # items of a typed node are rebuilt by its loader (a dict's keys loaded one by one):
        # kept for the few nodes used last, so looking at each item in turn is not quadratic
        with self._children_lock:  # items may be asked for from several threads
            cached = self._children_cache.get(id(node))
            if cached is not None and cached[0] is node:
                self._children_cache.move_to_end(id(node))
                return cached[1]
        children = list(handler.children(node, path, ctx))
        with self._children_lock:
            self._children_cache[id(node)] = (node, children)  # the node is kept: its id stays its own
            if len(self._children_cache) > CHILDREN_CACHE_NODES:
                self._children_cache.popitem(last=False)
        return children

    def _step(self, node: Any, path: ObjectPath, key: str | int, ctx: LoadContext) -> tuple[str | int, Any]:
        children = self._children(node, path, ctx, for_lookup=True)
        if children is None:
            what = (
                quoted(str(node.get(FORMAT_KEY)), 100)
                if type(node) is dict
                else _JSON_KINDS.get(type(node), type(node).__name__)
            )
            hint = "; use .slice(path)[rows] to read part of it" if type(node) is dict and REF_KEY in node else ""
            raise ZanjKeyError(
                f"{self.path}: the item at {format_path(path)} is a {what} with no items to step into "
                f"(asked for {key!r}){hint}"
            )
        for child_key, child in children:
            if child_key == key and type(child_key) is type(key):
                return child_key, child
        # "17" finds list index 17 and an int key 17; -1 counts from the end of a list
        text = str(key)
        for child_key, child in children:
            if str(child_key) == text:
                return child_key, child
        index = int(key) if isinstance(key, str) and _INDEX.fullmatch(key) else key
        if (
            isinstance(index, int)
            and index < 0
            and len(children) >= -index
            and all(type(k) is int for k, _ in children)
        ):
            return children[index]
        import difflib  # only when reporting a missing key

        keys = [str(k) for k, _ in children]
        # suggestions compare a bounded number of bounded keys: a file of a million long keys
        # must not make a typo cost minutes
        candidates = [k[:_SUGGEST_KEY_CHARS] for k in keys[:_SUGGEST_MAX_KEYS]]
        close = difflib.get_close_matches(text[:_SUGGEST_KEY_CHARS], candidates, n=3, cutoff=0.5)
        # keys come from the file: escaped and cut, as every file string in a message
        shown = ", ".join(safe_text(k, 40) for k in keys[:12]) + (
            f", ... ({len(keys)} in all)" if len(keys) > 12 else ""
        )
        suggestion = f"; did you mean {' or '.join(quoted(c, 60) for c in close)}" if close else ""
        asked = quoted(key, 60) if isinstance(key, str) else repr(key)
        raise ZanjKeyError(
            f"{self.path}: no item {asked} at {format_path(path)}{suggestion}; it holds: {shown or 'nothing'}"
        )

    def _resolve(self, path: ItemPath, ctx: LoadContext) -> tuple[ObjectPath, Any]:
        """The canonical path (keys as stored, indices as ints) and the JSON node it names."""
        node = self.root
        resolved: ObjectPath = ()
        for key in parse_path(path):
            child_key, node = self._step(node, resolved, key, ctx)
            resolved = (*resolved, child_key)
        return resolved, node

    def _load(self, node: Any, path: ObjectPath, ctx: LoadContext) -> Any:
        try:
            return ctx.load(node, path)
        except RecursionError as exc:
            raise ZanjLimitError(f"{self.path}: the data at {format_path(path)} is nested too deeply to load") from exc

    # -- the mapping interface -------------------------------------------------------------

    def load(self, path: ItemPath = None) -> Any:
        """Load the item at `path` (the whole file when omitted), reading only the members under it.

        A typed node (dataclass, model, frame) loads whole. Stepping inside a dataclass or model
        loads that field as stored, without the class's field hooks (`loading_fn`). The
        collector is paused for the walk, as in `ZANJ.read` (`pause_gc`).
        """
        return self.load_within(path, None)

    def load_within(self, path: ItemPath, budget: ReadBudget | None) -> Any:
        """`load` charging an existing budget (`ZANJ.read` passes the one its open used)."""
        with collector_paused(self.zanj.pause_gc):
            ctx = self.context(budget)
            resolved, node = self._resolve(path, ctx)
            loaded = self._load(node, resolved, ctx)
            ctx.finish()
            return loaded

    def __getitem__(self, path: ItemPath) -> Any:
        return self.load(path)

    def __contains__(self, path: object) -> bool:
        try:
            self._resolve(path, self.context())  # type: ignore[arg-type]
        except ZanjKeyError:
            return False
        return True

    def get(self, path: ItemPath, default: Any = None) -> Any:
        try:
            return self.load(path)
        except ZanjKeyError:
            return default

    def keys(self, path: ItemPath = None) -> list[str | int]:
        """The keys (or indices) of the container at `path`, the top level by default."""
        ctx = self.context()
        resolved, node = self._resolve(path, ctx)
        children = self._children(node, resolved, ctx, for_lookup=True)
        if children is None:
            raise ZanjKeyError(f"{self.path}: the item at {format_path(resolved)} is not a container; it has no keys")
        return [key for key, _ in children]

    def __iter__(self) -> Iterator[str | int]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    # -- describing items ------------------------------------------------------------------

    def info(self, path: ItemPath = None) -> ItemInfo:
        """Type tag, shape, dtype, sizes, member and plugin of one item, from the JSON alone."""
        ctx = self.context()
        resolved, node = self._resolve(path, ctx)
        return self._info(node, resolved, ctx, self._children(node, resolved, ctx, for_lookup=False))

    def _info(
        self,
        node: Any,
        path: ObjectPath,
        ctx: LoadContext,
        children: list[tuple[str | int, Any]] | None,
        memo: RefMemo | None = None,
    ) -> ItemInfo:
        kind = type(node)
        if kind is not dict or FORMAT_KEY not in node:
            return ItemInfo(
                path=path,
                kind=_JSON_KINDS.get(kind, kind.__name__),
                tagged=False,
                length=len(node) if kind in (dict, list) else None,
                data_bytes=self._data_bytes(node, memo),
                value=None if kind in (dict, list) else node,
            )
        tag = node[FORMAT_KEY]
        tag_text = tag if isinstance(tag, str) else repr(tag)
        handler = ctx.loader_for(tag) if isinstance(tag, str) else None
        facts = self._describe(node, handler)
        ref = node.get(REF_KEY)
        member_info = self.reader.info(ref) if isinstance(ref, str) and self.reader.has(ref) else None
        shape = facts.pop("shape", None)
        dtype = facts.pop("dtype", None)
        length = facts.pop("length", None)
        value = facts.pop("value", None)
        if length is None and children is not None:
            length = len(children)
        return ItemInfo(
            path=path,
            kind=tag_text,
            tagged=True,
            shape=tuple(shape) if isinstance(shape, (list, tuple)) else None,
            dtype=str(dtype) if dtype is not None else None,
            length=length if type(length) is int else None,
            member=ref if member_info is not None else None,
            member_bytes=member_info.file_size if member_info is not None else None,
            stored_bytes=member_info.compress_size if member_info is not None else None,
            data_bytes=self._data_bytes(node, memo),
            plugin=handler.source.distribution if handler is not None else None,
            loadable=handler is not None,
            install_hint=None if handler is not None else ctx.install_hint(tag_text),
            value=value if isinstance(value, (str, int, float, bool)) else None,
            details=facts,
        )

    @staticmethod
    def _describe(node: JSONdict, handler: LoaderHandler | None) -> dict[str, Any]:
        facts = default_description(node)
        if handler is not None and handler.describe is not None:
            try:
                facts.update(handler.describe(node))
            except Exception as exc:  # a describe hook must not break listing a file
                facts["describe_error"] = f"{type(exc).__name__}: {exc}"
        return facts

    def _data_bytes(self, node: Any, memo: RefMemo | None = None) -> int:
        """Uncompressed bytes of the distinct members under `node`. `tree` shares one `memo`
        over all its items, so listing costs one pass over the JSON, not one per item."""
        reader = self.reader
        refs = _ref_set(node, memo if memo is not None else {})
        return sum(reader.info(ref).file_size for ref in refs if reader.has(ref))

    def tree(self, path: ItemPath = None, max_depth: int | None = None, expand_members: bool = False) -> list[ItemInfo]:
        """`info` for the item at `path` and everything under it, parents before children.

        Items whose content lives in a member (long lists stored as `.jsonl`) are not opened
        unless `expand_members`; `max_depth` limits how many levels below `path` are listed.
        """
        ctx = self.context()
        memo: RefMemo = {}
        return [
            self._info(item, item_path, ctx, children, memo)
            for item_path, item, children in self._walk(path, max_depth, expand_members, ctx)
        ]

    def _walk(
        self, path: ItemPath, max_depth: int | None, expand_members: bool, ctx: LoadContext
    ) -> Iterator[tuple[ObjectPath, Any, list[tuple[str | int, Any]] | None]]:
        """The items under `path`, parents first, each with its items (None for a leaf or an
        unopened member): the walk of `tree` and `zanj ls`, each item charged to `ctx`'s budget."""
        resolved, node = self._resolve(path, ctx)
        # each entry carries the members its ancestors were expanded from, to refuse cycles
        stack: list[tuple[ObjectPath, Any, frozenset[str]]] = [(resolved, node, frozenset())]
        while stack:
            item_path, item, expanded = stack.pop()
            depth = len(item_path) - len(resolved)
            if len(item_path) > self.zanj.max_depth:
                raise ZanjLimitError(
                    f"{self.path}: data at {format_path(item_path[:8])}/... is nested more than "
                    f"{self.zanj.max_depth} levels deep"
                )
            ref = item.get(REF_KEY) if type(item) is dict else None
            openable = expand_members or ref is None
            if openable and type(ref) is str:
                if ref in expanded:
                    raise ZanjFormatError(
                        f"{self.path}: the item at {format_path(item_path)} refers to member {quoted(ref, 100)}, "
                        "which holds this very item: members referring to each other in a cycle are forged"
                    )
                expanded = expanded | {ref}
            children = self._children(item, item_path, ctx, for_lookup=False) if openable else None
            ctx.walked(1, LISTED_ITEM_COST)
            yield item_path, item, children
            if children is not None and (max_depth is None or depth < max_depth):
                stack.extend(((*item_path, key), child, expanded) for key, child in reversed(children))

    # -- partial loads ---------------------------------------------------------------------

    def slice(self, path: ItemPath) -> ItemSlicer:
        """An object to index: `f.slice("w")[100:200]` loads rows 100 to 199 of `w`.

        Uncompressed arrays and tensors read only the bytes of those rows (with `mmap=True`,
        they map them); other items load whole and are then indexed.
        """
        ctx = self.context()
        resolved, node = self._resolve(path, ctx)
        return ItemSlicer(self, resolved, node)


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
        return f"<ItemSlicer {format_path(self.path)} of {str(self._file.path)!r}>"


def _index_error(file: ZanjFile, path: ObjectPath, key: Any, exc: Exception) -> ZanjError:
    return ZanjIndexError(f"{file.path}: cannot index the item at {format_path(path)} with {key!r}: {exc}")
