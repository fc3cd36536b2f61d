"""The classes a read may resolve names to, listed once per read (core plugins' helper).

A file names classes (dataclasses, enums) that are looked for among the subclasses the program
has defined. Listing them walks every subclass; a read lists them once, at the first node that
needs them, and resolves each name among that list (`resolve_class(..., among=...)`): the
classes a read sees are those defined when it met its first such node.
"""

from __future__ import annotations

from zanj_core.plugin import LoadContext, defined_subclasses


def defined_by_name(base: type, ctx: LoadContext, cache_key: str) -> dict[str, list[type]]:
    """The subclasses of `base` defined when this read first asked, by name, each list in
    `defined_subclasses` order; kept in `ctx.cache[cache_key]` for the rest of the read."""
    found: dict[str, list[type]] | None = ctx.cache.get(cache_key)
    if found is None:
        found = ctx.cache[cache_key] = {}
        for cls in defined_subclasses(base):
            found.setdefault(cls.__name__, []).append(cls)
    return found
