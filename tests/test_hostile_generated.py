"""Generated hostile files are read safely: a `ZanjError` or a value, never another exception,
a crash, a leak of freed memory, a file written or a module imported.

The files come from `hostile_strategies.hostile_files()` (well-formed zips of well-formed JSON
whose values are hostile; see that module) and are read in the sandbox (`sandbox.py`) by
`read`, `open` (keys, tree, info, loading each item) and `verify`. Under the default "ci"
profile the test draws the same 40 files every run (the "hostile-ci" profile in conftest.py);
`HYPOTHESIS_PROFILE=fuzz` (`nox -s fuzz`) draws 2000 new ones. Failing files are not shrunk:
the first is kept in $ZANJ_HOSTILE_FOUND (default: a folder under the system's temporary
folder) and named in the failure, so it can be read again with `python tests/sandbox.py FILE`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hostile_strategies import MAX_FILE_BYTES, HostileFile, hostile_files
from hypothesis import given, settings
from sandbox import Sandbox, assert_safe

OPS = ("read", "open", "verify")
CPU_SECONDS = 10.0
"""The worker is killed past this; a read of a 64 KiB file must stay well under it."""
MAX_CPU_SECONDS = 5.0
MAX_RSS_BYTES = 512 << 20
"""Generous bounds for any read of a file of at most 64 KiB: the corpus test allows 200 MiB."""
NO_SHRINKING = [phase for phase in settings().phases if phase.name not in ("shrink", "explain")]
"""Shrinking would read hundreds of variants of a failing file, each a sandbox run (a crash
costs a worker restart): the failing file is kept on disk instead (`FOUND`), and the run stops
there, as `nox -s fuzz`'s atheris run does."""
PROFILE_SETTINGS = (
    settings.get_profile("hostile-ci")
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"
    else settings(settings(), phases=NO_SHRINKING)
)
FOUND = Path(os.environ.get("ZANJ_HOSTILE_FOUND") or Path(tempfile.gettempdir()) / "zanj-hostile-found")


def _keep(hostile: HostileFile) -> Path:
    FOUND.mkdir(parents=True, exist_ok=True)
    kept = FOUND / f"{hostile.sha[:16]}.zanj"
    kept.write_bytes(hostile.data)
    return kept


@PROFILE_SETTINGS
@given(hostile=hostile_files())
def test_generated_hostile_file_is_read_safely(hostile: HostileFile, hostile_reader: Sandbox) -> None:
    assert len(hostile.data) <= MAX_FILE_BYTES
    with tempfile.TemporaryDirectory(prefix="zanj-hostile-") as folder:
        path = Path(folder) / "input.zanj"
        path.write_bytes(hostile.data)
        for op in OPS:
            outcome = hostile_reader.run(path, op, cpu_seconds=CPU_SECONDS)
            try:
                assert_safe(outcome, max_cpu_seconds=MAX_CPU_SECONDS, max_rss_bytes=MAX_RSS_BYTES)
            except AssertionError as exc:
                kept = _keep(hostile)
                raise AssertionError(
                    f"{exc}\nthe file is kept at {kept} (ingredients: {', '.join(hostile.notes)})"
                ) from None
