"""zanj-core's walk over JSON in memory, for `load_item_recursive` outside a read.

zanj 0.6's `load_item_recursive` loaded JSON with no archive open, leniently: a tag no loader
reads came back as a dict of its loaded items. And `LoadedZANJ.populate_externals()` put each
member's content (an array, a list of JSON items) into the node that refers to it, under
"data", for the loaders to find. zanj-core's loaders reach a member through their
`LoadContext`: here `read_member` hands them the content under "data" as it is, and `member`
(for a loader that reads the bytes itself: arrays, tensors, Arrow frames) gives a
`MemberSource` over that content written back, by its member format, into a one-member
archive in memory, through zanj-core's own save and open. The installed loader then builds the
object exactly as from the file.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from zanj_core import ZANJ as CoreZANJ
from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    LoadContext,
    LoaderHandler,
    MemberFormat,
    MemberSource,
    ObjectPath,
    ReadBudget,
    SaveContext,
    SerializerHandler,
    ZanjFormatError,
    format_path,
    quoted,
)

POPULATED_KEY = "data"
"""Where `populate_externals` puts a member's content, as zanj 0.6 did."""

JSON_TYPES = (dict, list, str, int, float, bool, type(None))


def member_formats_for(registry: Any, ref: str) -> list[MemberFormat]:
    """The installed member formats whose extension a `$ref` name ends with (two plugins may
    share one: pandas' and polars' `.arrow`)."""
    formats: dict[str, MemberFormat] = registry.member_formats()
    return [fmt for fmt in formats.values() if ref.endswith(fmt.extension)]


@dataclass
class _Populated:
    node: JSONdict
    format_name: str
    content: Any
    path: ObjectPath


def _save_populated(obj: _Populated, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {**obj.node, REF_KEY: ctx.add_member(obj.path, obj.format_name, obj.content)}


@functools.cache
def _writer() -> CoreZANJ:
    handler = SerializerHandler(
        tag="",
        types=(_Populated,),
        serialize=_save_populated,
        description="zanj 1.0: a populated external node, written back as a member",
    )
    return CoreZANJ(handlers_pre=[handler], durable=False, pause_gc=False)


def member_source(
    zanj: CoreZANJ, node: JSONdict, path: ObjectPath, budget: ReadBudget, opened: ExitStack
) -> MemberSource:
    """The member a populated node stands for, as `zanj` reads it, charged to `budget`; the
    archive in memory stays open in `opened`.

    Each format of the member's extension is tried as the writer of the content; one that
    cannot write it (polars' writer given an Arrow table) makes way for the next."""
    ref, content = node.get(REF_KEY), node[POPULATED_KEY]
    formats = member_formats_for(zanj.registry, ref) if isinstance(ref, str) else []
    stored = {key: value for key, value in node.items() if key != POPULATED_KEY}
    for member_format in formats:
        buffer = io.BytesIO()
        try:
            _writer().save(_Populated(stored, member_format.name, content, path), buffer)
        except Exception:  # this format's writer does not take the content: the next may
            continue
        buffer.seek(0)
        buffer.name = "<memory>"  # how messages name the archive, as they name JSON in memory
        archive = opened.enter_context(zanj.open(buffer))
        return archive.context(budget).member(archive.root, path)
    raise ZanjFormatError(
        f"the {quoted(str(node.get(FORMAT_KEY)), 100)} node at {format_path(path)} holds a "
        f"{type(content).__name__} under {POPULATED_KEY!r}, which no installed member format of "
        f"{quoted(str(ref), 100)} writes: give it the content LoadedZANJ.populate_externals() puts "
        "there, or load the file with ZANJ().read"
    )


class MemoryLoad(LoadContext):
    """zanj-core's walk over JSON in memory (no archive), with zanj 0.6's leniency: a tag no
    loader reads comes back as a dict of its loaded items, not as a placeholder, and so does a
    node referring to a member whose content is not under "data". Content under "data" is
    what the node's loader reads; a 0.6 loader of yours gets such a node as it is."""

    def __init__(self, zanj: CoreZANJ, allow_not_loading: bool, is_06_loader: Callable[[LoaderHandler], bool]) -> None:
        super().__init__(zanj, None, {})
        self.allow_not_loading = allow_not_loading
        self.is_06_loader = is_06_loader
        self.opened = ExitStack()
        """The archives in memory that populated members are read from, closed after the walk."""

    def load(self, node: Any, path: ObjectPath = ()) -> Any:
        if not isinstance(node, JSON_TYPES):
            if self.allow_not_loading:
                return node
            raise ValueError(f"unknown type {type(node)} at {path}\n{node!r}")
        if type(node) is dict:
            tag = node.get(FORMAT_KEY)
            if isinstance(tag, str) and isinstance(node.get(REF_KEY), str):
                loader = self.registry.loader_for(tag)
                if loader is None or (POPULATED_KEY not in node and not self.is_06_loader(loader)):
                    return self.missing(tag, node, path)
        return super().load(node, path)

    def read_member(self, node: JSONdict, path: ObjectPath, format_name: str) -> Any:
        if POPULATED_KEY in node:
            return node[POPULATED_KEY]
        return super().read_member(node, path, format_name)

    def member(self, node: JSONdict, path: ObjectPath) -> MemberSource:
        if POPULATED_KEY in node:
            return member_source(self.zanj, node, path, self.budget, self.opened)
        return super().member(node, path)

    def missing(
        self,
        tag: str,
        node: JSONdict,
        path: ObjectPath,
        reason: str | None = None,
        hint: str | None = None,
        category: type[Warning] = UserWarning,
    ) -> Any:
        return {key: value if key == FORMAT_KEY else self.load(value, (*path, key)) for key, value in node.items()}


def walk(
    json_item: Any,
    path: ObjectPath,
    zanj: CoreZANJ,
    allow_not_loading: bool,
    is_06_loader: Callable[[LoaderHandler], bool],
) -> Any:
    """`json_item` loaded by zanj-core's loaders, as `load_item_recursive` loads JSON in memory."""
    memory = MemoryLoad(zanj, allow_not_loading, is_06_loader)
    with memory.opened:
        return memory.load(json_item, path)
