"""Coverage-guided fuzzing of the reader with atheris (libFuzzer), started by `nox -s fuzz`.

Each input is written to a file and read every way a user can: `read`, `read(mmap=True)`, the
lazy handle (`tree`, `info` and loading each top-level item) and `verify_file(load=True)`. Any
exception other than a `ZanjError` subclass is a failure, as is an input running past the
per-input timeout or the process passing the memory cap (libFuzzer's -timeout and
-rss_limit_mb). libFuzzer then stops and writes the input to `tests/hostile/found/`, where the
test suite keeps checking it.

Mutations are structure-aware half of the time: the zip is opened, one member's content is
mutated, and the zip is rebuilt with correct CRCs, so the JSON, npy and Arrow parsers are
reached instead of failing every input at the zip checks. The other half mutate raw bytes.

    python fuzz/fuzz_reader.py SEEDS_DIR [libFuzzer options...]   # seeds written if empty
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("zanj_numpy", "zanj_torch", "zanj_pandas")

with atheris.instrument_imports(include=["zanj_core", *PLUGINS]):
    import zanj_core
    from zanj_core import ZANJ, ReadLimits, ZanjError, verify_file

    for _plugin in PLUGINS:
        try:
            __import__(_plugin)
            __import__(f"{_plugin}.plugin")
        except ImportError:
            pass
    zanj_core.REGISTRY.plugins  # noqa: B018 - discover (and so instrument) every plugin now

# small limits keep each input cheap; the code paths are the same as with the defaults
READER = ZANJ(read_limits=ReadLimits(max_json_bytes=1 << 20, max_members=1000))
SCRATCH = Path(tempfile.mkdtemp(prefix="zanj-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
TARGET = SCRATCH / "input.zanj"


def read_every_way(path: Path) -> None:
    READER.read(path)
    READER.read(path, mmap=True)
    with READER.open(path) as opened:
        opened.tree()
        if isinstance(opened.root, dict):
            for key in opened.keys():
                opened.info(key)
                opened[key]
    verify_file(path, READER, load=True)


def test_one_input(data: bytes) -> None:
    TARGET.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_every_way(TARGET)
        except ZanjError:
            pass


def _rebuild(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
        warnings.simplefilter("ignore")  # duplicate names are allowed in: the reader must refuse them
        for info, content in members:
            zf.writestr(info, content)
    return out.getvalue()


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Mutate one member's content and re-zip, or (half the time, or for non-zips) raw bytes."""
    rng = random.Random(seed)
    if rng.random() < 0.5:
        return bytes(atheris.Mutate(data, max_size))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [(info, zf.read(info)) for info in zf.infolist()]
    except Exception:  # not a zip (any more): raw mutation only
        return bytes(atheris.Mutate(data, max_size))
    if not members:
        return bytes(atheris.Mutate(data, max_size))
    index = rng.randrange(len(members))
    info, content = members[index]
    members[index] = (info, atheris.Mutate(content, max(len(content) * 2, 64)))
    if rng.random() < 0.05:  # sometimes duplicate or drop a member
        if rng.random() < 0.5:
            members.append(members[index])
        else:
            del members[index]
    rebuilt = _rebuild(members)
    return rebuilt if len(rebuilt) <= max_size else bytes(atheris.Mutate(data, max_size))


def write_seeds(folder: Path) -> None:
    """Valid files of every kind the plugins here can write, plus the hostile corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "tests"))
    import hostile_corpus

    for case in hostile_corpus.CASES:
        if "gib" in case.name:  # the 1 GiB bombs are ~1 MiB each: too slow as fuzz inputs
            continue
        (folder / f"hostile-{case.name}.zanj").write_bytes(case.build(SCRATCH))
    writer = ZANJ(external_array_threshold=4, external_list_threshold=4)
    seeds: dict[str, object] = {
        "builtins": {"a": [1, 2.5, "x", None, True], "t": (1, 2), "s": {1, 2}, "b": b"bytes", "long": list(range(9))},
    }
    try:
        import numpy as np

        seeds["numpy"] = {"f": np.arange(12, dtype=np.float32).reshape(3, 4), "i": np.arange(3), "s": np.float64(1.5)}
    except ImportError:
        pass
    try:
        import torch

        seeds["torch"] = {"w": torch.arange(8, dtype=torch.bfloat16), "v": torch.arange(3)}
    except ImportError:
        pass
    try:
        import pandas as pd

        seeds["pandas"] = {"df": pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})}
    except ImportError:
        pass
    for name, obj in seeds.items():
        writer.save(obj, folder / f"valid-{name}.zanj")
        ZANJ(external_array_threshold=4, external_list_threshold=4, compress=True).save(
            obj, folder / f"valid-{name}-deflated.zanj"
        )


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    seeds = Path(sys.argv[1])
    if not seeds.exists() or not any(seeds.iterdir()):
        write_seeds(seeds)
    atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
