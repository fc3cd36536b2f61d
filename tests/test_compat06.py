"""`ZANJ(compat="0.6")`: files zanj 0.6.0 reads back equal, or a refusal naming each object.

That zanj 0.6.0 itself reads these files is checked by `nox -s interop` (its own environment,
tests/interop/); here: zanj-core reads them back, and everything zanj 0.6 cannot represent is
refused before any file is written."""

from __future__ import annotations

import datetime
import json
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from zanj_core import FORMAT_KEY, ZANJ, SerializerHandler, ZanjError, ZanjSerializationError

sys.path.insert(0, str(Path(__file__).parent / "interop"))

COMPAT = ZANJ(compat="0.6")


def test_compat_must_be_a_known_version() -> None:
    with pytest.raises(ZanjError, match="compat must be None or one of"):
        ZANJ(compat="0.5")


def test_plain_objects_round_trip_and_record_the_mode(zpath: Path) -> None:
    obj = {"a": [1, 2.5, "x", None, True], "t": (1, 2), "long": list(range(300)), "od": OrderedDict(b=1, a=2)}
    back = COMPAT.read(COMPAT.save(obj, zpath))
    # zanj 0.6 writes and reads an OrderedDict as a plain dict, order kept
    assert back == {"a": [1, 2.5, "x", None, True], "t": (1, 2), "long": list(range(300)), "od": {"b": 1, "a": 2}}
    assert type(back["od"]) is dict and list(back["od"]) == ["b", "a"]
    with zipfile.ZipFile(zpath) as zf:
        assert json.loads(zf.read("__zanj_meta__.json"))["zanj_cfg"]["compat"] == "0.6"


@pytest.mark.parametrize(
    ("obj", "named"),
    [
        ({"s": {1, 2}}, r"s: 'set' has no zanj 0\.6 form"),
        ({"b": b"bytes"}, r"b: 'bytes'"),
        ({"nan": float("nan")}, r"nan: 'float'"),
        ({"k": {1: "int key"}}, r"k: 'dict'"),
        ({"c": 1j}, r"c: 'complex'"),
        ({"when": datetime.date(2020, 1, 2)}, r"when: 'datetime.date'"),
        ({"big": 2**80}, r"big: 'int'"),
        ({"fs": frozenset({1})}, r"fs: 'frozenset'"),
    ],
    ids=["set", "bytes", "nan", "int-keys", "complex", "date", "big-int", "frozenset"],
)
def test_what_zanj06_cannot_read_back_is_refused_by_name(obj: Any, named: str, tmp_path: Path) -> None:
    with pytest.raises(ZanjSerializationError, match=named):
        COMPAT.save({"fine": [1, 2], **obj}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == [], "no file is written"
    ZANJ().save({"fine": [1, 2], **obj}, tmp_path / "native")  # the native format keeps all of them


def test_every_refused_object_is_listed(tmp_path: Path) -> None:
    objects = {f"s{i}": {i} for i in range(7)}
    with pytest.raises(ZanjSerializationError) as caught:
        COMPAT.save(objects, tmp_path / "x")
    message = str(caught.value)
    assert all(f"s{i}:" in message for i in range(5)) and "and 2 more" in message
    assert "save without compat" in message


def test_refusals_inside_long_lists_are_found(tmp_path: Path) -> None:
    with pytest.raises(ZanjSerializationError, match=r"items/299: 'set'"):
        COMPAT.save({"items": [*range(299), {1}]}, tmp_path / "x")


def test_arrays_of_plain_dtypes_pass_and_others_are_refused(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    arrays = {"f": np.arange(6.0).reshape(2, 3), "i": np.arange(300, dtype=np.int16), "nan": np.array([np.nan, 1.0])}
    back = COMPAT.read(COMPAT.save(arrays, tmp_path / "ok"))
    for key, array in arrays.items():
        assert back[key].dtype == array.dtype and back[key].tobytes() == array.tobytes()
    for bad, dtype in [(np.arange(3).astype("M8[D]"), "datetime64"), (np.arange(3, dtype=np.complex64), "complex64")]:
        with pytest.raises(ZanjSerializationError, match=f"a: dtype '{dtype}"):
            COMPAT.save({"a": bad}, tmp_path / "bad")
    with pytest.raises(ZanjSerializationError, match=r"s: 'numpy\.generic"):
        COMPAT.save({"s": np.float32(1.0)}, tmp_path / "bad")


def test_tensors_bfloat16_and_shared_storage_are_refused(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    ok = {"w": torch.arange(300, dtype=torch.float32), "s": torch.arange(3)}
    back = COMPAT.read(COMPAT.save(ok, tmp_path / "ok"))
    assert all(torch.equal(back[k], v) and back[k].dtype == v.dtype for k, v in ok.items())
    with pytest.raises(ZanjSerializationError, match="w: dtype 'bfloat16'"):
        COMPAT.save({"w": torch.ones(300, dtype=torch.bfloat16)}, tmp_path / "bad")
    base = torch.arange(300, dtype=torch.float32)
    with pytest.raises(ZanjSerializationError, match=r"view: 'torch\.Tensor:view'"):
        COMPAT.save({"base": base, "view": base[10:20]}, tmp_path / "bad")


def test_models_use_the_bare_class_tag_and_read_back(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    from objects06 import InteropNN, make_model

    model = make_model()
    path = COMPAT.save(model, tmp_path / "model")
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("__zanj__.json"))["__muutils_format__"] == "InteropNN"
    back = InteropNN.read(path)
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), model.state_dict().values(), strict=True))


def test_frames_are_written_as_zanj06_rows(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("zanj_pandas")
    frame = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", "c"], "b": [True, False, True]})
    path = COMPAT.save({"df": frame}, tmp_path / "frames")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("__zanj__.json"))["df"]
        assert node["__muutils_format__"] == "pandas.DataFrame:external" and node["len(data)"] == 3
        assert zf.read(node["$ref"]).decode().splitlines()[0] == '{"i": 1, "f": 0.5, "s": "a", "b": true}'
    assert COMPAT.read(path)["df"].equals(frame)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda pd: pd.DataFrame({"a": [1.0, float("nan")]}), "NaN or infinity"),
        (lambda pd: pd.DataFrame({"a": [1, 2]}, index=[5, 6]), "index is not the default"),
        (lambda pd: pd.DataFrame({1: [1, 2]}), "column label 1 is not a string"),
        (lambda pd: pd.DataFrame({"a": pd.Series([1, 2], dtype="int32")}), "dtype int32"),
        (lambda pd: pd.DataFrame({"a": pd.Categorical(["x", "y"])}), "dtype category"),
        (lambda pd: pd.DataFrame({"a": pd.Series([], dtype="int64")}), "it is empty"),
        (lambda pd: pd.Series([1, 2]), r"'pandas\.Series:arrow' has no zanj 0\.6 form"),
    ],
    ids=["nan", "index", "int-label", "int32", "categorical", "empty-typed", "series"],
)
def test_frames_zanj06_would_change_are_refused(make: Any, why: str, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("zanj_pandas")
    with pytest.raises(ZanjSerializationError, match=why):
        COMPAT.save({"df": make(pd)}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


# -- the mechanism: each handler judges its own nodes ------------------------------------------


class Gauge:
    def __init__(self, level: int) -> None:
        self.level = level


def _gauge_handler(**fields: Any) -> SerializerHandler:
    return SerializerHandler(
        tag="test.Gauge",
        types=(Gauge,),
        serialize=lambda obj, path, ctx: {FORMAT_KEY: "test.Gauge", "level": obj.level},
        **fields,
    )


def test_a_handler_without_a_compat_callback_is_refused(tmp_path: Path) -> None:
    zanj = ZANJ(compat="0.6", handlers_pre=[_gauge_handler()])
    with pytest.raises(ZanjSerializationError, match=r"g: 'test\.Gauge' has no zanj 0\.6 form"):
        zanj.save({"g": Gauge(1)}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_a_handlers_callback_decides_and_its_reason_is_shown(tmp_path: Path) -> None:
    seen: list[tuple[str, Any]] = []

    def compat(version: str, node: Any) -> str | None:
        seen.append((version, node))
        return None if node["level"] < 10 else f"level {node['level']} is too high for zanj {version}"

    zanj = ZANJ(compat="0.6", handlers_pre=[_gauge_handler(compat=compat)])
    zanj.save({"g": Gauge(1)}, tmp_path / "ok")
    assert seen == [("0.6", {FORMAT_KEY: "test.Gauge", "level": 1})]
    with pytest.raises(ZanjSerializationError, match=r"deep/0: level 12 is too high for zanj 0\.6") as caught:
        zanj.save({"fine": Gauge(2), "deep": [Gauge(12)]}, tmp_path / "bad")
    assert "fine" not in str(caught.value)
    ZANJ(handlers_pre=[_gauge_handler(compat=compat)]).save(Gauge(12), tmp_path / "native")  # no compat: no check


def test_nodes_are_judged_as_written_after_the_walk(tmp_path: Path) -> None:
    """A handler may change a node it returned earlier (zanj-torch moves a shared tensor to a
    member); the node is judged as it ends up in the file."""

    class Spoiler:
        pass

    def spoil(obj: Any, path: Any, ctx: Any) -> Any:
        ctx.cache["gauge"]["level"] = 99
        return "spoiled"

    def remember(obj: Gauge, path: Any, ctx: Any) -> Any:
        ctx.cache["gauge"] = {FORMAT_KEY: "test.Gauge", "level": obj.level}
        return ctx.cache["gauge"]

    handlers = [
        SerializerHandler(
            tag="test.Gauge",
            types=(Gauge,),
            serialize=remember,
            compat=lambda version, node: None if node.get("level") == 1 else "too high",
        ),
        SerializerHandler(tag="", types=(Spoiler,), serialize=spoil),
    ]
    zanj = ZANJ(compat="0.6", handlers_pre=handlers)
    zanj.save({"a": Gauge(1)}, tmp_path / "ok")
    with pytest.raises(ZanjSerializationError, match="a: too high"):
        zanj.save({"a": Gauge(1), "b": Spoiler()}, tmp_path / "bad")


def test_a_failing_callback_names_its_handler(tmp_path: Path) -> None:
    def broken(version: str, node: Any) -> str | None:
        raise KeyError("oops")

    zanj = ZANJ(compat="0.6", handlers_pre=[_gauge_handler(compat=broken)])
    with pytest.raises(ZanjSerializationError, match=r"compat check of handler 'test\.Gauge'.*KeyError"):
        zanj.save(Gauge(1), tmp_path / "x")
    with pytest.raises(TypeError, match="compat must be callable"):
        _gauge_handler(compat="0.6")


def test_an_object_stored_as_its_repr_is_refused(tmp_path: Path) -> None:
    class Opaque:
        pass

    with pytest.raises(ZanjSerializationError, match=r"o: 'zanj\.unserializable' has no zanj 0\.6 form"):
        ZANJ(compat="0.6", error_mode="ignore").save({"o": Opaque()}, tmp_path / "x")


def test_a_frame_column_named_like_a_marker_is_refused(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("zanj_pandas")
    frame = pd.DataFrame({"__muutils_format__": ["a", "b"], "x": [1, 2]})
    with pytest.raises(ZanjSerializationError, match="df: column label '__muutils_format__' would read as a zanj"):
        COMPAT.save({"df": frame}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []
