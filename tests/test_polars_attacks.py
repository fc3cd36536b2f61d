"""zanj-polars against the files of an outside attack: zanj 0.6 rows that declare a frame far
wider than the file (polars aborted the process), Enum dictionaries whose foreign values read as
nulls, and Categorical dictionaries that filled a program's named categories on a failed read."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_polars")

import zanj_polars.dtypes  # noqa: E402
from zanj_polars import frames, streamed  # noqa: E402
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


def arrow_file(declared: dict[str, Any], arrays: list[Any], folder: Path) -> Path:
    """A file whose frame node declares `declared`, its member a hand-made IPC file of `arrays`
    with exactly the Arrow schema polars writes for it (so only the values are forged)."""
    schema = frames.expected_arrow_schema(declared, "test")
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    honest = ZANJ().save({"df": pl.DataFrame(schema=declared)}, folder / "honest.zanj")
    with zipfile.ZipFile(honest) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    tree = json.loads(contents["__zanj__.json"])
    tree["df"]["n_rows"] = len(arrays[0])
    contents["__zanj__.json"] = json.dumps(tree).encode()
    contents[tree["df"]["$ref"]] = sink.getvalue()
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
