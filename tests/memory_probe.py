"""Reading a file in a fresh interpreter whose address space may grow by at most 1 GiB (and CPU
time by 30 s), and
measuring how much its peak memory grew: the check that a small hostile file is refused before
it allocates gigabytes (a limit, so the code as it was fails fast instead of taking the machine)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READ_IN_SUBPROCESS = textwrap.dedent(
    """
    import importlib, json, resource, sys
    options = json.loads(sys.argv[3])  # keywords of ZANJ().read, such as mmap
    for module in sys.argv[4:]:  # the frameworks the read will use, imported before measuring
        importlib.import_module(module)
    from zanj_core import ZANJ
    ZANJ().read(sys.argv[2])  # warm up: lazy imports, thread pools
    def resident(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field))
    try:  # peak := now; ru_maxrss would start at the parent's peak (kept across fork and exec)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    before = resident("VmRSS:")
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + (1 << 30), size + (1 << 30)))
    used = int(resource.getrusage(resource.RUSAGE_SELF).ru_utime)
    resource.setrlimit(resource.RLIMIT_CPU, (used + 30, used + 30))  # a hang is killed, not waited for
    try:
        ZANJ().read(sys.argv[1], **options)
        outcome = ["loaded", ""]
    except BaseException as exc:
        outcome = [type(exc).__name__, str(exc)]
    grown = resident("VmHWM:") - before
    print(json.dumps([*outcome, grown]))
    """
)


def read_measured(path: Path, warm: Path, preload: Sequence[str] = (), **options: Any) -> tuple[str, str, int]:
    """(error class name or "loaded", message, peak memory growth in bytes) of reading `path`
    (with `ZANJ().read` keywords `options`) after reading the honest file `warm`, with the
    modules `preload` imported first, within 1 GiB more address space and 30 s of CPU."""
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_SUBPROCESS, str(path), str(warm), json.dumps(options), *preload],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    name, message, grown = json.loads(done.stdout.strip().splitlines()[-1])
    return name, message, grown
