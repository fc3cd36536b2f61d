"""zanj 0.6's polars form (`polars.DataFrame:external`, a `.jsonl` member of rows): read from files
zanj 0.6 wrote, and written by `ZANJ(compat="0.6")` only when zanj 0.6 reads it back equal."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("zanj_polars")

from zanj06_corpus import CORPUS  # noqa: E402

from zanj_core import ZANJ, ZanjFormatError, ZanjSerializationError  # noqa: E402

COMPAT = ZANJ(compat="0.6")


def test_frames_zanj06_wrote(tmp_path: Path) -> None:
    path = CORPUS / "polars_frames.zanj"
    if not path.exists():
        pytest.skip("this corpus was made without polars")
    loaded = ZANJ().read(path)
    expected = pl.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", None], "b": [True, False, None]})
    assert loaded["frame"].equals(expected) and loaded["frame"].schema == expected.schema
    # zanj 0.6 reads an empty frame back as String columns named by the node
    assert loaded["empty"].schema == pl.Schema({c: pl.String for c in expected.columns})
    assert loaded["big"].equals(pl.DataFrame({"x": range(300)}))
    with ZANJ().open(path) as f:
        assert f.info("frame").shape == (3, 4) and f.info("frame").details["columns"] == ["i", "f", "s", "b"]
        assert f.info("big").shape == (300, 1)


def test_compat_writes_zanj06_rows(tmp_path: Path) -> None:
    frame = pl.DataFrame({"i": [1, None, 3], "f": [0.5, 1.5, None], "s": ["a", None, "c"], "b": [True, False, None]})
    path = COMPAT.save({"df": frame, "empty": pl.DataFrame({"s": pl.Series([], dtype=pl.String)})}, tmp_path / "f")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("__zanj__.json"))["df"]
        assert node["__muutils_format__"] == "polars.DataFrame:external"
        assert node["len(data)"] == 3 and node["columns"] == ["i", "f", "s", "b"]
        assert node["data[0]"] == {"i": 1, "f": 0.5, "s": "a", "b": True}
        assert zf.read(node["$ref"]).decode().splitlines()[1] == '{"i": null, "f": 1.5, "s": null, "b": false}'
    back = ZANJ().read(path)
    assert back["df"].equals(frame) and back["df"].schema == frame.schema
    assert back["empty"].schema == pl.Schema({"s": pl.String}) and back["empty"].height == 0


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: pl.DataFrame({"a": pl.Series([1, 2], dtype=pl.Int32)}), "dtype Int32"),
        (lambda: pl.DataFrame({"a": [1.0, float("nan")]}), "NaN or infinity"),
        (lambda: pl.DataFrame({"a": pl.Series(["x"], dtype=pl.Categorical)}), "dtype Categorical"),
        (lambda: pl.DataFrame({"a": pl.Series([None, None], dtype=pl.Int64)}), "infers other dtypes"),
        (lambda: pl.DataFrame({"a": pl.Series([], dtype=pl.Int64)}), "infers other dtypes"),
        (lambda: pl.DataFrame({"__muutils_format__": [1]}), "would read as a zanj marker"),
        (lambda: pl.Series("s", [1, 2]), r"'polars\.Series:arrow' has no zanj 0\.6 form"),
        (lambda: pl.LazyFrame({"a": [1]}), r"'polars\.LazyFrame:arrow' has no zanj 0\.6 form"),
    ],
    ids=["int32", "nan", "categorical", "all null", "empty typed", "marker name", "series", "lazy"],
)
def test_compat_refuses_what_zanj06_would_change(make: Any, why: str, tmp_path: Path) -> None:
    with pytest.raises(ZanjSerializationError, match=why):
        COMPAT.save({"df": make()}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def _zanj06_file(tmp_path: Path, rows_text: str, node: dict[str, Any]) -> Path:
    path = ZANJ().save({"df": pl.DataFrame({"a": [1]})}, tmp_path / "honest.zanj")
    node = {"__muutils_format__": "polars.DataFrame:external", "$ref": "df.jsonl", **node}
    with zipfile.ZipFile(path) as zf:
        meta = zf.read("__zanj_meta__.json")
    forged = tmp_path / "forged.zanj"
    with zipfile.ZipFile(forged, "w") as zf:
        zf.writestr("__zanj_meta__.json", meta)
        zf.writestr("__zanj__.json", json.dumps({"df": node}))
        zf.writestr("df.jsonl", rows_text)
    return forged


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ('[1, 2]\n"x"\n', "does not hold a list of row objects"),
        ('{"a": [1]}\n{"a": {"b": 2}}\n', "polars cannot build a frame from its rows"),
    ],
    ids=["not rows", "list and struct"],
)
def test_malformed_zanj06_rows(rows: str, needle: str, tmp_path: Path) -> None:
    path = _zanj06_file(tmp_path, rows, {"len(data)": 2, "columns": ["a"]})
    with pytest.raises(ZanjFormatError, match=needle):
        ZANJ().read(path)
