"""The README's objects, saved to .zanj files and read back, checked for equality.

Run with `nox -s demo` (installs zanj-core and every plugin under plugins/).
"""

from __future__ import annotations

import datetime
import sys
import tempfile
import zipfile
from pathlib import Path

from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field

from zanj_core import ZANJ


@serializable_dataclass
class BasicZanj(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: list[int] = serializable_field(default_factory=list)


@serializable_dataclass
class Experiment(SerializableDataclass):
    name: str
    started: datetime.datetime
    seeds: tuple[int, ...]
    runs: list[BasicZanj]
    losses: list[float]
    labels: dict[int, str]


def show(path: str) -> None:
    with zipfile.ZipFile(path) as zf:
        members = ", ".join(f"{i.filename} ({i.file_size} B)" for i in zf.infolist())
    print(f"  {path}: {Path(path).stat().st_size} bytes; members: {members}")


def main() -> int:
    out = Path(tempfile.mkdtemp(prefix="zanj-demo-"))
    zanj = ZANJ()

    basic = BasicZanj("hello", 42, [1, 2, 3])
    path = zanj.save(basic, out / "basic")
    recovered = zanj.read(path)
    print(f"BasicZanj: {recovered!r}")
    show(path)
    assert recovered == basic and type(recovered) is BasicZanj

    experiment = Experiment(
        name="sweep-7",
        started=datetime.datetime(2026, 11, 28, 9, 30, tzinfo=datetime.timezone.utc),
        seeds=(0, 1, 2),
        runs=[BasicZanj(f"run-{i}", i, list(range(i))) for i in range(3)],
        losses=[1.0 / (step + 1) for step in range(1000)],  # long: stored as a .jsonl member
        labels={0: "cat", 1: "dog"},
    )
    path = zanj.save(experiment, out / "experiment")
    recovered = zanj.read(path)
    print(
        f"Experiment: name={recovered.name!r}, seeds={recovered.seeds!r}, {len(recovered.losses)} losses, "
        f"labels={recovered.labels!r}, runs={[r.a for r in recovered.runs]}"
    )
    show(path)
    assert recovered == experiment
    assert type(recovered.seeds) is tuple and type(recovered.runs[0]) is BasicZanj

    print(f"all objects read back equal; files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
