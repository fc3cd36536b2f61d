"""What a checkpoint holds, from its JSON index alone: each global entry with its shape, dtype,
size and how many shards (chunks) it was saved in. `zanj ls DIR` prints this."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.distributed.checkpoint.metadata import MetadataIndex, TensorStorageMetadata

from zanj_torch import dtypes
from zanj_torch.distributed import layout
from zanj_torch.distributed.reader import read_index


@dataclass(frozen=True)
class GlobalEntry:
    """One entry of a checkpoint: a global tensor (`kind="tensor"`) or a non-tensor value
    (`kind="object"`, no shape or dtype), under its flat name (`fqn`) and its nested path."""

    fqn: str
    path: tuple[str | int, ...]
    kind: str
    shape: tuple[int, ...] | None
    dtype: str | None
    shards: int
    nbytes: int
    file: str | None


def list_checkpoint(
    checkpoint_id: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> list[GlobalEntry]:
    """The checkpoint's entries in the order they were saved; reads the index only."""
    index = read_index(layout.checkpoint_text(checkpoint_id), storage_options)
    metadata = index.metadata
    flattening: dict[str, tuple[str | int, ...]] = metadata.planner_data or {}
    storage = metadata.storage_data
    entries = []
    for fqn, entry in metadata.state_dict_metadata.items():
        path = tuple(flattening.get(fqn, (fqn,)))
        if isinstance(entry, TensorStorageMetadata):
            size = tuple(int(d) for d in entry.size)
            itemsize = torch.empty(0, dtype=entry.properties.dtype).element_size()
            numel = 1
            for d in size:
                numel *= d
            entries.append(
                GlobalEntry(
                    fqn,
                    path,
                    "tensor",
                    size,
                    dtypes.dtype_name(entry.properties.dtype),
                    len(entry.chunks),
                    numel * itemsize,
                    None,
                )
            )
        else:
            stored = storage.get(MetadataIndex(fqn))
            entries.append(GlobalEntry(fqn, path, "object", None, None, 1, 0, stored.file if stored else None))
    return entries
