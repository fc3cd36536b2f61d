"""zanj-polars: DataFrames, Series and LazyFrames round-trip exactly, dtype for dtype, through
Arrow IPC members; read mapped and lazily; refused with the column named when not storable."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")
pytest.importorskip("zanj_polars")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from zanj_polars import dtypes  # noqa: E402

from zanj_core import ZANJ, ZanjSerializationError  # noqa: E402


def assert_same(back: Any, frame: Any) -> None:
    """Equal values, nulls in the same places, and the very same schema (dtypes with their
    parameters: units, zones, categories, precision)."""
    assert type(back) is type(frame)
    if isinstance(frame, pl.LazyFrame):
        back, frame = back.collect(), frame.collect()
    if isinstance(frame, pl.Series):
        assert back.name == frame.name and back.dtype == frame.dtype
        assert back.equals(frame, check_names=True, check_dtypes=True)
        return
    assert back.schema == frame.schema
    assert back.shape == frame.shape
    assert back.equals(frame, null_equal=True)


def round_trip(obj: Any, tmp_path: Path, **read: Any) -> Any:
    path = ZANJ().save({"x": obj}, tmp_path / "f.zanj")
    return ZANJ().read(path, **read)["x"]


def typed_frame() -> Any:
    rows = 4
    return pl.DataFrame(
        {
            **{
                name: pl.Series([1, None, 3, 4], dtype=getattr(pl, name))
                for name in ("Int8", "Int16", "Int32", "Int64")
            },
            **{name: pl.Series([0, 7, None, 255], dtype=getattr(pl, name)) for name in ("UInt8", "UInt16")},
            "UInt32": pl.Series([0, 2**32 - 1, None, 1], dtype=pl.UInt32),
            "UInt64": pl.Series([0, 2**64 - 1, None, 1], dtype=pl.UInt64),
            "Float16": pl.Series([0.5, None, -1.0, 2.0], dtype=pl.Float16),
            "Float32": pl.Series([0.5, float("nan"), float("inf"), None], dtype=pl.Float32),
            "Float64": pl.Series([-0.0, 1e300, float("-inf"), None], dtype=pl.Float64),
            "Boolean": [True, None, False, True],
            "String": ["a", "", None, "long string beyond twelve bytes é"],
            "Binary": [b"\x00\xff", None, b"", b"x" * 40],
            "Date": [dt.date(2020, 1, 1), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)],
            "Time": [dt.time(0, 0), dt.time(23, 59, 59, 999999), None, dt.time(12)],
            "Null": pl.Series([None] * rows, dtype=pl.Null),
            "Decimal": pl.Series([Decimal("1.25"), None, Decimal("-99999.99"), Decimal("0")], dtype=pl.Decimal(7, 2)),
            "Categorical": pl.Series(["b", "a", None, "b"], dtype=pl.Categorical),
            "Enum": pl.Series(["z", None, "a", "z"], dtype=pl.Enum(["z", "unused", "a"])),
            "List": pl.Series([[1, None], [], None, [4]], dtype=pl.List(pl.Int16)),
            "ListOfList": pl.Series([[["x"]], [[], None], None, [["y", None]]], dtype=pl.List(pl.List(pl.String))),
            "Array": pl.Series([[1, 2], [3, None], None, [5, 6]], dtype=pl.Array(pl.Int64, 2)),
            "Array2d": pl.Series([[[1], [2]], None, [[3], [4]], [[5], [6]]], dtype=pl.Array(pl.UInt8, (2, 1))),
            "Struct": pl.Series(
                [{"a": 1, "b": "x"}, None, {"a": None, "b": None}, {"a": 4, "b": "y"}],
                dtype=pl.Struct({"a": pl.Int32, "b": pl.String}),
            ),
            "StructOfEnum": pl.Series(
                [{"e": "p"}, {"e": None}, None, {"e": "q"}], dtype=pl.Struct({"e": pl.Enum(["q", "p"])})
            ),
        }
    )


TEMPORAL = [
    pl.Datetime(unit, zone) for unit in ("ns", "us", "ms") for zone in (None, "UTC", "Europe/Paris", "Asia/Kolkata")
] + [pl.Duration(unit) for unit in ("ns", "us", "ms")]


def test_every_dtype_round_trips(tmp_path: Path) -> None:
    frame = typed_frame()
    assert_same(round_trip(frame, tmp_path), frame)


@pytest.mark.parametrize("dtype", TEMPORAL, ids=str)
def test_temporal_units_and_zones(dtype: Any, tmp_path: Path) -> None:
    values = pl.Series("t", [0, None, -(10**12), 10**15], dtype=pl.Int64)
    frame = pl.DataFrame({"t": values.cast(dtype)})
    back = round_trip(frame, tmp_path)
    assert_same(back, frame)
    assert back.schema["t"] == dtype


def test_enum_and_categorical_keep_categories_and_order(tmp_path: Path) -> None:
    enum = pl.Enum(["high", "low", "mid", "never used"])
    frame = pl.DataFrame(
        {"e": pl.Series(["low", "high", "mid"], dtype=enum), "c": pl.Series(["q", "p", "q"]).cast(pl.Categorical)}
    )
    back = round_trip(frame, tmp_path)
    assert_same(back, frame)
    assert back["e"].dtype.categories.to_list() == ["high", "low", "mid", "never used"]
    assert back["e"].sort().to_list() == ["high", "low", "mid"]  # sorted by category order, not by text
    assert back["c"].to_list() == ["q", "p", "q"]


def test_many_enum_categories_and_decimal_precisions(tmp_path: Path) -> None:
    categories = [f"c{k}" for k in range(70_000)]  # a uint32 dictionary index
    frame = pl.DataFrame(
        {
            "e": pl.Series(["c69999", "c0"], dtype=pl.Enum(categories)),
            "d38": pl.Series([Decimal("1" * 30 + ".12345678"), None], dtype=pl.Decimal(38, 8)),
            "d1": pl.Series([Decimal("7"), Decimal("-7")], dtype=pl.Decimal(1, 0)),
        }
    )
    assert_same(round_trip(frame, tmp_path), frame)


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame(),
        pl.DataFrame(height=5),
        pl.DataFrame({"a": pl.Series([], dtype=pl.Int8), "b": pl.Series([], dtype=pl.Enum(["x"]))}),
        pl.DataFrame({"": [1], " ": [2], "a/b": [3], "__muutils_format__": [4], "$ref": [5], "é\n\x00": [6]}),
        pl.DataFrame({"only nulls": pl.Series([None, None], dtype=pl.String)}),
    ],
    ids=["empty", "zero columns five rows", "empty typed", "odd names", "all null"],
)
def test_edge_frames(frame: Any, tmp_path: Path) -> None:
    assert_same(round_trip(frame, tmp_path), frame)
    assert_same(round_trip(frame, tmp_path, mmap=True), frame)


def test_series_and_lazyframes(tmp_path: Path) -> None:
    series = pl.Series("weights", [1.5, None, 3.0], dtype=pl.Float32)
    assert_same(round_trip(series, tmp_path), series)
    assert_same(round_trip(pl.Series("", [], dtype=pl.Date), tmp_path), pl.Series("", [], dtype=pl.Date))
    lazy = typed_frame().lazy().filter(pl.col("Int64").is_not_null()).with_columns(doubled=pl.col("Int32") * 2)
    back = round_trip(lazy, tmp_path)
    assert isinstance(back, pl.LazyFrame)
    assert_same(back, lazy)  # the collected result: the query plan is not stored


def test_chunked_frames_are_read_whole(tmp_path: Path) -> None:
    parts = [pl.DataFrame({"a": [k, k + 1], "s": ["x", None]}) for k in range(200)]
    frame = pl.concat(parts, rechunk=False)
    assert_same(round_trip(frame, tmp_path), frame)


def test_frames_in_containers_and_mmap_outlives_the_file(tmp_path: Path) -> None:
    frame = typed_frame()
    path = ZANJ().save({"runs": [frame, frame["String"]], "meta": {"frame": frame.lazy()}}, tmp_path / "f.zanj")
    back = ZANJ().read(path, mmap=True)
    del path
    assert_same(back["runs"][0], frame)
    assert_same(back["runs"][1], frame["String"])
    assert_same(back["meta"]["frame"], frame.lazy())


def test_node_describes_the_frame(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"t": pl.Series([1], dtype=pl.Datetime("ms", "UTC")), "e": pl.Series(["a"], dtype=pl.Enum(["a"]))}
    )
    path = ZANJ().save({"df": frame}, tmp_path / "f.zanj")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("__zanj__.json"))["df"]
        member = node["$ref"]
        assert zf.getinfo(member).compress_type == zipfile.ZIP_STORED
    assert node["__muutils_format__"] == "polars.DataFrame:arrow" and member == "df.arrow"
    assert node["n_rows"] == 1 and node["columns"] == ["t", "e"]
    assert node["dtypes"] == ["Datetime(time_unit='ms', time_zone='UTC')", "Enum(categories=['a'])"]
    assert node["schema"] == [{"Datetime": ["ms", "UTC"]}, {"Enum": ["a"]}]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: pl.DataFrame({"o": pl.Series([object(), 1], dtype=pl.Object)}), "column 'o': dtype Object"),
        (lambda: pl.DataFrame({"big": pl.Series([1], dtype=pl.Int128)}), "column 'big': dtype Int128"),
        (lambda: pl.Series("big", [1], dtype=pl.UInt128), "dtype UInt128"),
        (lambda: pl.LazyFrame({"a": [1]}).select(pl.col("missing")), "collecting it failed"),
    ],
    ids=["object", "int128", "uint128 series", "lazy failing"],
)
def test_unstorable_frames_are_refused(make: Any, needle: str, tmp_path: Path) -> None:
    with pytest.raises(ZanjSerializationError, match=r"polars|LazyFrame") as caught:
        ZANJ().save({"x": make()}, tmp_path / "f.zanj")
    assert needle in str(caught.value)
    assert "at x" in str(caught.value)


# -- lazy access -----------------------------------------------------------------------------------


def test_open_describes_without_reading_the_member(tmp_path: Path) -> None:
    frame = typed_frame()
    path = ZANJ().save({"df": frame, "s": frame["Enum"], "lazy": frame.lazy()}, tmp_path / "f.zanj")
    with ZANJ().open(path) as f:
        info = f.info("df")
        assert info.shape == frame.shape and info.plugin == "zanj-polars"
        assert info.details["columns"] == frame.columns
        assert info.details["dtypes"] == [str(d) for d in frame.dtypes]
        series = f.info("s")
        assert series.shape == (4,) and series.dtype == "Enum(categories=['z', 'unused', 'a'])"
        assert f.info("lazy").shape == frame.shape


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_slices_convert_only_their_rows(mmap: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pl.DataFrame({"i": range(1000), "s": [f"row {k}" for k in range(1000)]}).with_columns(
        c=pl.col("s").str.slice(0, 5).cast(pl.Categorical)
    )
    path = ZANJ().save({"df": frame, "s": frame["s"], "lazy": frame.lazy()}, tmp_path / "f.zanj")
    from zanj_polars import ipc

    validated: list[int] = []
    validate = ipc.validate_values

    def counted(table: Any, source: Any) -> None:
        validated.append(table.num_rows)
        validate(table, source)

    monkeypatch.setattr(ipc, "validate_values", counted)
    with ZANJ().open(path, mmap=mmap) as f:
        assert_same(f.slice("df")[100:110], frame[100:110])
        assert validated == [10]
        assert_same(f.slice("df")[-3:], frame[-3:])
        assert_same(f.slice("df")[5], frame[5])
        assert f.slice("s")[7] == "row 7"
        assert_same(f.slice("s")[990:2000], frame["s"][990:2000])
        assert_same(f.slice("lazy")[1:3], frame.lazy()[1:3])
        assert_same(f.slice("df")[::100], frame[::100])  # a step: loaded whole, then indexed
        assert_same(f.slice("df")[2000:], frame[2000:])


@given(
    columns=st.lists(
        st.sampled_from(
            ["Int8", "UInt64", "Float32", "String", "Boolean", "Categorical", "List", "Struct", "Datetime"]
        ),
        min_size=0,
        max_size=4,
    ),
    rows=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_hypothesis_frames(
    tmp_path_factory: pytest.TempPathFactory, columns: list[str], rows: int, seed: int, data: st.DataObject
) -> None:
    values = {
        "Int8": st.one_of(st.none(), st.integers(-128, 127)),
        "UInt64": st.one_of(st.none(), st.integers(0, 2**64 - 1)),
        "Float32": st.one_of(st.none(), st.floats(width=32, allow_nan=False)),
        "String": st.one_of(st.none(), st.text(max_size=20)),
        "Boolean": st.one_of(st.none(), st.booleans()),
        "Categorical": st.one_of(st.none(), st.sampled_from(["a", "b", "é"])),
        "List": st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=3)),
        "Struct": st.one_of(st.none(), st.fixed_dictionaries({"k": st.one_of(st.none(), st.text(max_size=5))})),
        "Datetime": st.one_of(st.none(), st.integers(-(10**15), 10**15)),
    }
    kinds = {
        "Int8": pl.Int8,
        "UInt64": pl.UInt64,
        "Float32": pl.Float32,
        "String": pl.String,
        "Boolean": pl.Boolean,
        "Categorical": pl.Categorical,
        "List": pl.List(pl.Int64),
        "Struct": pl.Struct({"k": pl.String}),
        "Datetime": pl.Int64,
    }
    series = {}
    for number, kind in enumerate(columns):
        drawn = data.draw(st.lists(values[kind], min_size=rows, max_size=rows))
        column = pl.Series(drawn, dtype=kinds[kind])
        if kind == "Datetime":
            column = column.cast(pl.Datetime("us", "America/New_York"))
        series[f"{kind} {number}"] = column
    frame = pl.DataFrame(series, height=rows) if series else pl.DataFrame(height=rows)
    folder = tmp_path_factory.mktemp("hyp")
    assert_same(round_trip(frame, folder), frame)
    assert_same(round_trip(frame, folder, mmap=True), frame)


# -- the dtype codec -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [*TEMPORAL, pl.Array(pl.Int8, (2, 3)), pl.Struct({}), pl.List(pl.Null)], ids=str)
def test_dtype_codec_round_trips(dtype: Any) -> None:
    encoded = dtypes.encode(dtype)
    assert json.loads(json.dumps(encoded)) == encoded
    assert dtypes.decode(encoded) == dtype


# -- lightness and metadata ------------------------------------------------------------------------


def test_plugin_is_light_until_a_frame_is_met(tmp_path: Path) -> None:
    code = (
        "import sys, zanj_polars, zanj_polars.plugin\n"
        "from zanj_core import ZANJ, REGISTRY\n"
        "REGISTRY.ensure_discovered()\n"
        f"ZANJ().read(ZANJ().save({{'a': [1, 2], 'b': 'x'}}, {str(tmp_path / 'f.zanj')!r}))\n"
        "print(' '.join(m for m in ('polars', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == ""


def test_distribution_metadata() -> None:
    from importlib.metadata import distribution

    import zanj_polars
    from zanj_polars import plugin

    dist = distribution("zanj-polars")
    assert dist.version == zanj_polars.__version__ == "0.1.0"
    assert [(e.group, e.value) for e in dist.entry_points] == [("zanj", "zanj_polars.plugin")]
    assert any(r.startswith("zanj-core") and ">=0.1" in r and "<0.2" in r for r in dist.requires or [])
    assert plugin.ZANJ_PLUGIN_API == "1.0"
