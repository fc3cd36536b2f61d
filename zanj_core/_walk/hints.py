"""Install hints: what would let a tag load, or an object save, as a sentence.

The one rule (docs/security.md, principle 6): a file must never get to suggest a command. A
name appears in a `pip install` command only if this program vouches for it:

- a distribution installed here as a zanj plugin (spelled as installed);
- an `install_hint` that an installed plugin declares on its records;
- one of `PROJECT_DISTRIBUTIONS`, the packages the zanj project itself publishes.

Any other name a file gives is shown as the file's claim, quoted and marked unverified. A tag
the file's tag table does not explain (zanj 0.6 wrote no table) falls back on the naming
convention `<module>.X` -> `zanj-<module>`, trusted only for a project distribution; the same
convention names the plugin for an object of module `<module>` that no handler accepts.
The core keeps no table of plugins, tags or modules: the plugins' records are the knowledge.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from zanj_core._contract.records import (
    INSTALL_REQUIREMENT,
    PROJECT_NAME,
    RUNTIME_DISTRIBUTION,
    MemberFormat,
    SerializerHandler,
    canonical_name,
)
from zanj_core._contract.textsafe import quoted
from zanj_core._walk.discovery import CORE_DISTRIBUTION

if TYPE_CHECKING:
    from zanj_core._walk.registry import PluginRegistry

PROJECT_DISTRIBUTIONS: frozenset[str] = frozenset(
    {"zanj-core", "zanj-numpy", "zanj-pandas", "zanj-polars", "zanj-torch"}
)
"""A trust list: the names of the packages the zanj project itself publishes, which a hint may
put in a `pip install` command whatever a file says. It holds no knowledge of any plugin's
tags, types or rules (those live in the plugins' records); it only says which names are ours."""

VERSION_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}")
"""A version as a file may state it (`fullmatch` it): letters, digits, `.+_-`, bounded."""

CLAIM_CHARS = 60
"""How much of a name a file claims is shown (quoted) in a hint; a longer `install` claim is
never vouched for, so every command stays short enough to show whole."""

REGISTER_SERIALIZER = "register a SerializerHandler (zanj_core.register_serializer_handler, or ZANJ(handlers_pre=...))"


# -- vouching -----------------------------------------------------------------------------------


def declared_requirements(registry: PluginRegistry) -> dict[str, str]:
    """The `install_hint`s installed plugins declare, by canonical form -> as declared."""
    declared: dict[str, str] = {}
    for record in registry.plugin_records():
        hint = record.install_hint if isinstance(record, (SerializerHandler, MemberFormat)) else ""
        if hint and INSTALL_REQUIREMENT.fullmatch(hint):
            declared.setdefault(canonical_name(hint), hint)
    return declared


def vouched_distribution(claimed: str, registry: PluginRegistry) -> str | None:
    """The distribution a file calls `claimed`, spelled as this program knows it, if it is a
    project distribution, an installed plugin or the name an installed plugin's `install_hint`
    installs; None for a name only the file vouches for."""
    if not PROJECT_NAME.fullmatch(claimed):
        return None
    wanted = canonical_name(claimed)
    for dist in sorted(PROJECT_DISTRIBUTIONS):
        if canonical_name(dist) == wanted:
            return dist
    registry.ensure_discovered()
    for info in registry.plugins:
        dist = info.source.distribution
        if canonical_name(dist) == wanted and PROJECT_NAME.fullmatch(dist):
            return dist
    for hint in declared_requirements(registry).values():
        name = requirement_name(hint)
        if canonical_name(name) == wanted:
            return name
    return None


def vouched_requirement(claimed: str, registry: PluginRegistry) -> str | None:
    """A file's `install` claim (`bigpkg[zanj]`), if this program vouches for it: an installed
    plugin declares exactly that hint, or it is a vouched distribution with extras (extras only
    add what that distribution itself declares). None otherwise."""
    parsed = INSTALL_REQUIREMENT.fullmatch(claimed) if len(claimed) <= CLAIM_CHARS else None
    if parsed is None:
        return None
    declared = declared_requirements(registry).get(canonical_name(claimed))
    if declared is not None:
        return declared
    name = vouched_distribution(parsed["name"], registry)
    if name is None:
        return None
    return f"{name}[{parsed['extras'].lower()}]" if parsed["extras"] else name


def conventional_distribution(module: str) -> str | None:
    """`zanj-<module>` for a tag `<module>.X` or an object of `<module>`, when that name is a
    project distribution other than the core; None for any other name."""
    head = module.partition(".")[0]
    if not head.isidentifier():
        return None
    wanted = canonical_name(f"zanj-{head}")
    # the core's own tags and types are not named after a module: the convention never names it
    return next((d for d in sorted(PROJECT_DISTRIBUTIONS - {CORE_DISTRIBUTION}) if canonical_name(d) == wanted), None)


def requirement_name(requirement: str) -> str:
    """The project name of a requirement `name[extras]`."""
    return requirement.partition("[")[0]


def pip_argument(requirement: str) -> str:
    """A vouched requirement as a shell argument: quoted when it has extras (`[` globs in zsh)."""
    return f'"{requirement}"' if "[" in requirement else requirement


def _installed_status(dist: str, registry: PluginRegistry) -> tuple[bool, str | None]:
    """Whether `dist` is installed here as a zanj plugin, and the error it failed with, if any."""
    registry.ensure_discovered()  # `plugins` lists only what discovery found; it may not have run yet
    installed = [info for info in registry.plugins if canonical_name(info.source.distribution) == canonical_name(dist)]
    return bool(installed), next((info.error for info in installed if info.error), None)


# -- reading: a tag no loader reads ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TagClaim:
    """What a file's tag table says wrote one tag; parts that are not text, or a version that
    does not look like one, are left out."""

    dist: str | None = None
    version: str | None = None
    install: str | None = None

    @classmethod
    def of(cls, entry: Any) -> TagClaim:
        if not isinstance(entry, dict):
            return cls()
        dist, version, install = entry.get("dist"), entry.get("version"), entry.get("install")
        return cls(
            dist=dist if isinstance(dist, str) else None,
            version=version if isinstance(version, str) and VERSION_TEXT.fullmatch(version) else None,
            install=install if isinstance(install, str) else None,
        )

    def unverified(self, trusted: str | None, requirement: str | None) -> str:
        """The parts of the claim this program does not vouch for, quoted as data ("" if none)."""
        said = ""
        if self.dist is not None and trusted is None:
            said = f"the file says it was written by a package named {quoted(self.dist, CLAIM_CHARS)}"
            said += f", version {self.version}" if self.version else ""
        if self.install is not None and requirement is None:
            install = quoted(self.install, CLAIM_CHARS)
            said = f"{said}, to be installed with {install}" if said else f"the file says to install {install}"
        return said


def install_hint(tag: str, entry: Any, registry: PluginRegistry) -> str:
    """What would let `tag` load, as a sentence; `entry` is the file's tag table entry for it.

    Only names this program vouches for appear in a `pip install` command; the rest of what the
    file says is shown quoted as its unverified claim. A version is shown only if it looks like one.
    """
    claim = TagClaim.of(entry)
    if claim.dist == RUNTIME_DISTRIBUTION:
        return (
            "it was written by a handler registered at run time in the writing program; "
            "register a LoaderHandler for it (zanj_core.register_loader_handler) before reading"
        )
    trusted = vouched_distribution(claim.dist, registry) if claim.dist is not None else None
    requirement = vouched_requirement(claim.install, registry) if claim.install is not None else None
    said = claim.unverified(trusted, requirement)
    if trusted is None and requirement is None:
        known = conventional_distribution(tag)
        if known is not None:  # the tag's module names a project plugin; the file's own word is data
            return f"install it with: pip install {known}" + (f" ({said}, unverified)" if said else "")
        if said:
            return f"{said} (unverified; find that plugin yourself before installing anything)"
        return "the file does not say which package wrote it; find the plugin that provides it"
    target = pip_argument(requirement or str(trusted))
    dist = trusted or requirement_name(str(requirement))
    note = f" ({said}, unverified)" if said else ""
    written = f" (the file was written with version {claim.version})" if claim.version else ""
    installed, broken = _installed_status(dist, registry)
    if broken:
        return f"{dist} is installed but failed to load ({broken}); reinstall it: pip install --force-reinstall {target}{note}"
    if installed:
        return (
            f"{dist} is installed but has no loader for it; upgrade it: pip install --upgrade {target}{written}{note}"
        )
    return f"install it with: pip install {target}{written}{note}"


# -- saving: an object no handler accepts ---------------------------------------------------------


def unsupported_hints(obj: Any, registry: PluginRegistry) -> list[str]:
    """The ways to make an object that no installed handler accepts savable, best first."""
    module = type(obj).__module__.split(".")[0]
    hints = [REGISTER_SERIALIZER]
    dist = conventional_distribution(module)
    if dist is not None:
        installed, broken = _installed_status(dist, registry)
        if not installed:
            hints.insert(0, f"install the plugin for {module}: pip install {dist}")
        elif broken:
            hints.insert(0, f"{dist} is installed but failed to load ({broken}); reinstall it")
        else:
            hints.insert(
                0, f"{dist} is installed but has no handler for this type; convert the object to one it supports"
            )
    elif dataclasses.is_dataclass(obj):
        hints.insert(0, "decorate the class with muutils' @serializable_dataclass")
    return hints
