"""The save or read in progress, for zanj 0.6 handlers that recurse the 0.6 way.

A 0.6 loader calls `load_item_recursive(child, path, z)` and a 0.6 serializer calls
`z.json_serialize(child, path)`; while zanj-core runs such a handler, these name its
`LoadContext` / `SaveContext`, so the child goes through zanj-core's walk (members and all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from zanj_core.plugin import LoadContext, SaveContext

ACTIVE_LOAD: ContextVar[LoadContext | None] = ContextVar("zanj_active_load", default=None)
ACTIVE_SAVE: ContextVar[SaveContext | None] = ContextVar("zanj_active_save", default=None)

T = TypeVar("T")


@contextmanager
def active(var: ContextVar[T | None], ctx: T) -> Iterator[None]:
    token = var.set(ctx)
    try:
        yield
    finally:
        var.reset(token)


def describe_function(function: Callable[..., Any]) -> dict[str, Any]:
    """zanj 0.6's description of a handler's function: its source and docstring, as lines."""
    from muutils.json_serialize.util import safe_getsource, string_as_lines

    return {"code": safe_getsource(function), "doc": string_as_lines(function.__doc__)}
