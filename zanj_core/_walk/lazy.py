"""Layer 3, the walks: the lazy reader, `ZANJ().open(location)`, a file looked into item by item.

Opening parses the zip directory and the two JSON members, nothing else. Items are found by
path (`"layers/17/w"` or `("layers", 17, "w")`, `zanj_core._walk.items`) through the JSON tree:
plain dicts and lists directly, typed containers (tuples, dataclasses, models...) through their
loader's `children` hook. Loading an item reads only the members under it; `info` and `tree`
read none. `ZANJ.read` is `open` followed by loading the root, so there is one reader.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from zanj_core._container.locations import Location
from zanj_core._container.reader import ArchiveReader
from zanj_core._container.spec import MAIN_MEMBER
from zanj_core._contract.budget import ReadBudget
from zanj_core._contract.nodes import FORMAT_KEY, REF_KEY, JSONdict, ObjectPath, format_path, walk_nodes
from zanj_core._contract.textsafe import quoted, safe_text
from zanj_core._walk.gcpause import collector_paused
from zanj_core._walk.items import JSON_KINDS, ItemInfo, ItemPath, RefMemo, describe_item, parse_path
from zanj_core._walk.loading import LoadContext
from zanj_core._walk.slicing import ItemSlicer
from zanj_core.errors import (
    ZanjError,
    ZanjFormatError,
    ZanjKeyError,
    ZanjLimitError,
    ZanjMissingPluginError,
)

if TYPE_CHECKING:
    from pathlib import Path

    from zanj_core._walk.zanj import ZANJ

_INDEX = re.compile(r"-[0-9]+")
CHILDREN_CACHE_NODES = 16
"""Typed nodes of an open file whose items are kept between operations (least recently used)."""
LISTED_ITEM_COST = 512
"""Charged per item `tree` lists: an `ItemInfo` and its path, kept until the listing returns."""
LISTED_PATH_STEP_COST = 32
"""Charged per level of a listed item's object path on top of `LISTED_ITEM_COST`: a listing
keeps each item's path, so a wide list deep down costs its width times its depth."""
_SUGGEST_MAX_KEYS = 2000
_SUGGEST_KEY_CHARS = 80


class ZanjFile:
    """An open `.zanj` file: its metadata and tree are parsed, its data members read on demand.

    Use it as a context manager (or call `close()`). Arrays loaded with `mmap=True` stay valid
    after closing: they keep the mapping alive.
    """

    def __init__(
        self,
        zanj: ZANJ,
        location: Location,
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
            location,
            zanj.read_limits,
            mmap=mmap,
            verify_checksums=zanj.verify_checksums,
            storage_options=storage_options,
        )
        self.open_budget: ReadBudget = reader.new_budget()
        """The budget of opening; `ZANJ.read` loads under it too, so a read has one budget."""
        try:
            self._meta: JSONdict = reader.read_meta(self.open_budget)
            """The metadata member as parsed: what loading needs (the plugins' tag table)."""
            self._described: JSONdict | None = None
            self.root: Any = reader.read_json(MAIN_MEMBER, self.open_budget)
            """The parsed JSON tree of the whole file (data members not read)."""
        except BaseException:
            reader.close()
            raise
        self._reader = reader
        self.location: str | Path = reader.location
        """The file's path, URL or file object's name, as messages name it."""
        self._children_cache: OrderedDict[int, tuple[Any, list[tuple[str | int, Any]]]] = OrderedDict()
        self._children_lock = threading.Lock()

    @property
    def meta(self) -> JSONdict:
        """The file's metadata: format version, writer, settings, plugins used, and
        `externals_info` (each data member's object path, member format and shape or length),
        which format 1.1 keeps in a member of its own, read the first time this is asked for."""
        if self._described is None:
            externals = self.reader.read_externals_info(self._meta, self.open_budget)
            self._described = {**self._meta, "externals_info": externals}
        return self._described

    @property
    def path(self) -> str | Path:
        """The file, as `location` names it (the older name, kept for users; an item's
        path is an `ItemPath`)."""
        return self.location

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
        return f"<ZanjFile {str(self.location)!r} ({state})>"

    @property
    def reader(self) -> ArchiveReader:
        if self._reader is None:
            raise ZanjError(f"{self.location} is closed; open it again with ZANJ().open(path)")
        return self._reader

    def context(self, budget: ReadBudget | None = None) -> LoadContext:
        """A fresh load context: each load shares storage within itself, not with earlier loads,
        and has a budget of its own (see `zanj_core._contract.budget`) unless one is given."""
        return LoadContext(self.zanj, self.reader, self._meta, self.options, budget)

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
                    f"{self.location}: cannot look inside the {quoted(str(tag), 100)} item at {format_path(path)}: no loader "
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
        # the exact key of a plain dict, or an index of a list, found directly: what the scan below
        # finds first, without listing every item (a file's items looked up one by one stay linear)
        if type(node) is dict and type(key) is str and FORMAT_KEY not in node and key in node:
            return key, node[key]
        if type(node) is list and type(key) is int and 0 <= key < len(node):
            return key, node[key]
        children = self._children(node, path, ctx, for_lookup=True)
        if children is None:
            what = (
                quoted(str(node.get(FORMAT_KEY)), 100)
                if type(node) is dict
                else JSON_KINDS.get(type(node), type(node).__name__)
            )
            hint = "; use .slice(path)[rows] to read part of it" if type(node) is dict and REF_KEY in node else ""
            raise ZanjKeyError(
                f"{self.location}: the item at {format_path(path)} is a {what} with no items to step into "
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
            f"{self.location}: no item {asked} at {format_path(path)}{suggestion}; it holds: {shown or 'nothing'}"
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
            raise ZanjLimitError(
                f"{self.location}: the data at {format_path(path)} is nested too deeply to load"
            ) from exc

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
            return self.load_paused(path, budget)

    def load_paused(self, path: ItemPath, budget: ReadBudget | None) -> Any:
        """`load_within` for a caller that has paused the collector itself (`ZANJ.read`)."""
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
            raise ZanjKeyError(
                f"{self.location}: the item at {format_path(resolved)} is not a container; it has no keys"
            )
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
        return describe_item(self.reader, node, path, ctx, children, memo)

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
        unopened member): the walk of `tree` and `zanj ls`, each item charged to `ctx`'s budget.

        `walk_nodes` over the items: each item's items are opened once, here, since the listing
        shows them, and handed to `walk_nodes` when it asks for them, right after."""
        resolved, node = self._resolve(path, ctx)
        deepest = None if max_depth is None else len(resolved) + max_depth
        opened: list[tuple[str | int, Any]] | None = None
        # [d]: the members opened by the item met last d levels below `path` and by its holders;
        # the walk meets items before what they hold, so an item's holders opened [d - 1]
        members_opened: list[frozenset[str]] = []

        def step_into(item_path: ObjectPath, item: Any) -> list[tuple[str | int, Any]] | None:
            # called for the item just yielded: `opened` holds its items
            return opened if deepest is None or len(item_path) < deepest else None

        for item_path, item in walk_nodes(node, resolved, step_into):
            if len(item_path) > self.zanj.max_depth:
                raise ZanjLimitError(
                    f"{self.location}: data at {format_path(item_path[:8])}/... is nested more than "
                    f"{self.zanj.max_depth} levels deep"
                )
            depth = len(item_path) - len(resolved)
            members = members_opened[depth - 1] if depth else frozenset()
            del members_opened[depth:]
            ref = item.get(REF_KEY) if type(item) is dict else None
            openable = expand_members or ref is None
            if openable and type(ref) is str:
                if ref in members:
                    raise ZanjFormatError(
                        f"{self.location}: the item at {format_path(item_path)} refers to member {quoted(ref, 100)}, "
                        "which holds this very item: members referring to each other in a cycle are forged"
                    )
                members = members | {ref}
            members_opened.append(members)
            opened = self._children(item, item_path, ctx, for_lookup=False) if openable else None
            ctx.walked(1, LISTED_ITEM_COST + LISTED_PATH_STEP_COST * len(item_path))
            yield item_path, item, opened

    # -- partial loads ---------------------------------------------------------------------

    def slice(self, path: ItemPath) -> ItemSlicer:
        """An object to index: `f.slice("w")[100:200]` loads rows 100 to 199 of `w`.

        Uncompressed arrays and tensors read only the bytes of those rows (with `mmap=True`,
        they map them); other items load whole and are then indexed.
        """
        ctx = self.context()
        resolved, node = self._resolve(path, ctx)
        return ItemSlicer(self, resolved, node)
