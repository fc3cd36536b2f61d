"""The .zanj archive: paths, atomic saves, compression, alignment, and bad files."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import roundtrip
from dataclass_defs import BasicZanj

from zanj_core import (
    ZANJ,
    ReadLimits,
    ZanjError,
    ZanjFileNotFoundError,
    ZanjFormatError,
    ZanjLimitError,
    ZanjSerializationError,
)
from zanj_core._container.writer import member_name_for


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_appends_extension_creates_parents_and_returns_path(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "model"
    written = ZANJ().save({"x": 1}, target)
    assert written == str(target) + ".zanj"
    assert Path(written).is_file()
    assert ZANJ().save({"x": 1}, str(tmp_path / "kept.zanj")) == str(tmp_path / "kept.zanj")


def test_read_accepts_str_and_pathlike(tmp_path: Path) -> None:
    written = ZANJ().save([1, 2], tmp_path / "x")
    assert ZANJ().read(written) == [1, 2]
    assert ZANJ().read(Path(written)) == [1, 2]


def test_identical_saves_give_identical_bytes(tmp_path: Path) -> None:
    obj = {"b": BasicZanj("x", 1), "blob": b"\x01" * 1000, "long": list(range(500)), "s": {3, 1, 2}}
    first = Path(ZANJ().save(obj, tmp_path / "one"))
    second = Path(ZANJ().save(obj, tmp_path / "two"))
    assert first.read_bytes() == second.read_bytes()


def test_failed_save_leaves_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "keep.zanj"
    ZANJ().save({"version": 1}, target)
    before = _digest(target)
    with pytest.raises(ZanjSerializationError):
        ZANJ().save({"version": 2, "bad": object()}, target)
    assert _digest(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.zanj"]
    assert ZANJ().read(target) == {"version": 1}


def test_failure_while_streaming_a_member_leaves_no_partial_file(tmp_path: Path) -> None:
    from zanj_core import MemberFormat, SerializerHandler

    def explode(data: Any, stream: Any) -> None:
        stream.write(b"partial")
        raise OSError("disk full (simulated)")

    fmt = MemberFormat(name="explode", extension=".x", write=explode, read=lambda source: None)

    class Payload:
        pass

    handler = SerializerHandler(
        tag="payload",
        types=(Payload,),
        serialize=lambda obj, path, ctx: {
            "__muutils_format__": "payload",
            "$ref": ctx.add_member(path, "explode", obj),
        },
    )
    target = tmp_path / "t.zanj"
    ZANJ().save("old", target)
    before = _digest(target)
    with pytest.raises(OSError, match="disk full"):
        ZANJ(handlers_pre=[handler, fmt]).save({"p": Payload()}, target)
    assert _digest(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.zanj"]


@pytest.mark.parametrize("compress", [False, True, zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_compression_settings(compress: bool | int, tmp_path: Path) -> None:
    obj = {"blob": bytes(5000), "long": list(range(1000))}
    zanj = ZANJ(compress=compress)
    assert roundtrip(obj, tmp_path / "c.zanj", zanj) == obj
    with zipfile.ZipFile(tmp_path / "c.zanj") as zf:
        blob = zf.getinfo("blob.bin").compress_type
        text = zf.getinfo("__zanj__.json").compress_type
    if compress in (False, zipfile.ZIP_STORED):
        assert blob == zipfile.ZIP_STORED and text == zipfile.ZIP_DEFLATED
    else:
        assert blob == zipfile.ZIP_DEFLATED and text == zipfile.ZIP_DEFLATED


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_archives_with_other_compression_methods_are_refused(method: int, tmp_path: Path) -> None:
    """zipfile expands a whole bzip2/lzma chunk at once (a 1 KB member can allocate gigabytes
    before any size is compared), so only what zanj writes, stored and deflate, is read."""
    source = Path(ZANJ().save({"blob": bytes(range(256)) * 8, "long": list(range(300))}, tmp_path / "src"))
    repacked = tmp_path / "repacked.zanj"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(repacked, "w", compression=method) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
    with pytest.raises(ZanjFormatError, match=f"compression method {method}.*stored and deflate"):
        ZANJ().read(repacked)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"compress": 99},
        {"compress": zipfile.ZIP_BZIP2},
        {"compress": "yes"},
        {"error_mode": "shout"},
        {"external_array_threshold": -1},
        {"external_list_threshold": 1.5},
        {"custom_settings": [1]},
        {"handlers_pre": [object()]},
    ],
)
def test_bad_settings_are_zanj_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ZanjError):
        ZANJ(**kwargs)


def test_error_mode_accepts_muutils_errormode() -> None:
    from muutils.errormode import ErrorMode

    assert ZANJ(error_mode=ErrorMode.WARN).error_mode == "warn"


def test_settings_are_recorded_in_meta(zpath: Path) -> None:
    ZANJ(external_list_threshold=7, custom_settings={"secret": "not stored"}).save([1], zpath)
    meta = json.loads(zipfile.ZipFile(zpath).read("__zanj_meta__.json"))
    assert meta["zanj_cfg"]["external_list_threshold"] == 7
    assert "secret" not in json.dumps(meta)
    assert meta["writer"]["dist"] == "zanj-core" and meta["zanj_format"] == "1.1"


def test_member_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    names = [
        member_name_for(("..", "a/b", 0), ".npy", taken),
        member_name_for(("/abs",), ".npy", taken),
        member_name_for(("__zanj__",), ".json", taken),
        member_name_for(("a_b",), ".npy", taken),
        member_name_for(("a b",), ".npy", taken),
        member_name_for((), ".jsonl", taken),
        member_name_for(("ünïcode", "x:y"), ".bin", taken),
    ]
    assert names == [
        "_../a_b/0.npy",
        "_abs.npy",
        "___zanj__.json",
        "a_b.npy",
        "a_b~1.npy",
        "_root.jsonl",
        "ünïcode/x_y.bin",
    ]
    for name in names:
        assert not name.startswith("/") and ".." not in name.split("/")


def test_keys_with_odd_characters_roundtrip_through_members(zpath: Path) -> None:
    obj = {"../../etc": bytes(300), "a/b": bytes(300), "a_b": bytes(301), "..": list(range(300))}
    assert roundtrip(obj, zpath) == obj
    for name in zipfile.ZipFile(zpath).namelist():
        assert ".." not in name.split("/") and not name.startswith("/")


# -- bad files ---------------------------------------------------------------------------------


def _write_zip(path: Path, members: dict[str, bytes | str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = Path(ZANJ().save({"a": list(range(1000))}, tmp_path / "good"))
    files = {}
    files["not a zip"] = tmp_path / "text.zanj"
    files["not a zip"].write_text("hello, I am not a zip")
    files["empty"] = tmp_path / "empty.zanj"
    files["empty"].write_bytes(b"")
    files["truncated"] = tmp_path / "trunc.zanj"
    files["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["no main member"] = tmp_path / "nomain.zanj"
    _write_zip(files["no main member"], {"other.json": "{}"})
    files["invalid json"] = tmp_path / "badjson.zanj"
    _write_zip(files["invalid json"], {"__zanj__.json": "{not json"})
    files["non-utf8 json"] = tmp_path / "latin1.zanj"
    _write_zip(files["non-utf8 json"], {"__zanj__.json": b'{"a": "\xe9"}'})
    files["meta not an object"] = tmp_path / "meta.zanj"
    _write_zip(files["meta not an object"], {"__zanj__.json": "1", "__zanj_meta__.json": "[1, 2]"})
    files["ref to missing member"] = tmp_path / "ref.zanj"
    _write_zip(
        files["ref to missing member"],
        {"__zanj__.json": json.dumps({"__muutils_format__": "list:external", "$ref": "gone.jsonl"})},
    )
    files["ref to json member"] = tmp_path / "refjson.zanj"
    _write_zip(
        files["ref to json member"],
        {"__zanj__.json": json.dumps({"__muutils_format__": "list:external", "$ref": "__zanj__.json"})},
    )
    files["traversal member name"] = tmp_path / "trav.zanj"
    _write_zip(files["traversal member name"], {"__zanj__.json": "1", "../../evil.jsonl": "1\n"})
    files["absolute member name"] = tmp_path / "abs.zanj"
    _write_zip(files["absolute member name"], {"__zanj__.json": "1", "/etc/evil.jsonl": "1\n"})
    files["deep nesting"] = tmp_path / "deep.zanj"
    _write_zip(files["deep nesting"], {"__zanj__.json": "[" * 200_000 + "]" * 200_000})
    files["moderately deep nesting"] = tmp_path / "deep2.zanj"
    _write_zip(files["moderately deep nesting"], {"__zanj__.json": "[" * 500 + "]" * 500})
    files["corrupt member crc"] = tmp_path / "crc.zanj"
    raw = bytearray(Path(ZANJ(compress=False).save({"b": b"\x07" * 400}, tmp_path / "crcsrc")).read_bytes())
    index = raw.index(b"\x07" * 400)
    raw[index + 10] = 1
    files["corrupt member crc"].write_bytes(bytes(raw))
    return files


BAD_CASES = [
    "not a zip",
    "empty",
    "truncated",
    "no main member",
    "invalid json",
    "non-utf8 json",
    "meta not an object",
    "ref to missing member",
    "ref to json member",
    "traversal member name",
    "absolute member name",
    "deep nesting",
    "moderately deep nesting",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_files_give_zanj_errors_naming_the_file_and_change_nothing(case: str, tmp_path: Path) -> None:
    path = _bad_files(tmp_path)[case]
    before = _digest(path)
    with pytest.raises(ZanjFormatError) as info:
        ZANJ().read(path)
    assert str(path) in str(info.value)
    assert _digest(path) == before


def test_corrupt_member_is_caught_when_checksums_are_verified(tmp_path: Path) -> None:
    path = _bad_files(tmp_path)["corrupt member crc"]
    before = _digest(path)
    with pytest.raises(ZanjFormatError, match=r"'b.bin' fails its CRC check"):
        ZANJ(verify_checksums=True).read(path)
    # without verification the flipped byte comes through, as with torch.load or safetensors
    assert ZANJ().read(path)["b"][10] == 1
    assert _digest(path) == before


def test_compressed_members_are_always_crc_checked(tmp_path: Path) -> None:
    path = Path(ZANJ(compress=True).save({"b": bytes(range(256)) * 4}, tmp_path / "c"))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("b.bin")
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[offset + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ZanjFormatError, match=r"b\.bin"):
        ZANJ().read(path)


def test_deep_bracket_file_is_a_limit_error_not_recursion(tmp_path: Path) -> None:
    path = _bad_files(tmp_path)["deep nesting"]
    with pytest.raises(ZanjLimitError):
        ZANJ().read(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ZanjFileNotFoundError, match="no such file"):
        ZANJ().read(tmp_path / "nothing.zanj")
    with pytest.raises(FileNotFoundError):  # also a FileNotFoundError, for existing except clauses
        ZANJ().read(tmp_path / "nothing.zanj")
    with pytest.raises(ZanjFileNotFoundError, match=r"is a folder, not a \.zanj file"):
        ZANJ().read(tmp_path)


def test_a_missing_name_whose_zanj_file_exists_is_suggested(tmp_path: Path) -> None:
    """`save("run")` writes run.zanj; `read("run")` names the file it meant."""
    saved = ZANJ().save({"a": 1}, tmp_path / "run")
    assert saved == str(tmp_path / "run.zanj")
    with pytest.raises(ZanjFileNotFoundError, match=r"no such file: .*run; did you mean .*run\.zanj\?"):
        ZANJ().read(tmp_path / "run")
    with pytest.raises(ZanjFileNotFoundError, match=r"no such file: \S*other$"):  # nothing to suggest
        ZANJ().read(tmp_path / "other")


def test_json_size_limit_is_checked_before_reading(zpath: Path) -> None:
    ZANJ().save(list(range(100)), zpath)
    with pytest.raises(ZanjLimitError, match="max_json_bytes"):
        ZANJ(read_limits=ReadLimits(max_json_bytes=50)).read(zpath)


def test_zip_bomb_json_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zanj"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__zanj__.json", b'"' + b"a" * (20 << 20) + b'"')
    with pytest.raises(ZanjLimitError, match="zip bomb"):
        ZANJ().read(path)


def test_duplicate_member_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.zanj"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("__zanj__.json", "1")
            zf.writestr("__zanj__.json", "2")
    with pytest.raises(ZanjFormatError, match="appears twice"):
        ZANJ().read(path)


def test_files_are_not_left_open(tmp_path: Path) -> None:
    path = ZANJ().save({"a": bytes(1000)}, tmp_path / "x")
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        pytest.skip("needs /proc")
    before = len(os.listdir(fd_dir))
    for _ in range(20):
        ZANJ().read(path)
    assert len(os.listdir(fd_dir)) <= before


# -- the zip writer --------------------------------------------------------------------------


def test_archive_passes_zipfile_testzip_and_unzip(tmp_path: Path) -> None:
    import shutil
    import subprocess

    path = Path(ZANJ().save({"ünï": bytes(5000), "long": list(range(300)), "b": bytes(3 << 20)}, tmp_path / "x"))
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_many_members_use_zip64_end_records(tmp_path: Path) -> None:
    obj = {f"k{i}": b"xy" for i in range(70_000)}
    path = Path(ZANJ(external_array_threshold=1).save(obj, tmp_path / "many"))
    assert b"PK\x06\x06" in path.read_bytes()[-200:]
    assert ZANJ().read(path) == obj
    # the member count (70,000 data members, the two JSON members and their description) is read
    # from the zip64 end record, before the directory is parsed
    with pytest.raises(ZanjLimitError, match="declares 70003 members"):
        ZANJ(read_limits=ReadLimits(max_members=1000)).read(path)


def test_archive_comment_does_not_hide_the_end_record(zpath: Path) -> None:
    ZANJ().save({"a": bytes(3000)}, zpath)
    with zipfile.ZipFile(zpath, "a") as zf:
        zf.comment = b"a comment pushes the end record back from the end of the file " * 100
    assert ZANJ().read(zpath) == {"a": bytes(3000)}


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_read_limits_must_be_positive_ints(bad: object) -> None:
    with pytest.raises(ZanjError, match=r"ReadLimits\.max_members must be a positive int"):
        ReadLimits(max_members=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("declared", "written", "message"),
    [
        (10, 3, "wrote 3 bytes after declaring 10"),  # a member small enough to be held in memory
        (10, 2 << 20, "wrote more than the 10 bytes it declared"),  # refused before holding it all
        (2 << 20, 3, f"wrote 3 bytes after declaring {2 << 20}"),  # a streamed member
    ],
)
def test_member_format_writing_the_wrong_size_is_an_error(
    declared: int, written: int, message: str, tmp_path: Path
) -> None:
    from zanj_core import MemberFormat, SerializerHandler

    liar = MemberFormat(
        name="liar", extension=".x", write=lambda data, stream: stream.write(bytes(written)), read=lambda source: None
    )

    class Thing:
        pass

    handler = SerializerHandler(
        tag="thing",
        types=(Thing,),
        serialize=lambda obj, path, ctx: {"$ref": ctx.add_member(path, "liar", obj, size_hint=declared)},
    )
    with pytest.raises(ZanjSerializationError, match=message):
        ZANJ(handlers_pre=[liar, handler]).save(Thing(), tmp_path / "t")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("size", "patched"), [(4096, False), (2 << 20, True)])
def test_small_members_are_written_without_seeking_back(size: int, patched: bool) -> None:
    """A small member of known size is written once, header finished; only larger (streamed)
    members seek back to patch their header."""
    import io

    from zanj_core._container.writer import PendingMember, write_zip
    from zanj_core._walk.registry import REGISTRY

    class CountingFile(io.BytesIO):
        seeks = 0

        def seek(self, offset: int, whence: int = 0) -> int:
            CountingFile.seeks += 1
            return super().seek(offset, whence)

    bytes_format = REGISTRY.member_format("bin")
    assert bytes_format is not None
    members = [PendingMember(f"m{i}.bin", bytes_format, bytes([i]) * size, (f"m{i}",), size) for i in range(3)]
    fh = CountingFile()
    write_zip(fh, [("__zanj__.json", b"{}")], members, compress=False)
    assert (CountingFile.seeks > 0) is patched
    with zipfile.ZipFile(fh) as zf:
        assert zf.testzip() is None
        assert zf.read("m2.bin") == bytes([2]) * size


def test_local_headers_agree_with_the_directory(tmp_path: Path) -> None:
    """Small members of known size are written with their finished header in one piece, larger
    ones are patched after streaming: either way each local header carries the directory's CRC
    and sizes, and stored data starts 64-byte aligned."""
    from zanj_core._container.zipwriter import HELD_MEMBER_MAX

    obj = {"tiny": b"t" * 300, "held": bytes(range(256)) * (HELD_MEMBER_MAX // 256), "streamed": bytes(3 << 20)}
    path = Path(ZANJ().save(obj, tmp_path / "h"))
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            at = info.header_offset
            assert raw[at : at + 4] == b"PK\x03\x04"
            crc, csize, size, name_len, extra_len = struct.unpack("<IIIHH", raw[at + 14 : at + 30])
            if csize == 0xFFFFFFFF:  # zip64: the sizes are in the extra field
                zip64_id, _, size, csize = struct.unpack("<HHQQ", raw[at + 30 + name_len : at + 30 + name_len + 20])
                assert zip64_id == 1
            assert (crc, csize, size) == (info.CRC, info.compress_size, info.file_size), info.filename
            if info.compress_type == zipfile.ZIP_STORED and info.filename.endswith(".bin"):
                assert (at + 30 + name_len + extra_len) % 64 == 0, info.filename
        assert zf.testzip() is None
    assert ZANJ(verify_checksums=True).read(path) == obj


@pytest.mark.parametrize("use_isal", [True, False], ids=["isal", "zlib"])
def test_crc_is_the_same_with_or_without_isal(use_isal: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zanj_core._container import checksums

    if use_isal:
        pytest.importorskip("isal")
    else:
        monkeypatch.setitem(sys.modules, "isal", None)  # makes `import isal...` fail
    checksums.crc32_function.cache_clear()
    try:
        path = Path(ZANJ().save({"blob": bytes(range(256)) * 20_000, "small": b"x" * 300}, tmp_path / "c"))
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
        assert ZANJ(verify_checksums=True).read(path)["small"] == b"x" * 300
    finally:
        checksums.crc32_function.cache_clear()


# -- replacing a file --------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions, symlinks and pipes")
def test_replacing_keeps_permissions_and_writes_through_symlinks(tmp_path: Path) -> None:
    private = tmp_path / "private.zanj"
    ZANJ().save({"v": 1}, private)
    os.chmod(private, 0o600)
    ZANJ().save({"v": 2}, private)
    assert ZANJ().read(private) == {"v": 2}
    assert private.stat().st_mode & 0o777 == 0o600, "a private checkpoint must stay private"

    link = tmp_path / "latest.zanj"
    link.symlink_to(private)
    ZANJ().save({"v": 3}, link)
    assert link.is_symlink(), "the link is kept; its destination gets the new file"
    assert ZANJ().read(private) == {"v": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.zanj", "private.zanj"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_saving_over_something_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.zanj"
    os.mkfifo(pipe)
    with pytest.raises(ZanjError, match="not a regular file"):
        ZANJ().save({"v": 1}, pipe)
    (tmp_path / "folder.zanj").mkdir()
    with pytest.raises(ZanjError, match="it exists and is a folder"):
        ZANJ().save({"v": 1}, tmp_path / "folder.zanj")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.zanj", "pipe.zanj"]


def test_a_long_file_name_leaves_room_for_the_temporary_name(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 240 + ".zanj")
    ZANJ().save([1, 2], path)
    assert ZANJ().read(path) == [1, 2]


def test_json_members_indented_when_small_and_compact_when_large(tmp_path: Path) -> None:
    """People read small JSON members; large trees are written compact (the C encoder is
    about ten times faster than the indenting one), and both read back the same."""
    from zanj_core._walk.zanj import PRETTY_JSON_MAX_BYTES

    small = {"a": [1, 2, 3], "b": "x"}
    large = {f"key{i:06d}": {"value": i, "name": f"item-{i}"} for i in range(40_000)}
    for obj, indented in ((small, True), (large, False)):
        path = ZANJ().save(obj, tmp_path / ("small" if indented else "large"))
        with zipfile.ZipFile(path) as archive:
            text = archive.read("__zanj__.json").decode()
        assert ("\n " in text) is indented
        assert indented or len(text) > PRETTY_JSON_MAX_BYTES
        assert ZANJ().read(path) == obj


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "deflated"])
def test_a_member_source_reads_into_any_writable_buffer(stored: bool, tmp_path: Path) -> None:
    """What plugins.md says `read_into` fills: a bytearray, a memoryview of one, or (with numpy)
    an array; a read-only buffer is refused by name, before anything is read or charged."""
    from zanj_core._container.reader import ArchiveReader

    blob = bytes(range(256)) * 16
    path = ZANJ(compress=not stored).save({"b": blob}, tmp_path / "b")
    with ArchiveReader(path) as reader:
        fills: list[Any] = [bytearray(len(blob)), memoryview(bytearray(len(blob)))]
        try:
            import numpy as np

            fills.append(np.zeros(len(blob) // 4, dtype=np.uint32))
        except ImportError:
            pass
        for buffer in fills:
            reader.source("b.bin", ("b",)).read_into(buffer)
            assert bytes(memoryview(buffer).cast("B")) == blob
        source = reader.source("b.bin", ("b",))
        spent = source.budget.spent
        with pytest.raises(TypeError, match=r"read_into needs a writable buffer .* read-only bytes"):
            source.read_into(bytes(len(blob)))
        assert source.budget.spent == spent
