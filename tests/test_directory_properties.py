"""The bulk directory parser against zipfile, and saved files against their read-ahead windows.

Archives zipfile writes (random names, sizes, methods, comments, zip64 records) parse to what
zipfile parses, member by member; what zanj saves reads back bit for bit whatever the sizes of
the reads that fetch it; and a file with any byte of its directory, end records or headers
changed reads or ends in a `ZanjError`, never anything else.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zanj_core import ZANJ, ZanjError
from zanj_core._container import end_records, local_headers
from zanj_core._container.reader import ArchiveReader

SEGMENT = st.text(alphabet="abcXYZ019_-. üé漢", min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))
NAME = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)


def _under_each_layout(check: Callable[[], None]) -> None:
    """Run `check` as the reader reads a small file (whole) and a large one (its tail first, then
    the JSON members, and small read-ahead windows)."""
    check()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(end_records, "WHOLE_FILE_MAX", 0)
        patch.setattr(end_records, "TAIL_BYTES", 64)
        patch.setattr(local_headers, "FIRST_READ_AHEAD", 300)
        patch.setattr(local_headers, "READ_AHEAD_MAX", 2000)
        check()


def _data(size: int, seed: int) -> bytes:
    return bytes((seed + i * 7) % 251 for i in range(size))


@given(
    names=st.lists(NAME, min_size=1, max_size=12, unique=True).filter(lambda n: "__zanj__.json" not in n),
    sizes=st.lists(st.integers(0, 3000), min_size=12, max_size=12),
    deflate=st.lists(st.booleans(), min_size=12, max_size=12),
    comment=st.binary(max_size=40).filter(lambda c: b"PK" not in c),
    zip64=st.booleans(),
)
def test_zipfile_archives_parse_as_zipfile_parses_them(
    names: list[str], sizes: list[int], deflate: list[bool], comment: bytes, zip64: bool
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("__zanj__.json", b"{}", compress_type=zipfile.ZIP_DEFLATED)
        for index, name in enumerate(names):
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED if deflate[index] else zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=zip64) as fh:
                fh.write(_data(sizes[index], index))
        zf.comment = comment
    raw = buffer.getvalue()

    def check() -> None:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf, ArchiveReader(io.BytesIO(raw)) as reader:
            infos = zf.infolist()
            assert reader.names() == [info.filename for info in infos]
            for info in infos:
                mine = reader.info(info.filename)
                for field in ("orig_filename", "flag_bits", "compress_type", "CRC", "compress_size", "file_size"):
                    assert getattr(mine, field) == getattr(info, field), field
                assert (mine.header_offset, mine.extra) == (info.header_offset, info.extra)
                with reader.open_member(mine, reader.new_budget()) as stream:
                    assert stream.read() == zf.read(info.filename)

    _under_each_layout(check)


@given(
    sizes=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 6000), min_size=1, max_size=25),
    large=st.sampled_from([0, 70_000]),
)
def test_saved_files_read_back_whatever_the_windows(sizes: dict[str, int], large: int, tmp_path_factory: Any) -> None:
    obj: dict[str, Any] = {key: _data(size, len(key)) for key, size in sizes.items()}
    if large:
        obj["__large"] = _data(large, 3)
    path = Path(ZANJ().save(obj, tmp_path_factory.mktemp("windows") / "w"))

    def check() -> None:
        assert ZANJ().read(path) == obj
        assert ZANJ().read(path, mmap=True) == obj
        with ZANJ().open(path) as opened:
            plain = [key for key in reversed(list(obj)) if key.isalnum()]  # out of file order
            assert {key: opened[key] for key in plain} == {key: obj[key] for key in plain}
            assert opened.load() == obj
        with open(path, "rb") as fh:
            assert ZANJ(verify_checksums=True).read(fh) == obj

    _under_each_layout(check)


@pytest.fixture(scope="module")
def damage_target(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[int]]:
    """A saved file, and the offsets of its structure: local headers, directory, end records."""
    obj = {"blob": b"b" * 3000, "big": bytes(70_000), "list": list(range(400)), "text": "x"}
    path = Path(ZANJ().save(obj, tmp_path_factory.mktemp("damage") / "d"))
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        directory_start = zf.start_dir
        heads = [offset for info in zf.infolist() for offset in range(info.header_offset, info.header_offset + 90)]
    return raw, sorted(set(heads) | set(range(directory_start, len(raw))))


@given(data=st.data())
def test_damaged_structure_reads_or_ends_in_a_zanj_error(data: Any, damage_target: tuple[bytes, list[int]]) -> None:
    raw, offsets = damage_target
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(offsets))
        damaged[at] = data.draw(st.integers(0, 255).filter(lambda value, at=at: value != raw[at]))

    def check() -> None:
        for mmap in (False, True):
            try:
                ZANJ().read(io.BytesIO(bytes(damaged)), mmap=mmap)
            except ZanjError:
                pass

    _under_each_layout(check)
