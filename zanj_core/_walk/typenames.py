"""Matching a serializer handler's `types` against an object's class, without importing.

A handler names a class either as the class itself or as a dotted name, so a plugin need not
import a heavy framework before an object of it is met. A dotted name matches the class's own
`module.QualName` (`scipy.sparse._csr.csr_array`) and also the public alias users write
(`scipy.sparse.csr_array`): the alias's module is looked up in `sys.modules` only, never
imported, and what it holds under that name is compared by identity with the classes of the
MRO. An alias module that is not imported yet cannot hold the object's class in the usual case
(it is a parent package of the defining module, imported with it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from zanj_core._contract.nodes import TypeSpec

TypoReport = Callable[[str, str], None]
"""Called with (dotted name, module) when the named module is imported but lacks the name."""


def class_names(mro: tuple[type, ...]) -> dict[str, int]:
    """Each class of an MRO by its own dotted name -> its distance from the object's class."""
    names: dict[str, int] = {}
    for distance, klass in enumerate(mro):
        names.setdefault(f"{klass.__module__}.{klass.__qualname__}", distance)
    return names


def type_distance(
    spec: TypeSpec, cls: type, mro: tuple[type, ...], names: dict[str, int], on_typo: TypoReport
) -> int | None:
    """How far up `cls`'s MRO the handler type `spec` sits; None when it does not apply.

    Abstract base classes that match only through `issubclass` rank after every real base.
    """
    if isinstance(spec, str):
        found = names.get(spec)
        return found if found is not None else _alias_distance(spec, mro, on_typo)
    if spec in mro:
        return mro.index(spec)
    try:
        return len(mro) if issubclass(cls, spec) else None
    except TypeError:
        return None


def _alias_distance(spec: str, mro: tuple[type, ...], on_typo: TypoReport) -> int | None:
    """The MRO distance of the class an imported module publishes as `spec`, if any."""
    module_name, _, attribute = spec.rpartition(".")
    module = sys.modules.get(module_name) if module_name else None
    if module is None:
        return None  # not imported: nothing of it can be on the MRO (and importing is not ours to do)
    namespace = getattr(module, "__dict__", {})
    if attribute not in namespace:
        # a module-level __getattr__ may publish it lazily; asking it could import: not a typo
        if "__getattr__" not in namespace:
            on_typo(spec, module_name)
        return None
    target = namespace[attribute]
    for distance, klass in enumerate(mro):
        if klass is target:
            return distance
    return None
