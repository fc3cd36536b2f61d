"""zanj-polars against the files of an outside attack: zanj 0.6 rows that declare a frame far
wider than the file (polars aborted the process), Enum dictionaries whose foreign values read as
nulls, and Categorical dictionaries that filled a program's named categories on a failed read."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_polars")

import zanj_polars.dtypes  # noqa: E402
from memory_probe import read_measured  # noqa: E402
from zanj_polars import categories, frames, ipc, ipc_layout, streamed  # noqa: E402
from zanj_polars.zanj06 import build_cost  # noqa: E402

from zanj_core import ZANJ, ReadLimits, ZanjFormatError, ZanjLimitError  # noqa: E402

SMALL_BUDGET = ZANJ(read_limits=ReadLimits(read_budget_floor=32 << 20))
ROWS = 20_000


# -- zanj 0.6 rows: the frame polars would build is charged before polars builds it --------------


def zanj06_file(rows: list[dict[str, Any]], folder: Path, columns: list[str] | None = None) -> Path:
    """A file in zanj 0.6's polars form holding `rows` as its JSON lines."""
    honest = ZANJ(compat="0.6").save({"df": pl.DataFrame({"a": [1]})}, folder / "honest.zanj")
    with zipfile.ZipFile(honest) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    tree = json.loads(contents["__zanj__.json"])
    node = tree["df"]
    node.update({"len(data)": len(rows), "columns": columns or [], "data[0]": rows[0] if rows else {}})
    contents["__zanj__.json"] = json.dumps(tree).encode()
    contents[node["$ref"]] = "".join(json.dumps(row) + "\n" for row in rows).encode()
    out = folder / "rows.zanj"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return out


WIDE: dict[str, list[dict[str, Any]]] = {
    # 100 rows of 10 keys each, then empty rows: polars makes 1000 columns, every row a value in each
    "wide early rows": [{f"k{r}_{j}": 1 for j in range(10)} for r in range(100)] + [{}] * ROWS,
    # one struct of 1000 fields, then rows without it: each a null struct of 1000 null fields
    "wide struct": [{"a": {f"x{j}": 1 for j in range(1000)}}] + [{}] * ROWS,
    # one list item of 1000 fields, then a list of empty objects: each item 1000 null fields
    "wide list items": [{"a": [{f"x{j}": 1 for j in range(1000)}]}, {"a": [{}] * ROWS}],
}


@pytest.mark.parametrize("case", list(WIDE))
def test_rows_declaring_a_frame_far_wider_than_the_file_are_refused(case: str, tmp_path: Path) -> None:
    path = zanj06_file(WIDE[case], tmp_path)
    # polars would build 1000 x 20,000 values (160 MB) from a file of about 100 kB
    assert path.stat().st_size < 120_000
    with pytest.raises(ZanjLimitError, match="the polars frame built from its rows"):
        SMALL_BUDGET.read(path)


def test_the_charge_bounds_the_frame_polars_builds() -> None:
    for rows in WIDE.values():
        text = sum(len(json.dumps(row)) + 1 for row in rows)
        assert build_cost(rows, [], text) >= pl.DataFrame(rows).estimated_size()
    flat = [{"i": i, "s": f"{i:020d}", "f": i / 3, "l": [i, i + 1]} for i in range(ROWS)]
    text = sum(len(json.dumps(row)) + 1 for row in flat)
    frame = pl.DataFrame(flat)
    # a legit frame is charged about what it holds: a few times, not a thousand
    assert frame.estimated_size() <= build_cost(flat, [], text) <= 8 * frame.estimated_size()


def test_rows_of_differing_keys_read_as_zanj06_read_them(tmp_path: Path) -> None:
    """zanj 0.6 read its rows with `polars.DataFrame(rows)`: columns are the keys of the first
    100 rows in order of appearance, a missing key reads as null, and a key first seen later is
    dropped. The same file reads the same here."""
    rows: list[dict[str, Any]] = [{"a": i, "b": f"s{i}"} if i % 2 else {"c": [i], "a": i} for i in range(100)]
    rows += [{"a": 100, "late": True}, {"b": "end", "c": [1, 2], "d": {"x": 1}}]
    expected = pl.DataFrame(rows)
    assert expected.columns == ["c", "a", "b"]
    loaded = ZANJ().read(zanj06_file(rows, tmp_path))["df"]
    assert loaded.schema == expected.schema and loaded.equals(expected)


def test_legit_zanj06_rows_fit_the_default_budget(tmp_path: Path) -> None:
    rows = [{"i": i, "s": f"v{i}", "f": i / 7, "b": i % 3 == 0} for i in range(200_000)]
    loaded = ZANJ().read(zanj06_file(rows, tmp_path))["df"]
    assert loaded.equals(pl.DataFrame(rows))


# -- Enum and Categorical dictionaries: checked before polars maps them ---------------------------


@pytest.fixture(params=["whole", "streamed"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each case on both ways of reading a member: whole, and batch by batch (large members)."""
    if request.param == "streamed":
        monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    return str(request.param)


def arrow_file(
    declared: dict[str, Any],
    arrays: list[Any],
    folder: Path,
    rows_per_batch: int | None = None,
    spoil: Callable[[bytes], bytes] = bytes,
) -> Path:
    """A file whose frame node declares `declared`, its member a hand-made IPC file of `arrays`
    with exactly the Arrow schema polars writes for it (so only the values are forged), in
    batches of `rows_per_batch` rows (sharing each dictionary), its bytes passed through `spoil`."""
    schema = frames.expected_arrow_schema(declared, "test")
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema), max_chunksize=rows_per_batch)
    honest = ZANJ().save({"df": pl.DataFrame(schema=declared)}, folder / "honest.zanj")
    with zipfile.ZipFile(honest) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    tree = json.loads(contents["__zanj__.json"])
    tree["df"]["n_rows"] = len(arrays[0])
    contents["__zanj__.json"] = json.dumps(tree).encode()
    contents[tree["df"]["$ref"]] = spoil(sink.getvalue())
    out = folder / "forged.zanj"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return out


def dictionary_array(declared: dict[str, Any], codes: Sequence[int | None], values: Sequence[str | None]) -> Any:
    arrow_type = frames.expected_arrow_schema(declared, "test").field(0).type
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, arrow_type.index_type), pa.array(values, arrow_type.value_type), ordered=arrow_type.ordered
    )


ENUM = {"e": pl.Enum(["a", "b"])}


@pytest.mark.parametrize(
    ("values", "codes", "needle"),
    [
        (["zzz", "a", "b", "c", "d"], [0, 4, 3, 1], "holds 5 values for the 2 categories"),
        (["a", "zzz"], [0, 1, 1], "values its Enum does not declare"),
        (["a", None], [0, 1], "and a null"),
    ],
)
def test_enum_dictionary_outside_its_categories_is_refused(
    values: list[str | None], codes: list[int], needle: str, tmp_path: Path, reading: str
) -> None:
    path = arrow_file(ENUM, [dictionary_array(ENUM, codes, values)], tmp_path)
    with pytest.raises(ZanjFormatError, match=needle):
        ZANJ().read(path)


def test_enum_dictionary_in_another_order_reads_by_value(tmp_path: Path, reading: str) -> None:
    path = arrow_file(ENUM, [dictionary_array(ENUM, [0, 1, 0, None], ["b", "a"])], tmp_path)
    loaded = ZANJ().read(path)["df"]
    assert loaded["e"].to_list() == ["b", "a", "b", None] and loaded.schema == pl.Schema(ENUM)


def test_nested_enum_dictionary_is_checked(tmp_path: Path, reading: str) -> None:
    declared = {"l": pl.List(pl.Struct({"e": pl.Enum(["a", "b"])}))}
    list_type = frames.expected_arrow_schema(declared, "test").field(0).type
    enum_type = list_type.value_type.field(0).type
    codes = pa.DictionaryArray.from_arrays(
        pa.array([0, 1], enum_type.index_type), pa.array(["a", "nope"], enum_type.value_type), ordered=True
    )
    items = pa.StructArray.from_arrays([codes], fields=[list_type.value_type.field(0)])
    column = pa.LargeListArray.from_arrays(pa.array([0, 2], pa.int64()), items).cast(list_type)
    with pytest.raises(ZanjFormatError, match="values its Enum does not declare"):
        ZANJ().read(arrow_file(declared, [column], tmp_path))


def test_categorical_dictionary_with_a_null_is_refused(tmp_path: Path, reading: str) -> None:
    declared = {"c": pl.Categorical()}
    path = arrow_file(declared, [dictionary_array(declared, [0, 1], ["u", None])], tmp_path)
    with pytest.raises(ZanjFormatError, match="a null among them"):
        ZANJ().read(path)


def test_named_categories_a_file_cannot_fill_are_left_untouched(tmp_path: Path, reading: str) -> None:
    """A failed read adds nothing to the program's named categories: the file's dictionary is
    checked against the room left before polars inserts any value."""
    categories = pl.Categories(f"attack-{reading}", "tests", pl.UInt8)
    mine = pl.Series([f"mine{i}" for i in range(200)], dtype=pl.Categorical(categories))
    declared = {"c": pl.Categorical(categories)}
    too_long = arrow_file(
        declared, [dictionary_array(declared, list(range(256)), [f"v{i}" for i in range(1000)])], tmp_path
    )
    with pytest.raises(ZanjFormatError) as refused:
        ZANJ().read(too_long)
    assert sorted(categories.to_dict()) == sorted(mine.to_list())
    assert "holds at most 255" in str(refused.value)
    # 100 new values fit UInt8 alone, not beside the program's 200
    crowding = arrow_file(
        declared, [dictionary_array(declared, list(range(100)), [f"v{i}" for i in range(100)])], tmp_path
    )
    with pytest.raises(ZanjFormatError) as refused:
        ZANJ().read(crowding)
    assert sorted(categories.to_dict()) == sorted(mine.to_list())
    assert "holds 200 already and at most 255" in str(refused.value)
    assert pl.Series(["one more"]).cast(pl.Categorical(categories)).to_list() == ["one more"]


def test_named_categories_that_fit_read_back(tmp_path: Path, reading: str) -> None:
    categories = pl.Categories(f"fits-{reading}", "tests", pl.UInt16)
    frame = pl.DataFrame({"c": pl.Series(["x", "y", None, "x"], dtype=pl.Categorical(categories))})
    loaded = ZANJ().read(ZANJ().save({"df": frame}, tmp_path / "f"))["df"]
    assert loaded.equals(frame) and loaded.schema == frame.schema


# -- dtypes from a node: refused as a format error before polars builds them -----------------------


@pytest.mark.parametrize("args", [["", "ns", "UInt32"], ["", "", "UInt8"], ["", "", "UInt16"]])
def test_global_categories_with_a_namespace_or_small_physical_are_refused(args: list[str], tmp_path: Path) -> None:
    # polars itself answers these with an AssertionError (or, under python -O, nothing)
    with pytest.raises(zanj_polars.dtypes.BadDtype, match="global categories"):
        zanj_polars.dtypes.decode({"Categorical": args})
    honest = ZANJ().save({"df": pl.DataFrame({"c": pl.Series(["x"], dtype=pl.Categorical())})}, tmp_path / "f")
    with zipfile.ZipFile(honest) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    tree = json.loads(contents["__zanj__.json"])
    tree["df"]["schema"] = [{"Categorical": args}]
    contents["__zanj__.json"] = json.dumps(tree).encode()
    forged = tmp_path / "forged.zanj"
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    with pytest.raises(ZanjFormatError, match="column 'c': the global categories are UInt32"):
        ZANJ().read(forged)


# -- record batches: each costs what polars does with it, and none may repeat another ------------


def _blocks_repeated(member: bytes, overlap: bool) -> bytes:
    """`member` with its footer's second record block pointing into (or at) the first."""
    data = bytearray(member)
    _, records = ipc_layout.batch_blocks(memoryview(member), "test")
    first, second = records[0], records[1]
    packed = struct.pack("<qi4xq", *second)
    assert data.count(packed) == 1
    shifted = (first[0] + 8, first[1], 0) if overlap else first
    data[data.index(packed) : data.index(packed) + len(packed)] = struct.pack("<qi4xq", *shifted)
    return bytes(data)


@pytest.mark.parametrize("overlap", [False, True], ids=["repeated", "overlapping"])
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_record_blocks_that_repeat_or_overlap_are_refused(overlap: bool, mmap: bool, tmp_path: Path) -> None:
    # the attack listed one 1.6 MB block 3,000 times: a 600M-row frame, copied chunk by chunk from a map
    declared = {"a": pl.Int64}
    forged = arrow_file(
        declared, [pa.array(range(1000), pa.int64())], tmp_path, 500, lambda m: _blocks_repeated(m, overlap)
    )
    with pytest.raises(ZanjFormatError, match="its batches repeat or overlap"):
        ZANJ().read(forged, mmap=mmap)


def test_disjoint_blocks_in_any_order_pass_the_layout_check() -> None:
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, pa.schema([("a", pa.int64())])) as writer:
        writer.write_table(pa.table({"a": range(100)}), max_chunksize=10)
    dictionaries, records = ipc_layout.batch_blocks(memoryview(sink.getvalue()), "test")
    assert not dictionaries and len(records) == 10
    ipc_layout.check_ipc_layout(memoryview(sink.getvalue()), "test")


CATS = [f"category {i:05d}" for i in range(2000)]


def _shared_dictionary(declared: dict[str, Any], count: int) -> Any:
    """`count` codes into one dictionary of all `CATS`."""
    return dictionary_array(declared, [i % len(CATS) for i in range(count)], CATS)


def test_a_dictionary_is_charged_for_every_batch_sharing_it(tmp_path: Path) -> None:
    # polars converts (and from a map copies) the dictionary once per chunk: 60,000 categories
    # shared by 4,095 one-row batches cost 3.9 GB from a 1.7 MB file
    declared = {"c": pl.Categorical()}
    batches = 40
    path = arrow_file(declared, [_shared_dictionary(declared, batches)], tmp_path, 1)
    with zipfile.ZipFile(path) as zf:
        member = zf.read("df.arrow") if "df.arrow" in zf.namelist() else b""
    table = pa.ipc.open_file(pa.py_buffer(member)).read_all()
    assert table.column(0).num_chunks == batches
    dictionary_bytes = table.column(0).chunk(0).dictionary.get_total_buffer_size()
    assert dictionary_bytes >= 16 * len(CATS)
    assert ipc.conversion_cost(table) >= batches * (dictionary_bytes + ipc.COLUMN_OVERHEAD)


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_many_batches_sharing_a_large_dictionary_are_refused_before_polars(
    mmap: bool, tmp_path: Path, reading: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = {"c": pl.Categorical()}
    path = arrow_file(declared, [_shared_dictionary(declared, 200)], tmp_path, 1)
    converted: list[Any] = []
    monkeypatch.setattr(frames.pl, "from_arrow", lambda *a, **k: converted.append(a))
    tight = ZANJ(read_limits=ReadLimits(read_budget_floor=1 << 20, read_budget_ratio=4))
    with pytest.raises(ZanjLimitError, match="budget"):
        tight.read(path, mmap=mmap)
    assert not converted


def test_many_batches_sharing_a_dictionary_read_back(tmp_path: Path, reading: str) -> None:
    declared = {"e": pl.Enum(CATS)}
    path = arrow_file(declared, [_shared_dictionary(declared, 300)], tmp_path, 1)
    for mmap in (False, True):
        loaded = ZANJ().read(path, mmap=mmap)["df"]
        assert loaded.to_series().to_list() == [CATS[i % len(CATS)] for i in range(300)]


def test_a_dictionary_shared_by_batches_is_checked_once(
    tmp_path: Path, reading: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # checking it per batch cost batches x categories: 43-55 s for 20,000 categories in 4,095 batches
    declared = {"e": pl.Enum(CATS)}
    path = arrow_file(declared, [_shared_dictionary(declared, 50)], tmp_path, 1)
    checked: list[int] = []
    check = categories._check_enum
    monkeypatch.setattr(categories, "_check_enum", lambda *a: checked.append(1) or check(*a))
    assert ZANJ().read(path)["df"].height == 50
    assert len(checked) == 1


def test_column_overhead_is_charged_per_batch(tmp_path: Path) -> None:
    table = pa.table({f"c{i}": pa.array([1] * 30, pa.int8()) for i in range(20)})
    batched = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    assert batched.column(0).num_chunks == 30
    assert ipc.conversion_cost(batched) >= 30 * 20 * ipc.COLUMN_OVERHEAD > ipc.conversion_cost(table)


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_too_many_column_chunks_are_refused(
    mmap: bool, tmp_path: Path, reading: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 300 columns x 4,095 one-row batches: 79 MB that polars took over 20 s and 35x its size to convert
    monkeypatch.setattr(ipc, "MAX_COLUMN_CHUNKS", 100)
    declared = {f"c{i}": pl.Int8 for i in range(20)}
    arrays = [pa.array([1] * 10, pa.int8()) for _ in declared]
    with pytest.raises(ZanjLimitError, match="10 record batches of 20 columns, over the 100 column chunks"):
        ZANJ().read(arrow_file(declared, arrays, tmp_path, 1), mmap=mmap)
    assert ZANJ().read(arrow_file(declared, arrays, tmp_path, 2), mmap=mmap)["df"].height == 10


def test_frames_of_many_column_chunks_are_rechunked_when_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ipc, "MAX_COLUMN_CHUNKS", 100)
    parts = [pl.DataFrame({f"c{i}": [j] for i in range(20)}) for j in range(10)]
    frame = pl.concat(parts, rechunk=False)
    assert frame.n_chunks() == 10
    loaded = ZANJ().read(ZANJ().save({"df": frame}, tmp_path / "f"))["df"]
    assert loaded.equals(frame) and loaded.n_chunks() == 1


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_legit_multi_chunk_frames_read_back(mmap: bool, tmp_path: Path, reading: str) -> None:
    # polars writes a record batch per chunk once chunks are large (it merges small ones)
    rows = 70_000
    enum = pl.Enum(["lo", "mid", "hi"])
    parts = [
        pl.DataFrame(
            {
                "n": np.arange(rows) + j,
                "s": [f"row {j}", None, "x" * 40, "y"] * (rows // 4) + ["z"] * (rows % 4),
                "cat": pl.Series(
                    [f"c{j}", "shared", None, "c"] * (rows // 4) + ["c"] * (rows % 4), dtype=pl.Categorical
                ),
                "enum": pl.Series(["lo", "hi"] * (rows // 2), dtype=enum),
                "nested": pl.Series([[f"c{j}"], None] * (rows // 2), dtype=pl.List(pl.Categorical)),
            }
        )
        for j in range(3)
    ]
    frame = pl.concat(parts, rechunk=False)
    assert frame.n_chunks() == 3
    saved = ZANJ().save({"df": frame}, tmp_path / "chunks")
    with zipfile.ZipFile(saved) as zf:
        member = next(zf.read(name) for name in zf.namelist() if name.endswith(".arrow"))
    assert pa.ipc.open_file(pa.py_buffer(member)).num_record_batches >= 2
    loaded = ZANJ().read(saved, mmap=mmap)["df"]
    assert loaded.equals(frame) and loaded.schema == frame.schema


def test_the_process_killing_zanj06_file_is_refused_in_a_limited_child_process(tmp_path: Path) -> None:
    """The first attack as it was (100 rows of 10 distinct keys, then empty rows): polars would
    widen it to 1000 columns x 200,000 rows (1.6 GB) and abort the process past the limit."""
    path = zanj06_file([{f"k{r}_{j}": 1 for j in range(10)} for r in range(100)] + [{}] * 200_000, tmp_path)
    honest = ZANJ(compat="0.6").save({"df": pl.DataFrame({"a": [1]})}, tmp_path / "warm.zanj")
    error, message, grown = read_measured(path, Path(honest), ("polars", "pyarrow"))
    assert error == "ZanjLimitError", message
    assert grown < 400 << 20, f"peak memory grew by {grown >> 20} MiB"
