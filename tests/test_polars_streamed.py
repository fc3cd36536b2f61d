"""Large members read batch by batch (zanj_polars.streamed): same frames, same refusals.

tests/test_polars_hostile.py runs every hostile member through this path too; here: real
frames of several batches round-trip exactly, budgets and checksums still hold, and the path
is taken only where it applies (copying reads of large stored members).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_polars")

import numpy as np  # noqa: E402
from test_polars import assert_same  # noqa: E402
from test_polars_hostile import BIG, forged, ipc_bytes, member_table, one_column, saved  # noqa: E402
from zanj_polars import streamed  # noqa: E402

from zanj_core import ZANJ, ReadLimits, ZanjFormatError, ZanjLimitError  # noqa: E402

ROWS = 200_000


def typed_frame(rows: int = ROWS) -> Any:
    rng = np.random.default_rng(1)
    parts = []
    for start in range(0, rows, rows // 4):  # four chunks: polars writes two or more record batches
        k = np.arange(start, start + rows // 4)
        parts.append(
            pl.DataFrame(
                {
                    "i": k,
                    "s": [f"s{v}" if v % 3 else f"a string longer than twelve bytes {v}" for v in k],
                    "n": pl.Series(rng.integers(0, 9, len(k)), dtype=pl.Int16).scatter(np.arange(0, len(k), 5), None),
                    "c": pl.Series(rng.choice(["u", "v", "w"], len(k)), dtype=pl.Categorical),
                    "e": pl.Series(rng.choice(["x", "y"], len(k)), dtype=pl.Enum(["y", "x"])),
                    "l": [[int(v), None] if v % 2 else [] for v in k],
                    "t": [{"a": int(v), "b": f"b{v % 7}"} for v in k],
                }
            )
        )
    return pl.concat(parts, rechunk=False)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    frame = typed_frame()
    path = ZANJ().save({"df": frame}, tmp_path_factory.mktemp("streamed") / "big.zanj")
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("df.arrow").file_size >= streamed.STREAM_MIN_BYTES
    return Path(path), frame


def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    read = streamed.read_streamed

    def counted(source: Any, *args: Any) -> Any:
        calls.append(source.size)
        return read(source, *args)

    monkeypatch.setattr(streamed, "read_streamed", counted)
    return calls


@pytest.mark.parametrize("verify", [False, True], ids=["plain", "verify_checksums"])
def test_large_frames_stream_and_round_trip(
    verify: bool, big_file: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, frame = big_file
    calls = spy(monkeypatch)
    back = ZANJ(verify_checksums=verify).read(path)["df"]
    assert calls, "the streamed path was not taken"
    assert_same(back, frame)
    assert back.n_chunks() >= 2  # one chunk per record batch: nothing was copied again


def test_mapped_sliced_and_compressed_reads_do_not_stream(
    big_file: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, frame = big_file
    calls = spy(monkeypatch)
    assert_same(ZANJ().read(path, mmap=True)["df"], frame)
    with ZANJ().open(path) as opened:
        assert_same(opened.slice("df")[10:20], frame[10:20])
    packed = ZANJ(compress=True).save({"df": frame}, tmp_path / "packed.zanj")
    assert_same(ZANJ().read(packed)["df"], frame)
    assert calls == []


def test_a_corrupt_member_fails_its_checksum(big_file: tuple[Path, Any], tmp_path: Path) -> None:
    path, _ = big_file
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("df.arrow")
    # a byte of the first batch's body, well inside the member: a string's text, never read as structure
    at = data.index(b"a string longer than twelve bytes 0", info.header_offset) + 10  # past its view's prefix
    data[at] ^= 0x01  # an ASCII letter for another: still UTF-8
    bad = tmp_path / "flipped.zanj"
    bad.write_bytes(bytes(data))
    with pytest.raises(ZanjFormatError, match="CRC"):
        ZANJ(verify_checksums=True).read(bad)
    back = ZANJ().read(bad)["df"]  # stored members are checked only when asked: read as they are
    assert back["s"][0] != big_file[1]["s"][0] and back[1:].equals(big_file[1][1:])


def test_declared_rows_are_enforced_while_streaming(
    big_file: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = big_file
    with zipfile.ZipFile(path) as zf:
        member = zf.read("df.arrow")
    fewer = forged(path, tmp_path / "fewer.zanj", member, lambda node: node.update(n_rows=ROWS // 8))
    with pytest.raises(ZanjFormatError, match=f"declares {ROWS // 8} rows, its member holds at least"):
        ZANJ().read(fewer)
    more = forged(path, tmp_path / "more.zanj", member, lambda node: node.update(n_rows=ROWS + 1))
    with pytest.raises(ZanjFormatError, match=f"declares {ROWS + 1} rows, its member holds {ROWS}"):
        ZANJ().read(more)


def test_each_batch_is_charged_before_its_values_are_checked(
    big_file: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = big_file
    limits = ReadLimits(read_budget_floor=1 << 20, read_budget_ratio=1)
    with pytest.raises(ZanjLimitError, match=r"the frame converted from member 'df\.arrow'"):
        ZANJ(read_limits=limits).read(path)


def test_a_few_bytes_declaring_3e8_nulls_hit_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    honest, _, member = saved(pl.DataFrame({"a": [None, None, None]}), tmp_path)
    bomb = forged(
        honest,
        tmp_path / "bomb.zanj",
        ipc_bytes(one_column(member_table(member), pa.nulls(BIG))),
        lambda node: node.update(n_rows=BIG),
    )
    with pytest.raises(ZanjLimitError, match=r"the frame converted from member 'df\.arrow'"):
        ZANJ().read(bomb)
