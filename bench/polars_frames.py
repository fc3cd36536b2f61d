"""Child process for the `polars_frames` scenario: a typed polars DataFrame of SIZE rows (1,000,000 by default).

    python bench/polars_frames.py CONTENDER OP DIR --size ROWS --rounds 5

Columns: Int64, Float64, String, tz-aware Datetime, Categorical, Boolean, nullable Int32. The
floor is polars' own uncompressed Arrow IPC (`write_ipc` / `read_ipc`); zanj-polars aims at
1.2x of it both ways. See harness.py for what is measured. Run by bench/run.py.

Like with like: neither save fsyncs (`write_ipc` never does; zanj saves with durable=False).
polars 2's `read_ipc` maps the file (MAP_SHARED; the frame keeps using the map) and validates
what it reads (UTF-8, string views, dictionary keys: it refuses files that break them), as zanj
validates every value. So `zanj_mmap` (a copy-on-write map) is the like-for-like read;
`zanj`'s default read also copies the 48 MB member into memory it owns, which `read_ipc` never
does (about 4 ms here), and is compared with the same `read_ipc`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import harness


def make_frame(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "int": rng.integers(0, 1 << 40, rows),
            "float": rng.standard_normal(rows),
            "str": [f"item-{k % 5000}" for k in range(rows)],
            "datetime_tz": pl.Series(
                np.arange(rows, dtype=np.int64) * 60_000_000, dtype=pl.Datetime("us", "UTC")
            ).dt.convert_time_zone("Europe/Paris"),
            "category": pl.Series(rng.choice(["red", "green", "blue"], rows), dtype=pl.Categorical),
            "bool": rng.random(rows) < 0.5,
            "nullable": pl.Series(rng.integers(0, 100, rows), dtype=pl.Int32).scatter(
                np.flatnonzero(rng.random(rows) < 0.1), None
            ),
        }
    )


def ipc_save(frame: pl.DataFrame, out: Path) -> Path:
    frame.write_ipc(out / "frame.arrow", compression="uncompressed")
    return out / "frame.arrow"


def ipc_read(path: Path, spec: Any) -> Any:
    return pl.read_ipc(path)


def parquet_save(frame: pl.DataFrame, out: Path) -> Path:
    frame.write_parquet(out / "frame.parquet")
    return out / "frame.parquet"


def parquet_read(path: Path, spec: Any) -> Any:
    return pl.read_parquet(path)


def zanj_save(frame: pl.DataFrame, out: Path) -> Path:
    from zanj_core import ZANJ

    return Path(ZANJ(durable=False).save({"frame": frame}, out / "ours.zanj"))  # the peers do not fsync


def zanj_read(path: Path, spec: Any, mmap: bool = False) -> Any:
    from zanj_core import ZANJ

    return ZANJ().read(path, mmap=mmap)


def describe(frame: pl.DataFrame) -> dict[str, Any]:
    return {"rows": frame.height, "schema": {name: str(dtype) for name, dtype in frame.schema.items()}}


def verify(frame: Any, spec: dict[str, Any]) -> None:
    """The same rows and schema as were saved."""
    if isinstance(frame, dict):  # zanj saves {"frame": frame}
        frame = frame["frame"]
    assert frame.height == spec["rows"], f"{frame.height} rows read back, {spec['rows']} saved"
    schema = {name: str(dtype) for name, dtype in frame.schema.items()}
    assert schema == spec["schema"], f"schema {schema} read back, {spec['schema']} saved"


CONTENDERS: dict[str, tuple[harness.Save, harness.Read]] = {
    "polars_ipc": (ipc_save, ipc_read),
    "polars_parquet": (parquet_save, parquet_read),
    "zanj": (zanj_save, zanj_read),
    "zanj_mmap": (zanj_save, lambda path, spec: zanj_read(path, spec, mmap=True)),
}


def main() -> int:
    return harness.run(
        CONTENDERS,
        make_frame,
        describe,
        lambda rows: int(make_frame(min(rows, 1000)).estimated_size() * rows / min(rows, 1000)),
        1_000_000,
        verify=verify,
    )


if __name__ == "__main__":
    sys.exit(main())
