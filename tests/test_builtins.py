"""Python builtins round-trip exactly: types, values and float bits."""

from __future__ import annotations

import datetime
import enum
import json
import math
import pathlib
import struct
import zipfile
import zoneinfo
from collections import OrderedDict, defaultdict, namedtuple
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_identical, roundtrip
from hypothesis import given
from hypothesis import strategies as st

from zanj_core import ZANJ, ZanjFormatError, ZanjMissingClassWarning, ZanjSerializationError, ZanjUnloaded


class Color(enum.Enum):
    RED = 1
    GREEN = "g"


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


SAMPLES: dict[str, Any] = {
    "str": "héllo\n\u2603\x00",
    "empty str": "",
    "int": -17,
    "big int": 2**200 + 1,
    "negative big int": -(2**64),
    "int64 edge": 2**63 - 1,
    "bool": True,
    "None": None,
    "float": 0.1,
    "tiny float": 5e-324,
    "nan": float("nan"),
    "negative nan": -float("nan"),
    "nan payload": struct.unpack(">d", bytes.fromhex("7ff8000000000abc"))[0],
    "inf": float("inf"),
    "-inf": float("-inf"),
    "-0.0": -0.0,
    "complex": complex(1.5, -0.0),
    "complex nan": complex(float("nan"), float("inf")),
    "tuple": (1, "a", None, (2, 3)),
    "empty tuple": (),
    "list": [1, [2, [3, []]]],
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "empty set": set(),
    "dict str keys": {"a": 1, "b": {"c": 2}},
    "dict int keys": {1: "a", 2: "b"},
    "dict mixed keys": {1: "a", "1": "b", (1, 2): "c", None: "d", 1.5: "e", frozenset({1}): "f"},
    "dict reserved key": {"__muutils_format__": "tuple", "$ref": "x.npy"},
    "OrderedDict": OrderedDict([("b", 1), ("a", (2,))]),
    "OrderedDict non-str keys": OrderedDict([(2, "x"), ("2", "y")]),
    "bytes": b"\x00\xff abc",
    "bytearray": bytearray(b"\x01\x02"),
    "empty bytes": b"",
    "datetime naive": datetime.datetime(2024, 2, 29, 23, 59, 59, 999999),
    "datetime utc": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    "datetime offset": datetime.datetime(
        2024, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))
    ),
    "datetime named offset": datetime.datetime(
        2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=9), "JST")
    ),
    "datetime zoneinfo": datetime.datetime(2024, 7, 1, 8, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
    "datetime fold": datetime.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
    "date": datetime.date(1, 1, 1),
    "time": datetime.time(23, 59, 59, 1),
    "time tz": datetime.time(1, 2, tzinfo=datetime.timezone.utc),
    "timedelta": datetime.timedelta(days=-3, seconds=7, microseconds=11),
    "path": pathlib.Path("/tmp/x/y.txt"),
    "relative path": pathlib.Path("a/b"),
    "pure posix path": pathlib.PurePosixPath("/etc/passwd"),
    "pure windows path": pathlib.PureWindowsPath(r"C:\Users\x"),
    "enum": Color.GREEN,
    "int enum": Level.HIGH,
    "flag combination": Perm.R | Perm.W,
    "flag member": Perm.X,
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_roundtrip_each_builtin(name: str, zpath: Path) -> None:
    value = SAMPLES[name]
    assert_identical(roundtrip(value, zpath), value)


def test_roundtrip_all_nested(zpath: Path) -> None:
    nested = {"all": list(SAMPLES.values()), "as tuple": tuple(SAMPLES.values()), "by name": SAMPLES}
    assert_identical(roundtrip(nested, zpath), nested)


def test_nan_payload_bits_survive(zpath: Path) -> None:
    value = SAMPLES["nan payload"]
    back = roundtrip([value], zpath)[0]
    assert struct.pack(">d", back) == struct.pack(">d", value)


def test_json_stays_readable(zpath: Path) -> None:
    ZANJ().save({"a": 1, "b": [1.5, "x", None, True]}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        tree = json.loads(zf.read("__zanj__.json"))
    assert tree == {"a": 1, "b": [1.5, "x", None, True]}


def test_long_lists_and_tuples_go_to_jsonl(zpath: Path) -> None:
    value = {
        "l": list(range(300)),
        "t": tuple(str(i) for i in range(256)),
        "short": list(range(255)),
        "nested": [[i, {"k": i}] for i in range(400)],
    }
    back = roundtrip(value, zpath)
    assert_identical(back, value)
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        described = json.loads(zf.read("__zanj_externals__.json"))
        assert zf.read("l.jsonl").splitlines()[:2] == [b"0", b"1"]
    assert {"l.jsonl", "t.jsonl", "nested.jsonl"} <= names
    assert "short.jsonl" not in names
    assert described["l.jsonl"] == {
        "item_type": "jsonl",
        "path": ["l"],
        "format": "list:external",
        "len": 300,
    }


def test_external_list_threshold_setting(zpath: Path) -> None:
    zanj = ZANJ(external_list_threshold=3)
    back = roundtrip({"a": [1, 2, 3], "b": [1, 2]}, zpath, zanj)
    assert back == {"a": [1, 2, 3], "b": [1, 2]}
    assert "a.jsonl" in zipfile.ZipFile(zpath).namelist()
    assert "b.jsonl" not in zipfile.ZipFile(zpath).namelist()


def test_large_bytes_go_to_an_aligned_member(zpath: Path) -> None:
    payload = bytes(range(256)) * 40
    back = roundtrip({"blob": payload, "small": b"ab"}, zpath)
    assert_identical(back, {"blob": payload, "small": b"ab"})
    with zipfile.ZipFile(zpath) as zf:
        info = zf.getinfo("blob.bin")
        assert info.compress_type == zipfile.ZIP_STORED
    with open(zpath, "rb") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", fh.read(4))
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        assert fh.read(len(payload)) == payload
    assert start % 64 == 0


@pytest.mark.parametrize(
    "value",
    [namedtuple("P", "x y")(1, 2), type("MyList", (list,), {})([1]), defaultdict(list)],
    ids=["namedtuple", "list subclass", "defaultdict"],
)
def test_subclasses_of_builtins_are_refused_not_flattened(value: Any, zpath: Path) -> None:
    with pytest.raises(ZanjSerializationError, match="no installed handler"):
        ZANJ().save({"x": value}, zpath)
    assert not zpath.exists()


def test_unsupported_object_error_names_path_and_type(zpath: Path) -> None:
    class Opaque:
        pass

    with pytest.raises(ZanjSerializationError) as info:
        ZANJ().save({"a": [1, {"b": Opaque()}]}, zpath)
    message = str(info.value)
    assert "a/1/b" in message and "Opaque" in message and "register a SerializerHandler" in message
    assert not zpath.exists()


def test_unsupported_object_with_warn_mode_stores_repr(zpath: Path) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    with pytest.warns(UserWarning, match="stored as its repr"):
        back = roundtrip({"a": Opaque()}, zpath, ZANJ(error_mode="warn"))
    assert back == {"a": "<opaque>"}


def test_foreign_timezone_is_refused(zpath: Path) -> None:
    class Odd(datetime.tzinfo):
        def utcoffset(self, dt: Any) -> datetime.timedelta:
            return datetime.timedelta(hours=1)

    with pytest.raises(ZanjSerializationError, match="zoneinfo"):
        ZANJ().save(datetime.datetime(2020, 1, 1, tzinfo=Odd()), zpath)


def test_reference_cycle_is_an_error(zpath: Path) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(ZanjSerializationError, match="cycle"):
        ZANJ().save(loop, zpath)


def test_shared_subobjects_are_not_cycles(zpath: Path) -> None:
    shared = [1, 2]
    assert roundtrip({"a": shared, "b": shared}, zpath) == {"a": [1, 2], "b": [1, 2]}


def test_deep_nesting_is_a_zanj_error(zpath: Path) -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ZanjSerializationError, match="nested"):
        ZANJ().save(deep, zpath)
    ok: Any = []
    for _ in range(150):
        ok = [ok]
    assert roundtrip(ok, zpath) == ok


def test_enum_of_undefined_class_warns_and_keeps_node(zpath: Path) -> None:
    ZANJ().save({"c": Color.RED}, zpath)
    # rewrite the class name as if the reader's program never defined it
    with zipfile.ZipFile(zpath) as zf:
        tree = json.loads(zf.read("__zanj__.json"))
        meta = zf.read("__zanj_meta__.json")
    tree["c"]["class"] = "nowhere.module:Colour"
    other = zpath.with_name("other.zanj")
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps(tree))
        zf.writestr("__zanj_meta__.json", meta)
    with pytest.warns(ZanjMissingClassWarning, match="nowhere.module:Colour"):
        back = ZANJ().read(other)
    assert isinstance(back["c"], ZanjUnloaded) and back["c"].node["name"] == "RED"


@pytest.mark.parametrize(
    "node",
    [
        {"__muutils_format__": "tuple"},
        {"__muutils_format__": "tuple", "data": "notalist"},
        {"__muutils_format__": "bytes", "base64": "!!!"},
        {"__muutils_format__": "dict", "data": [[1]]},
        {"__muutils_format__": "dict", "data": [[[1], 2]]},
        {"__muutils_format__": "float", "bits": "00"},
        {"__muutils_format__": "datetime.date", "iso": "yesterday"},
        {"__muutils_format__": "pathlib.Path", "kind": "EvilPath", "path": "/"},
        {"__muutils_format__": "set", "data": [[1, 2]]},
        {"__muutils_format__": 5},
        {"__muutils_format__": "int", "value": "9" * 20000},
        {"__muutils_format__": "enum.Enum", "class": f"{__name__}:Color", "name": "BLUE"},
    ],
)
def test_malformed_builtin_nodes_give_format_errors(node: dict[str, Any], zpath: Path) -> None:
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps({"x": node}))
    with pytest.raises(ZanjFormatError) as info:
        ZANJ().read(zpath)
    assert str(zpath) in str(info.value)


# -- hypothesis: arbitrary nested builtins ---------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.binary(max_size=300)
    | st.complex_numbers(allow_nan=True)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
    | st.timedeltas()
    | st.sampled_from(list(Color) + list(Level))
)
hashables = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.tuples(st.integers(), st.text(max_size=3))
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=6)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
        | st.dictionaries(hashables, children, max_size=5)
        | st.frozensets(hashables, max_size=5)
        | st.sets(hashables, max_size=5)
    )


@given(st.recursive(scalars, _containers, max_leaves=25))
def test_hypothesis_roundtrip(tmp_path_factory: pytest.TempPathFactory, value: Any) -> None:
    path = tmp_path_factory.mktemp("h") / "v.zanj"
    assert_identical(roundtrip(value, path, ZANJ(external_list_threshold=4, external_array_threshold=64)), value)


def test_float_special_values_in_meta_are_never_bare_nan(zpath: Path) -> None:
    ZANJ().save([math.nan, math.inf], zpath)
    text = zipfile.ZipFile(zpath).read("__zanj__.json").decode()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
