"""Finding a class named in a file among the classes the running program has defined.

Nothing here imports a module: a file that names `os.system` or a class nobody defined gets
`None` back, and the caller reports it as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from zanj_core.errors import ZanjFormatError


def defined_subclasses(base: type) -> Iterator[type]:
    """Every subclass of `base` currently alive in the process, depth first, each once."""
    seen: set[type] = set()
    stack: list[type] = list(reversed(type.__subclasses__(base)))
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        stack.extend(reversed(type.__subclasses__(cls)))


def class_key(cls: type) -> str:
    """`module:QualName`, the way a file records which class it holds."""
    return f"{cls.__module__}:{cls.__qualname__}"


def type_name(cls: type) -> str:
    """`module.QualName` as messages show a type (a builtin by its bare name)."""
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def resolve_class(
    base: type, name: str, recorded: str | None, what: str, where: str, *, among: Iterable[type] | None = None
) -> type | None:
    """The subclass of `base` named `name` (or recorded as `module:QualName`), or None.

    When several defined classes share the name, the recorded module picks one; a class
    redefined in the same module (a re-run notebook cell) resolves to the newest definition.
    Several candidates and no way to choose give a `ZanjFormatError` listing them.

    `among`: the classes to choose from, in `defined_subclasses(base)` order, when the caller
    has listed them already (a read resolving many nodes lists the defined classes once, not
    once per node); by default every subclass of `base` defined now.
    """
    listed = defined_subclasses(base) if among is None else among
    candidates = [c for c in listed if c.__name__ == name]
    if recorded:
        exact = [c for c in candidates if class_key(c) == recorded]
        if exact:
            return exact[-1]
    distinct = {class_key(c) for c in candidates}
    if len(distinct) == 1:
        return candidates[-1]
    if not candidates:
        return None
    raise ZanjFormatError(
        f"{where}: {len(distinct)} defined {what} classes are named {name!r} "
        f"({', '.join(sorted(distinct))}) and the file "
        + (f"records {recorded!r}, which matches none" if recorded else "does not record which module it means")
        + "; rename one, or read with only the intended one defined"
    )
