"""`ConfiguredModel`: a torch module saved as its configuration plus its weights.

The behaviour of zanj 0.6's `torchutil`, on the plugin machinery: a model node carries the
config dataclass, the state dict (tensors as members, tied weights stored once), the training
records and a little metadata (no source code). Reading rebuilds the model by calling the
class with the config and loading the state dict, so nothing from the file is ever executed;
the class must be one the program has defined.
"""

from __future__ import annotations

import abc
import typing
import warnings
from typing import Any, TypeVar

import torch
from muutils.json_serialize import SerializableDataclass
from zanj_numpy import shown

from zanj_core.plugin import (
    FORMAT_KEY,
    JSONdict,
    LoadContext,
    LoaderHandler,
    ObjectPath,
    SaveContext,
    ZanjError,
    ZanjFormatError,
    ZanjMissingClassWarning,
    ZanjSerializationError,
    class_key,
    format_path,
    node_fields,
    register_loader_handler,
    resolve_class,
)

if typing.TYPE_CHECKING:
    from zanj_core import ZANJ

MODEL_TAG = "zanj_torch.ConfiguredModel"
CLASS_KEY = "__zanj_class__"
T_config = TypeVar("T_config", bound=SerializableDataclass)
M = TypeVar("M", bound="ConfiguredModel[Any]")


def num_params(m: torch.nn.Module, only_trainable: bool = True) -> int:
    """Number of parameters, shared ones counted once; `only_trainable=False` counts frozen ones."""
    parameters = [p for p in m.parameters() if p.requires_grad or not only_trainable]
    unique = {p.data_ptr(): p for p in parameters}
    return sum(p.numel() for p in unique.values())


def get_module_device(m: torch.nn.Module) -> tuple[bool, torch.device | dict[str, torch.device]]:
    """(True, device) when every parameter is on one device, else (False, {name: device})."""
    devices = {name: p.device for name, p in m.named_parameters()}
    if not devices:
        return False, devices
    first = next(iter(devices.values()))
    if all(device == first for device in devices.values()):
        return True, first
    return False, devices


class SerializedModel(dict):  # type: ignore[type-arg]
    """What `ConfiguredModel.serialize()` returns: the model's fields, tagged as the model (its
    `__muutils_format__` and class), so saving this dict writes the model itself."""


class ZanjWrongModelError(ZanjError, AssertionError):
    """`Model.read(path)` found another object in the file (an `AssertionError`, as in zanj 0.6)."""


class ConfiguredModel(torch.nn.Module, typing.Generic[T_config], metaclass=abc.ABCMeta):
    """A model built from a configuration dataclass only, saved with zanj as config + weights.

    ```python
    @set_config_class(MyConfig)
    class MyModel(ConfiguredModel[MyConfig]):
        def __init__(self, config: MyConfig):
            super().__init__(config)
            ...
    ```

    `__init__` must build the model from the config alone and call `super().__init__(config)`.
    With several base classes, `ConfiguredModel` must come first.
    """

    _config_class: type | None = None
    zanj_config_class = property(lambda self: type(self)._config_class)

    def __init__(self, zanj_model_config: T_config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.zanj_config_class is None:
            raise NotImplementedError(
                f"you need to set the config class of {type(self).__name__}: decorate it with @set_config_class(YourConfig)"
            )
        if not isinstance(zanj_model_config, self.zanj_config_class):
            raise TypeError(
                f"config must be an instance of {self.zanj_config_class.__name__}, got {type(zanj_model_config).__name__}"
            )
        self.zanj_model_config: T_config = zanj_model_config
        self.training_records: dict[str, Any] | None = None

    def serialize(self, path: ObjectPath = (), zanj: ZANJ | None = None) -> SerializedModel:
        """What is saved, as Python objects tagged as this model; the walk turns them into JSON
        and members, so `ZANJ().save(model.serialize(), p)` writes the same file as saving the
        model. `path` and `zanj` are zanj 0.6's parameters: the walk, not this method, uses them.

        Override (calling super) to save more; `load` receives the same keys back, loaded."""
        return SerializedModel(
            {
                FORMAT_KEY: MODEL_TAG,
                CLASS_KEY: class_key(type(self)),
                "zanj_model_config": self.zanj_model_config,
                "meta": {
                    "class_name": type(self).__name__,
                    "module_name": type(self).__module__,
                    "num_params": num_params(self),
                },
                "training_records": self.training_records,
                "state_dict": self.state_dict(),
            }
        )

    @classmethod
    def load(cls: type[M], obj: dict[str, Any], path: ObjectPath = (), zanj: ZANJ | None = None) -> M:
        """Build a model from a loaded `serialize()` dict: config -> `cls(config)` -> state dict."""
        config = obj["zanj_model_config"]
        if isinstance(config, dict) and cls._config_class is not None:
            config = cls._config_class.load(config)  # type: ignore[attr-defined]
        model = cls(config)
        settings = zanj.custom_settings.get("_load_state_dict_wrapper", {}) if zanj is not None else {}
        model._load_state_dict_wrapper(obj["state_dict"], **settings)
        model.training_records = obj.get("training_records")
        return model

    def _load_state_dict_wrapper(self, state_dict: dict[str, torch.Tensor], **kwargs: Any) -> Any:
        """Override to change how weights are loaded; receives
        `ZANJ(custom_settings={"_load_state_dict_wrapper": {...}})` as keyword arguments."""
        if kwargs:  # an AssertionError, as in zanj 0.6
            raise AssertionError(
                f"_load_state_dict_wrapper got unexpected arguments {sorted(kwargs)}; override it to use them"
            )
        return self.load_state_dict(state_dict)

    def save(self, file_path: str, zanj: ZANJ | None = None) -> str:
        from zanj_core import ZANJ

        return (zanj or ZANJ()).save(self, file_path)

    @classmethod
    def read(cls: type[M], file_path: str, zanj: ZANJ | None = None, **options: Any) -> M:
        """Read a model saved by `save` (or `ZANJ().save`); the file must hold a `cls`."""
        from zanj_core import ZANJ

        model = (zanj or ZANJ()).read(file_path, **options)
        if not isinstance(model, cls):
            raise ZanjWrongModelError(
                f"{file_path} holds a {type(model).__module__}.{type(model).__qualname__}, not a {cls.__name__}"
            )
        return model

    @classmethod
    def get_handler(cls) -> LoaderHandler:
        """The loader of zanj 0.6 files holding this class (tagged with its bare name), which
        `@set_config_class` registers; current files are read by zanj-torch's own loader."""
        return LoaderHandler(
            tag=cls.__name__,
            load=lambda node, path, ctx: _load_as(cls, node, path, ctx),
            description=f"zanj 0.6 files holding {class_key(cls)}",
            options=("map_location",),
            children=node_fields,
        )

    @classmethod
    def load_file(cls: type[M], file_path: str, zanj: ZANJ | None = None) -> M:
        """Deprecated alias of `read`."""
        warnings.warn("load_file() is deprecated, use read() instead", DeprecationWarning, stacklevel=2)
        return cls.read(file_path, zanj)

    def num_params(self) -> int:
        return num_params(self)


def set_config_class(config_class: type[SerializableDataclass]) -> typing.Callable[[type[M]], type[M]]:
    """Class decorator tying a `ConfiguredModel` subclass to its config dataclass."""
    if not (isinstance(config_class, type) and issubclass(config_class, SerializableDataclass)):
        raise TypeError(f"{config_class} must be a subclass of SerializableDataclass (muutils)")

    def wrapper(cls: type[M]) -> type[M]:
        if not (isinstance(cls, type) and issubclass(cls, ConfiguredModel)):
            raise TypeError(f"@set_config_class decorates ConfiguredModel subclasses, not {cls}")
        cls._config_class = config_class
        # zanj 0.6 tagged models with the bare class name: read those files too
        register_loader_handler(cls.get_handler())
        return cls

    return wrapper


class ConfigMismatchException(ValueError):
    """Two models' configurations differ (`assert_model_cfg_equality`); `diff` says where."""

    def __init__(self, msg: str, diff: Any) -> None:
        super().__init__(msg)
        self.diff = diff

    def __str__(self) -> str:
        return f"{super().__str__()}: {self.diff}"


def assert_model_cfg_equality(model_a: ConfiguredModel[Any], model_b: ConfiguredModel[Any]) -> None:
    """Both are ConfiguredModels with equal configs; else `ConfigMismatchException` with a diff.

    An argument that is not a model (or has no config) raises `AssertionError`, as in zanj 0.6."""
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(model, ConfiguredModel):
            raise AssertionError(f"{name} must be a ConfiguredModel")
        if not isinstance(model.zanj_model_config, SerializableDataclass):
            raise AssertionError(f"{name} must have a zanj_model_config")
    if not model_a.zanj_model_config == model_b.zanj_model_config:
        raise ConfigMismatchException(
            f"configs of type {type(model_a.zanj_model_config).__name__}, "
            f"{type(model_b.zanj_model_config).__name__} don't match",
            diff=model_a.zanj_model_config.diff(model_b.zanj_model_config),
        )


def assert_model_exact_equality(
    model_a: ConfiguredModel[Any],
    model_b: ConfiguredModel[Any],
    *,
    report: typing.Callable[[str, bool], None] | None = None,
) -> None:
    """Equal configs and bit-identical state dicts (same keys, dtypes, shapes, values).
    `report(key, equal)` hears about each state dict entry, in order, once the keys match
    (zanj 1.0's `zanj.torchutil` prints them, as zanj 0.6 did)."""
    assert_model_cfg_equality(model_a, model_b)
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if set(state_a) != set(state_b):
        raise AssertionError(
            f"state dict keys don't match: {sorted(set(state_a) - set(state_b))} / {sorted(set(state_b) - set(state_a))}"
        )
    failed: list[str] = []
    for key, a in state_a.items():
        b = state_b[key]
        equal = a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.cpu(), b.cpu())
        if report is not None:
            report(key, equal)
        if not equal:
            failed.append(key)
    if failed:
        raise AssertionError(f"{len(failed)} / {len(state_a)} state dict elements don't match: {failed}")


# -- the handlers ----------------------------------------------------------------------------------


def refuse_module(obj: torch.nn.Module, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    raise ZanjSerializationError(
        f"cannot save the torch module {type(obj).__module__}.{type(obj).__qualname__} at {format_path(path)}: "
        "zanj saves modules as zanj_torch.ConfiguredModel (configuration + weights) so they can be rebuilt "
        "without pickle; subclass ConfiguredModel, or save module.state_dict() instead"
    )


def serialize_model(model: ConfiguredModel[Any] | SerializedModel, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    """A model, or what its `serialize()` returned, as a model node."""
    if isinstance(model, SerializedModel):
        fields, recorded = dict(model), model.get(CLASS_KEY)
        if not isinstance(recorded, str):
            raise ZanjSerializationError(
                f"the serialized model at {format_path(path)} lacks its {CLASS_KEY!r} (a str): keep the dict "
                "ConfiguredModel.serialize() returns, adding keys to it"
            )
    else:
        fields, recorded = dict(model.serialize()), class_key(type(model))
    tag = MODEL_TAG
    if ctx.zanj.compat == "0.6":  # zanj 0.6 tags a model with its bare class name
        tag = recorded.rpartition(":")[2].rpartition(".")[2]
    node: JSONdict = {FORMAT_KEY: tag, CLASS_KEY: recorded}
    for key, value in fields.items():
        if key not in (FORMAT_KEY, CLASS_KEY):
            node[key] = ctx.serialize(value, (*path, key))
    return node


def _load_as(cls: type[ConfiguredModel[Any]], node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    loaded = {key: ctx.load(value, (*path, key)) for key, value in node.items() if key not in (FORMAT_KEY, CLASS_KEY)}
    for required in ("zanj_model_config", "state_dict"):
        if required not in loaded:
            raise ZanjFormatError(f"{ctx.label}: model at {format_path(path)} lacks {required!r}")
    _charge_construction(cls, loaded["zanj_model_config"], path, ctx)
    model = cls.load(loaded, path, ctx.zanj)
    device = ctx.options.get("map_location")
    if device is not None and not isinstance(device, dict):
        model = model.to(device)
    return model


def _charge_construction(cls: type[ConfiguredModel[Any]], config: Any, path: ObjectPath, ctx: LoadContext) -> None:
    """Charge what `cls(config)` will allocate before it runs: the configuration comes from the
    file, and a forged `d_model=10**7` would allocate terabytes in the model's own `__init__`,
    before any weight is compared. The model is first built on torch's meta device (no memory)
    to count its parameters and buffers; an `__init__` that cannot run there skips the check."""
    if isinstance(config, dict) and cls._config_class is not None:
        try:
            config = cls._config_class.load(config)  # type: ignore[attr-defined]
        except Exception:
            return  # cls.load reports a bad config itself
    try:
        with torch.device("meta"):
            probe = cls(config)
        tensors = [*probe.parameters(), *probe.buffers()]
        nbytes = sum(tensor.numel() * tensor.element_size() for tensor in tensors)
    except Exception:
        return
    ctx.charge(nbytes, path, f"the {len(tensors)} parameters and buffers {cls.__name__}'s configuration builds")


def load_model(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    recorded = ctx.require(node, CLASS_KEY, str, path)
    name = recorded.rpartition(":")[2].rpartition(".")[2]
    where = f"{ctx.label} at {format_path(path)}"
    cls = resolve_class(ConfiguredModel, name, recorded, "ConfiguredModel", where)
    if cls is None:
        return ctx.missing(
            MODEL_TAG,
            node,
            path,
            reason=f"model class {shown(recorded)} is not defined in this program",
            hint="import the module that defines it before reading (zanj never imports modules named in a file)",
            category=ZanjMissingClassWarning,
        )
    return _load_as(cls, node, path, ctx)
