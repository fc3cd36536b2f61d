"""Build every distribution of the repository (an sdist, then a wheel from that sdist, with
`python -m build`) into a fresh folder, check what each holds, and write the release notes.

    python scripts/release/build_dists.py OUT [--tag vX.Y.Z]

OUT is emptied first, then holds:
    OUT/pypi/      the sdists and wheels to publish
    OUT/private/   those of distributions marked `Private :: Do Not Upload` (the example plugin)
    OUT/release-notes.md
Exits 1 with one line per problem. `nox -s build` runs it, then twine and the installed-wheel check.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dist_contents import Archive, check_sdist, check_wheel, open_sdist, open_wheel
from distributions import ROOT, Distribution, ReleaseError, discover
from release_notes import CHANGELOG, release_notes
from versions import check_requirements, check_single_source


def build_one(distribution: Distribution, staging: Path) -> tuple[Path, Path]:
    """sdist and wheel of one distribution; the wheel is built from the sdist, so a file the sdist
    lacks breaks the wheel here rather than on a user's machine."""
    out = staging / distribution.name
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(distribution.folder)]
    print(f"build: {distribution.name} {distribution.version} from {distribution.label}", flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(
            f"{distribution.label}: `python -m build` failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise ReleaseError(
            f"{distribution.label}: expected one sdist and one wheel, got {[p.name for p in out.iterdir()]}"
        )
    return sdists[0], wheels[0]


def build_all(out: Path, tag: str | None) -> list[str]:
    """Build into `out` (emptied first); the problems found, none when the release is sound."""
    distributions = discover()
    if out.resolve() == ROOT or ROOT.is_relative_to(out.resolve()):
        raise ReleaseError(f"refusing to empty {out}: it holds the repository")
    shutil.rmtree(out, ignore_errors=True)
    (out / "pypi").mkdir(parents=True)
    (out / "private").mkdir()
    problems: list[str] = []
    built: dict[str, tuple[Distribution, Archive]] = {}
    with tempfile.TemporaryDirectory(prefix="zanj-build-") as staging:
        for distribution in distributions:
            sdist_path, wheel_path = build_one(distribution, Path(staging))
            folder = out / ("pypi" if distribution.published else "private")
            sdist = open_sdist(Path(shutil.move(sdist_path, folder / sdist_path.name)))
            wheel = open_wheel(Path(shutil.move(wheel_path, folder / wheel_path.name)))
            problems += check_wheel(distribution, wheel)
            problems += check_sdist(distribution, sdist, wheel)
            packages = sorted(
                {n.split("/", 1)[0] for n in wheel.names if n.count("/") == 1 and n.endswith("/__init__.py")}
            )
            problems += check_single_source(distribution, packages)
            built[distribution.name] = (distribution, wheel)
    problems += check_requirements(built)
    try:
        notes = release_notes(distributions, CHANGELOG.read_text(encoding="utf-8"), tag)
        (out / "release-notes.md").write_text(notes, encoding="utf-8")
    except ReleaseError as error:
        problems.append(str(error))
    for name, (distribution, wheel) in built.items():
        where = "pypi" if distribution.published else "private (not published)"
        print(f"built: {name} {distribution.version}: {wheel.path.name} + sdist, {len(wheel.names)} files -> {where}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="output folder; emptied first")
    parser.add_argument("--tag", help="the release tag (vX.Y.Z): checked against zanj-core's version and CHANGELOG.md")
    args = parser.parse_args(argv)
    try:
        problems = build_all(args.out, args.tag)
    except ReleaseError as error:
        problems = [str(error)]
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if problems:
        print(f"build: {len(problems)} problem(s); nothing here is fit to publish", file=sys.stderr)
        return 1
    print(f"build: every distribution built and checked into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
