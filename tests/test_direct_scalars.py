"""Scalars inside the core's lists, dicts and dataclasses are written without a dispatch per value
(`zanj_core._plugins.direct_scalars`) only while the core's own handler is the one in charge:
what a file holds is exactly what dispatching each value would write."""

from __future__ import annotations

import json
import math
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from muutils.json_serialize import SerializableDataclass, serializable_dataclass

from zanj_core import ZANJ, ZanjSerializationError
from zanj_core.plugin import FORMAT_KEY, SerializerHandler


@serializable_dataclass
class Row(SerializableDataclass):
    name: str
    count: int
    ratio: float
    flag: bool
    note: Any


def _tree(path: str | Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("__zanj__.json"))


def _meta(path: str | Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("__zanj_meta__.json"))


def test_values_json_changes_are_still_tagged_in_every_container(tmp_path: Path) -> None:
    """A NaN (payload kept), -0.0, infinities and ints past 2**63, in a list, a dict and a
    dataclass field: each a tagged node, listed in the tag table, read back bit for bit."""
    nan = struct.unpack(">d", bytes.fromhex("7ff8000000000123"))[0]
    odd = [nan, -0.0, math.inf, -math.inf, 2**70, -(2**63) - 1]
    value = {"list": odd, "dict": {str(i): v for i, v in enumerate(odd)}, "row": Row("r", 2**64, nan, True, -0.0)}
    path = ZANJ().save(value, tmp_path / "odd")
    tree = _tree(path)
    assert [item[FORMAT_KEY] for item in tree["list"]] == ["float", "float", "float", "float", "int", "int"]
    assert tree["row"]["count"][FORMAT_KEY] == "int" and tree["row"]["ratio"][FORMAT_KEY] == "float"
    assert {"float", "int"} <= set(_meta(path)["plugins"])
    back = ZANJ().read(path)
    for got, want in zip([*back["list"], *back["dict"].values()], odd * 2, strict=True):
        assert type(got) is type(want) and struct.pack(">d", float(got)) == struct.pack(">d", float(want))
        if isinstance(want, int):
            assert got == want
    assert back["row"].count == 2**64 and math.copysign(1, back["row"].note) == -1


def test_plain_scalars_stay_plain(tmp_path: Path) -> None:
    value = {"row": Row("a", 3, 0.5, False, None), "list": ["x", 1, 2.5, True, None], "d": {"k": "v", "n": 7}}
    path = ZANJ().save(value, tmp_path / "plain")
    tree = _tree(path)
    assert tree["list"] == ["x", 1, 2.5, True, None] and tree["d"] == {"k": "v", "n": 7}
    assert {k: tree["row"][k] for k in ("name", "count", "ratio", "flag", "note")} == {
        "name": "a",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "note": None,
    }
    assert ZANJ().read(path) == value


def _upper(obj: str, path: Any, ctx: Any) -> Any:
    return {FORMAT_KEY: "shout", "text": obj.upper(), "at": list(path)}


@pytest.mark.parametrize("kind", [str, int, float, bool, type(None)])
def test_a_handler_taking_a_scalar_type_sees_every_value_of_it(kind: type, tmp_path: Path) -> None:
    """With `handlers_pre` (or a plugin) first for a scalar type, every value of that type goes
    to it, in lists, dicts and dataclass fields alike, with its object path."""
    samples = {str: "s", int: 5, float: 0.25, bool: True, type(None): None}
    seen: list[tuple[Any, tuple[Any, ...]]] = []

    def record(obj: Any, path: Any, ctx: Any) -> Any:
        seen.append((obj, tuple(path)))
        return {FORMAT_KEY: "seen", "repr": repr(obj)}

    handler = SerializerHandler(tag="seen", types=(kind,), serialize=record)
    row = Row("s", 5, 0.25, True, None)
    sample = samples[kind]
    value = {"list": [sample], "dict": {"k": sample}, "row": row}
    ZANJ(handlers_pre=[handler]).save(value, tmp_path / "seen")
    paths = {path for _, path in seen}
    assert ("list", 0) in paths and ("dict", "k") in paths
    field = {str: "name", int: "count", float: "ratio", bool: "flag", type(None): "note"}[kind]
    assert ("row", field) in paths
    assert all(isinstance(obj, kind) for obj, _ in seen)  # (a handler for int is also offered bools)


def test_scalars_too_deep_are_refused_as_before(tmp_path: Path) -> None:
    deep: Any = ["leaf"]  # the leaf 11 levels down
    for _ in range(10):
        deep = [deep]
    with pytest.raises(ZanjSerializationError, match="nested more than 10 levels deep"):
        ZANJ(max_depth=10).save(deep, tmp_path / "deep")
    shallow: Any = ["leaf"]  # 10 levels down: allowed
    for _ in range(9):
        shallow = [shallow]
    assert ZANJ(max_depth=10).read(ZANJ(max_depth=10).save(shallow, tmp_path / "ok")) == shallow
