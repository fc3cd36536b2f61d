"""zanj-torch: every dtype bit for bit, shared storage, parameters, devices, ConfiguredModel."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch_defs import MyNN, MyNNConfig, TiedConfig, TiedLM  # noqa: E402
from zanj06_corpus import CORPUS  # noqa: E402
from zanj_torch import (  # noqa: E402
    ConfigMismatchException,
    ConfiguredModel,
    ZanjDeviceError,
    assert_model_cfg_equality,
    assert_model_exact_equality,
    get_module_device,
    num_params,
)

from zanj_core import (  # noqa: E402
    ZANJ,
    ZanjError,
    ZanjFormatError,
    ZanjLimitError,
    ZanjMissingClassWarning,
    ZanjSerializationError,
    ZanjUnloaded,
)


def bits(t: Any) -> Any:
    if t.numel() == 0:
        return torch.empty(0, dtype=torch.uint8)
    fresh = torch.empty_like(t.detach(), memory_format=torch.contiguous_format).copy_(t.detach())
    return fresh.view(-1).view(torch.uint8)


def assert_same_tensor(a: Any, b: Any) -> None:
    assert isinstance(b, torch.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert torch.equal(bits(a), bits(b))


def _random(dtype: Any, shape: tuple[int, ...]) -> Any:
    n = 1
    for s in shape:
        n *= s
    size = torch.empty(0, dtype=dtype).element_size()
    raw = torch.randint(0, 256, (n * size,), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    if dtype == torch.bool:
        return (raw[:n] % 2).bool().reshape(shape)
    return raw.view(dtype).reshape(shape)


DTYPES = [
    d
    for d in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex32",
        "complex64",
        "complex128",
        "float8_e4m3fn",
        "float8_e5m2",
        "float8_e4m3fnuz",
        "float8_e5m2fnuz",
        "float8_e8m0fnu",
        "float4_e2m1fn_x2",
        "bits8",
        "bits16",
    )
    if hasattr(torch, d)
]


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("shape", [(3,), (20, 30)], ids=["inline", "external"])
def test_every_dtype_roundtrips_bit_for_bit(name: str, shape: tuple[int, ...], tmp_path: Path) -> None:
    tensor = _random(getattr(torch, name), shape)
    back = ZANJ().read(ZANJ().save({"t": tensor}, tmp_path / "t"))["t"]
    assert_same_tensor(tensor, back)


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("threshold", [0, 10**9], ids=["external", "inline"])
def test_empty_tensors_of_every_dtype_roundtrip(name: str, threshold: int, tmp_path: Path) -> None:
    """No elements, no bytes: read back without filling memory (torch has no `zeros` for some dtypes)."""
    zanj = ZANJ(external_array_threshold=threshold)
    for shape in [(0,), (3, 0)]:
        tensor = _random(getattr(torch, name), shape)
        assert_same_tensor(tensor, zanj.read(zanj.save([tensor], tmp_path / "e"))[0])


def test_dtype_without_numpy_is_raw_bits_in_a_valid_npy(zpath: Path) -> None:
    import numpy as np

    tensor = torch.randn(300, dtype=torch.bfloat16)
    ZANJ().save({"w": tensor}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        node = json.loads(zf.read("__zanj__.json"))["w"]
        with zf.open("w.npy") as fh:
            array = np.load(fh, allow_pickle=False)
    assert node["dtype"] == "bfloat16" and node["__muutils_format__"] == "torch.Tensor:external"
    assert array.dtype == np.dtype("<u2") and array.shape == (300,)
    assert np.array_equal(array, tensor.view(torch.int16).numpy().view("<u2"))


LAYOUTS = {
    "0-d": lambda: torch.tensor(-0.0),
    "empty": lambda: torch.zeros(0, 5),
    "transposed": lambda: torch.arange(600.0).reshape(20, 30).T,
    "strided": lambda: torch.arange(3000).reshape(30, 100)[::3, 1::7],
    "expanded": lambda: torch.arange(30.0).expand(20, 30),
    "nan payloads": lambda: (
        torch.tensor([0x7FC00001, 0xFF800002, 0x80000000], dtype=torch.int64).to(torch.int32).view(torch.float32)
    ),
    "conjugated view": lambda: torch.randn(400, dtype=torch.complex64).conj(),
    "negative view": lambda: torch.randn(400, dtype=torch.complex64).conj().imag,
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("threshold", [0, 256, 10**9], ids=["external", "default", "inline"])
def test_layouts(layout: str, threshold: int, tmp_path: Path) -> None:
    tensor = LAYOUTS[layout]()
    zanj = ZANJ(external_array_threshold=threshold)
    back = zanj.read(zanj.save([tensor], tmp_path / "l"))[0]
    expected = tensor.resolve_conj().resolve_neg()
    assert_same_tensor(expected, back)


SHAPES = [(), (1,), (7,), (20, 30), (2, 3, 4), (3, 0)]


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("name", DTYPES)
def test_external_tensors_of_every_dtype_and_rank_read_back_exactly(name: str, mapped: bool, tmp_path: Path) -> None:
    """A member holding exactly its node's tensor is read straight into that dtype (no byte
    view in between): every dtype and rank comes back bit for bit, read or mapped, each tensor
    over a storage of exactly its own bytes."""
    zanj = ZANJ(external_array_threshold=0)
    tensors = {f"t{i}": _random(getattr(torch, name), shape) for i, shape in enumerate(SHAPES)}
    back = zanj.read(zanj.save(tensors, tmp_path / "t"), mmap=mapped)
    for key, tensor in tensors.items():
        assert_same_tensor(tensor, back[key])
        assert back[key].is_contiguous() and back[key].storage_offset() == 0
        assert back[key].untyped_storage().nbytes() == tensor.numel() * tensor.element_size()


def _with_tree(path: Path, out: Path, edit: Any) -> Path:
    """`path` with its JSON tree replaced by `edit(tree)` (members unchanged)."""
    with zipfile.ZipFile(path) as zf:
        contents = {n: zf.read(n) for n in zf.namelist()}
    contents["__zanj__.json"] = json.dumps(edit(json.loads(contents["__zanj__.json"]))).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return out


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("order", ["external first", "view first", "two external nodes"])
def test_one_storage_serves_every_tensor_over_a_member(order: str, mapped: bool, tmp_path: Path) -> None:
    """The first tensor over a member reads it; every later one, whatever its form and order in
    the file, is a new tensor over that same storage (a forged second `external` node too)."""
    w = torch.randn(8, 4)
    path = Path(ZANJ().save({"a": w, "b": w[2:]}, tmp_path / "tied.zanj"))

    def edit(tree: dict[str, Any]) -> dict[str, Any]:
        if order == "view first":
            return {"b": tree["b"], "a": tree["a"]}
        if order == "two external nodes":
            return {**tree, "c": dict(tree["a"])}
        return tree

    edited = _with_tree(path, tmp_path / "edited.zanj", edit)
    for options in ({}, {"map_location": "cpu"}):
        back = ZANJ().read(edited, mmap=mapped, **options)
        assert_same_tensor(w, back["a"])
        assert_same_tensor(w[2:], back["b"])
        assert back["a"].data_ptr() + 8 * 4 == back["b"].data_ptr()
        if order == "two external nodes":
            assert_same_tensor(w, back["c"])
            assert back["c"] is not back["a"] and back["c"].data_ptr() == back["a"].data_ptr()
        back["a"][2, 0] = 1234.0
        assert back["b"][0, 0] == 1234.0


def test_layouts_agree_with_the_dtype_table() -> None:
    """What each dtype needs, worked out once per dtype or stored name, is what the dtype
    functions say; names outside the table have none."""
    from zanj_torch import dtypes

    for name, dtype in dtypes.DTYPES.items():
        for written in (name, f"torch.{name}"):
            layout = dtypes.layout_named(written)
            assert layout is not None and layout.dtype is dtype and layout.name == dtypes.dtype_name(dtype)
            assert (layout.stored, layout.native) == dtypes.numpy_dtype(dtype)
        assert dtypes.layout_of(dtype) == dtypes.layout_named(name)
    assert dtypes.layout_named("qint8") is None and dtypes.layout_of(torch.qint8) is None
    assert dtypes.layout_named("torch.onnx") is None and dtypes.layout_named("Float32") is None


def test_dtype_names_from_files_are_not_kept(tmp_path: Path) -> None:
    """Only names the dtype table knows are kept: a file of many unknown or forged names loads
    them as placeholders (or refuses them) without growing what is kept."""
    from zanj_torch import dtypes

    path = Path(ZANJ().save({"t": torch.ones(300)}, tmp_path / "t.zanj"))
    names = [f"float{n}" for n in range(100, 300)] + [f"torch.newtype{n}" for n in range(100)]
    many = _with_tree(path, tmp_path / "many.zanj", lambda tree: [{**tree["t"], "dtype": n} for n in names])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = ZANJ().read(many, mmap=True)
    assert all(isinstance(item, ZanjUnloaded) for item in back)
    forged = _with_tree(path, tmp_path / "forged.zanj", lambda tree: [{**tree["t"], "dtype": "Float32 "}])
    with pytest.raises(ZanjFormatError, match="not a torch dtype name"):
        ZANJ().read(forged)
    assert set(dtypes._BY_NAME) <= {*dtypes.DTYPES, *(f"torch.{n}" for n in dtypes.DTYPES)}


# -- shared storage ------------------------------------------------------------------------------


def test_tied_weights_are_stored_once_and_come_back_tied(zpath: Path) -> None:
    w = torch.randn(64, 32)
    ZANJ().save({"embed": w, "head": w, "again": w}, zpath)
    members = [n for n in zipfile.ZipFile(zpath).namelist() if n.endswith(".npy")]
    assert members == ["embed.npy"]
    back = ZANJ().read(zpath)
    assert back["embed"].data_ptr() == back["head"].data_ptr() == back["again"].data_ptr()
    back["head"][0, 0] = 42.0
    assert back["embed"][0, 0] == 42.0


def test_small_tied_tensors_are_promoted_to_one_member(zpath: Path) -> None:
    w = torch.arange(6.0)
    back = ZANJ().read(ZANJ().save({"a": w, "b": w}, zpath))
    assert back["a"].data_ptr() == back["b"].data_ptr()
    assert_same_tensor(w, back["b"])
    # the tag table names the tags the file holds, the promoted one included, and no other
    with zipfile.ZipFile(zpath) as zf:
        tree, meta = (json.loads(zf.read(name)) for name in ("__zanj__.json", "__zanj_meta__.json"))
    assert (
        set(meta["plugins"])
        == {tree["a"]["__muutils_format__"], tree["b"]["__muutils_format__"]}
        == {
            "torch.Tensor:external",
            "torch.Tensor:view",
        }
    )


def test_views_of_one_buffer_come_back_as_views(zpath: Path) -> None:
    buffer = torch.arange(1000, dtype=torch.float64)
    parts = {
        "first": buffer[:100],
        "second": buffer[100:300].reshape(20, 10),
        "strided": buffer[::7],
        "reinterpreted": buffer[:10].view(torch.int64),
    }
    back = ZANJ().read(ZANJ().save(parts, zpath))
    pointers = {t.untyped_storage().data_ptr() for t in back.values()}
    assert len(pointers) == 1
    for key, tensor in parts.items():
        assert_same_tensor(tensor, back[key])
        assert back[key].stride() == tensor.stride() and back[key].storage_offset() == tensor.storage_offset()
    back["first"][0] = -1.0
    assert back["strided"][0] == -1.0
    assert sum(1 for n in zipfile.ZipFile(zpath).namelist() if n.endswith(".npy")) == 1


def test_tied_model_state_dict(zpath: Path) -> None:
    model = TiedLM(TiedConfig(vocab=100, dim=8))
    back = ZANJ().read(ZANJ().save(model, zpath))
    assert back.embed.weight.data_ptr() == back.head.weight.data_ptr()
    assert_model_exact_equality(model, back)


def test_view_geometry_out_of_bounds_is_refused(zpath: Path, tmp_path: Path) -> None:
    buffer = torch.arange(1000.0)
    ZANJ().save({"a": buffer[:10], "b": buffer[10:20]}, zpath)
    with zipfile.ZipFile(zpath) as zf:
        contents = {n: zf.read(n) for n in zf.namelist()}
    tree = json.loads(contents["__zanj__.json"])
    tree["b"]["storage_offset"] = 10**9
    contents["__zanj__.json"] = json.dumps(tree).encode()
    bad = tmp_path / "bad.zanj"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    with pytest.raises(ZanjFormatError, match="reaches element"):
        ZANJ().read(bad)


# -- parameters, grads, devices, refusals ------------------------------------------------------------


def test_parameters_and_requires_grad(zpath: Path) -> None:
    obj = {
        "p": torch.nn.Parameter(torch.ones(3)),
        "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
        "leaf": torch.ones(2, requires_grad=True),
        "plain": torch.ones(2),
    }
    back = ZANJ().read(ZANJ().save(obj, zpath))
    assert type(back["p"]) is torch.nn.Parameter and back["p"].requires_grad
    assert type(back["frozen"]) is torch.nn.Parameter and not back["frozen"].requires_grad
    assert type(back["leaf"]) is torch.Tensor and back["leaf"].requires_grad
    assert not back["plain"].requires_grad


def test_map_location(zpath: Path) -> None:
    ZANJ().save({"t": torch.ones(500)}, zpath)
    assert ZANJ().read(zpath, map_location="cpu")["t"].device.type == "cpu"
    assert ZANJ().read(zpath, map_location=torch.device("cpu"))["t"].device.type == "cpu"
    assert ZANJ().read(zpath, map_location={"cuda:0": "cpu"})["t"].device.type == "cpu"
    with pytest.raises(ZanjFormatError, match="not a torch device"):
        ZANJ().read(zpath, map_location="nonsense-device")
    if not torch.cuda.is_available():  # the file is fine: a clear device error, not a format error
        for cuda in ("cuda", "cuda:0", torch.device("cuda"), {"cpu": "cuda:0"}):
            with pytest.raises(ZanjDeviceError, match="CUDA is not available") as caught:
                ZANJ().read(zpath, map_location=cuda)
            assert not isinstance(caught.value, ZanjFormatError)
    with pytest.raises(ZanjError, match="unknown read option"):
        ZANJ().read(zpath, map_locaton="cpu")


def test_mmap_tensors_are_copy_on_write(zpath: Path) -> None:
    original = torch.arange(100_000, dtype=torch.float32)
    ZANJ().save({"t": original}, zpath)
    before = zpath.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "non-writable array" warning from torch
        back = ZANJ().read(zpath, mmap=True)["t"]
    assert_same_tensor(original, back)
    back[0] = 123.0
    assert back[0] == 123.0 and zpath.read_bytes() == before


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: torch.eye(3).to_sparse(), "to_dense"),
        (lambda: torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8), "quantized"),
        (lambda: torch.empty(3, device="meta"), "meta"),
        (lambda: torch.nn.Linear(2, 2), "ConfiguredModel"),
    ],
    ids=["sparse", "quantized", "meta", "plain module"],
)
def test_unsupported_tensors_and_modules_are_refused(make: Any, needle: str, zpath: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = make()
    with pytest.raises(ZanjSerializationError, match=needle):
        ZANJ().save({"x": value}, zpath)
    assert not zpath.exists()


# -- ConfiguredModel ---------------------------------------------------------------------------------


def _readme_model() -> MyNN:
    config = MyNNConfig(
        input_dim=10,
        hidden_dim=20,
        output_dim=2,
        act_fn=torch.nn.ReLU,
        loss_kwargs=dict(reduction="mean"),
    )
    return MyNN(config)


def test_readme_model_example(tmp_path: Path) -> None:
    model = _readme_model()
    fname = str(tmp_path / "junk_data" / "path_to_save_model.zanj")
    ZANJ().save(model, fname)
    loaded_model = MyNN.read(fname)
    loaded_another_way = ZANJ().read(fname)
    for loaded in (loaded_model, loaded_another_way):
        assert type(loaded) is MyNN
        assert_model_exact_equality(model, loaded)
        assert loaded.zanj_model_config.act_fn is torch.nn.ReLU
        assert isinstance(loaded.zanj_model_config.loss, torch.nn.CrossEntropyLoss)
    x = torch.randn(4, 10)
    assert torch.equal(model(x), loaded_model(x))


def test_model_save_method_training_records_and_helpers(tmp_path: Path) -> None:
    model = _readme_model()
    model.training_records = {"loss": [0.5, 0.25], "epochs": 2}
    path = model.save(str(tmp_path / "m"))
    assert path.endswith(".zanj")
    back = MyNN.read(path)
    assert back.training_records == {"loss": [0.5, 0.25], "epochs": 2}
    assert back.num_params() == num_params(model) == 10 * 20 + 20 + 20 * 2 + 2
    assert get_module_device(back) == (True, torch.device("cpu"))
    with pytest.warns(DeprecationWarning):
        assert type(MyNN.load_file(path)) is MyNN
    tree = json.loads(zipfile.ZipFile(path).read("__zanj__.json"))
    assert tree["__muutils_format__"] == "zanj_torch.ConfiguredModel"
    assert tree["__zanj_class__"] == "torch_defs:MyNN"
    assert "source" not in json.dumps(tree)


def test_read_classmethod_checks_the_class(tmp_path: Path) -> None:
    path = ZANJ().save(TiedLM(TiedConfig(10, 4)), tmp_path / "tied")
    with pytest.raises(ZanjError, match="not a MyNN"):
        MyNN.read(path)


def test_config_mismatch_and_exact_equality() -> None:
    a, b = _readme_model(), _readme_model()
    assert_model_cfg_equality(a, b)
    with pytest.raises(AssertionError, match="don't match"):
        assert_model_exact_equality(a, b)  # same config, different random weights
    c = MyNN(MyNNConfig(10, 21, 2, act_fn=torch.nn.ReLU))
    with pytest.raises(ConfigMismatchException) as info:
        assert_model_cfg_equality(a, c)
    assert "hidden_dim" in str(info.value)


def test_assertion_helpers_raise_assertion_errors_as_zanj06() -> None:
    a = _readme_model()
    with pytest.raises(AssertionError, match=r"^model_b must be a ConfiguredModel$"):
        assert_model_cfg_equality(a, "not a model")  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match=r"^model_a must be a ConfiguredModel$"):
        assert_model_exact_equality(None, a)  # type: ignore[arg-type]
    tied = TiedLM(TiedConfig(10, 4))
    tied.zanj_model_config = a.zanj_model_config  # the same config, weights of other names
    with pytest.raises(AssertionError, match="state dict keys don't match"):
        assert_model_exact_equality(a, tied)


@pytest.mark.parametrize("compat", [None, "0.6"])
def test_a_saved_serialize_dict_is_the_model(compat: str | None, tmp_path: Path) -> None:
    """`serialize()` keeps the model's tag: saving its dict writes the same node as saving the
    model (zanj 0.6's `ZANJ().save(model.serialize(), p)`, then `Model.read(p)`)."""
    model = _readme_model()
    model.training_records = {"loss": [1.5]}
    serialized = model.serialize()
    assert isinstance(serialized, dict) and serialized["__muutils_format__"] == "zanj_torch.ConfiguredModel"
    assert serialized["__zanj_class__"] == "torch_defs:MyNN"
    assert serialized["zanj_model_config"] is model.zanj_model_config
    zanj = ZANJ(compat=compat)
    from_dict = zanj.save(serialized, tmp_path / "from_dict")
    from_model = zanj.save(model, tmp_path / "from_model")
    trees = [json.loads(zipfile.ZipFile(p).read("__zanj__.json")) for p in (from_dict, from_model)]
    assert trees[0] == trees[1]
    assert trees[0]["__muutils_format__"] == ("MyNN" if compat else "zanj_torch.ConfiguredModel")
    back = MyNN.read(from_dict)
    assert type(back) is MyNN and back.training_records == {"loss": [1.5]}
    assert_model_exact_equality(model, back)
    assert MyNN.load(model.serialize((), zanj), ()).zanj_model_config == model.zanj_model_config


def test_a_serialized_model_without_its_class_is_refused(tmp_path: Path) -> None:
    serialized = _readme_model().serialize()
    del serialized["__zanj_class__"]
    with pytest.raises(ZanjSerializationError, match="lacks its '__zanj_class__'"):
        ZANJ().save(serialized, tmp_path / "x")


def test_get_handler_reads_zanj06_model_nodes(tmp_path: Path) -> None:
    handler = MyNN.get_handler()
    assert handler.tag == "MyNN" and handler.match == "exact" and "map_location" in handler.options
    path = ZANJ(compat="0.6").save(_readme_model(), tmp_path / "m06")
    assert type(ZANJ().read(path)) is MyNN  # through the handler @set_config_class registered


def test_read_of_another_class_is_a_zanj_error_and_an_assertion_error(tmp_path: Path) -> None:
    path = ZANJ().save({"a": 1}, tmp_path / "d")
    with pytest.raises(ZanjError, match="not a MyNN") as info:
        MyNN.read(path)
    assert isinstance(info.value, AssertionError)


def test_load_state_dict_wrapper_gets_custom_settings(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    class Recording(MyNN):
        def _load_state_dict_wrapper(self, state_dict: dict[str, Any], **kwargs: Any) -> Any:
            calls.append(kwargs)
            return self.load_state_dict(state_dict, strict=kwargs.get("strict", True))

    model = Recording(_readme_model().zanj_model_config)
    zanj = ZANJ(custom_settings={"_load_state_dict_wrapper": {"strict": False}})
    back = zanj.read(zanj.save(model, tmp_path / "r"))
    assert type(back) is Recording and calls == [{"strict": False}]
    with pytest.raises(ZanjFormatError, match="unexpected arguments"):
        zanj.read(zanj.save(_readme_model(), tmp_path / "plain"))


def test_set_config_class_checks_its_arguments() -> None:
    from zanj_torch import set_config_class

    with pytest.raises(TypeError):
        set_config_class(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        set_config_class(MyNNConfig)(object)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="instance of MyNNConfig"):
        MyNN(TiedConfig(1, 1))  # type: ignore[arg-type]

    class Undecorated(ConfiguredModel):  # type: ignore[type-arg]
        pass

    with pytest.raises(NotImplementedError, match="set_config_class"):
        Undecorated(TiedConfig(1, 1))


def test_undefined_model_class_warns_and_returns_raw_node(tmp_path: Path) -> None:
    path = tmp_path / "m.zanj"
    code = textwrap.dedent(
        """
        import sys, torch
        from muutils.json_serialize import SerializableDataclass, serializable_dataclass
        from zanj_torch import ConfiguredModel, set_config_class

        @serializable_dataclass
        class Cfg(SerializableDataclass):
            n: int

        @set_config_class(Cfg)
        class Elsewhere(ConfiguredModel[Cfg]):
            def __init__(self, config):
                super().__init__(config)
                self.lin = torch.nn.Linear(config.n, 1)

        Elsewhere(Cfg(3)).save(sys.argv[1])
        """
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    with pytest.warns(ZanjMissingClassWarning, match=r"__main__:Elsewhere.*never imports"):
        back = ZANJ().read(path)
    assert isinstance(back, ZanjUnloaded) and "state_dict" in back.node


def test_torch_is_not_imported_for_numpy_only_files(tmp_path: Path) -> None:
    code = (
        "import sys, numpy as np, zanj_core\n"
        f"p = zanj_core.ZANJ().save({{'a': np.arange(1000.0), 'b': [1, 2]}}, {str(tmp_path / 'x')!r})\n"
        "zanj_core.ZANJ().read(p)\n"
        "import zanj_torch\n"  # importing the package alone must not import torch either
        "print('torch' in sys.modules, 'zanj_torch.plugin' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


# -- zanj 0.6 files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["torch.zanj", "torch_stored.zanj"])
def test_reads_zanj06_tensors(name: str) -> None:
    if not (CORPUS / name).exists():
        pytest.skip("corpus without torch files")
    back = ZANJ().read(CORPUS / name)
    assert_same_tensor(torch.arange(10, dtype=torch.float32), back["small"])
    assert_same_tensor(torch.arange(1000, dtype=torch.int64).reshape(10, 100), back["big"])


@pytest.mark.skipif(not (CORPUS / "model.zanj").exists(), reason="corpus without a model file")
def test_reads_zanj06_model() -> None:
    back = ZANJ().read(CORPUS / "model.zanj")
    assert type(back) is MyNN
    assert back.zanj_model_config.hidden_dim == 20 and back.zanj_model_config.act_fn is torch.nn.ReLU
    torch.manual_seed(0)
    assert_model_exact_equality(MyNN(back.zanj_model_config), back)


@given(
    st.sampled_from(DTYPES),
    st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple),
    st.sampled_from(["contiguous", "transposed", "sliced"]),
    st.sampled_from([0, 10**9]),
)
def test_hypothesis_tensors(
    tmp_path_factory: pytest.TempPathFactory, name: str, shape: tuple[int, ...], layout: str, threshold: int
) -> None:
    tensor = _random(getattr(torch, name), shape)
    if layout == "transposed" and tensor.ndim >= 2:
        tensor = tensor.transpose(0, 1)
    elif layout == "sliced" and tensor.ndim >= 1:
        tensor = tensor[::2]
    zanj = ZANJ(external_array_threshold=threshold)
    back = zanj.read(zanj.save([tensor], tmp_path_factory.mktemp("h") / "t"))[0]
    assert_same_tensor(tensor, back)


def _rewrite_main(source: Path, target: Path, change: Any) -> None:
    """Copy `source` to `target` with its `__zanj__.json` passed through `change`."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "__zanj__.json":
                tree = json.loads(data)
                change(tree)
                data = json.dumps(tree).encode()
            zout.writestr(info, data)


def test_a_forged_model_config_is_charged_before_the_model_is_built(tmp_path: Path) -> None:
    """The configuration comes from the file: a model built from `vocab=10**8` would allocate
    tens of GB in its own __init__ before a weight is compared. It is built on the meta device
    first and what it would allocate is charged to the read's budget."""
    source = Path(ZANJ().save(TiedLM(TiedConfig(vocab=10, dim=4)), tmp_path / "small"))

    def grow(tree: dict[str, Any]) -> None:
        tree["zanj_model_config"]["vocab"] = 10**8
        tree["zanj_model_config"]["dim"] = 1024

    forged = tmp_path / "forged.zanj"
    _rewrite_main(source, forged, grow)
    with pytest.raises(ZanjLimitError, match="parameters and buffers TiedLM's configuration builds"):
        ZANJ().read(forged)
    assert isinstance(ZANJ().read(source), TiedLM)
