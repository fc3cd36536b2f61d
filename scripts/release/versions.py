"""Versions that agree: each distribution's version is written once (its pyproject.toml or the module
attribute it names), and every requirement one distribution of this repository has on another
(zanj-core's compatible range above all) admits the version built beside it."""

from __future__ import annotations

import ast
from pathlib import Path

from dist_contents import Archive, wheel_metadata
from distributions import Distribution, shown_path
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def _version_assignments(init: Path) -> list[str]:
    """Every string literal assigned to `__version__` at the top of a package's __init__.py."""
    tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
    found = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in statement.targets
        ):
            value = statement.value
            found.append(value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else "?")
    return found


def check_single_source(distribution: Distribution, packages: list[str]) -> list[str]:
    """A static [project] version beside a package `__version__` literal is written twice: the two
    drift apart at the first release that updates one of them."""
    if "version" not in distribution.project:
        return []
    problems = []
    for package in packages:
        init = distribution.folder / package / "__init__.py"
        if init.is_file() and _version_assignments(init):
            problems.append(
                f"{distribution.label}: the version is written in pyproject.toml and in {shown_path(init)}; "
                f'keep the module\'s and make pyproject.toml read it: dynamic = ["version"] and '
                f'[tool.setuptools.dynamic] version = {{ attr = "{package}.__version__" }}'
            )
    return problems


def check_requirements(built: dict[str, tuple[Distribution, Archive]]) -> list[str]:
    """Each Requires-Dist (extras included) naming a distribution of this repository admits the
    version of it built here; so do the dependency ranges of the core every plugin declares."""
    problems = []
    versions = {name: Version(distribution.version) for name, (distribution, _) in built.items()}
    for name, (distribution, wheel) in built.items():
        for line in wheel_metadata(wheel).get_all("Requires-Dist") or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement as error:
                problems.append(f"{distribution.label}: Requires-Dist {line!r} does not parse: {error}")
                continue
            target = canonicalize_name(requirement.name)
            if target not in versions:
                continue
            if not requirement.specifier:
                problems.append(
                    f"{distribution.label}: requires {requirement} with no version range; name the {target} "
                    f"releases it is tested with (`{target}>={versions[target].major}.{versions[target].minor},<...`)"
                )
            elif not requirement.specifier.contains(versions[target], prereleases=True):
                problems.append(
                    f"{name} {distribution.version} ({distribution.label}) requires {requirement}, which does not "
                    f"admit {target} {versions[target]} built from this repository: widen the range in "
                    f"{distribution.label}/pyproject.toml, or change {target}'s version"
                )
    return problems
