"""Release notes for the versions being built, taken from CHANGELOG.md: one section per published
distribution, headed `## <name> <version>`, so the notes say what the changelog says and nothing else.

    python scripts/release/release_notes.py OUT.md [--tag vX.Y.Z]

With --tag (a release), the tag must be `v` + zanj-core's version and no section may still be
marked `(unreleased)`.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from distributions import ROOT, Distribution, ReleaseError, discover
from packaging.utils import canonicalize_name

CHANGELOG = ROOT / "CHANGELOG.md"
HEADING = re.compile(r"^## (?P<name>[A-Za-z0-9][A-Za-z0-9._-]*) (?P<version>[0-9][^\s]*)(?P<rest>.*)$")
CORE = "zanj-core"


@dataclass(frozen=True)
class Section:
    name: str  # canonical
    version: str
    heading: str
    body: str


def changelog_sections(text: str) -> list[Section]:
    """The `## name version` sections of a changelog, each up to the next `## ` heading."""
    sections: list[Section] = []
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("## ")]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        match = HEADING.match(lines[start])
        if match is None:
            continue
        body = "\n".join(lines[start + 1 : end]).strip("\n")
        sections.append(Section(canonicalize_name(match["name"]), match["version"], lines[start], body))
    return sections


def release_notes(distributions: list[Distribution], changelog: str, tag: str | None = None) -> str:
    """The notes for every published distribution at its current version; ReleaseError naming each
    one CHANGELOG.md has no section for."""
    published = [d for d in distributions if d.published]
    by_key = {(s.name, s.version): s for s in changelog_sections(changelog)}
    missing = [f"## {d.name} {d.version}" for d in published if (d.name, d.version) not in by_key]
    if missing:
        raise ReleaseError(
            f"CHANGELOG.md has no section for {', '.join(missing)}: add one headed exactly so "
            f"(a trailing note such as `(unreleased)` may follow the version)"
        )
    chosen = [by_key[(d.name, d.version)] for d in published]
    if tag is not None:
        core = next((d for d in published if d.name == CORE), None)
        if core is None or tag != f"v{core.version}":
            raise ReleaseError(f"tag {tag!r} does not match {CORE} {core.version if core else '?'}: tag v<its version>")
        unreleased = [s.heading for s in chosen if "unreleased" in s.heading.lower()]
        if unreleased:
            raise ReleaseError(f"releasing {tag}, but CHANGELOG.md still says unreleased: {unreleased}")
    title = ", ".join(f"{d.name} {d.version}" for d in published)
    parts = [f"# {title}", *(f"{s.heading}\n\n{s.body}" for s in chosen)]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the markdown file to write")
    parser.add_argument("--tag", help="the release tag (vX.Y.Z); checks it and that nothing is unreleased")
    args = parser.parse_args(argv)
    try:
        notes = release_notes(discover(), CHANGELOG.read_text(encoding="utf-8"), args.tag)
    except ReleaseError as error:
        print(f"release notes: {error}", file=sys.stderr)
        return 1
    args.out.write_text(notes, encoding="utf-8")
    print(f"release notes: {args.out} ({len(notes.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
