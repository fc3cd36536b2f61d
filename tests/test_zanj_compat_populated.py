"""`load_item_recursive` on JSON in memory whose externals `LoadedZANJ.populate_externals()`
put under "data", as zanj 0.6 read a file's parts: each node loads from its data, exactly as
`ZANJ().read` loads it from the member. An external node without its data comes back as the
raw dict, as in 0.6 (compat/zanj)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zanj")
np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

import zanj.loading  # noqa: E402
from muutils.json_serialize import SerializableDataclass, serializable_dataclass  # noqa: E402
from zanj import ZANJ  # noqa: E402
from zanj.consts import _FORMAT_KEY, _REF_KEY  # noqa: E402
from zanj.loading import LoadedZANJ, LoaderHandler, load_item_recursive, register_loader_handler  # noqa: E402
from zanj.serializing import zanj_external_serialize  # noqa: E402
from zanj06_corpus import CORPUS  # noqa: E402

import zanj_core  # noqa: E402


@serializable_dataclass
class WeightsAndRows(SerializableDataclass):
    name: str
    weights: np.ndarray
    rows: list  # type: ignore[type-arg]


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types, arrays and tensors bit for bit, frames with their dtypes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if type(a).__module__.startswith("torch"):
        return bool(a.dtype == b.dtype and a.shape == b.shape and (a == b).all())
    if hasattr(a, "equals"):  # pandas and polars frames
        return bool(a.equals(b)) and list(map(str, a.dtypes)) == list(map(str, b.dtypes))
    if isinstance(a, WeightsAndRows):
        return _same((a.name, a.weights, a.rows), (b.name, b.weights, b.rows))
    return bool(a == b)


def _populated(path: str | Path, z: ZANJ) -> Any:
    loaded = LoadedZANJ(path, z)
    loaded.populate_externals()
    return loaded._json_data


def _objects() -> dict[str, Any]:
    rng = np.random.default_rng(3)
    objects: dict[str, Any] = {
        "array": rng.random((20, 3)).astype(np.float32),
        "small": np.arange(3, dtype=np.int16),
        "list of arrays": [np.arange(10), {"k": np.ones(12, dtype=np.uint8)}, 1, "s"],
        "long tuple": tuple(range(12)),
        "holder": WeightsAndRows("h", rng.random(16), [np.arange(9.0), 2, 3, 4, 5]),
    }
    pandas = pytest.importorskip("pandas")
    objects["frame"] = pandas.DataFrame({"x": np.arange(5), "s": list("abcde")})
    try:
        import torch

        objects["tensor"] = torch.arange(30, dtype=torch.float64).reshape(5, 6)
    except ImportError:
        pass
    try:
        import polars

        objects["polars"] = polars.DataFrame({"x": [1, 2, 3], "s": ["a", "b", None]})
    except ImportError:
        pass
    return objects


@pytest.mark.parametrize("with_zanj", [True, False])
def test_a_populated_file_loads_as_the_file_reads(with_zanj: bool, tmp_path: Path) -> None:
    z = ZANJ(external_array_threshold=8, external_list_threshold=4)
    objects = _objects()
    path = z.save(objects, tmp_path / "all")
    assert len(LoadedZANJ(path, z)._externals) >= 8, "every kind of member is exercised"
    loaded = load_item_recursive(_populated(path, z), (), z if with_zanj else None)
    expected = z.read(path)
    assert _same(loaded, expected) and _same(expected["holder"], objects["holder"])


@pytest.mark.parametrize("name", ["externals", "frames", "arrays", "torch", "polars_frames"])
def test_a_populated_zanj06_file_loads_as_the_file_reads(name: str) -> None:
    if name == "torch":
        pytest.importorskip("zanj_torch")
    if name == "polars_frames":
        pytest.importorskip("zanj_polars")
    pytest.importorskip("pandas")
    path, z = CORPUS / f"{name}.zanj", ZANJ()
    loaded = load_item_recursive(_populated(path, z), (), z)
    assert _same(loaded, z.read(path))


def test_an_external_node_without_its_data_is_the_raw_dict(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    z = ZANJ(external_array_threshold=4, external_list_threshold=4)
    for obj in (pandas.DataFrame({"a": [1, 2]}), np.arange(10), list(range(10))):
        node = z.json_serialize(obj)
        assert isinstance(node, dict) and isinstance(node[_REF_KEY], str)
        assert load_item_recursive(node, (), z) == node
    path = z.save({"w": np.arange(10)}, tmp_path / "unpopulated")
    raw = LoadedZANJ(path, z)._json_data
    assert load_item_recursive(raw, (), z) == raw


def test_populated_data_of_the_wrong_kind_is_a_clear_error(tmp_path: Path) -> None:
    z = ZANJ(external_array_threshold=4)
    node = z.json_serialize(np.arange(10.0), ("w",))
    with pytest.raises(
        zanj_core.ZanjFormatError, match=r"'numpy.ndarray:external' node at w holds a dict under 'data'"
    ):
        load_item_recursive({"w": {**node, "data": {"a": 1}}}, (), z)  # .npy never holds objects
    for wrong in ("not an array", np.arange(3.0)):  # another dtype, another shape than the node's
        with pytest.raises(zanj_core.ZanjFormatError, match=r"<memory>: member 'w.npy' \(at w\) is not a valid .npy"):
            load_item_recursive({"w": {**node, "data": wrong}}, (), z)


@pytest.fixture
def half_loader() -> Iterator[LoaderHandler]:
    handler = LoaderHandler(
        check=lambda json_item, path=None, z=None: False,
        load=lambda json_item, path=None, z=None: ("half", np.asarray(json_item["data"], dtype=np.float16)),
        uid="tests.half_array",
        source_pckg=__name__,
    )
    register_loader_handler(handler)
    yield handler
    zanj.loading.LOADER_MAP.pop(handler.uid, None)
    record = zanj.loading._IN_CORE.pop(handler.uid, None)
    if record is not None:
        zanj_core.REGISTRY.unregister(record)


def test_a_06_loader_gets_the_populated_node_as_it_is(half_loader: LoaderHandler, tmp_path: Path) -> None:
    from muutils.json_serialize.json_serialize import SerializerHandler

    halves = SerializerHandler(
        check=lambda self, obj, path: isinstance(obj, np.ndarray) and obj.dtype == np.float16,
        serialize_func=lambda self, obj, path: zanj_external_serialize(self, obj, path, "npy", "tests.half_array"),
        uid="halves",
        desc="half arrays as members",
    )
    z = ZANJ(handlers_pre=(halves,))
    path = z.save({"h": np.ones(5, dtype=np.float16)}, tmp_path / "h")
    populated = _populated(path, z)
    assert populated["h"][_FORMAT_KEY] == "tests.half_array" and "data" in populated["h"]
    kind, values = load_item_recursive(populated, (), z)["h"]
    assert kind == "half" and values.dtype == np.float16 and values.tolist() == [1.0] * 5
