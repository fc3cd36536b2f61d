"""Child process for the `frames` scenarios: a typed DataFrame of SIZE rows (1,000,000 by default).

    python bench/frames.py CONTENDER OP DIR --size ROWS --rounds 5 --variant default|typed

`default` columns: int64, float64, str, datetime (naive and tz-aware), categorical, nullable
Int64. zanj 0.6 gets the int/float/str columns only (it fails outright on datetimes); its ratio
is for that subset. `typed` (issue 19's memory scenario, `frame_memory`): int64, float64,
tz-aware datetime, categorical, bool, nullable Int64, with no strings, so the frame's
`memory_usage(deep=True)` (recorded exactly) is the data a read must hold. Every contender first
saves and reads a 1,000-row frame (see harness.py), so a one-round read measures the read alone.
Run by bench/run.py.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import harness

ZANJ06_COLUMNS = ["int", "float", "str"]


def make_frame(rows: int, variant: str = "default") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    if variant == "typed":
        return pd.DataFrame(
            {
                "int": rng.integers(0, 1 << 40, rows),
                "float": rng.standard_normal(rows),
                "datetime_tz": pd.date_range("2020-01-01", periods=rows, freq="min", tz="Europe/Paris"),
                "category": pd.Categorical(
                    rng.choice(["red", "green", "blue"], rows), categories=["red", "green", "blue", "unused"]
                ),
                "bool": rng.random(rows) < 0.5,
                "nullable": pd.array(np.where(rng.random(rows) < 0.1, None, rng.integers(0, 100, rows)), dtype="Int64"),
            }
        )
    return pd.DataFrame(
        {
            "int": rng.integers(0, 1 << 40, rows),
            "float": rng.standard_normal(rows),
            "str": pd.Series([f"item-{k % 5000}" for k in range(rows)], dtype="str"),
            "datetime": pd.date_range("2020-01-01", periods=rows, freq="s"),
            "datetime_tz": pd.date_range("2020-01-01", periods=rows, freq="min", tz="Europe/Paris"),
            "category": pd.Categorical(
                rng.choice(["red", "green", "blue"], rows), categories=["red", "green", "blue", "unused"]
            ),
            "nullable": pd.array(np.where(rng.random(rows) < 0.1, None, rng.integers(0, 100, rows)), dtype="Int64"),
        }
    )


def describe(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "rows": len(frame),
        "columns": {str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        "data_bytes": int(frame.memory_usage(deep=True).sum()),
    }


def verify(frame: Any, spec: dict[str, Any]) -> None:
    if isinstance(frame, dict):  # zanj saves {"frame": frame}
        frame = frame["frame"]
    assert len(frame) == spec["rows"], f"{len(frame)} rows read back, {spec['rows']} saved"
    columns = {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
    if list(columns) == ZANJ06_COLUMNS:  # zanj 0.6 saves the columns it can, converted for it
        return
    assert columns == spec["columns"], f"columns {columns} read back, {spec['columns']} saved"


def parquet_save(frame: pd.DataFrame, out: Path) -> Path:
    frame.to_parquet(out / "frame.parquet")
    return out / "frame.parquet"


def parquet_read(path: Path, spec: Any) -> Any:
    return pd.read_parquet(path)


def feather_save(frame: pd.DataFrame, out: Path) -> Path:
    frame.to_feather(out / "frame.arrow", compression="uncompressed")
    return out / "frame.arrow"


def feather_read(path: Path, spec: Any) -> Any:
    return pd.read_feather(path)


def feather_read_mapped(path: Path, spec: Any) -> Any:
    import pyarrow.feather

    return pyarrow.feather.read_table(path, memory_map=True).to_pandas()


def pickle_save(frame: pd.DataFrame, out: Path) -> Path:
    with open(out / "frame.pkl", "wb") as fh:
        pickle.dump(frame, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out / "frame.pkl"


def pickle_read(path: Path, spec: Any) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def zanj_save(frame: pd.DataFrame, out: Path) -> Path:
    from zanj_core import ZANJ

    return Path(ZANJ(durable=False).save({"frame": frame}, out / "ours.zanj"))  # the peers do not fsync


def zanj_read(path: Path, spec: Any, mmap: bool = False) -> Any:
    from zanj_core import ZANJ

    return ZANJ().read(path, mmap=mmap)


def zanj06_save(frame: pd.DataFrame, out: Path) -> Path:
    from zanj import ZANJ  # type: ignore[import-not-found]

    return Path(ZANJ().save({"frame": frame[ZANJ06_COLUMNS].astype({"str": object})}, out / "zanj06.zanj"))


def zanj06_read(path: Path, spec: Any) -> Any:
    from zanj import ZANJ

    return ZANJ().read(path)


CONTENDERS: dict[str, tuple[harness.Save, harness.Read]] = {
    "parquet": (parquet_save, parquet_read),
    "arrow_ipc": (feather_save, feather_read),
    "arrow_ipc_mmap": (feather_save, feather_read_mapped),
    "pickle": (pickle_save, pickle_read),
    "zanj": (zanj_save, zanj_read),
    "zanj_mmap": (zanj_save, lambda path, spec: zanj_read(path, spec, mmap=True)),
    "zanj06": (zanj06_save, zanj06_read),
}


def main() -> int:
    return harness.run(
        CONTENDERS,
        make_frame,
        describe,
        lambda rows: int(make_frame(min(rows, 1000)).memory_usage(deep=True).sum() * rows / min(rows, 1000)),
        1_000_000,
        variants=("default", "typed"),
        warm_size=1000,
        verify=verify,
    )


if __name__ == "__main__":
    sys.exit(main())
