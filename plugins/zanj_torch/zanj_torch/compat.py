"""What zanj 0.6 reads back from zanj-torch's nodes: the `compat` callbacks of its handlers.

zanj 0.6 reads tensors inline and as `.npy` members, for the plain numeric dtypes whose names
it knows (torch's names are numpy's words), but no view of shared storage; it reads a model
tagged with its bare class name, which `serialize_model` writes under `ZANJ(compat="0.6")`.
This module imports nothing heavy: the callbacks see JSON nodes only.
"""

from __future__ import annotations

from zanj_numpy import zanj06_numeric_problem

from zanj_core.plugin import FORMAT_KEY, JSONdict
from zanj_torch.plugin import MODEL_TAG

ZANJ06 = "0.6"

ZANJ06_TENSOR_TAGS = frozenset({"torch.Tensor:array_list_meta", "torch.Tensor:array_b64_meta", "torch.Tensor:external"})
"""The tensor nodes zanj 0.6 has loaders for."""


def zanj06_tensor_problem(version: str, node: JSONdict) -> str | None:
    """None when zanj `version` reads this tensor node back equal, else why not."""
    return zanj06_numeric_problem(version, node, ZANJ06_TENSOR_TAGS)


def zanj06_model_problem(version: str, node: JSONdict) -> str | None:
    """None for a model node in zanj 0.6's form (its bare class name as the tag), else why not;
    its config and state dict are judged by their own handlers."""
    tag = node.get(FORMAT_KEY)
    if version != ZANJ06 or tag == MODEL_TAG:
        return f"{tag!r} has no zanj {version} form"
    return None
