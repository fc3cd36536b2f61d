"""Bytes of an array that hold no value (an x86 long double's six pad bytes, the gaps between a
structured dtype's fields) never reach a file: numpy leaves them as the allocator gave them, so
writing them would leak heap contents and make two saves of one array differ."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
zanj_arrays = pytest.importorskip("zanj_numpy.arrays")

from zanj_core import ZANJ  # noqa: E402

GARBAGE = 0xA5
GAPPED = np.dtype({"names": ["flag", "count"], "formats": ["u1", "<i4"], "offsets": [0, 4], "itemsize": 12})


def _memory_order(array: Any) -> Any:
    """A C-contiguous view of the array's own memory (its transpose, for a Fortran array)."""
    return array.T if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous else array


def _with_garbage(array: Any) -> Any:
    """The array with every byte that holds no value set to GARBAGE, as a dirty heap would leave it."""
    mask = zanj_arrays.value_bytes(array.dtype)
    if mask.all():
        pytest.skip(f"{array.dtype} has no padding bytes on this platform")
    rows = _memory_order(array).reshape(-1).view(np.uint8).reshape(array.size, array.dtype.itemsize)
    rows[:, ~mask] = GARBAGE
    return array


def _arrays() -> dict[str, Any]:
    gapped = np.zeros(40, dtype=GAPPED)
    gapped["flag"], gapped["count"] = np.arange(40) % 2, np.arange(40) * -7
    return {
        "longdouble": np.linspace(-3, 3, 40, dtype=np.longdouble) / 7,
        "clongdouble": (np.arange(40, dtype=np.clongdouble) + 1j) / 3,
        "structured gaps": gapped,
        "fortran longdouble": np.asfortranarray(np.arange(40, dtype=np.longdouble).reshape(5, 8) / 3),
    }


def _member_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


@pytest.mark.parametrize("threshold", [10**6, 1], ids=["inline", "npy member"])
@pytest.mark.parametrize("name", list(_arrays()))
def test_padding_is_written_as_zeros_and_values_round_trip(name: str, threshold: int, tmp_path: Path) -> None:
    array = _with_garbage(_arrays()[name])
    clean = array.copy(order="K")
    zanj_arrays.clear_padding(_memory_order(clean))
    first = ZANJ(external_array_threshold=threshold).save({"a": array}, tmp_path / "first")
    second = ZANJ(external_array_threshold=threshold).save({"a": clean}, tmp_path / "second")
    # the garbage changed nothing in the file: the same bytes as the array with zeroed padding
    assert _member_bytes(Path(first)) == _member_bytes(Path(second))
    assert bytes([GARBAGE]) * 3 not in _member_bytes(Path(first))
    back = ZANJ().read(first)["a"]
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes(order="C") == clean.tobytes(order="C")
    # saving left the caller's array as it was: the padding is zeroed in a copy
    assert bytes([GARBAGE]) * 3 in array.tobytes(order="A")


def test_a_longdouble_scalar_writes_no_padding(tmp_path: Path) -> None:
    value = _with_garbage(np.array([np.longdouble("1.1")]))[0]
    path = ZANJ().save({"v": value}, tmp_path / "s")
    with zipfile.ZipFile(path) as archive:
        written = base64.b64decode(json.loads(archive.read("__zanj__.json"))["v"]["data"])
    mask = zanj_arrays.value_bytes(np.dtype(np.longdouble))
    assert written == zanj_arrays.clear_padding(np.array(value)).tobytes()
    assert not np.frombuffer(written, np.uint8)[~mask].any()
    back = ZANJ().read(path)["v"]
    # the scalar holds the file's bytes (np.asarray of it would refill the padding from the heap)
    assert type(back) is type(value) and back == value and back.tobytes() == written
