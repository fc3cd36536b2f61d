"""`zanj.torchutil`: zanj 0.6's ConfiguredModel API, served by zanj-torch (compat/zanj)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("zanj")
torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")

import zanj_torch  # noqa: E402
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field  # noqa: E402
from zanj import ZANJ  # noqa: E402
from zanj.torchutil import (  # noqa: E402
    ConfigMismatchException,
    ConfiguredModel,
    assert_model_cfg_equality,
    assert_model_exact_equality,
    get_module_device,
    num_params,
    set_config_class,
)


@serializable_dataclass
class GPTConfig(SerializableDataclass):
    n_layers: int
    width: int
    junk: Any = serializable_field(default_factory=dict)
    optim_factory: typing.Any = serializable_field(
        default_factory=lambda: torch.optim.Adam,
        serialization_fn=lambda x: x.__name__,
        loading_fn=lambda data: getattr(torch.optim, data["optim_factory"]),
    )


@set_config_class(GPTConfig)
class TinyGPT(ConfiguredModel[GPTConfig]):
    """A stack of linear layers."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__(config)
        self.layers = torch.nn.ModuleList(torch.nn.Linear(config.width, config.width) for _ in range(config.n_layers))

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x


def test_torchutil_is_zanj_torchs_api() -> None:
    assert assert_model_exact_equality is not zanj_torch.assert_model_exact_equality, "0.6's prints its checks"
    assert ConfiguredModel is zanj_torch.ConfiguredModel and set_config_class is zanj_torch.set_config_class
    assert num_params is zanj_torch.num_params and get_module_device is zanj_torch.get_module_device


@pytest.mark.parametrize("how", ["ZANJ().save", "model.save"])
def test_models_round_trip_by_class_and_by_zanj(how: str, tmp_path: Path) -> None:
    model = TinyGPT(GPTConfig(2, 8, {"a": 1}, optim_factory=torch.optim.SGD))
    model.training_records = {"loss": [3.0, 2.0, 1.0], "epochs": 3}
    path = str(tmp_path / "m.zanj")
    ZANJ().save(model, path) if how == "ZANJ().save" else model.save(path)
    for back in (TinyGPT.read(path), ZANJ().read(path)):
        assert type(back) is TinyGPT and back.training_records == model.training_records
        assert back.zanj_model_config.optim_factory is torch.optim.SGD
        assert_model_exact_equality(model, back)


def test_a_saved_serialize_dict_reads_back_as_the_model(tmp_path: Path) -> None:
    model = TinyGPT(GPTConfig(1, 4))
    serialized = model.serialize()
    assert {"__muutils_format__", "zanj_model_config", "state_dict", "training_records", "meta"} <= set(serialized)
    path = str(tmp_path / "s.zanj")
    ZANJ().save(serialized, path)
    back = TinyGPT.read(path)
    assert type(back) is TinyGPT
    assert_model_exact_equality(model, back)
    assert model.serialize((), ZANJ()).keys() == serialized.keys(), "0.6's path and zanj parameters are accepted"


def test_load_state_dict_wrapper_receives_custom_settings(tmp_path: Path) -> None:
    received: list[Any] = []

    @set_config_class(GPTConfig)
    class Recording(TinyGPT):
        def _load_state_dict_wrapper(self, state_dict: Any, **kwargs: Any) -> Any:
            received.append(kwargs.get("custom_param"))
            return super()._load_state_dict_wrapper(state_dict)

    path = ZANJ().save(Recording(GPTConfig(1, 4)), tmp_path / "r")
    z = ZANJ(custom_settings={"_load_state_dict_wrapper": {"custom_param": "value"}})
    assert type(z.read(path)) is Recording and received == ["value"]


def test_read_of_another_object_is_an_assertion_error(tmp_path: Path) -> None:
    path = ZANJ().save({"not": "a model"}, tmp_path / "d")
    with pytest.raises(AssertionError, match="not a TinyGPT"):
        TinyGPT.read(path)


def test_deprecated_load_file_warns(tmp_path: Path) -> None:
    model = TinyGPT(GPTConfig(1, 4))
    path = ZANJ().save(model, tmp_path / "d")
    with pytest.warns(DeprecationWarning):
        assert_model_exact_equality(model, TinyGPT.load_file(path))


def test_construction_errors_say_what_to_do() -> None:
    class Undecorated(ConfiguredModel):  # type: ignore[type-arg]
        pass

    with pytest.raises(NotImplementedError, match="need to set"):
        Undecorated(GPTConfig(1, 1))
    with pytest.raises(TypeError, match="must be an instance of"):
        TinyGPT({"n_layers": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a subclass of SerializableDataclass"):
        set_config_class(dict)  # type: ignore[arg-type]


def test_assertion_helpers_raise_as_zanj06() -> None:
    a = TinyGPT(GPTConfig(2, 4, {"a": 1}))
    b = TinyGPT(GPTConfig(2, 4, {"a": 1}))
    assert_model_cfg_equality(a, b)
    with pytest.raises(AssertionError, match="state dict elements don't match"):
        assert_model_exact_equality(a, b)
    b.load_state_dict(a.state_dict())
    assert_model_exact_equality(a, b)
    with pytest.raises(AssertionError) as info:
        assert_model_cfg_equality(a, "not a model")  # type: ignore[arg-type]
    assert str(info.value) == "model_b must be a ConfiguredModel"
    c = TinyGPT(GPTConfig(3, 4, "not even a dict"))
    with pytest.raises(ConfigMismatchException) as mismatch:
        assert_model_cfg_equality(a, c)
    assert mismatch.value.diff == {
        "n_layers": {"self": 2, "other": 3},
        "junk": {"self": {"a": 1}, "other": "not even a dict"},
    }

    class Other(ConfiguredModel[GPTConfig]):
        _config_class = GPTConfig

        def __init__(self, config: GPTConfig) -> None:
            super().__init__(config)
            self.different = torch.nn.Linear(4, 4)

    with pytest.raises(AssertionError, match="state dict keys don't match"):
        assert_model_exact_equality(a, Other(GPTConfig(2, 4, {"a": 1})))


def test_exact_equality_prints_each_entry_as_zanj06_and_zanj_torch_stays_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    torch.manual_seed(0)
    a, b = TinyGPT(GPTConfig(2, 4)), TinyGPT(GPTConfig(2, 4))
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        b.layers[1].bias[0] += 1
    with pytest.raises(AssertionError, match=r"1 / 4 state dict elements don't match: \['layers.1.bias'\]"):
        assert_model_exact_equality(a, b)
    assert capsys.readouterr().out.splitlines() == [
        "passed layers.0.weight",
        "passed layers.0.bias",
        "passed layers.1.weight",
        "failed layers.1.bias",
    ]
    b.load_state_dict(a.state_dict())
    assert_model_exact_equality(a, b)
    assert capsys.readouterr().out.count("passed") == 4
    with pytest.raises(AssertionError):
        zanj_torch.assert_model_exact_equality(a, TinyGPT(GPTConfig(2, 4)))
    zanj_torch.assert_model_exact_equality(a, b)
    assert capsys.readouterr().out == ""


def test_helpers_count_and_locate_parameters() -> None:
    frozen = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.BatchNorm1d(20), torch.nn.Linear(20, 1))
    for parameter in frozen[1].parameters():
        parameter.requires_grad = False
    assert num_params(frozen, only_trainable=False) - num_params(frozen) == 40
    assert get_module_device(torch.nn.Sequential()) == (False, {})
    assert get_module_device(torch.nn.Linear(2, 2)) == (True, torch.device("cpu"))


def test_tensors_in_dataclasses_round_trip(tmp_path: Path) -> None:
    @serializable_dataclass
    class Tensors(SerializableDataclass):
        small: torch.Tensor
        flags: torch.Tensor
        big: torch.Tensor

    instance = Tensors(torch.rand(8), torch.tensor([True, False, True]), torch.rand(300, 3))
    back = ZANJ().read(ZANJ().save(instance, tmp_path / "t"))
    for field in ("small", "flags", "big"):
        got, want = getattr(back, field), getattr(instance, field)
        assert got.dtype == want.dtype and torch.equal(got, want)
