"""Files written by the original zanj 0.6.0 (tests/data/zanj06, made by its make_corpus.py) read correctly."""

from __future__ import annotations

import pytest
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
from zanj06_corpus import CORPUS

from zanj_core import ZANJ


# mirrors of the classes in make_corpus.py (zanj 0.6 records only the class name)
@serializable_dataclass
class Basic06(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: list[int] = serializable_field(default_factory=list)


@serializable_dataclass
class Nested06(SerializableDataclass):
    name: str
    basic: Basic06
    items: list[Basic06]
    meta: dict


def _read(name: str) -> object:
    return ZANJ().read(CORPUS / name)


@pytest.mark.parametrize("name", ["basic.zanj", "basic_stored.zanj"])
def test_basic_dataclass(name: str) -> None:
    back = _read(name)
    assert type(back) is Basic06
    assert back == Basic06("hello", 42, [1, 2, 3])


def test_nested_dataclasses_in_lists() -> None:
    back = _read("nested.zanj")
    assert type(back) is Nested06
    assert back == Nested06("n", Basic06("x", 1, []), [Basic06("y", 2, [5]), Basic06("z", 3, [6, 7])], {"k": [1, 2]})
    assert type(back.basic) is Basic06 and all(type(item) is Basic06 for item in back.items)


def test_external_lists_and_tuples() -> None:
    back = _read("externals.zanj")
    assert back == {"long": list(range(300)), "tup": tuple(range(260)), "short": [1, 2], "s": "text"}
    assert type(back["tup"]) is tuple  # type: ignore[index]


def test_builtins_and_sets() -> None:
    back = _read("builtins.zanj")
    # zanj 0.6 writes a set as {"__muutils_format__": "set", "data": [...]} but reads it back as
    # that dict; zanj-core restores the set
    assert back == {"set": {1, 2, 3}, "none": None, "flag": True, "f": 0.25, "nested": {"a": [{"b": "c"}]}, "empty": []}
    assert type(back["set"]) is set  # type: ignore[index]
