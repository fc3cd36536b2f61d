"""`ZanjStorageReader`: DCP's `StorageReader` over a folder of `.zanj` rank files.

`read_metadata` parses the JSON index (never a pickle). `read_data` opens each rank file this
rank needs once, with `ZANJ().open` (a memory map for local files, range requests for URLs),
and for each read item reads only the rows of the stored chunk DCP's planner asked for, then
narrows the other dimensions and copies into the planner's tensor. Non-tensor values are read
through zanj's serialization and placed by `objects.place_object`, never through
`planner.load_bytes`, so nothing is unpickled and `torch.load` is never called; the values one
`read_data` places share one read budget, sized from the rank files they come from.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Mapping
from typing import Any

import torch
from torch.distributed.checkpoint.metadata import Metadata, MetadataIndex, StorageMeta, TensorStorageMetadata
from torch.distributed.checkpoint.planner import LoadItemType, LoadPlan, LoadPlanner, ReadItem
from torch.distributed.checkpoint.storage import StorageReader
from torch.futures import Future

from zanj_core import ZANJ
from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjFormatError, ZanjRemoteError
from zanj_core.plugin import ReadBudget, safe_text
from zanj_torch import dtypes
from zanj_torch.distributed import folder, layout
from zanj_torch.distributed.metadata import INDEX_PARSE_RATIO, Index, StoredAt, decode
from zanj_torch.distributed.objects import place_object


def read_index(checkpoint: str, storage_options: Mapping[str, Any] | None, zanj: ZANJ | None = None) -> Index:
    """The checkpoint's decoded index, its rank files checked to be present and regular files
    (one listing of the folder); a missing or corrupt index, or a missing rank file, is a
    `ZanjError` naming it. `zanj`'s read limits bound the index (`max_json_bytes`) and its parse."""
    limits = (zanj if zanj is not None else ZANJ()).read_limits
    location = layout.join(checkpoint, layout.METADATA_NAME)
    try:
        data = layout.read_bytes(location, storage_options, limits.max_json_bytes)
    except (ZanjFileNotFoundError, ZanjRemoteError) as exc:  # say what the path is instead, if it tells
        raise folder.explain_missing_index(checkpoint, storage_options, exc) from None
    folder.refuse_mixed_folder(checkpoint, storage_options)
    parse_limit = min(limits.read_budget(len(data)), limits.read_budget_floor + INDEX_PARSE_RATIO * len(data))
    index = decode(data, location, checkpoint, ReadBudget(parse_limit, location, len(data)))
    sizes = layout.rank_file_sizes(checkpoint, index.files, storage_options)
    return dataclasses.replace(index, file_sizes=sizes)


def open_rank_file(zanj: ZANJ, checkpoint: str, name: str, write_id: str, storage_options: Mapping[str, Any]) -> Any:
    """An open rank file (`ZanjFile`), checked to be the one the index names (its write id)."""
    location = layout.join(checkpoint, name)
    try:
        opened = zanj.open(location, mmap=not layout.is_url(location), storage_options=dict(storage_options) or None)
    except ZanjFileNotFoundError:
        raise ZanjFileNotFoundError(
            f"{location}: this rank file named by the checkpoint's index is missing; the checkpoint "
            "is incomplete: copy the whole folder again, or save it again"
        ) from None
    try:
        written_by = opened["write_id"] if "write_id" in opened else None
        if written_by != write_id:
            raise ZanjFormatError(
                f"{location}: this rank file belongs to another save than the checkpoint's index "
                f"(write id {safe_text(repr(written_by))[:80]}); the folder mixes two checkpoints: save it again"
            )
    except BaseException:
        opened.close()
        raise
    return opened


TENSOR_TAG = "torch.Tensor"


def holds_tensor(info: Any) -> bool:
    """Whether an item (its `ItemInfo`) is a tensor node: tagged `torch.Tensor` or one of its forms."""
    return bool(info.tagged) and (info.kind == TENSOR_TAG or str(info.kind).startswith(f"{TENSOR_TAG}:"))


def checked_chunk(value: Any, location: str, key: str) -> torch.Tensor:
    """`value`, read from a stored chunk, if it is the tensor the index promises."""
    if not isinstance(value, torch.Tensor):
        raise ZanjFormatError(
            f"{location}: item 'tensors/{safe_text(key)[:200]}' did not load as a tensor "
            f"(a {type(value).__name__}); the rank file was altered: save the checkpoint again"
        )
    return value


def read_chunk(opened: Any, location: str, key: str, dtype: torch.dtype, sizes: tuple[int, ...]) -> Any:
    """The slicer of a stored chunk (`opened.slice`), checked against what the index says it holds:
    a tensor node (not, say, a numpy array of the same dtype and shape) of that dtype and shape.
    `ZanjStorageReader` and `consolidate` both read every chunk through it."""
    path = ("tensors", key)
    info = opened.info(path)
    if not holds_tensor(info):
        raise ZanjFormatError(
            f"{location}: item 'tensors/{safe_text(key)[:200]}' is a {safe_text(str(info.kind))[:80]}, "
            "not a tensor, but the checkpoint's index says it holds a chunk of one: the rank file was "
            "altered or written by something else; save the checkpoint again"
        )
    if info.shape is None or tuple(info.shape) != sizes or info.dtype != dtypes.dtype_name(dtype):
        raise ZanjFormatError(
            f"{location}: item 'tensors/{safe_text(key)[:200]}' is {safe_text(str(info.dtype))[:40]} "
            f"{list(info.shape) if info.shape is not None else '(no shape)'}, but the checkpoint's index "
            f"says {dtypes.dtype_name(dtype)} {list(sizes)}: the index and the rank file disagree; save it again"
        )
    return opened.slice(path)


def narrowed(opened: Any, item: ReadItem, chunk: Any, key: str, sizes: tuple[int, ...]) -> torch.Tensor:
    """`chunk[storage_offsets : storage_offsets + lengths]`, reading only the rows it covers.
    A whole chunk (the usual case when the world size is unchanged) is loaded as one item: from
    a local file that is a view of the memory map, copied once, into the planner's tensor."""
    offsets, lengths = tuple(item.storage_offsets), tuple(item.lengths)
    if not offsets or (not any(offsets) and lengths == sizes):
        value = opened[("tensors", key)]
    else:
        value = chunk[offsets[0] : offsets[0] + lengths[0]]
    value = checked_chunk(value, str(opened.path), key)
    for dim in range(1, len(offsets)):
        value = value.narrow(dim, offsets[dim], lengths[dim])
    return value


class ZanjStorageReader(StorageReader):
    """Loads a checkpoint written by `ZanjStorageWriter`, resharding through DCP's planner.

    `checkpoint_id` is the folder or URL given to the writer; `storage_options` go to fsspec.
    `zanj` is the `ZANJ` instance used to read rank files (its read limits), a default one if None.

    The index is read and checked as soon as the checkpoint is known (here, or in `reset`, which
    `dcp.load(checkpoint_id=...)` calls first), so a partial or corrupt checkpoint raises its
    `ZanjError` directly; DCP wraps errors raised later, inside its steps, in a
    `CheckpointException` whose `failures[rank][0]` is the `ZanjError`.
    """

    def __init__(
        self,
        checkpoint_id: str | os.PathLike[str] | None = None,
        *,
        storage_options: Mapping[str, Any] | None = None,
        zanj: ZANJ | None = None,
    ) -> None:
        super().__init__()
        self.storage_options = dict(storage_options or {})
        self.zanj = zanj if zanj is not None else ZANJ()
        self.path: str | None = layout.checkpoint_text(checkpoint_id) if checkpoint_id is not None else None
        self.load_id = uuid.uuid4().hex
        self.storage_data: dict[MetadataIndex, StoredAt] = {}
        self.chunk_sizes: dict[MetadataIndex, tuple[torch.dtype, tuple[int, ...]]] = {}
        self.index: Index | None = (
            read_index(self.path, self.storage_options, self.zanj) if self.path is not None else None
        )

    @property
    def checkpoint_id(self) -> str:
        if self.path is None:
            raise ZanjError("ZanjStorageReader has no checkpoint_id: pass one to it or to dcp.load")
        return self.path

    def reset(self, checkpoint_id: str | os.PathLike[str] | None = None) -> None:
        self.storage_data = {}
        self.chunk_sizes = {}
        if checkpoint_id:
            self.path = layout.checkpoint_text(checkpoint_id)
        self.load_id = uuid.uuid4().hex
        self.index = read_index(self.path, self.storage_options, self.zanj) if self.path is not None else None

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        index, self.index = self.index, None  # read once per load: a later load reads it again
        metadata = (index or read_index(self.checkpoint_id, self.storage_options, self.zanj)).metadata
        if metadata.storage_meta is not None:
            metadata.storage_meta.load_id = self.load_id
        return metadata

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        if not isinstance(metadata.storage_data, dict) or not isinstance(metadata.storage_meta, StorageMeta):
            raise ZanjError("ZanjStorageReader got metadata that ZanjStorageReader.read_metadata did not make")
        self.storage_data = metadata.storage_data
        self.chunk_sizes = {}
        for fqn, entry in metadata.state_dict_metadata.items():
            if isinstance(entry, TensorStorageMetadata):
                for chunk in entry.chunks:
                    index = MetadataIndex(fqn, chunk.offsets)
                    self.chunk_sizes[index] = (entry.properties.dtype, tuple(chunk.sizes))

    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        return plan

    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        return plans

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Future[None]:
        per_file: dict[str, list[ReadItem]] = {}
        for item in plan.items:
            stored = self.storage_data.get(item.storage_index)
            if stored is None:
                raise ZanjFormatError(
                    f"{layout.join(self.checkpoint_id, layout.METADATA_NAME)}: nothing is stored for "
                    f"{safe_text(item.storage_index.fqn)[:200]!r} at {list(item.storage_index.offset or ())}"
                )
            per_file.setdefault(stored.file, []).append(item)
        budget = self._values_budget(plan, list(per_file))
        for name, items in per_file.items():
            location = layout.join(self.checkpoint_id, name)
            write_id = self.storage_data[items[0].storage_index].write_id
            with open_rank_file(self.zanj, self.checkpoint_id, name, write_id, self.storage_options) as opened:
                for item in items:
                    self._read_item(opened, location, item, planner, budget)
        future: Future[None] = Future()
        future.set_result(None)
        return future

    def _values_budget(self, plan: LoadPlan, names: list[str]) -> ReadBudget | None:
        """One budget for every non-tensor value this rank reads, sized from the rank files it
        reads them from: an index naming one large value under many names costs each use."""
        if not any(item.type == LoadItemType.BYTE_IO for item in plan.items):
            return None
        held = sum(layout.rank_file_sizes(self.checkpoint_id, names, self.storage_options).values())
        limits = self.zanj.read_limits
        return ReadBudget(limits.read_budget(held), f"{self.checkpoint_id} (values)", held, limits)

    def _read_item(
        self, opened: Any, location: str, item: ReadItem, planner: LoadPlanner, budget: ReadBudget | None
    ) -> None:
        key = self.storage_data[item.storage_index].key
        if item.type == LoadItemType.BYTE_IO:
            place_object(planner, item, opened.load_within(("objects", key), budget))
            return
        dtype, sizes = self.chunk_sizes[item.storage_index]
        source = narrowed(opened, item, read_chunk(opened, location, key, dtype, sizes), key, sizes)
        target = planner.resolve_tensor(item).detach()
        if target.size() != source.size():
            raise ZanjFormatError(
                f"{location}: the planner wants {list(target.size())} of {safe_text(key)[:200]!r}, "
                f"the stored rows give {list(source.size())}"
            )
        target.copy_(source)
        planner.commit_tensor(item, target)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike[str]) -> bool:
        return isinstance(checkpoint_id, (str, os.PathLike))
