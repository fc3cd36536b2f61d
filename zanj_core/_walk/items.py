"""Layer 3, the walks: how users name the items of an open file, and what the JSON says about one.

`ZanjFile` finds items by an `ItemPath` (`"layers/17/w"`, `("layers", 17, "w")`) and describes
them as `ItemInfo` records, from the JSON alone: no data member is read to describe an item.
Kept apart from the reader (`zanj_core._walk.lazy`) so that what an item is and how it is named
can be read, and tested, without an open file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from zanj_core._contract.nodes import FORMAT_KEY, REF_KEY, JSONdict, JSONitem, ObjectPath
from zanj_core._contract.records import LoaderHandler
from zanj_core.errors import ZanjKeyError

if TYPE_CHECKING:
    from zanj_core._container.reader import ArchiveReader
    from zanj_core._walk.loading import LoadContext

ItemPath = Union[str, int, Sequence[Union[str, int]], None]
"""How users name an item: `"a/0/b"`, `("a", 0, "b")`, one key, or None / `""` for the root."""

JSON_KINDS: dict[type, str] = {
    dict: "dict",
    list: "list",
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "null",
}
"""The kind an untyped node is listed as, by its Python type."""


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
"""The members under each container node of a JSON tree, by `id`, filled by `ref_set`; each
entry holds its node too, so no id is reused while the memo lives."""
_NO_REFS: frozenset[str] = frozenset()


def ref_set(node: Any, memo: RefMemo) -> frozenset[str]:
    """Every `$ref` in a JSON subtree, each container's set computed once.

    Not `walk_nodes`: a container's set is made from its items' sets, so this walk is post-order
    (its own stack visits a node again once its items are done), it skips the subtrees `memo`
    knows, and it needs no object paths, which would cost their length at every node. Containers
    without members share one empty set, so the cost is one pass over the nodes plus the members
    times their depth."""
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


def data_bytes(reader: ArchiveReader, node: Any, memo: RefMemo | None = None) -> int:
    """Uncompressed bytes of the distinct members under `node`. A listing shares one `memo`
    over all its items, so it costs one pass over the JSON, not one per item."""
    refs = ref_set(node, memo if memo is not None else {})
    return sum(reader.info(ref).file_size for ref in refs if reader.has(ref))


def describe_item(
    reader: ArchiveReader,
    node: Any,
    path: ObjectPath,
    ctx: LoadContext,
    children: list[tuple[str | int, Any]] | None,
    memo: RefMemo | None = None,
) -> ItemInfo:
    """The `ItemInfo` of the node at `path`; `children` (its items, if opened) give the length of
    a typed node whose loader does not tell it."""
    kind = type(node)
    if kind is not dict or FORMAT_KEY not in node:
        return ItemInfo(
            path=path,
            kind=JSON_KINDS.get(kind, kind.__name__),
            tagged=False,
            length=len(node) if kind in (dict, list) else None,
            data_bytes=data_bytes(reader, node, memo),
            value=None if kind in (dict, list) else node,
        )
    tag = node[FORMAT_KEY]
    tag_text = tag if isinstance(tag, str) else repr(tag)
    handler = ctx.loader_for(tag) if isinstance(tag, str) else None
    facts = _facts(node, handler)
    ref = node.get(REF_KEY)
    member_info = reader.info(ref) if isinstance(ref, str) and reader.has(ref) else None
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
        data_bytes=data_bytes(reader, node, memo),
        plugin=handler.source.distribution if handler is not None else None,
        loadable=handler is not None,
        install_hint=None if handler is not None else ctx.install_hint(tag_text),
        value=value if isinstance(value, (str, int, float, bool)) else None,
        details=facts,
    )


def _facts(node: JSONdict, handler: LoaderHandler | None) -> dict[str, Any]:
    """The default description, updated by the loader's `describe` hook when it has one."""
    facts = default_description(node)
    if handler is not None and handler.describe is not None:
        try:
            facts.update(handler.describe(node))
        except Exception as exc:  # a describe hook must not break listing a file
            facts["describe_error"] = f"{type(exc).__name__}: {exc}"
    return facts
