"""Publishing a local file: the write buffer follows the size the save expects, and replaced
files are released by one helper thread. Neither changes what lands on disk."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from zanj_core import ZANJ
from zanj_core._container import publishing, releasing


@pytest.mark.parametrize("size_hint", [None, 0, 10, 1 << 30])
@pytest.mark.parametrize("size", [0, 5000, 3 << 20])
def test_the_file_is_what_was_written_whatever_the_size_hint(tmp_path: Path, size: int, size_hint: int | None) -> None:
    data = os.urandom(size)
    target = tmp_path / "out.bin"

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    publishing.write_local(target, write, durable=False, size_hint=size_hint)
    assert target.read_bytes() == data


def _deleted_files_held_open(folder: Path) -> list[str]:
    """What this process holds open under `folder` that is no longer linked (Linux)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)) and target.endswith("(deleted)"):
                held.append(target)
    return held


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files through /proc")
@pytest.mark.parametrize("old_size", [100, 5 << 20])
def test_replaced_files_are_released_by_one_helper_thread(tmp_path: Path, old_size: int) -> None:
    target = tmp_path / "model.zanj"
    target.write_bytes(b"\0" * old_size)
    target.chmod(0o640)
    zanj = ZANJ(durable=False)
    for round_ in range(20):
        zanj.save({"round": round_}, target)
    assert zanj.read(target) == {"round": 19}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the replaced file's permissions
    assert [p.name for p in tmp_path.iterdir()] == ["model.zanj"]  # no temporary file left
    assert [t.name for t in threading.enumerate()].count(releasing.THREAD_NAME) == 1
    deadline = time.monotonic() + 10
    while _deleted_files_held_open(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _deleted_files_held_open(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_releases_what_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "forked.zanj"
    ZANJ(durable=False).save([0], target)
    ZANJ(durable=False).save([1], target)  # the parent's helper thread is running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: its saves must not wait on the parent's thread, which it lacks
        code = 1
        try:
            for round_ in range(3):
                ZANJ(durable=False).save([2, round_], target)
            code = 0 if ZANJ().read(target) == [2, 2] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert ZANJ().read(target) == [2, 2]


def test_a_save_into_a_new_folder_creates_it_and_one_over_a_file_needs_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a" / "b" / "c.zanj"
    ZANJ(durable=False).save([1], target)
    made: list[Any] = []
    original = Path.mkdir

    def spy(self: Path, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", spy)
    ZANJ(durable=False).save([2], target)
    assert made == [] and ZANJ().read(target) == [2]
