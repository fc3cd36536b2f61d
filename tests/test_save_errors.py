"""How a local save treats the file system: the temporary file's permissions while it is written,
fsync of the file and its folder (`ZANJ(durable=...)`), and every failure of writing or
publishing coming out as a `ZanjSaveError` that names the target, keeps the errno, leaves no
partial file and leaves the previous file untouched.

The tests run as root in CI, where permission bits do not stop writes, so failures are made by
other means: a parent path that is a regular file, a name too long for the file system, a file
size limit (RLIMIT_FSIZE), and os functions or the zip writer patched to fail. The read-only
folder case runs only for other users.
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import re
import signal
import stat
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from zanj_core import (
    FORMAT_KEY,
    REF_KEY,
    ZANJ,
    MemberFormat,
    SerializerHandler,
    ZanjError,
    ZanjSaveError,
    ZanjSerializationError,
)
from zanj_core._container import zipwriter as zipwriter_module

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions, fsync of folders, rlimits")

OLD = {"version": "old", "blob": b"o" * 4096}
NEW = {"version": "new", "blob": b"n" * 4096}


def folder_state(folder: Path) -> dict[str, bytes]:
    """Every file in `folder` and its bytes: what a failed save must leave as it was."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def saved_over(tmp_path: Path) -> Path:
    """`tmp_path/model.zanj` holding OLD."""
    target = tmp_path / "model.zanj"
    ZANJ().save(OLD, target)
    return target


def assert_failed_cleanly(exc: ZanjSaveError, target: Path, before: dict[str, bytes]) -> None:
    """The error names the target and is also an OSError; the folder is exactly as before."""
    assert isinstance(exc, ZanjError) and isinstance(exc, OSError)
    assert str(exc).startswith(f"saving {target}: "), str(exc)
    assert exc.filename == str(target)
    assert exc.__cause__ is not None, "the original error is kept as the cause"
    assert folder_state(target.parent) == before, "a failed save changed the folder"
    if target.name in before:
        assert ZANJ().read(target) == OLD


# -- a member format that runs code in the middle of a save ----------------------------------------


class _Probe:
    """A value whose member format calls `hook` while the archive is being written."""

    def __init__(self, hook: Callable[[], None], size: int = 2 << 20) -> None:
        self.hook = hook
        self.size = size


def _probe_handlers() -> list[Any]:
    def write(probe: _Probe, stream: Any) -> None:
        probe.hook()
        stream.write(b"p" * probe.size)  # past the 1 MiB write buffer: real bytes in the file
        probe.hook()

    member = MemberFormat(name="probe", extension=".probe", binary=True, write=write, read=lambda source: None)
    serializer = SerializerHandler(
        tag="test.Probe",
        types=(_Probe,),
        serialize=lambda obj, path, ctx: {FORMAT_KEY: "test.Probe", REF_KEY: ctx.add_member(path, "probe", obj)},
    )
    return [serializer, member]


def temporary_modes(folder: Path) -> Callable[[], None]:
    """A hook recording the permission bits of every `.*.tmp` file in `folder` (in `.modes`)."""
    modes: list[int] = []

    def hook() -> None:
        found = [p for p in folder.iterdir() if re.fullmatch(r"\..+\.tmp", p.name)]
        assert found, "the hook ran with no temporary file in the folder"
        modes.extend(stat.S_IMODE(p.stat().st_mode) for p in found)

    hook.modes = modes  # type: ignore[attr-defined]
    return hook


@pytest.fixture
def umask_022() -> Iterator[int]:
    previous = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(previous)


# -- permissions of the temporary file ---------------------------------------------------------


@posix_only
def test_temporary_file_replacing_a_private_file_is_never_readable_by_others(tmp_path: Path, umask_022: int) -> None:
    """Replacing a 0600 checkpoint: the new data is never in a file others can read."""
    target = saved_over(tmp_path)
    os.chmod(target, 0o600)
    hook = temporary_modes(tmp_path)
    ZANJ(handlers_pre=_probe_handlers()).save({"v": 2, "probe": _Probe(hook)}, target)
    modes: list[int] = hook.modes  # type: ignore[attr-defined]
    assert len(modes) == 2
    assert all(mode & 0o077 == 0 for mode in modes), f"temporary file modes while saving: {[oct(m) for m in modes]}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["model.zanj"]


@posix_only
@pytest.mark.parametrize("mode", [0o400, 0o200, 0o000, 0o640], ids=oct)
def test_temporary_file_is_never_wider_than_an_owner_restricted_file(tmp_path: Path, umask_022: int, mode: int) -> None:
    """A 0400 checkpoint must not have its new data sit in a 0600 file: the temporary file gets
    no owner bit the replaced file lacks (its descriptor writes all the same)."""
    target = saved_over(tmp_path)
    os.chmod(target, mode)
    hook = temporary_modes(tmp_path)
    ZANJ(handlers_pre=_probe_handlers()).save({"v": 2, "probe": _Probe(hook)}, target)
    modes: list[int] = hook.modes  # type: ignore[attr-defined]
    assert modes and all(m & ~mode == 0 for m in modes), [oct(m) for m in modes]
    assert stat.S_IMODE(target.stat().st_mode) == mode


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=["022", "002", "077"])
def test_a_new_file_gets_the_usual_mode_only_once_written(tmp_path: Path, umask: int) -> None:
    """A new file: private while written, then 0o666 less the umask, as `open()` would make it."""
    previous = os.umask(umask)
    try:
        hook = temporary_modes(tmp_path)
        target = Path(ZANJ(handlers_pre=_probe_handlers()).save({"probe": _Probe(hook)}, tmp_path / "new"))
    finally:
        os.umask(previous)
    modes: list[int] = hook.modes  # type: ignore[attr-defined]
    assert modes and all(mode & 0o077 == 0 for mode in modes), [oct(m) for m in modes]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@posix_only
def test_replacing_a_group_readable_file_keeps_its_mode(tmp_path: Path, umask_022: int) -> None:
    target = saved_over(tmp_path)
    os.chmod(target, 0o640)
    ZANJ().save(NEW, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    os.chmod(target, 0o604)  # wider than the umask allows a new file: kept all the same
    ZANJ().save(OLD, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o604


@posix_only
def test_the_umask_is_read_without_proc_too(monkeypatch: pytest.MonkeyPatch, umask_022: int) -> None:
    """Without /proc/self/status the umask is read by setting it for an instant, and put back."""
    from zanj_core._container.publishing import _new_file_mode

    real_open = os.open

    def no_proc(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_proc)
    assert _new_file_mode() == 0o644
    assert os.umask(0o022) == 0o022, "the umask was put back"


# -- durable: fsync of the file and its folder --------------------------------------------------


class FsyncRecorder:
    """Stands in for os.fsync: records what each descriptor is (inode, folder or not, and
    whether the target already was that inode), then syncs for real."""

    def __init__(self, target: Path | None = None) -> None:
        self.target = target
        self.calls: list[tuple[int, bool, bool]] = []
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        facts = os.fstat(fd)
        in_place = False
        if self.target is not None:
            try:
                in_place = os.stat(self.target).st_ino == facts.st_ino
            except FileNotFoundError:
                pass
        self.calls.append((facts.st_ino, stat.S_ISDIR(facts.st_mode), in_place))
        self._real(fd)


@posix_only
@pytest.mark.parametrize("replacing", [False, True], ids=["new", "replacing"])
def test_durable_save_syncs_the_file_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replacing: bool
) -> None:
    target = saved_over(tmp_path) if replacing else tmp_path / "model.zanj"
    recorder = FsyncRecorder(target)
    monkeypatch.setattr(os, "fsync", recorder)
    ZANJ().save(NEW, target)
    file_ino, folder_ino = target.stat().st_ino, tmp_path.stat().st_ino
    assert recorder.calls == [(file_ino, False, False), (folder_ino, True, False)], (
        "expected: the new file synced before it was renamed into place, then its folder"
    )


def test_durable_false_never_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = FsyncRecorder()
    monkeypatch.setattr(os, "fsync", recorder)
    target = saved_over(tmp_path)
    recorder.calls.clear()
    ZANJ(durable=False).save(NEW, target)
    with open(tmp_path / "stream.zanj", "wb") as fh:
        ZANJ(durable=False).save(NEW, fh)
    assert recorder.calls == []
    assert ZANJ().read(target) == NEW


def test_durable_save_to_a_real_file_object_syncs_its_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = FsyncRecorder()
    monkeypatch.setattr(os, "fsync", recorder)
    path = tmp_path / "stream.zanj"
    with open(path, "wb") as fh:
        ZANJ().save(NEW, fh)
        assert recorder.calls == [(os.fstat(fh.fileno()).st_ino, False, False)]
        assert os.fstat(fh.fileno()).st_size == fh.tell(), "flushed before the fsync"
    assert ZANJ().read(path) == NEW


def test_durable_save_to_streams_without_a_descriptor(monkeypatch: pytest.MonkeyPatch) -> None:
    """BytesIO and other streams without a file descriptor are written, with nothing to sync."""
    recorder = FsyncRecorder()
    monkeypatch.setattr(os, "fsync", recorder)
    buffer = io.BytesIO()
    ZANJ().save(NEW, buffer)
    buffer.seek(0)
    assert ZANJ().read(buffer) == NEW and recorder.calls == []


@posix_only
def test_durable_save_into_a_pipe(tmp_path: Path) -> None:
    """fsync of a pipe says EINVAL: there is nothing to sync, which is not an error."""
    read_end, write_end = os.pipe()
    received = bytearray()

    def drain() -> None:
        with os.fdopen(read_end, "rb") as source:
            received.extend(source.read())

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(write_end, "wb") as sink:
        ZANJ().save(NEW, sink)
    reader.join()
    assert ZANJ().read(io.BytesIO(bytes(received))) == NEW


def test_durable_is_a_keyword_only_bool_recorded_nowhere(tmp_path: Path) -> None:
    assert ZANJ().durable is True and ZANJ(durable=False).durable is False
    assert ZANJ(durable=False).settings() == ZANJ().settings()
    assert "durable" not in ZANJ().settings()
    a = Path(ZANJ().save(NEW, tmp_path / "a"))
    b = Path(ZANJ(durable=False).save(NEW, tmp_path / "b"))
    assert a.read_bytes() == b.read_bytes(), "durable is not a format setting: the files are identical"
    for bad in ("yes", 1, None):
        with pytest.raises(ZanjError, match="durable must be a bool"):
            ZANJ(durable=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ZANJ("except", 256, 256, False, None, (), True)  # type: ignore[misc]


# -- failures: each a ZanjSaveError naming the target, the folder left as it was -----------------


def test_a_parent_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "runs"
    blocker.write_bytes(b"I am a file")
    before = folder_state(tmp_path)
    target = blocker / "model.zanj"
    with pytest.raises(ZanjSaveError) as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno == errno.ENOTDIR
    assert "not a folder" in str(caught.value)
    assert folder_state(tmp_path) == before
    deeper = blocker / "a" / "b" / "model.zanj"
    with pytest.raises(ZanjSaveError, match=re.escape(f"saving {deeper}: ")):
        ZANJ().save(NEW, deeper)
    assert folder_state(tmp_path) == before


def test_a_name_too_long(tmp_path: Path) -> None:
    saved_over(tmp_path)
    before = folder_state(tmp_path)
    target = tmp_path / ("x" * 300 + ".zanj")
    with pytest.raises(ZanjSaveError) as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno == errno.ENAMETOOLONG
    assert "use a shorter file name" in str(caught.value)
    assert_failed_cleanly(caught.value, target, before)


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        PermissionError(errno.EACCES, "Permission denied"),
        OSError(errno.EXDEV, "Invalid cross-device link"),
    ],
    ids=["ENOSPC", "EACCES", "EXDEV"],
)
def test_the_rename_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ZanjSaveError) as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno == error.errno
    assert "renaming" in str(caught.value) and str(error.strerror) in str(caught.value)
    assert caught.value.__cause__ is error
    assert_failed_cleanly(caught.value, target, before)
    with pytest.raises(OSError) as as_os_error:  # code written for the raw error still catches it
        ZANJ().save(NEW, target)
    assert as_os_error.value.errno == error.errno


@posix_only
def test_fsync_of_the_file_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ZanjSaveError, match=r"fsync.*No space left on device") as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno == errno.ENOSPC
    assert_failed_cleanly(caught.value, target, before)
    ZANJ(durable=False).save(NEW, target)  # never calls fsync
    assert ZANJ().read(target) == NEW


@posix_only
def test_fsync_of_the_folder_failing_says_the_file_is_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = saved_over(tmp_path)
    real = os.fsync

    def folder_fails(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", folder_fails)
    with pytest.raises(ZanjSaveError, match="the new file is in place, but flushing its folder") as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno == errno.EIO
    assert ZANJ().read(target) == NEW
    assert [p.name for p in tmp_path.iterdir()] == ["model.zanj"]


@posix_only
def test_fsync_not_supported_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """File systems that cannot sync (EINVAL) get the save, as durable as they can make it."""

    def cannot(fd: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", cannot)
    target = saved_over(tmp_path)
    ZANJ().save(NEW, target)
    assert ZANJ().read(target) == NEW


@posix_only
@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_the_disk_filling_up_while_writing(tmp_path: Path) -> None:
    """A file size limit makes the kernel refuse writes past 1 MiB (EFBIG), as a full disk would."""
    import resource

    target = saved_over(tmp_path)
    before = folder_state(tmp_path)
    big = {"blob": b"b" * (8 << 20)}
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))
    try:
        with pytest.raises(ZanjSaveError) as caught:
            ZANJ().save(big, target)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert caught.value.errno == errno.EFBIG
    assert "writing the temporary file" in str(caught.value)
    assert_failed_cleanly(caught.value, target, before)


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder(tmp_path: Path) -> None:
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(ZanjSaveError) as caught:
            ZANJ().save(NEW, target)
    finally:
        os.chmod(tmp_path, 0o700)
    assert caught.value.errno == errno.EACCES
    assert_failed_cleanly(caught.value, target, before)


@pytest.mark.parametrize(
    "error", [struct.error("ushort format requires 0 <= number <= 65535"), OverflowError("too large")]
)
def test_the_zip_writer_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """An archive field that cannot be packed (an impossible size) is a save error, not a bare
    struct.error escaping from the middle of the zip writer."""
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)

    def fail(self: Any) -> None:
        raise error

    monkeypatch.setattr(zipwriter_module.ZipWriter, "close", fail)
    with pytest.raises(ZanjSaveError) as caught:
        ZANJ().save(NEW, target)
    assert type(error).__name__ in str(caught.value) and str(error) in str(caught.value)
    assert caught.value.errno is None and caught.value.__cause__ is error
    assert_failed_cleanly(caught.value, target, before)
    buffer = io.BytesIO(b"keep")
    buffer.seek(4)
    with pytest.raises(ZanjSaveError, match=re.escape("saving <BytesIO>: building the archive")):
        ZANJ().save(NEW, buffer)
    assert buffer.getvalue() == b"keep"


def test_a_member_name_too_long_for_the_zip_format(tmp_path: Path) -> None:
    """72,600 bytes of member name do not fit a zip header's 16-bit length: refused by name."""
    deep_path = tuple("k" * 120 for _ in range(605))
    handler = SerializerHandler(
        tag="test.Deep",
        types=(bytearray,),
        serialize=lambda obj, path, ctx: {REF_KEY: ctx.add_member(deep_path, "bin", bytes(obj))},
    )
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)
    with pytest.raises(ZanjSerializationError, match="over the zip format's 65535"):
        ZANJ(handlers_pre=[handler]).save({"x": bytearray(b"data")}, target)
    assert folder_state(tmp_path) == before


class _FailingStream(io.BytesIO):
    """A seekable stream whose writes fail once it holds `room` bytes."""

    def __init__(self, error: Exception, room: int = 1000) -> None:
        super().__init__()
        self.error, self.room = error, room

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.room:
            super().write(bytes(data[: self.room - self.tell()]))
            raise self.error
        return super().write(data)


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), ValueError("I/O operation on closed file.")],
    ids=["ENOSPC", "closed"],
)
def test_a_file_object_whose_write_fails(error: Exception) -> None:
    sink = _FailingStream(error)
    sink.write(b"before")
    with pytest.raises(ZanjSaveError, match=re.escape("saving <_FailingStream>: copying the archive into the stream")):
        ZANJ().save(NEW, sink)
    assert sink.getvalue() == b"before", "the stream is cut back to where the save began"


def test_a_closed_file_object(tmp_path: Path) -> None:
    fh = open(tmp_path / "closed.zanj", "wb")
    fh.close()
    with pytest.raises(ZanjSaveError, match=re.escape(f"saving {tmp_path / 'closed.zanj'}: ")):
        ZANJ().save(NEW, fh)


def test_a_file_object_failing_its_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", full)
    path = tmp_path / "stream.bin"
    with open(path, "wb") as fh:
        fh.write(b"head")
        with pytest.raises(ZanjSaveError, match="fsync") as caught:
            ZANJ().save(NEW, fh)
        assert caught.value.errno == errno.EIO
    assert path.read_bytes() == b"head", "the stream is cut back to where the save began"


def test_the_staging_file_of_an_upload_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fsspec")
    import tempfile

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", full)
    url = "memory://bucket/save-errors/model.zanj"
    with pytest.raises(ZanjSaveError, match=re.escape(f"saving {url}: ")) as caught:
        ZANJ().save(NEW, url)
    assert caught.value.errno == errno.ENOSPC


# -- what is not wrapped -----------------------------------------------------------------------


def test_plugin_errors_while_writing_a_member_pass_unchanged(tmp_path: Path) -> None:
    """A member format's own exception (not the system's) comes out as it does without this
    wrapping; the folder is still left as it was."""
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)

    def boom() -> None:
        raise RuntimeError("the plugin broke")

    with pytest.raises(RuntimeError, match="the plugin broke"):
        ZANJ(handlers_pre=_probe_handlers()).save({"probe": _Probe(boom)}, target)
    assert folder_state(tmp_path) == before


def test_handler_errors_stay_serialization_errors(tmp_path: Path) -> None:
    def serialize(obj: Any, path: Any, ctx: Any) -> Any:
        raise OSError(errno.ENOSPC, "the handler's own OSError")

    handler = SerializerHandler(tag="test.Failing", types=(bytearray,), serialize=serialize)
    with pytest.raises(ZanjSerializationError, match="the handler's own OSError") as caught:
        ZANJ(handlers_pre=[handler]).save({"x": bytearray()}, tmp_path / "x")
    assert not isinstance(caught.value, ZanjSaveError)


def test_keyboard_interrupt_is_never_wrapped(tmp_path: Path) -> None:
    target = saved_over(tmp_path)
    before = folder_state(tmp_path)

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ZANJ(handlers_pre=_probe_handlers()).save({"probe": _Probe(interrupt)}, target)
    assert folder_state(tmp_path) == before


def test_save_errors_pickle_with_their_errno() -> None:
    error = ZanjSaveError("saving x.zanj: renaming: [Errno 28] No space left on device", errno.ENOSPC, "x.zanj")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is ZanjSaveError and str(back) == str(error)
    assert (back.errno, back.filename) == (errno.ENOSPC, "x.zanj")


def test_a_path_of_the_wrong_type_is_refused_clearly() -> None:
    with pytest.raises(ZanjError, match="got int"):
        ZANJ().save(NEW, 3)  # type: ignore[arg-type]


@posix_only
@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_folder_or_pipe_at_the_target_is_a_save_error(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "model.zanj"
    if kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(ZanjSaveError, match=f"saving {re.escape(str(target))}: it exists and is") as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno in (errno.EISDIR, errno.EEXIST)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zanj"]


def test_missing_folders_are_made_and_a_file_in_their_way_is_named(tmp_path: Path) -> None:
    """The folders of a new file are made only when creating it finds them missing; a file
    where a folder must go is named as such, and nothing is left behind."""
    target = tmp_path / "runs" / "a" / "model.zanj"
    assert ZANJ().read(ZANJ().save(NEW, target)) == NEW
    (tmp_path / "blocked").write_bytes(b"a file")
    blocked = tmp_path / "blocked" / "inner" / "model.zanj"
    with pytest.raises(ZanjSaveError, match="a part of the path is a file, not a folder") as caught:
        ZANJ().save(NEW, blocked)
    assert caught.value.errno == errno.ENOTDIR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "runs"]


def test_a_folder_that_cannot_be_made_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    target = tmp_path / "runs" / "model.zanj"
    with pytest.raises(ZanjSaveError, match=re.escape(f"creating the folder {target.parent}")) as caught:
        ZANJ().save(NEW, target)
    assert caught.value.errno == errno.EACCES
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_a_dangling_symlink_gets_its_destination_made(tmp_path: Path) -> None:
    link = tmp_path / "latest.zanj"
    destination = tmp_path / "store" / "run-3.zanj"
    link.symlink_to(destination)
    ZANJ().save(NEW, link)
    assert link.is_symlink() and destination.is_file()
    assert ZANJ().read(link) == NEW


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving files away needs root")
def test_a_replaced_file_keeps_its_owner_and_group_and_loses_set_id_bits(tmp_path: Path) -> None:
    """A root save over another user's file: the new file is theirs again, with their group,
    and never set-uid (a data file needs no set-id bit; a root-owned set-uid file is a hole)."""
    target = saved_over(tmp_path)
    os.chown(target, 1234, 5678)
    os.chmod(target, 0o4750)
    ZANJ().save(NEW, target)
    after = target.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (1234, 5678, 0o750)


@posix_only
def test_a_group_that_cannot_be_kept_loses_its_bits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the saver may not give the new file the old file's group, it would be readable by
    the saver's group instead, which the old file never admitted: the group bits go."""
    target = saved_over(tmp_path)
    os.chmod(target, 0o640)
    other_group = os.getegid() + 1

    def of_another_group(real: Any) -> Any:
        def old_file_of_another_group(path: Any, *args: Any, **kwargs: Any) -> Any:
            result = real(path, *args, **kwargs)
            if Path(path) == target:
                fields = list(result)
                fields[stat.ST_GID] = other_group
                return os.stat_result(fields)
            return result

        return old_file_of_another_group

    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(errno.EPERM, "not permitted")

    monkeypatch.setattr(os, "stat", of_another_group(os.stat))
    monkeypatch.setattr(os, "lstat", of_another_group(os.lstat))
    monkeypatch.setattr(os, "fchown", refuse)
    ZANJ().save(NEW, target)
    monkeypatch.undo()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
