"""Saving to and reading from file objects and file:// URLs, and the errors for places zanj
cannot use; progress bars. Needs nothing beyond zanj-core (fsspec URLs: test_remote.py)."""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from dataclass_defs import BasicZanj, Inner, Outer

from zanj_core import (
    FORMAT_KEY,
    REF_KEY,
    ZANJ,
    MemberFormat,
    SerializerHandler,
    ZanjError,
    ZanjFileNotFoundError,
    ZanjFormatError,
)
from zanj_core._container.locations import is_url, local_file_of

OBJECT: dict[str, Any] = {
    "config": BasicZanj(a="hello", q=7, c=[1, 2, 3]),
    "nested": Outer(name="n", inner=Inner(x=1), items=[Inner(x=2, tags=("a",))], lookup={3: Inner(x=3)}),
    "blob": bytes(range(256)) * 64,  # above the threshold: its own binary member
    "long": list(range(1000)),  # a .jsonl member
    "text": "héllo",
}


def test_bytesio_round_trip() -> None:
    buffer = io.BytesIO()
    name = ZANJ().save(OBJECT, buffer)
    assert name == "<BytesIO>"
    buffer.seek(0)
    assert ZANJ().read(buffer) == OBJECT
    assert not buffer.closed  # the caller's object: read leaves it open


def test_file_object_written_from_its_position_is_a_self_contained_archive(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    buffer.write(b"header the caller wrote first")
    start = buffer.tell()
    buffer.write(b"stale bytes from before, longer than nothing" * 1000)
    buffer.seek(start)
    ZANJ().save(OBJECT, buffer)
    assert buffer.tell() == len(buffer.getvalue())  # cut at the archive's end: no stale tail
    archive = buffer.getvalue()[start:]
    (tmp_path / "cut.zanj").write_bytes(archive)
    assert ZANJ().read(tmp_path / "cut.zanj") == OBJECT
    buffer.seek(start)  # a file object is read from its position
    assert ZANJ().read(buffer) == OBJECT
    assert buffer.tell() == start  # and left there


def test_reading_at_the_end_of_a_stream_says_where_it_read_from() -> None:
    buffer = io.BytesIO()
    ZANJ().save(OBJECT, buffer)
    with pytest.raises(ZanjFormatError, match=r"read from its position, here byte \d+: seek to where"):
        ZANJ().read(buffer)


def test_saving_over_a_larger_archive_in_a_stream(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    ZANJ().save({"big": bytes(200_000)}, buffer)
    buffer.seek(0)
    ZANJ().save({"small": 1}, buffer)
    buffer.seek(0)
    assert ZANJ().read(buffer) == {"small": 1}
    target = tmp_path / "r.zanj"
    ZANJ().save({"big": bytes(200_000)}, target)
    with open(target, "r+b") as fh:
        ZANJ().save({"small": 2}, fh)
    assert ZANJ().read(target) == {"small": 2}


def test_append_mode_files_take_the_archive_at_their_end(tmp_path: Path) -> None:
    target = tmp_path / "log.bin"
    target.write_bytes(b"earlier records\n" * 100)
    with open(target, "ab") as fh:
        ZANJ().save(OBJECT, fh)
    assert target.read_bytes().startswith(b"earlier records\n")
    # a path is read as a whole zip: a prefix (which zip readers treat differently) is refused,
    # and the message says where the archive starts
    with pytest.raises(ZanjFormatError, match="seek to byte 1600"):
        ZANJ().read(target)
    with open(target, "rb") as fh:
        fh.seek(1600)
        assert ZANJ().read(fh) == OBJECT


def test_gzip_streams_save_and_read(tmp_path: Path) -> None:
    import gzip

    target = tmp_path / "x.zanj.gz"
    with gzip.open(target, "wb") as fh:
        ZANJ().save(OBJECT, fh)
    with gzip.open(target, "rb") as fh:
        assert ZANJ().read(fh) == OBJECT
    with gzip.open(target, "rb") as fh:  # the descriptor is the compressed file's: never mapped
        assert ZANJ().read(fh, mmap=True) == OBJECT


class _SeekReturnsNothing(io.BytesIO):
    """Some file-likes (SFTP clients, say) return None from seek()."""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> None:  # type: ignore[override]
        super().seek(offset, whence)


def test_file_objects_whose_seek_returns_none() -> None:
    buffer = io.BytesIO()
    ZANJ().save(OBJECT, buffer)
    assert ZANJ().read(_SeekReturnsNothing(buffer.getvalue())) == OBJECT


def test_real_file_object_is_memory_mapped(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    array = np.arange(10_000, dtype=np.float64)
    with open(tmp_path / "a.zanj", "wb") as fh:
        ZANJ().save({"a": array}, fh)
    with open(tmp_path / "a.zanj", "rb") as fh:
        back = ZANJ().read(fh, mmap=True)["a"]
        assert not fh.closed
    assert np.array_equal(back, array) and not back.flags.writeable and not back.flags.owndata


def test_bytesio_with_mmap_reads_a_copy() -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    array = np.arange(10_000, dtype=np.int32)
    buffer = io.BytesIO()
    ZANJ().save({"a": array}, buffer)
    buffer.seek(0)
    back = ZANJ().read(buffer, mmap=True)["a"]
    assert np.array_equal(back, array) and back.flags.writeable  # a copy: mapped arrays are read-only


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, as a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self.written = bytearray()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)

    def write(self, data: Any) -> int:
        self.written += bytes(data)
        return len(data)


def test_non_seekable_streams_are_read_and_written_through_a_temporary_file() -> None:
    out = _Pipe(b"")
    ZANJ().save(OBJECT, out)
    assert ZANJ().read(_Pipe(bytes(out.written))) == OBJECT


def test_a_real_pipe_reads(tmp_path: Path) -> None:
    path = ZANJ().save(OBJECT, tmp_path / "p.zanj")
    data = Path(path).read_bytes()
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as sink:
            sink.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read_end, "rb") as source:
        assert ZANJ().read(source) == OBJECT
    feeder.join()


class _ReadOnlyMethods:
    """A file-like object with read/seek/tell but no readinto, as some wrappers are."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read, self.seek, self.tell = self._data.read, self._data.seek, self._data.tell

    def seekable(self) -> bool:
        return True


def test_file_like_objects_without_readinto() -> None:
    buffer = io.BytesIO()
    ZANJ().save(OBJECT, buffer)
    assert ZANJ().read(_ReadOnlyMethods(buffer.getvalue())) == OBJECT  # type: ignore[arg-type]


def test_open_a_file_object_lazily() -> None:
    buffer = io.BytesIO()
    ZANJ().save(OBJECT, buffer)
    buffer.seek(0)
    with ZANJ().open(buffer) as opened:
        assert opened["config"] == OBJECT["config"]
        assert opened.info("blob").member_bytes == len(OBJECT["blob"])


class _Exploding:
    """A value whose member format fails half way through writing it."""


def _exploding_handlers() -> list[Any]:
    def write(data: Any, stream: Any) -> None:
        stream.write(b"x" * 100_000)
        raise RuntimeError("disk full, say")

    member = MemberFormat(name="boom", extension=".boom", binary=True, write=write, read=lambda source: None)
    serializer = SerializerHandler(
        tag="test.Exploding",
        types=(_Exploding,),
        serialize=lambda obj, path, ctx: {FORMAT_KEY: "test.Exploding", REF_KEY: ctx.add_member(path, "boom", obj)},
    )
    return [serializer, member]


def test_failed_save_writes_nothing_into_the_stream(tmp_path: Path) -> None:
    buffer = io.BytesIO(b"keep me, all of me")
    buffer.seek(5)
    with pytest.raises(RuntimeError, match="disk full"):
        ZANJ(handlers_pre=_exploding_handlers()).save({"x": _Exploding()}, buffer)
    assert buffer.getvalue() == b"keep me, all of me" and buffer.tell() == 5
    target = tmp_path / "precious.bin"
    target.write_bytes(b"precious" * 1000)
    with open(target, "r+b") as fh, pytest.raises(RuntimeError, match="disk full"):
        ZANJ(handlers_pre=_exploding_handlers()).save({"x": _Exploding()}, fh)
    assert target.read_bytes() == b"precious" * 1000


class _FailingSink(io.BytesIO):
    """A seekable stream whose writes fail part way (a full disk under it, say)."""

    def write(self, data: Any) -> int:
        room = 10_000 - self.tell()
        if len(data) > room:
            super().write(bytes(data[:room]))  # part of it lands, then the disk is full
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_a_stream_failing_mid_copy_is_cut_back() -> None:
    sink = _FailingSink()
    sink.write(b"before")
    with pytest.raises(OSError, match="No space left"):
        ZANJ().save(OBJECT, sink)
    assert sink.getvalue() == b"before"


def test_file_objects_in_the_wrong_mode_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    with open(target, "w") as text, pytest.raises(ZanjError, match="binary mode"):
        ZANJ().save(OBJECT, text)  # type: ignore[arg-type]
    ZANJ().save(OBJECT, tmp_path / "ok.zanj")
    with open(tmp_path / "ok.zanj", "rb") as read_only, pytest.raises(ZanjError, match="not open for writing"):
        ZANJ().save(OBJECT, read_only)
    with open(tmp_path / "w.bin", "wb") as write_only, pytest.raises(ZanjError, match="not open for reading"):
        ZANJ().read(write_only)
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ZanjError):
        ZANJ().read(closed)


def test_storage_options_with_a_file_object_are_refused() -> None:
    with pytest.raises(ZanjError, match="storage_options apply to URLs"):
        ZANJ().read(io.BytesIO(), storage_options={"anon": True})


def test_other_types_are_refused_clearly() -> None:
    with pytest.raises(ZanjError, match="a path, a URL or a binary file object, got int"):
        ZANJ().read(3)  # type: ignore[arg-type]
    with pytest.raises(ZanjError, match="bytes paths are not supported"):
        ZANJ().read(b"/tmp/x.zanj")  # type: ignore[arg-type]
    # saving checks its target the same way
    with pytest.raises(ZanjError, match="a path, a URL or a binary file object, got int"):
        ZANJ().save(1, 3)  # type: ignore[arg-type]
    with pytest.raises(ZanjError, match="bytes paths are not supported"):
        ZANJ().save(1, b"/tmp/x.zanj")  # type: ignore[arg-type]


def test_bad_bytes_in_a_file_object_are_a_format_error() -> None:
    with pytest.raises(ZanjFormatError):
        ZANJ().read(io.BytesIO(b"not a zip file at all" * 10))


# -- file:// URLs and what counts as a URL --------------------------------------------------


def test_file_urls_are_local_paths(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/sub/x"
    written = ZANJ().save(OBJECT, url)
    assert written == url + ".zanj"
    assert (tmp_path / "sub" / "x.zanj").is_file()  # parent folders made, atomically renamed
    assert ZANJ().read(written) == OBJECT
    assert ZANJ().read(f"file://localhost{tmp_path}/sub/x.zanj") == OBJECT
    with pytest.raises(ZanjFileNotFoundError):
        ZANJ().read(f"file://{tmp_path}/missing.zanj")
    with pytest.raises(ZanjError, match="not this machine"):
        ZANJ().read("file://otherhost/x.zanj")


def test_local_paths_with_double_colons_and_hashes_stay_local(tmp_path: Path) -> None:
    colons = tmp_path / "model::v2"
    assert ZANJ().save(OBJECT, colons) == str(colons) + ".zanj"
    assert (tmp_path / "model::v2.zanj").is_file() and not (tmp_path / "model").exists()
    assert ZANJ().read(f"{colons}.zanj") == OBJECT
    hashed = f"file://{tmp_path}/a#b?c"
    assert ZANJ().save(OBJECT, hashed) == hashed + ".zanj"
    assert (tmp_path / "a#b?c.zanj").is_file()
    assert ZANJ().read(hashed + ".zanj") == OBJECT


def test_verify_file_names_what_it_checked(tmp_path: Path) -> None:
    from zanj_core import verify_file

    path = Path(ZANJ().save(OBJECT, tmp_path / "sub" / "v"))
    assert verify_file(path).file == str(path)
    buffer = io.BytesIO(path.read_bytes())
    report = verify_file(buffer, load=True)
    assert report.ok and report.file == "<BytesIO>"


def test_url_detection() -> None:
    assert is_url("s3://bucket/key") and is_url("https://h/x") and is_url("simplecache::s3://b/k")
    assert not is_url("/tmp/x.zanj") and not is_url("C:\\x\\y.zanj") and not is_url("C:/x/y.zanj")
    assert not is_url("relative/dir/x.zanj")
    assert local_file_of("file:///a/b%20c.zanj") == Path("/a/b c.zanj")
    assert local_file_of("s3://b/k") is None


def test_urls_without_fsspec_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    for call in (
        lambda: ZANJ().read("s3://bucket/x.zanj"),
        lambda: ZANJ().save({"a": 1}, "s3://bucket/x.zanj"),
        lambda: ZANJ().open("https://example.invalid/x.zanj"),
    ):
        with pytest.raises(ZanjError, match=r'pip install "zanj-core\[remote\]"'):
            call()


# -- progress bars ---------------------------------------------------------------------------


def test_progress_needs_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tqdm" else real(name, *a))
    with pytest.raises(ZanjError, match=r"zanj-core\[progress\]"):
        ZANJ(progress=True)


def test_progress_bars_count_bytes_and_members(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    blobs = {f"b{i}": bytes([i]) * 300_000 for i in range(3)}
    zanj = ZANJ(progress=True)
    zanj.save(blobs, tmp_path / "p.zanj")
    saving = capsys.readouterr().err
    assert "saving" in saving and "3/3 members" in saving and "879k" in saving.lower()  # 3 x 300,000 B
    assert zanj.read(tmp_path / "p.zanj") == blobs
    reading = capsys.readouterr().err
    assert "reading" in reading and "3/3 members" in reading
    ZANJ().save(blobs, tmp_path / "quiet.zanj")
    assert capsys.readouterr().err == ""  # off by default
