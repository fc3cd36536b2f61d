"""Install the built wheels, and nothing else of this repository, into a fresh virtual environment
outside the checkout, and run the demo there from a folder outside it too: what `pip install` gives.

    python scripts/release/smoke_install.py DIST [--torch torch==X] [--keep]

DIST is build_dists.py's output. Torch, when given, is installed first so that the pinned build
(the CPU one) satisfies zanj-torch's range. Checks that each distribution is installed from its
wheel in DIST, that `zanj plugins` loads every plugin the wheels declare, and that the demo passes
importing nothing from the checkout. The environment is removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from dist_contents import entry_points, open_wheel
from distributions import ROOT, Distribution, discover
from packaging.utils import canonicalize_name

DEMO = ROOT / "demo" / "demo.py"
# extras of the built wheels the demo needs: it reads a checkpoint back through a memory:// URL
CORE_EXTRAS = "remote"

# runs the demo as __main__, then fails if any module came from the checkout, or any package of
# the repository from anywhere but the environment
RUN_DEMO = """
import runpy, sys
from pathlib import Path
checkout, prefix = Path(sys.argv[1]).resolve(), Path(sys.prefix).resolve()
packages, demo = sys.argv[2].split(","), sys.argv[3]
sys.argv = [demo]
code = 0
try:
    runpy.run_path(demo, run_name="__main__")
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else 1
files = {name: Path(m.__file__).resolve() for name, m in list(sys.modules.items()) if getattr(m, "__file__", None)}
from_checkout = sorted(name for name, file in files.items() if file.is_relative_to(checkout))
if from_checkout:
    sys.exit(f"imported from the checkout {checkout}: {from_checkout}")
import importlib
elsewhere = [p for p in packages if not Path(importlib.import_module(p).__file__).resolve().is_relative_to(prefix)]
if elsewhere:
    sys.exit(f"not imported from the environment {prefix}: {elsewhere}")
print(f"demo: exit {code}; {len(packages)} packages of this repository imported from {prefix}, none from the checkout")
sys.exit(code)
"""


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def outside_checkout() -> Path:
    """A temporary folder's parent that is not inside the checkout (nox points TMPDIR into .nox/)."""
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp", Path.home()):
        folder = Path(candidate).resolve()
        if folder.is_dir() and not folder.is_relative_to(ROOT):
            return folder
    raise SystemExit("no temporary folder outside the checkout")


def clean_env(temp: Path) -> dict[str, str]:
    """This environment without what would put the checkout (or another environment) on sys.path,
    and with temporary files outside the checkout."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONUSERBASE"):
        env.pop(name, None)
    env.update({"TMPDIR": str(temp), "TEMP": str(temp), "TMP": str(temp)})
    return env


def run(command: list[str], env: dict[str, str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=env, cwd=env["TMPDIR"])


def find_wheels(dist: Path, distributions: list[Distribution]) -> dict[str, Path]:
    wheels: dict[str, Path] = {}
    for d in distributions:
        found = sorted(dist.glob(f"*/{d.file_stem}-{d.version}-*.whl"))
        if len(found) != 1:
            raise SystemExit(f"expected one wheel of {d.name} {d.version} in {dist}, found {found}: run build_dists.py")
        wheels[d.name] = found[0]
    return wheels


def check_sources(python: Path, wheels: dict[str, Path], versions: dict[str, str], env: dict[str, str]) -> list[str]:
    """Each distribution installed at its version from its wheel in DIST: not from an index, not editable."""
    code = (
        "import json, sys, importlib.metadata as md\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    dist = md.distribution(name)\n"
        "    out[name] = [dist.version, json.loads(dist.read_text('direct_url.json') or '{}')]\n"
        "print(json.dumps(out))\n"
    )
    command = [str(python), "-I", "-c", code, *wheels]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=env["TMPDIR"], check=True)
    problems = []
    for name, (version, direct_url) in json.loads(result.stdout).items():
        source = direct_url.get("url", "an index")
        if direct_url.get("dir_info", {}).get("editable"):
            source = f"an editable install of {source}"
        url = urlparse(source)
        from_wheel = url.scheme == "file" and Path(url2pathname(url.path)).resolve() == wheels[name].resolve()
        if version != versions[name] or not from_wheel:
            problems.append(f"{name}: installed {version} from {source}, not {versions[name]} from {wheels[name]}")
    return problems


def check_plugins(python: Path, wheels: dict[str, Path], env: dict[str, str]) -> list[str]:
    """`zanj plugins` lists every `zanj` entry point the wheels declare, loaded without error."""
    declared = {
        (name, point) for name, path in wheels.items() for point in entry_points(open_wheel(path)).get("zanj", {})
    }
    command = [str(python), "-I", "-m", "zanj_core", "plugins", "--json"]
    listing = subprocess.run(command, capture_output=True, text=True, env=env, cwd=env["TMPDIR"])
    try:
        plugins = json.loads(listing.stdout)
    except json.JSONDecodeError:
        return [f"`zanj plugins --json` failed (exit {listing.returncode}): {listing.stderr[-2000:]}"]
    listed: dict[tuple[str, str], Any] = {
        (canonicalize_name(p["distribution"] or ""), p["entry_point"]): p for p in plugins
    }
    problems = []
    for name, point in sorted(declared):
        plugin = listed.get((name, point))
        if plugin is None:
            problems.append(f"{name}: its entry point zanj:{point} is not listed by `zanj plugins`")
        elif plugin["error"] or plugin["problems"]:
            problems.append(
                f"{name}: zanj:{point} fails to load from its wheel: {plugin['error'] or plugin['problems']}"
            )
    loaded = sorted(f"{name}:{point}" for (name, point), p in listed.items() if not (p["error"] or p["problems"]))
    print(f"plugins: {len(loaded)} loaded from the wheels: {', '.join(loaded)}")
    return problems


def smoke(dist: Path, torch: str | None, work: Path) -> list[str]:
    """Create the environment in `work`, install, check; the problems found."""
    distributions = discover()
    wheels = find_wheels(dist, distributions)
    temp = work / "tmp"
    temp.mkdir()
    env = clean_env(temp)
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env)
    python = venv_python(venv)
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], env)
    if torch:
        run([str(python), "-m", "pip", "install", "--quiet", torch], env)
    targets = [f"{path}[{CORE_EXTRAS}]" if name == "zanj-core" else str(path) for name, path in wheels.items()]
    run([str(python), "-m", "pip", "install", "--quiet", *targets], env)

    problems = check_sources(python, wheels, {d.name: d.version for d in distributions}, env)
    problems += check_plugins(python, wheels, env)
    packages = sorted(
        {
            n.split("/", 1)[0]
            for p in wheels.values()
            for n in open_wheel(p).names
            if n.endswith("/__init__.py") and n.count("/") == 1
        }
    )
    outside = work / "demo"
    outside.mkdir()
    demo = Path(shutil.copy(DEMO, outside / DEMO.name))
    command = [str(python), "-I", "-c", RUN_DEMO, str(ROOT), ",".join(packages), str(demo)]
    print("+ python demo.py (in the fresh environment, from a folder outside the checkout)", flush=True)
    result = subprocess.run(command, cwd=outside, env=env)
    if result.returncode != 0:
        problems.append(f"the demo failed in the fresh environment (exit {result.returncode}); its output is above")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dist", type=Path, help="build_dists.py's output folder")
    parser.add_argument("--torch", help="the torch requirement to install first, e.g. torch==2.13.0")
    parser.add_argument("--keep", action="store_true", help="keep the environment (its path is printed)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zanj-wheels-", dir=outside_checkout()))
    try:
        problems = smoke(args.dist.resolve(), args.torch, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if problems:
        return 1
    kept = f" (kept in {work})" if args.keep else ""
    print(f"smoke install: every wheel installed in a fresh environment{kept}; the demo passed outside the checkout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
