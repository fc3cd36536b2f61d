"""MkDocs hooks for the documentation site (mkdocs.yml names this file).

The site mirrors the repository: README.md is the home page and every page keeps its path
(docs/lazy.md, plugins/zanj_numpy/README.md...), so the relative links that work on GitHub
work on the site too, and MkDocs' strict link checks judge the markdown as it is written.
After the build, two checks of the API reference: no private module (a name part starting with
one underscore) is documented, and every public name of a documented module has a docstring.
Each problem is logged as a warning, which `mkdocs build --strict` turns into a failed build.
"""

from __future__ import annotations

import logging
import re
import zlib
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
# the pages, as repository paths; README.md becomes the site's index
PAGE_GLOBS = (
    "README.md",
    "CHANGELOG.md",
    "docs/*.md",
    "docs/reference/*.md",
    "plugins/*/README.md",
    "compat/*/README.md",
    "examples/*/README.md",
)
ASSET_GLOBS = ("docs/bench/*.png",)
# a relative markdown link or image: [text](target) or ![alt](target), target without a scheme
_LINK = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s#]+)")
_DIRECTIVE = re.compile(r"^::: *([\w.]+)", re.MULTILINE)
_PRIVATE = re.compile(r"^_(?!_)")

log = logging.getLogger("mkdocs.hooks.zanj_site")


def _repository_files(globs: tuple[str, ...]) -> list[Path]:
    return sorted({path for pattern in globs for path in ROOT.glob(pattern) if path.is_file()})


def _linked_sources(pages: list[Path]) -> set[Path]:
    """Repository files the pages link to that are not pages themselves (LICENSE, demo/demo.py,
    tests/sandbox.py...): copied into the site as they are, so those links resolve."""
    linked = set()
    for page in pages:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            if path.is_file() and ROOT in path.parents and path.suffix != ".md":
                linked.add(path)
    return linked


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Replaces the docs folder's files with the repository's pages at their repository paths."""
    pages = _repository_files(PAGE_GLOBS)
    assets = set(_repository_files(ASSET_GLOBS)) | _linked_sources(pages)
    site = [
        File(path.relative_to(ROOT).as_posix(), str(ROOT), config.site_dir, config.use_directory_urls)
        for path in sorted(set(pages) | assets)
    ]
    # the theme's own static files (stylesheets, scripts, search) stay as MkDocs collected them
    theme_files = [file for file in files if file.src_dir != config.docs_dir]
    return Files([*site, *theme_files])


def documented_modules() -> list[str]:
    """The modules the API reference pages render (`::: module` lines), in page order."""
    modules: list[str] = []
    for page in _repository_files(("docs/reference/*.md",)):
        modules += _DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    return modules


def _inventory_names(site_dir: Path) -> list[tuple[str, str]]:
    """(name, role) of every object documented in its own right, from mkdocstrings' Sphinx
    inventory (objects.inv, version 2): priority 1; the names an object is also known by
    (`zanj_core._walk.zanj.ZANJ` for `zanj_core.ZANJ`, for cross-references) have priority 2."""
    data = (site_dir / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four header lines, then zlib-compressed "name domain:role priority uri text"
        header_end = data.index(b"\n", header_end) + 1
    lines = zlib.decompress(data[header_end:]).decode("utf-8").splitlines()
    entries = [line.split(" ", 3) for line in lines if line.strip()]
    return [(name, role) for name, role, priority, _ in entries if priority == "1"]


def check_no_private_module(site_dir: Path) -> list[str]:
    """Documented objects whose path runs through a private module or object (`zanj_core._walk`)."""
    leaked = []
    for name, role in _inventory_names(site_dir):
        if not role.startswith("py:"):
            continue
        parts = name.split(".")
        # a public module may list a private-looking name in its __all__ (zanj 0.6's _FORMAT_KEY);
        # what must never appear is a private module, or anything inside one
        inner = parts if role == "py:module" else parts[:-1]
        if any(_PRIVATE.match(part) for part in inner):
            leaked.append(f"{name} ({role})")
    pages = [page.relative_to(site_dir) for page in site_dir.rglob("*.html")]
    leaked += [str(page) for page in pages if any(_PRIVATE.match(part) for part in page.parts)]
    return leaked


def check_docstrings(search_paths: list[str]) -> list[str]:
    """Public names of the documented modules that have no docstring (names other packages
    define, such as muutils' re-exported in zanj 0.6's modules, are those packages' business)."""
    import griffe

    loader = griffe.GriffeLoader(search_paths=[str(ROOT / path) for path in search_paths])
    modules = documented_modules()
    for module in modules:
        loader.load(module)
    loader.resolve_aliases(implicit=True, external=False)
    ours = {module.split(".")[0] for module in modules}
    missing = []
    for module in modules:
        for name, member in loader.modules_collection[module].members.items():
            if not member.is_public or (name.startswith("__") and name.endswith("__")):
                continue
            try:
                target: Any = member.final_target if member.is_alias else member
                if target.is_module:
                    continue
            except griffe.AliasResolutionError:
                target_path = getattr(member, "target_path", "")
                if target_path.split(".")[0] in ours:
                    missing.append(f"{module}.{name} (cannot be resolved to {target_path})")
                continue
            if not (target.docstring and target.docstring.value.strip()):
                missing.append(f"{module}.{name} (defined at {target.path})")
    return missing


def on_post_build(config: MkDocsConfig) -> None:
    site_dir = Path(config.site_dir)
    for leak in check_no_private_module(site_dir):
        log.warning("private module in the API reference: %s", leak)
    handler = config.plugins["mkdocstrings"].config.handlers["python"]
    for name in check_docstrings(list(handler["paths"])):
        log.warning("public name without a docstring: %s", name)
