"""Clashes between discovered plugins, each a `ZanjBrokenPluginWarning` naming both sides.

Checked once per discovery, over the handlers in discovery (precedence) order:

- two plugins loading the same exact tag: the first discovered keeps it;
- two distributions writing the same serializer tag: a file's tag table records one
  distribution per tag, so it would name the wrong plugin for the other's nodes;
- an exact loader tag of one distribution inside another distribution's prefix or suffix
  family (`numpy.ndarray:external` against zanj-numpy's `numpy.ndarray`): exact tags win, so
  it silently takes that tag from the family's owner.

Handlers registered at run time or given to one `ZANJ` override on purpose and are not checked.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from zanj_core._contract.records import LoaderHandler, PluginSource, SerializerHandler
from zanj_core._walk.discovery import AnyHandler
from zanj_core.errors import ZanjBrokenPluginWarning


def check_conflicts(handlers: Sequence[AnyHandler]) -> None:
    """Warn about every clash between the plugins that provided `handlers`."""
    loaders = [h for h in handlers if isinstance(h, LoaderHandler)]
    _same_exact_loader_tag(loaders)
    _same_serializer_tag([h for h in handlers if isinstance(h, SerializerHandler)])
    _exact_tag_in_family(loaders)


def _who(source: PluginSource) -> str:
    version = f" {source.version}" if source.version else ""
    return f"{source.distribution}{version} (entry point {source.plugin!r})"


def _warn(message: str) -> None:
    warnings.warn(message, ZanjBrokenPluginWarning, stacklevel=4)


def _same_exact_loader_tag(loaders: list[LoaderHandler]) -> None:
    kept: dict[str, LoaderHandler] = {}
    for handler in loaders:
        if handler.match != "exact":
            continue
        first = kept.setdefault(handler.tag, handler)
        if first is not handler and first.source != handler.source:
            _warn(
                f"two zanj plugins load the tag {handler.tag!r}: {_who(first.source)} keeps it, being discovered "
                f"first, and {_who(handler.source)} is ignored for it. Uninstall one of them, or have one use a "
                "tag of its own (prefixed with its package name)."
            )


def _same_serializer_tag(serializers: list[SerializerHandler]) -> None:
    first_by_tag: dict[str, SerializerHandler] = {}
    for handler in serializers:
        if not handler.tag:
            continue
        first = first_by_tag.setdefault(handler.tag, handler)
        if first.source.distribution != handler.source.distribution:
            _warn(
                f"two zanj plugins write the tag {handler.tag!r}: {_who(first.source)} and {_who(handler.source)}. "
                "A file records one distribution per tag, so its tag table names the wrong plugin for the "
                "other's nodes and a reader missing it is sent to the wrong package. Uninstall one of them, or "
                "have one write a tag of its own (prefixed with its package name)."
            )


def _exact_tag_in_family(loaders: list[LoaderHandler]) -> None:
    families = [h for h in loaders if h.match != "exact"]
    for exact in loaders:
        if exact.match != "exact":
            continue
        for family in families:
            if family.source.distribution == exact.source.distribution:
                continue
            inside = exact.tag.startswith(family.tag) if family.match == "prefix" else exact.tag.endswith(family.tag)
            if inside:
                pattern = f"{family.tag}*" if family.match == "prefix" else f"*{family.tag}"
                _warn(
                    f"the zanj plugin {_who(exact.source)} loads the exact tag {exact.tag!r}, which lies in the "
                    f"{pattern!r} family that {_who(family.source)} loads. Exact tags win, so "
                    f"{exact.source.distribution} reads every {exact.tag!r} node, {family.source.distribution}'s "
                    f"included. Fix: {exact.source.distribution} should use a tag outside that family (prefixed "
                    f"with its own package name); to override {family.source.distribution} on purpose, register "
                    "the loader at run time (register_loader_handler) instead."
                )
