"""Large frames read as writable views of their Arrow member (zanj_pandas.conversion): exact to
the bit, writable without touching the file or another read, and at most 1.3x the frame's size
in peak memory (read and read(mmap=True)), measured in a fresh process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_pandas")

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from memory_probe import read_measured  # noqa: E402
from zanj_pandas.conversion import SPLIT_MIN_COLUMN_BYTES, to_pandas  # noqa: E402

from zanj_core import ZANJ  # noqa: E402

ROWS = 40_000
"""Enough rows that every frame below is converted column by column as views (see
`SPLIT_MIN_COLUMN_BYTES`); the test of the threshold checks the other side."""


def _with_nulls(values: Any, dtype: str, every: int = 4) -> Any:
    return pd.array(np.where(np.arange(len(values)) % every == 0, None, values), dtype=dtype)


def _hidden(array: Any) -> Any:
    """`array` (nullable) with a value under its first null: the mask hides it, Arrow keeps it."""
    array._data[0] = 99
    return array


def _rows(n: int = ROWS) -> Any:
    return np.arange(n)


rng = np.random.default_rng(7)
COLUMNS: dict[str, Callable[[], Any]] = {
    "int64": lambda: _rows() * 10**12,
    "int8": lambda: (_rows() % 256 - 128).astype(np.int8),
    "uint64": lambda: _rows().astype(np.uint64) + 2**63,
    "float32": lambda: np.linspace(-1, 1, ROWS, dtype=np.float32),
    "float with nan/-0.0/inf": lambda: np.tile([np.nan, -0.0, np.inf, 1e-300], ROWS // 4),
    "bool": lambda: _rows() % 3 == 0,
    "Int64 with nulls": lambda: _hidden(_with_nulls(_rows() * 3, "Int64")),
    "UInt8 with nulls": lambda: _hidden(_with_nulls(_rows() % 200, "UInt8")),
    "Int32 without nulls": lambda: pd.array(_rows(), dtype="Int32"),
    "boolean": lambda: _with_nulls(_rows() % 2 == 0, "boolean"),
    "Float64": lambda: _with_nulls(_rows() / 3, "Float64"),
    "string": lambda: _with_nulls(np.array([f"s{i}" for i in range(ROWS)], dtype=object), "string"),
    "str": lambda: pd.Series([f"x{i}" for i in range(ROWS)], dtype="str"),
    "object of str": lambda: pd.Series([None if i % 5 == 0 else f"o{i}" for i in range(ROWS)], dtype=object),
    "datetime naive": lambda: pd.date_range("2020-01-01", periods=ROWS, freq="37min"),
    "datetime ns": lambda: pd.date_range("2020-01-01", periods=ROWS, freq="1ns"),
    "datetime tz": lambda: pd.date_range("2021-03-27", periods=ROWS, freq="h", tz="Europe/Paris"),
    "datetime with NaT": lambda: pd.Series([pd.NaT, *pd.date_range("2020", periods=ROWS - 1)]),
    "timedelta": lambda: pd.to_timedelta(_rows(), unit="ms"),
    "categorical ordered unused": lambda: pd.Categorical(
        rng.choice(list("abc"), ROWS), categories=["c", "b", "a", "zz"], ordered=True
    ),
    "categorical with nulls": lambda: pd.Categorical(np.where(_rows() % 7 == 0, None, rng.choice(list("ab"), ROWS))),
    "categorical of ints": lambda: pd.Categorical(rng.integers(0, 5, ROWS)),
    "period": lambda: pd.period_range("2000-01-01", periods=ROWS, freq="D"),
    "interval": lambda: pd.arrays.IntervalArray.from_breaks(np.arange(ROWS + 1)),
}


def bits(series: Any) -> list[bytes]:
    """The bytes behind `series`: values (also those under a mask), mask, codes, int64 instants.
    Object and Arrow-backed columns have none to compare: they are compared by value."""
    array = series.array
    if isinstance(array, pd.arrays.IntegerArray | pd.arrays.FloatingArray | pd.arrays.BooleanArray):
        return [array._data.tobytes(), array._mask.tobytes()]
    if isinstance(array, pd.Categorical):
        return [array.codes.tobytes()]
    if isinstance(array, pd.arrays.DatetimeArray | pd.arrays.TimedeltaArray):
        return [array.asi8.tobytes()]
    values = np.asarray(array)
    return [] if values.dtype == object else [values.tobytes()]


def same_frame(expected: Any, got: Any) -> None:
    pd.testing.assert_frame_equal(expected, got, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
    for label in expected.columns:
        assert bits(got[label]) == bits(expected[label]), label


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("name", list(COLUMNS))
def test_large_columns_read_exactly_and_stay_writable(name: str, mmap: bool, zpath: Path) -> None:
    frame = pd.DataFrame({name: COLUMNS[name](), "int": _rows() * 7})
    ZANJ().save(frame, zpath)
    back, other = ZANJ().read(zpath, mmap=mmap), ZANJ().read(zpath, mmap=mmap)
    same_frame(frame, back)
    for position in range(back.shape[1]):  # as writable as a copy: no "assignment destination is read-only"
        back.iloc[0, position] = back.iloc[1, position]
    pd.testing.assert_series_equal(back.iloc[0], back.iloc[1], check_names=False)
    same_frame(frame, other)  # another read of the same file does not see the writes
    same_frame(frame, ZANJ().read(zpath, mmap=mmap))  # nor does the file (mmap: copy-on-write)


def test_typed_frame_as_a_series_and_with_an_index(zpath: Path) -> None:
    frame = pd.DataFrame(
        {"a": _rows() * 1.5, "n": _with_nulls(_rows() % 1000, "Int16")},
        index=pd.date_range("2000", periods=ROWS, freq="s", tz="UTC", name="when"),
    )
    for mmap in (False, True):
        same_frame(frame, ZANJ().read(ZANJ().save(frame, zpath), mmap=mmap))
        series = frame["n"]
        back = ZANJ().read(ZANJ().save(series, zpath), mmap=mmap)
        pd.testing.assert_series_equal(series, back, check_exact=True)
        assert bits(back) == bits(series)
        back.iloc[3] = 5


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dtype=st.sampled_from(["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"]),
    null_share=st.sampled_from([0.0, 0.01, 0.5, 1.0]),
    seed=st.integers(0, 2**32 - 1),
    mmap=st.booleans(),
)
def test_nullable_integers_keep_every_bit(dtype: str, null_share: float, seed: int, mmap: bool, zpath: Path) -> None:
    """Values under the mask too: pandas' own conversion keeps them, and so must the views."""
    generator = np.random.default_rng(seed)
    numpy_dtype = np.dtype(dtype.lower())
    values = generator.integers(np.iinfo(numpy_dtype).min, np.iinfo(numpy_dtype).max, ROWS, dtype=numpy_dtype)
    mask = generator.random(ROWS) < null_share
    frame = pd.DataFrame({"n": pd.arrays.IntegerArray(values, mask), "other": generator.standard_normal(ROWS)})
    same_frame(frame, ZANJ().read(ZANJ().save(frame, zpath), mmap=mmap))


# -- which columns are views, and when they are copied instead -----------------------------------


def _converted(frame: Any, mapped: bool) -> tuple[Any, np.ndarray, Any]:
    """`frame` through an Arrow IPC member held in a buffer of our own, converted; the buffer;
    and what pyarrow's own conversion gives."""
    table = pa.Table.from_pandas(frame, preserve_index=None)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    member = np.frombuffer(sink.getvalue(), dtype=np.uint8).copy()
    opened = pa.ipc.open_file(pa.py_buffer(member)).read_all()
    converted = to_pandas(opened, opened.schema.pandas_metadata, frame.shape[1], member.data, mapped)
    return converted, member, pa.ipc.open_file(sink.getvalue()).read_all().to_pandas()


def _is_view(series: Any, member: np.ndarray) -> bool:
    return bool(np.shares_memory(np.asarray(series.array), member))


def test_numeric_columns_are_views_of_the_member() -> None:
    frame = pd.DataFrame({"a": _rows() * 2, "b": _rows() / 2, "n": _with_nulls(_rows(), "Int64")})
    back, member, reference = _converted(frame, mapped=False)
    assert _is_view(back["a"], member) and _is_view(back["b"], member)
    assert np.shares_memory(back["n"].array._data, member)
    same_frame(frame, back)
    same_frame(reference, back)


def test_views_of_a_mostly_dead_buffer_are_copied() -> None:
    """Strings saved as objects become Python objects again: keeping the numbers as views would
    keep the whole member alive for them."""
    words = pd.Series([f"word number {i}" for i in range(ROWS)], dtype=object)
    frame = pd.DataFrame({"a": _rows(), "s": words, "t": words})
    back, member, reference = _converted(frame, mapped=False)
    assert not _is_view(back["a"], member)
    same_frame(reference, back)
    mapped, member, _ = _converted(frame, mapped=True)  # a map's pages are the file's: views are kept
    assert _is_view(mapped["a"], member)
    same_frame(reference, mapped)


def test_small_frames_keep_pyarrows_conversion() -> None:
    rows = SPLIT_MIN_COLUMN_BYTES // 8 // 4
    frame = pd.DataFrame({"a": _rows(rows), "b": _rows(rows) * 0.5})
    back, member, reference = _converted(frame, mapped=True)
    assert not _is_view(back["a"], member)
    same_frame(reference, back)


# -- peak memory of a read, in a fresh process -----------------------------------------------------


def typed_frame(rows: int) -> Any:
    """The frame of issue 19: int64, float64, tz-aware datetime, categorical, bool, nullable Int64."""
    generator = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "int": generator.integers(0, 1 << 40, rows),
            "float": generator.standard_normal(rows),
            "datetime_tz": pd.date_range("2020-01-01", periods=rows, freq="min", tz="Europe/Paris"),
            "category": pd.Categorical(generator.choice(["red", "green", "blue"], rows)),
            "bool": generator.random(rows) < 0.5,
            "nullable": _with_nulls(generator.integers(0, 100, rows), "Int64", every=10),
        }
    )


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_read_peaks_within_1_3x_the_frame(mmap: bool, tmp_path: Path) -> None:
    """The read's peak resident memory above what it started with, over the frame's own size
    (`memory_usage(deep=True)`): 2.7x before frames were converted as views (the member and the
    frame held at once, plus pandas' copies of nullable columns)."""
    frame = typed_frame(200_000)
    path = Path(ZANJ().save(frame, tmp_path / "frame.zanj"))
    warm = Path(ZANJ().save(typed_frame(20_000), tmp_path / "warm.zanj"))  # converted the same way
    outcome, message, grown = read_measured(path, warm, ("pandas", "pyarrow", "zanj_pandas.frames"), mmap=mmap)
    assert outcome == "loaded", message
    ratio = grown / frame.memory_usage(deep=True).sum()
    assert 0 < ratio <= 1.3, f"the read peaked at {ratio:.2f}x the frame's size"
