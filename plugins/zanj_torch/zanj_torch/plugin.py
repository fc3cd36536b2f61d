"""The entry point: handler records whose functions import torch only when first called.

Types are named by dotted string (`torch.Tensor`, `zanj_torch.model.ConfiguredModel`,
`torch.nn.modules.module.Module`) and functions by `deferred("module:function")`, so neither
dispatch nor discovery imports torch.
"""

from __future__ import annotations

from zanj_core.plugin import (
    CommandHandler,
    LoaderHandler,
    LocationLister,
    SerializerHandler,
    deferred,
    hookimpl,
    node_fields,
)

ZANJ_PLUGIN_API = "1.1"
"""The version of the plugin API (`zanj_core.plugin.PLUGIN_API_VERSION`) this plugin is written for."""

TENSOR_TAG = "torch.Tensor"
MODEL_TAG = "zanj_torch.ConfiguredModel"
READ_OPTIONS = ("map_location",)


@hookimpl
def zanj_serializer_handlers() -> list[SerializerHandler]:
    return [
        SerializerHandler(
            tag=f"{TENSOR_TAG}:*",
            types=("torch.Tensor",),
            serialize=deferred("zanj_torch.tensors:serialize_tensor"),
            compat=deferred("zanj_torch.compat:zanj06_tensor_problem"),
            description="tensors of every dtype; shared storage stored once",
        ),
        SerializerHandler(
            tag=MODEL_TAG,
            types=("zanj_torch.model.ConfiguredModel", "zanj_torch.model.SerializedModel"),
            serialize=deferred("zanj_torch.model:serialize_model"),
            compat=deferred("zanj_torch.compat:zanj06_model_problem"),
            priority=10,
            description="ConfiguredModel: config, state dict, training records",
        ),
        SerializerHandler(
            tag="torch.nn.Module",
            types=("torch.nn.modules.module.Module",),
            serialize=deferred("zanj_torch.model:refuse_module"),
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
            load=deferred("zanj_torch.tensor_loading:load_tensor"),
            load_part=deferred("zanj_torch.tensor_loading:load_tensor_part"),
            options=READ_OPTIONS,
            description="tensors (inline, external, views of shared storage; zanj 0.6 forms)",
        ),
        LoaderHandler(
            tag=MODEL_TAG,
            load=deferred("zanj_torch.model:load_model"),
            children=node_fields,
            options=READ_OPTIONS,
            description="ConfiguredModel subclasses the program defined",
        ),
    ]


@hookimpl
def zanj_commands() -> list[CommandHandler]:
    """`zanj consolidate DIR OUT.zanj` for sharded checkpoints (zanj_torch.distributed; no torch import)."""
    from zanj_torch.distributed import commands

    return commands.zanj_commands()


@hookimpl
def zanj_location_listers() -> list[LocationLister]:
    """`zanj ls DIR` for checkpoint folders written by zanj_torch.distributed.ZanjStorageWriter."""
    from zanj_torch.distributed import commands

    return commands.zanj_location_listers()
