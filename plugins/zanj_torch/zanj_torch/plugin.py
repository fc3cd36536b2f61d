"""The entry point: handler records whose functions import torch only when first called.

Types are named by dotted string (`torch.Tensor`, `zanj_torch.model.ConfiguredModel`,
`torch.nn.modules.module.Module`), so dispatch never imports torch on its own.
"""

from __future__ import annotations

from typing import Any

from zanj_core import LoaderHandler, SerializerHandler, hookimpl
from zanj_core.handlers import JSONdict, JSONitem, ObjectPath
from zanj_core.loading import LoadContext
from zanj_core.saving import SaveContext

TENSOR_TAG = "torch.Tensor"
MODEL_TAG = "zanj_torch.ConfiguredModel"
READ_OPTIONS = ("map_location",)


def _serialize_tensor(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    from zanj_torch import tensors

    return tensors.serialize_tensor(obj, path, ctx)


def _load_tensor(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    from zanj_torch import tensors

    return tensors.load_tensor(node, path, ctx)


def _serialize_model(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    from zanj_torch import model

    return model.serialize_model(obj, path, ctx)


def _load_model(node: JSONdict, path: ObjectPath, ctx: LoadContext) -> Any:
    from zanj_torch import model

    return model.load_model(node, path, ctx)


def _refuse_module(obj: Any, path: ObjectPath, ctx: SaveContext) -> JSONitem:
    from zanj_core import ZanjSerializationError
    from zanj_core.handlers import format_path

    raise ZanjSerializationError(
        f"cannot save the torch module {type(obj).__module__}.{type(obj).__qualname__} at {format_path(path)}: "
        "zanj saves modules as zanj_torch.ConfiguredModel (configuration + weights) so they can be rebuilt "
        "without pickle; subclass ConfiguredModel, or save module.state_dict() instead"
    )


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag=f"{TENSOR_TAG}:*",
            types=("torch.Tensor",),
            serialize=_serialize_tensor,
            description="tensors of every dtype; shared storage stored once",
        ),
        SerializerHandler(
            tag=MODEL_TAG,
            types=("zanj_torch.model.ConfiguredModel",),
            serialize=_serialize_model,
            priority=10,
            description="ConfiguredModel: config, state dict, training records",
        ),
        SerializerHandler(
            tag="torch.nn.Module",
            types=("torch.nn.modules.module.Module",),
            serialize=_refuse_module,
            priority=-10,
            description="other modules: a clear error pointing at ConfiguredModel",
        ),
    ]


@hookimpl
def zanj_loader_handlers() -> list[LoaderHandler]:
    return [
        LoaderHandler(
            tag=TENSOR_TAG,
            match="prefix",
            load=_load_tensor,
            options=READ_OPTIONS,
            description="tensors (inline, external, views of shared storage; zanj 0.6 forms)",
        ),
        LoaderHandler(
            tag=MODEL_TAG,
            load=_load_model,
            options=READ_OPTIONS,
            description="ConfiguredModel subclasses the program defined",
        ),
    ]
