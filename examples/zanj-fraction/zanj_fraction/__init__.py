"""An example third-party zanj plugin: `fractions.Fraction`, saved exactly.

A node looks like ``{"__muutils_format__": "fractions.Fraction", "numerator": 1, "denominator": 3}``.
Numerator and denominator go through the walk, so integers of any size stay exact.

It imports only the published plugin API, `zanj_core.plugin`, like any plugin should.
"""

from __future__ import annotations

from fractions import Fraction

from zanj_core.plugin import (
    FORMAT_KEY,
    JSONdict,
    LoadContext,
    LoaderHandler,
    ObjectPath,
    SaveContext,
    SerializerHandler,
    ZanjFormatError,
    format_path,
    hookimpl,
)

ZANJ_PLUGIN_API = "1.0"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""

TAG = "fractions.Fraction"


def _serialize(obj: Fraction, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    return {
        FORMAT_KEY: TAG,
        "numerator": ctx.serialize(obj.numerator, (*path, "numerator")),
        "denominator": ctx.serialize(obj.denominator, (*path, "denominator")),
    }


def _load(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Fraction:
    numerator = ctx.load(node.get("numerator"), (*path, "numerator"))
    denominator = ctx.load(node.get("denominator"), (*path, "denominator"))
    if type(numerator) is not int or type(denominator) is not int or denominator <= 0:
        raise ZanjFormatError(f"{ctx.label}: malformed fraction at {format_path(path)}")
    return Fraction(numerator, denominator)


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    # naming the type by its dotted name would avoid importing it; fractions is stdlib, so either works
    return [SerializerHandler(tag=TAG, types=(Fraction,), serialize=_serialize)]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [LoaderHandler(tag=TAG, load=_load)]
