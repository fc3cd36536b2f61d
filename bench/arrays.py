"""Child process for the `arrays` scenario: one contender, one operation, timed and measured.

    python bench/arrays.py CONTENDER OP DIR --size MIB --rounds 5

64 float32 arrays totalling MIB MiB, against the raw floor, np.savez, safetensors, pickle, h5py
and zanj 0.6; see harness.py for what is measured. Run by bench/run.py.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import harness


def make_arrays(mib: int, count: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    per = mib * (1 << 20) // count // 4
    side = int(per**0.5)
    return {f"layer{i:02d}.weight": rng.standard_normal((side, per // side), dtype=np.float32) for i in range(count)}


# -- contenders: save(arrays, dir) -> path; read(path) -> dict -----------------------------------


def raw_save(arrays: dict[str, Any], out: Path) -> Path:
    path = out / "raw.bin"
    with open(path, "wb") as fh:
        for array in arrays.values():
            fh.write(array.data)
    return path


def raw_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    """The floor: the whole file read by one call into one buffer, each array a view of it."""
    buffer = np.empty(path.stat().st_size, dtype=np.uint8)
    with open(path, "rb", buffering=0) as fh:
        fh.readinto(buffer.data)
    result, offset = {}, 0
    for name, (shape, dtype) in like.items():
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        result[name] = buffer[offset : offset + nbytes].view(dtype).reshape(shape)
        offset += nbytes
    return result


def zanj_save(arrays: dict[str, Any], out: Path) -> Path:
    from zanj_core import ZANJ

    # the peers do not fsync; "zanj_durable" in tensors.py shows what the default's fsyncs cost
    return Path(ZANJ(durable=False).save(arrays, out / "ours.zanj"))


def zanj_read(path: Path, like: dict[str, Any], mmap: bool = False) -> dict[str, Any]:
    from zanj_core import ZANJ

    result: dict[str, Any] = ZANJ().read(path, mmap=mmap)
    return result


def npz_save(arrays: dict[str, Any], out: Path) -> Path:
    path = out / "arrays.npz"
    np.savez(path, **arrays)
    return path


def npz_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def safetensors_save(arrays: dict[str, Any], out: Path) -> Path:
    from safetensors.numpy import save_file

    path = out / "arrays.safetensors"
    save_file(arrays, str(path))
    return path


def safetensors_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def pickle_save(arrays: dict[str, Any], out: Path) -> Path:
    path = out / "arrays.pkl"
    with open(path, "wb") as fh:
        pickle.dump(arrays, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def pickle_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    with open(path, "rb") as fh:
        result: dict[str, Any] = pickle.load(fh)
    return result


def h5py_save(arrays: dict[str, Any], out: Path) -> Path:
    import h5py

    path = out / "arrays.h5"
    with h5py.File(path, "w") as fh:
        for name, array in arrays.items():
            fh.create_dataset(name, data=array)
    return path


def h5py_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    import h5py

    with h5py.File(path, "r") as fh:
        return {name: fh[name][()] for name in fh}


def zanj06_save(arrays: dict[str, Any], out: Path) -> Path:
    from zanj import ZANJ  # type: ignore[import-not-found]

    return Path(ZANJ().save(arrays, out / "zanj06.zanj"))


def zanj06_read(path: Path, like: dict[str, Any]) -> dict[str, Any]:
    from zanj import ZANJ

    result: dict[str, Any] = ZANJ().read(path)
    return result


CONTENDERS = {
    "raw": (raw_save, raw_read),
    "zanj": (zanj_save, zanj_read),
    "zanj_mmap": (zanj_save, lambda p, like: zanj_read(p, like, mmap=True)),
    "npz": (npz_save, npz_read),
    "safetensors": (safetensors_save, safetensors_read),
    "pickle": (pickle_save, pickle_read),
    "h5py": (h5py_save, h5py_read),
    "zanj06": (zanj06_save, zanj06_read),
}


def describe(arrays: dict[str, Any]) -> dict[str, Any]:
    return {name: [list(a.shape), a.dtype.str] for name, a in arrays.items()}


def verify(arrays: Any, spec: dict[str, Any]) -> None:
    """The same names, shapes and dtypes as were saved."""
    assert sorted(arrays) == sorted(spec), f"{len(arrays)} names read back, {len(spec)} saved"
    for name, expected in spec.items():
        got = [list(arrays[name].shape), np.dtype(arrays[name].dtype).str]
        assert got == expected, f"{name}: {got} read back, {expected} saved"


def main() -> int:
    return harness.run(
        CONTENDERS, lambda mib: make_arrays(mib, 64), describe, lambda mib: mib << 20, 256, verify=verify
    )


if __name__ == "__main__":
    sys.exit(main())
