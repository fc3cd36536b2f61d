"""The zip directory, parsed in bulk, and the local headers, checked from wherever their bytes are.

Every hostile archive of `directory_cases.py` fails with the exact error the zipfile-based
reader gave, through `read`, `read(mmap=True)`, `open` and a file object, whether the reader
holds the whole file, reads its tail and then the JSON members in one piece, or reads each
header on its own; and the reads themselves are as few as designed. Random archives:
`test_directory_properties.py`.
"""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path
from typing import Any

import pytest
from directory_cases import CASES, DirectoryCase
from zip_forge import BLOB

from zanj_core import ZANJ, ReadLimits, ZanjError, ZanjFormatError
from zanj_core._container import directory, end_records, sources

LAYOUTS = ("whole", "tail", "header_reads")
"""How the reader gets the bytes of a small file: all in its first read; its tail first, then
the JSON members in one piece; its tail, then every local header on its own."""
WAYS = ("read", "read_mmap", "open", "file_object")
FILE_OBJECT_HINT = " (a file object is read from its position, here byte 0: seek to where the archive begins)"
"""What a message about a file object adds to one about a path, for a file that is no zip."""


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param != "whole":
        monkeypatch.setattr(end_records, "WHOLE_FILE_MAX", 0)
        monkeypatch.setattr(end_records, "TAIL_BYTES", 64)
    if request.param == "header_reads":
        monkeypatch.setattr(directory, "JSON_SPAN_MAX", 0)
    return str(request.param)


def _outcome(case: DirectoryCase, path: Path, way: str) -> tuple[str, str]:
    """(error class, message with the path as `{path}`), or ("ok", "") when the file reads."""
    zanj = ZANJ(read_limits=ReadLimits(max_members=case.max_members) if case.max_members else ReadLimits())
    try:
        if way == "read":
            back = zanj.read(path)
        elif way == "read_mmap":
            back = zanj.read(path, mmap=True)
        elif way == "file_object":
            with open(path, "rb") as fh:
                back = zanj.read(fh)
        else:
            with zanj.open(path) as opened:
                assert case.error == "ok" or not case.at_open, "opening should have failed"
                back = {"blob": opened["blob"], "x": opened["x"]}
    except ZanjError as exc:
        message = str(exc).replace(str(path), "{path}")
        return type(exc).__name__, message.replace(FILE_OBJECT_HINT, "") if way == "file_object" else message
    assert back["blob"] == BLOB
    return "ok", ""


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_check_gives_the_error_it_gave(case: DirectoryCase, way: str, layout: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case.name}.zanj"
    path.write_bytes(case.build())
    assert _outcome(case, path, way) == (case.error, case.message)


def test_every_message_of_the_directory_modules_has_a_case() -> None:
    """Each error the directory modules raise (the words of each message) is given by a case,
    but a local header past the end of the file: the directory's checks leave room for every
    header, so that one is a second line of defence."""
    from zanj_core._container import local_headers, zip_records

    fragments = set()
    for module in (end_records, zip_records, directory, local_headers):
        tree = ast.parse(inspect.getsource(module))
        specs = {id(node.format_spec) for node in ast.walk(tree) if isinstance(node, ast.FormattedValue)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                message = node.exc.args[0]
                if isinstance(message, ast.Constant):
                    fragments.add(message.value)
                for text in ast.walk(message):  # each f-string, both of an `if ... else`
                    if isinstance(text, ast.JoinedStr) and id(text) not in specs:
                        words = [part.value for part in text.values if isinstance(part, ast.Constant)]
                        fragments.add(max(words, key=len))
    messages = " | ".join(case.message for case in CASES)
    missing = [fragment for fragment in fragments if fragment.strip() not in messages]
    assert missing == [": local header of member "], missing


# -- what the reader reads ---------------------------------------------------------------------


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(offset, size) of every read of a local file."""
    reads: list[tuple[int, int]] = []
    real_at, real_bytes = sources.LocalFileSource.read_at, sources.LocalFileSource.read_bytes

    def read_at(self: Any, view: memoryview, offset: int) -> int:
        reads.append((offset, view.nbytes))
        return real_at(self, view, offset)  # type: ignore[no-any-return]

    def read_bytes(self: Any, offset: int, length: int, name: str) -> bytes:
        reads.append((offset, length))
        return real_bytes(self, offset, length, name)

    monkeypatch.setattr(sources.LocalFileSource, "read_at", read_at)
    monkeypatch.setattr(sources.LocalFileSource, "read_bytes", read_bytes)
    return reads


def test_a_small_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ZANJ().save({"config": {"lr": 0.1, "layers": [1, 2, 3]}, "blob": b"x" * 1000}, tmp_path / "small")
    reads = _count_reads(monkeypatch)
    assert ZANJ().read(path)["blob"] == b"x" * 1000
    assert reads == [(0, os.path.getsize(path))]


def test_opening_a_large_file_reads_its_tail_and_its_json_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = {f"b{i}": bytes([i]) * (256 << 10) for i in range(8)}
    path = ZANJ().save(blobs, tmp_path / "large")
    size = os.path.getsize(path)
    reads = _count_reads(monkeypatch)
    with ZANJ().open(path) as opened:
        assert len(reads) == 2, reads  # the tail (end record and directory), then the JSON members
        assert reads[0] == (size - end_records.TAIL_BYTES, end_records.TAIL_BYTES) and reads[1][0] == 0
        assert opened["b3"] == blobs["b3"]
    assert len(reads) == 4  # b3's local header (with the head of its data), then its data


def test_a_whole_read_reads_runs_of_small_members_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-ahead window takes the headers and data of the small members that follow, and
    grows while the reads stay in order; a large member is read straight into its buffer. No
    byte is read twice."""
    small = {f"s{i:04d}": os.urandom(1000) for i in range(1000)}
    path = ZANJ().save({"small": small, "large": os.urandom(3 << 20), "tail": {"t": b"z" * 500}}, tmp_path / "many")
    reads = _count_reads(monkeypatch)
    back = ZANJ().read(path)
    assert back["small"] == small and back["tail"] == {"t": b"z" * 500}
    assert len(reads) < 40, len(reads)
    assert sum(size for _, size in reads) < os.path.getsize(path) * 1.01


def test_reads_out_of_file_order_read_headers_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-ahead window is sized by the previous read: a member out of order gets a read of
    its header alone, so a walk that jumps about reads little more than the file."""
    members = {f"m{i:03d}": os.urandom(700) for i in range(200)}
    path = ZANJ().save(members, tmp_path / "jumpy")
    reads = _count_reads(monkeypatch)
    with ZANJ().open(path) as opened:
        opened.reader.byte_source.read_ahead()
        for key in reversed(list(members)):
            assert opened[key] == members[key]
    assert sum(size for _, size in reads) < 2 * os.path.getsize(path)


def test_a_mapped_member_has_its_headers_checked_from_the_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np = pytest.importorskip("numpy")
    arrays = {f"a{i}": np.full((64, 64), i, dtype=np.float32) for i in range(4)}
    blobs = {"blob": os.urandom(100 << 10)}  # over WHOLE_FILE_MAX with the arrays
    path = ZANJ().save({**arrays, **blobs}, tmp_path / "mapped")
    reads = _count_reads(monkeypatch)
    with ZANJ().open(path, mmap=True) as opened:
        opened_reads = len(reads)
        for key, array in arrays.items():
            assert np.array_equal(opened[key], array)
    assert len(reads) == opened_reads


def test_a_file_cut_short_after_opening_is_refused_when_mapped(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    path = ZANJ().save({"a": np.arange(100_000, dtype=np.float64)}, tmp_path / "cut")
    with ZANJ().open(path, mmap=True) as opened:
        os.truncate(path, os.path.getsize(path) // 2)
        with pytest.raises(ZanjFormatError, match="shorter than when it was opened"):
            opened["a"]
