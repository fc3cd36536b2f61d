"""zanj-pandas: every dtype and index kind exactly, attrs, refusals, zanj 0.6 frames, laziness."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_pandas")

import numpy as np  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from zanj06_corpus import CORPUS  # noqa: E402

from zanj_core import ZANJ, ZanjFormatError, ZanjSerializationError  # noqa: E402


def roundtrip(obj: Any, path: Path, **kwargs: Any) -> Any:
    return ZANJ().read(ZANJ().save(obj, path), **kwargs)


N = 7
COLUMNS: dict[str, Any] = {
    "int": lambda: pd.Series(np.arange(N, dtype=np.int64) * 10**12),
    "int8": lambda: pd.Series(np.arange(N, dtype=np.int8)),
    "uint64": lambda: pd.Series(np.arange(N, dtype=np.uint64) + 2**63),
    "float32": lambda: pd.Series(np.linspace(-1, 1, N, dtype=np.float32)),
    "float with nan/-0.0": lambda: pd.Series([np.nan, -0.0, np.inf, 1e-300, 0.1, 2.5, -np.inf]),
    "bool": lambda: pd.Series([True, False] * 3 + [True]),
    "nullable Int64": lambda: pd.Series([1, None, 3, 4, None, 6, 7], dtype="Int64"),
    "nullable boolean": lambda: pd.Series([True, None, False, True, None, False, True], dtype="boolean"),
    "nullable string": lambda: pd.Series(["a", None, "ç", "", "e", "f", "g"], dtype="string"),
    "str dtype": lambda: pd.Series(list("abcdefg"), dtype="str"),
    "object of str": lambda: pd.Series(["x", None, "y", "z", "ü", "", "w"], dtype=object),
    "datetime naive": lambda: pd.Series(pd.date_range("2020-01-01", periods=N, freq="37min")),
    "datetime ns": lambda: pd.Series(pd.to_datetime(["2020-01-01T00:00:00.000000001"] * N)),
    "datetime tz": lambda: pd.Series(pd.date_range("2021-03-27", periods=N, freq="h", tz="Europe/Paris")),
    "datetime with NaT": lambda: pd.Series([pd.NaT, *pd.date_range("2020", periods=N - 1)]),
    "timedelta": lambda: pd.Series(pd.to_timedelta(np.arange(N), unit="ms")),
    "categorical ordered unused": lambda: pd.Series(
        pd.Categorical(list("abcabca"), categories=["c", "b", "a", "zz"], ordered=True)
    ),
    "categorical of ints": lambda: pd.Series(pd.Categorical([1, 2, 1, 2, 3, 3, 1])),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_column_dtypes_roundtrip_exactly(name: str, zpath: Path) -> None:
    frame = pd.DataFrame({name: COLUMNS[name](), "other": np.arange(N)})
    back = roundtrip(frame, zpath)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    assert list(back.dtypes) == list(frame.dtypes)


def test_all_columns_together_and_as_series(zpath: Path) -> None:
    frame = pd.DataFrame({name: make() for name, make in COLUMNS.items()})
    pd.testing.assert_frame_equal(frame, roundtrip(frame, zpath), check_exact=True)
    for name in COLUMNS:
        series = frame[name]
        pd.testing.assert_series_equal(series, roundtrip({"s": series}, zpath)["s"], check_exact=True)


MORE_COLUMNS: dict[str, Any] = {
    "period": lambda: pd.Series(pd.period_range("2020-01", periods=N, freq="M")),
    "interval": lambda: pd.Series(pd.interval_range(0, N)),
    "interval float closed both": lambda: pd.Series(pd.interval_range(0.0, float(N), closed="both")),
    "int64[pyarrow]": lambda: pd.Series([1, None, *range(N - 2)], dtype="int64[pyarrow]"),
    "timestamp tz [pyarrow]": lambda: pd.Series(pd.date_range("2020", periods=N, tz="UTC")).astype(
        pd.ArrowDtype(pa.timestamp("us", "UTC"))
    ),
    "fixed offset tz": lambda: pd.Series(pd.date_range("2020", periods=N)).dt.tz_localize(
        __import__("datetime").timezone(__import__("datetime").timedelta(hours=-3))
    ),
    "all None": lambda: pd.Series([None] * N, dtype=object),
    "float16": lambda: pd.Series(np.ones(N, dtype=np.float16)),
    "nullable UInt16": lambda: pd.Series([1, None, *range(N - 2)], dtype="UInt16"),
    "nullable Float32": lambda: pd.Series([1.5, None, *range(N - 2)], dtype="Float32"),
    "datetime64[s]": lambda: pd.Series(pd.date_range("2020", periods=N).astype("datetime64[s]")),
    "object of bytes": lambda: pd.Series([b"a", b"", None, *[b"x"] * (N - 3)], dtype=object),
    "object of ints": lambda: pd.Series(list(range(N)), dtype=object),
    "object of bools": lambda: pd.Series([True, False, None, *[True] * (N - 3)], dtype=object),
    "categorical with missing": lambda: pd.Series(pd.Categorical(["a", None, *["b"] * (N - 2)])),
}


@pytest.mark.parametrize("name", list(MORE_COLUMNS))
def test_more_column_dtypes_roundtrip_exactly(name: str, zpath: Path) -> None:
    """Dtypes whose Arrow types and pandas metadata the reader's allowlists must keep accepting."""
    frame = pd.DataFrame({name: MORE_COLUMNS[name](), "other": np.arange(N)})
    back = roundtrip(frame, zpath)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    assert list(back.dtypes) == list(frame.dtypes)


def test_wide_frame_of_object_columns(zpath: Path) -> None:
    """Many object columns: each is restored once, without rebuilding every column's dtype
    (which made this quadratic: 17 s for 8000 columns)."""
    frame = pd.DataFrame({f"c{i}": pd.Series(["a", None], dtype=object) for i in range(3000)})
    pd.testing.assert_frame_equal(frame, roundtrip(frame, zpath), check_exact=True)


INDEXES: dict[str, Any] = {
    "named": lambda: pd.Index(np.arange(N) * 3, name="key"),
    "range": lambda: pd.RangeIndex(5, 5 + 2 * N, 2, name="r"),
    "object": lambda: pd.Index([f"row{i}" for i in range(N)], dtype=object),
    "datetime tz": lambda: pd.date_range("2020-01-01", periods=N, tz="UTC", name="when"),
    "multi": lambda: pd.MultiIndex.from_arrays([list("aabbccd"), np.arange(N)], names=["letter", "n"]),
    "multi with object level": lambda: pd.MultiIndex.from_arrays(
        [pd.Index(list("aabbccd"), dtype=object), np.arange(N)], names=["letter", None]
    ),
    "categorical": lambda: pd.CategoricalIndex(list("abcabca"), name="cat"),
}


@pytest.mark.parametrize("name", list(INDEXES))
def test_index_kinds(name: str, zpath: Path) -> None:
    frame = pd.DataFrame({"v": np.arange(N, dtype=float)}, index=INDEXES[name]())
    back = roundtrip(frame, zpath)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    assert type(back.index) is type(frame.index)


@pytest.mark.parametrize(
    "columns",
    [
        [1, 2],
        [1, "a"],
        [1.5, 2.5],
        [("a", 1), ("b", 2)],
        pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["x", "y"]),
    ],
    ids=["int", "mixed", "float", "tuples", "multiindex"],
)
def test_non_string_column_labels(columns: Any, zpath: Path) -> None:
    frame = pd.DataFrame([[1, 2], [3, 4]], columns=columns)
    back = roundtrip(frame, zpath)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    assert [type(c) for c in back.columns] == [type(c) for c in frame.columns]


def test_empty_frames_keep_typed_columns(zpath: Path) -> None:
    frame = pd.DataFrame(
        {
            "a": pd.Series([], dtype="int32"),
            "b": pd.Series([], dtype="Int64"),
            "c": pd.Series([], dtype="datetime64[ns, UTC]"),
            "d": pd.Series([], dtype="category"),
        }
    )
    pd.testing.assert_frame_equal(frame, roundtrip(frame, zpath), check_exact=True)
    pd.testing.assert_frame_equal(pd.DataFrame(), roundtrip(pd.DataFrame(), zpath), check_exact=True)


def test_attrs_and_series_names(zpath: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    frame.attrs = {"source": "sensor", "scale": (1, 2)}
    series = pd.Series([1.5, 2.5], name=("level", 3))
    series.attrs["unit"] = "m"
    back = roundtrip({"f": frame, "s": series, "unnamed": pd.Series([1])}, zpath)
    assert back["f"].attrs == {"source": "sensor", "scale": (1, 2)}
    assert back["s"].name == ("level", 3) and back["s"].attrs == {"unit": "m"}
    assert back["unnamed"].name is None


def test_node_describes_the_frame_without_reading_the_member(zpath: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "t": pd.date_range("2020", periods=3, tz="UTC")})
    ZANJ().save({"df": frame}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        node = json.loads(zf.read("__zanj__.json"))["df"]
        described = json.loads(zf.read("__zanj_externals__.json"))
        info = zf.getinfo("df.arrow")
    assert node["n_rows"] == 3 and node["columns"] == ["a", "t"]
    assert node["dtypes"] == [str(frame["a"].dtype), str(frame["t"].dtype)]
    assert described["df.arrow"]["item_type"] == "arrow"
    assert info.compress_type == zipfile.ZIP_STORED


def test_mmap_read(zpath: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(100_000.0), "s": ["v"] * 100_000})
    back = roundtrip(frame, zpath, mmap=True)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    back.loc[0, "x"] = -1.0  # copy-on-write mapping: writable, file untouched
    assert roundtrip(frame, zpath).loc[0, "x"] == 0.0


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column labels 'a'"),
        (pd.DataFrame({"ok": [1, 2], "objs": [{"a": 1}, [1]]}), "column 'objs'"),
        (pd.DataFrame({"mixed": [1, "a"]}), "column 'mixed'"),
    ],
    ids=["duplicate labels", "python objects", "mixed types"],
)
def test_refusals_name_the_column(frame: Any, needle: str, zpath: Path) -> None:
    with pytest.raises(ZanjSerializationError, match=needle):
        ZANJ().save({"df": frame}, zpath)
    assert not zpath.exists()


@pytest.mark.parametrize("where", ["magic", "footer", "truncated"])
def test_corrupt_arrow_member(where: str, zpath: Path, tmp_path: Path) -> None:
    ZANJ().save({"df": pd.DataFrame({"a": np.arange(1000)})}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        contents = {n: zf.read(n) for n in zf.namelist()}
    data = contents["df.arrow"]
    if where == "magic":
        data = b"NOTARROW" + data[8:]
    elif where == "footer":
        data = data[:-300] + b"\xff" * 300
    else:
        data = data[: len(data) // 2]
    contents["df.arrow"] = data
    bad = tmp_path / "bad.zanj"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    with pytest.raises(ZanjFormatError, match=r"df\.arrow"):
        ZANJ().read(bad)


def test_row_count_mismatch_is_caught(zpath: Path, tmp_path: Path) -> None:
    ZANJ().save({"df": pd.DataFrame({"a": [1, 2]})}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        contents = {n: zf.read(n) for n in zf.namelist()}
    tree = json.loads(contents["__zanj__.json"])
    tree["df"]["n_rows"] = 5
    contents["__zanj__.json"] = json.dumps(tree).encode()
    bad = tmp_path / "bad.zanj"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    with pytest.raises(ZanjFormatError, match="declares 5 rows"):
        ZANJ().read(bad)


def test_reads_zanj06_frames() -> None:
    back = ZANJ().read(CORPUS / "frames.zanj")
    expected = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", "c"]})
    pd.testing.assert_frame_equal(back["frame"], expected, check_dtype=False)
    assert list(back["empty"].columns) == ["i", "f", "s"] and len(back["empty"]) == 0
    assert list(back["big"]["x"]) == list(range(300))


def test_pandas_and_pyarrow_not_imported_without_frames(tmp_path: Path) -> None:
    code = (
        "import sys, zanj_core\n"
        f"p = zanj_core.ZANJ().save({{'a': [1, 2], 'b': (3,)}}, {str(tmp_path / 'x')!r})\n"
        "zanj_core.ZANJ().read(p)\n"
        "print('pandas' in sys.modules, 'pyarrow' in sys.modules, 'zanj_pandas.plugin' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]


@given(
    st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=True),
            st.text(max_size=5),
            st.none() | st.booleans(),
            st.datetimes(min_value=__import__("datetime").datetime(1700, 1, 1)),
        ),
        max_size=20,
    )
)
def test_hypothesis_frames(tmp_path_factory: pytest.TempPathFactory, rows: list[Any]) -> None:
    frame = pd.DataFrame(rows, columns=["i", "f", "s", "b", "t"]).astype(
        {"i": "int64", "f": "float64", "s": "str", "b": "boolean", "t": "datetime64[us]"}
    )
    path = tmp_path_factory.mktemp("h") / "f.zanj"
    pd.testing.assert_frame_equal(frame, roundtrip(frame, path), check_exact=True)


def test_a_fixed_offset_zone_read_back_in_another_spelling_is_put_back() -> None:
    """pandas 2 with pytz reads `UTC-03:00` back as `pytz.FixedOffset(-180)`: the column gets
    the recorded `datetime.timezone` again, and only when the offsets are the same."""
    from zanj_pandas.frames import _fixed_offset_zone

    minus_three = datetime.timezone(datetime.timedelta(hours=-3))
    read_back = pd.DatetimeTZDtype("ns", minus_three)
    assert _fixed_offset_zone("datetime64[ns, UTC-03:00]", read_back) == minus_three
    plus_half = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    assert _fixed_offset_zone("datetime64[us, UTC+05:30]", pd.DatetimeTZDtype("us", plus_half)) == plus_half
    assert _fixed_offset_zone("datetime64[ns, UTC-04:00]", read_back) is None  # another offset: left alone
    assert _fixed_offset_zone("datetime64[ns, UTC]", read_back) is None
    assert _fixed_offset_zone("datetime64[ns, UTC-03:00]", np.dtype("datetime64[ns]")) is None
    assert _fixed_offset_zone("datetime64[ns, UTC-99:00]", read_back) is None
