"""`consolidate`: a sharded checkpoint as one ordinary `.zanj` file of the full state dict,
assembling one global tensor at a time.

`ZANJ().save` walks an object to a JSON tree first and streams the data members afterwards,
each through its member format's `write(data, stream)`. The public API has no way to hand it a
tensor that does not exist yet, so this module adds one for its own `ZANJ` instance only
(`handlers_pre`): a serializer for `PendingTensor` that writes exactly the node zanj-torch
writes for a tensor (`torch.Tensor:external`, read back by zanj-torch as any tensor), and a
member format whose `write` assembles the global tensor from its chunks, streams it as `.npy`,
and drops it before the next member is written. Memory holds one global tensor (plus the pages
of the rank files it maps), whatever the model's size.

A hostile index cannot make it allocate beyond what the rank files hold: the whole run has one
`ReadBudget` (as one zanj read has), sized from their total size, charged with every global
tensor before it is allocated and with every use of a non-tensor value; the chunks must tile
each tensor (`coverage`) and match their rank file before it is assembled.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import torch
from torch.distributed.checkpoint.metadata import MetadataIndex, TensorStorageMetadata
from zanj_numpy import prepare_npy

from zanj_core import ZANJ
from zanj_core.errors import ZanjFormatError
from zanj_core.plugin import (
    FORMAT_KEY,
    REF_KEY,
    JSONdict,
    MemberFormat,
    MemberSource,
    ObjectPath,
    ReadBudget,
    SaveContext,
    SerializerHandler,
    safe_text,
)
from zanj_torch import dtypes
from zanj_torch.distributed import layout
from zanj_torch.distributed.coverage import check_coverage
from zanj_torch.distributed.metadata import StoredAt
from zanj_torch.distributed.objects import set_at
from zanj_torch.distributed.reader import checked_chunk, open_rank_file, read_chunk, read_index

ASSEMBLED_FORMAT = "zanj_torch.assembled-npy"
"""The member format (of `consolidate`'s own `ZANJ` only) writing a tensor assembled on demand.
The members it writes are ordinary `.npy` members."""
TENSOR_TAG = "torch.Tensor:external"
WRITE_CHUNK_BYTES = 16 << 20


@dataclass
class RankFiles:
    """The rank files of one checkpoint, each opened (directory and JSON only) when first needed."""

    checkpoint: str
    write_ids: dict[str, str]
    storage_options: Mapping[str, Any]
    zanj: ZANJ
    opened: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        if name not in self.opened:
            self.opened[name] = open_rank_file(
                self.zanj, self.checkpoint, name, self.write_ids[name], self.storage_options
            )
        return self.opened[name]

    def close(self) -> None:
        for opened in self.opened.values():
            opened.close()
        self.opened.clear()


@dataclass
class PendingTensor:
    """A global tensor of the checkpoint, assembled from its chunks only when it is written."""

    fqn: str
    entry: TensorStorageMetadata
    stored: list[StoredAt]
    files: RankFiles

    def assemble(self) -> torch.Tensor:
        """The global tensor from its chunks. Every chunk is checked against its rank file before
        the tensor is allocated (and `consolidate` charged its bytes to its budget)."""
        shape = tuple(self.entry.size)
        dtype = self.entry.properties.dtype
        locations = [layout.join(self.files.checkpoint, stored.file) for stored in self.stored]
        slicers = [
            read_chunk(self.files.get(stored.file), location, stored.key, dtype, tuple(chunk.sizes))
            for chunk, stored, location in zip(self.entry.chunks, self.stored, locations, strict=True)
        ]
        result = torch.empty(shape, dtype=dtype)
        for chunk, stored, location, slicer in zip(self.entry.chunks, self.stored, locations, slicers, strict=True):
            region = result
            for dim, (offset, size) in enumerate(zip(chunk.offsets, chunk.sizes, strict=True)):
                region = region.narrow(dim, offset, size)
            region.copy_(checked_chunk(slicer[()] if not shape else slicer[:], location, stored.key))
        return result


def _npy_header(dtype: torch.dtype, shape: tuple[int, ...]) -> bytes:
    """The `.npy` header zanj-numpy writes for this dtype and shape (from a zero-stride stand-in)."""
    numpy_dtype = dtypes.numpy_dtype(dtype)[0]
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=numpy_dtype), shape=shape, strides=(0,) * len(shape))
    return prepare_npy(stand_in).header


def _serialize_pending(pending: PendingTensor, path: ObjectPath, ctx: SaveContext) -> JSONdict:
    dtype, shape = pending.entry.properties.dtype, tuple(pending.entry.size)
    numel = math.prod(shape)
    nbytes = numel * torch.empty(0, dtype=dtype).element_size()
    meta: JSONdict = {"dtype": dtypes.dtype_name(dtype), "shape": list(shape), "n_elements": numel}
    size = len(_npy_header(dtype, shape)) + nbytes
    name = ctx.add_member(path, ASSEMBLED_FORMAT, pending, {"format": TENSOR_TAG, **meta}, size_hint=size)
    return {FORMAT_KEY: TENSOR_TAG, REF_KEY: name, **meta}


def _write_assembled(pending: PendingTensor, stream: IO[bytes]) -> None:
    tensor = pending.assemble()
    payload = prepare_npy(dtypes.to_numpy_bits(tensor))
    stream.write(payload.header)
    view = payload.data.reshape(-1).view(np.uint8).data
    for start in range(0, len(view), WRITE_CHUNK_BYTES):
        stream.write(view[start : start + WRITE_CHUNK_BYTES])
    del tensor, payload, view  # one global tensor at a time


def _not_read(source: MemberSource) -> Any:
    raise ZanjFormatError(f"{source.location}: {ASSEMBLED_FORMAT} only writes; its members are read as npy")


CONSOLIDATING_HANDLERS = (
    SerializerHandler(tag=TENSOR_TAG, types=(PendingTensor,), serialize=_serialize_pending),
    MemberFormat(name=ASSEMBLED_FORMAT, extension=".npy", write=_write_assembled, read=_not_read),
)


def consolidate(
    checkpoint_id: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    out_storage_options: Mapping[str, Any] | None = None,
    zanj: ZANJ | None = None,
) -> str:
    """Write the checkpoint's full, unsharded state dict to one ordinary `.zanj` file.

    Nested as the saved state dict was (DCP's flattening map is undone: `{"model": {...},
    "optim": {"state": ..., "param_groups": [...]}}`), tensors unsharded, non-tensor values as
    saved. One global tensor is in memory at a time. Returns the path written (".zanj" added
    if missing); `out_storage_options` go to fsspec for an `out_path` URL.
    """
    checkpoint = layout.checkpoint_text(checkpoint_id)
    options = dict(storage_options or {})
    reading = zanj if zanj is not None else ZANJ()
    index = read_index(checkpoint, options, reading)
    metadata = index.metadata
    label = layout.join(checkpoint, layout.METADATA_NAME)
    # one budget for the whole consolidation, as zanj-core gives one read: what the rank files hold
    # bounds the global tensors (their chunks are in the files) and the values (each use charged)
    held = sum(index.file_sizes.values())
    budget = ReadBudget(
        reading.read_limits.read_budget(held), f"{checkpoint} (consolidating)", held, reading.read_limits
    )
    files = RankFiles(checkpoint, index.write_ids, options, reading)
    storage: dict[Any, StoredAt] = metadata.storage_data
    flattening: dict[str, tuple[str | int, ...]] = metadata.planner_data or {}
    root: dict[str, Any] = {}
    try:
        for fqn, entry in metadata.state_dict_metadata.items():
            where = flattening.get(fqn, (fqn,))
            if isinstance(entry, TensorStorageMetadata):
                check_coverage(fqn, entry, label)
                budget.charge(
                    math.prod(entry.size) * entry.properties.dtype.itemsize,
                    f"the global tensor {safe_text(repr(fqn))[:200]}",
                )
                stored = [storage[MetadataIndex(fqn, chunk.offsets)] for chunk in entry.chunks]
                set_at(root, where, PendingTensor(fqn, entry, stored, files))
            else:
                placed = storage[MetadataIndex(fqn)]
                opened = files.get(placed.file)
                # written to the output once per use, mapped or not; inflating it is charged by the load
                written = opened.info(("objects", placed.key)).data_bytes
                budget.charge(written, f"the value {safe_text(repr(fqn))[:200]}, written to the output")
                set_at(root, where, opened.load_within(("objects", placed.key), budget))
        writer = ZANJ(handlers_pre=CONSOLIDATING_HANDLERS)
        return writer.save(root, out_path, storage_options=dict(out_storage_options or {}) or None)
    finally:
        files.close()
