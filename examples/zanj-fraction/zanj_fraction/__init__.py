"""An example third-party zanj plugin: `fractions.Fraction`, saved exactly.

A node looks like ``{"__muutils_format__": "fractions.Fraction", "numerator": 1, "denominator": 3}``.
Numerator and denominator go through the walk, so integers of any size stay exact.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from zanj_core.plugin import FORMAT_KEY, LoaderHandler, SerializerHandler, ZanjFormatError, hookimpl

TAG = "fractions.Fraction"


def _serialize(obj: Fraction, path: tuple[Any, ...], ctx: Any) -> dict[str, Any]:
    return {
        FORMAT_KEY: TAG,
        "numerator": ctx.serialize(obj.numerator, (*path, "numerator")),
        "denominator": ctx.serialize(obj.denominator, (*path, "denominator")),
    }


def _load(node: dict[str, Any], path: tuple[Any, ...], ctx: Any) -> Fraction:
    numerator = ctx.load(node.get("numerator"), (*path, "numerator"))
    denominator = ctx.load(node.get("denominator"), (*path, "denominator"))
    if type(numerator) is not int or type(denominator) is not int or denominator <= 0:
        raise ZanjFormatError(f"{ctx.label}: malformed fraction at {'/'.join(map(str, path))}")
    return Fraction(numerator, denominator)


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    # naming the type by its dotted name would avoid importing it; fractions is stdlib, so either works
    return [SerializerHandler(tag=TAG, types=(Fraction,), serialize=_serialize)]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [LoaderHandler(tag=TAG, load=_load)]
