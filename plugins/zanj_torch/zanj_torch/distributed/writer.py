"""`ZanjStorageWriter`: DCP's `StorageWriter` writing one ordinary `.zanj` file per rank.

DCP calls, on every rank: `reset`, `set_up_storage_writer`, `prepare_local_plan`; on the
coordinator: `prepare_global_plan` (here: refuse a folder holding a FileSystemWriter checkpoint
and a `memory://` URL shared by several processes, and tell each rank its number); on every
rank `write_data` (the non-tensor values checked first, then one `ZANJ().save` of
`{"tensors": ..., "objects": ...}` to a file named after the rank and the write's id); on the
coordinator `finish` (the JSON index, written last and atomically, then the removal of rank
files the new index does not name).

Rank files never replace the files of an earlier save: until the new index is in place, the
folder's old index and old rank files are untouched, so a save that fails or crashes at any
point leaves the previous checkpoint loadable, and one that finishes replaces it in one step.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta
from torch.distributed.checkpoint.planner import SavePlan, SavePlanner, WriteItemType
from torch.distributed.checkpoint.storage import StorageWriter, WriteResult
from torch.futures import Future

from zanj_core import ZANJ
from zanj_core.errors import ZanjError
from zanj_torch.distributed import folder, layout
from zanj_torch.distributed.metadata import StoredAt, encode, storage_key
from zanj_torch.distributed.objects import refuse_unsavable, take_object

SHARD_FORMAT = "zanj_torch.distributed.shard"
"""The `format` entry of every rank file: what `zanj ls` shows at its root."""


@dataclass(frozen=True)
class RankTarget:
    """What the coordinator tells each rank: its number, which names its file. (The id each
    write gives its file, the rest of the name, comes back in the write results, so plans DCP
    caches between saves stay valid.)"""

    rank: int


def own_storage(tensor: torch.Tensor) -> torch.Tensor:
    """A CPU tensor that is its storage's only content: a view of a larger buffer (a shard of a
    flat FSDP parameter, a narrowed chunk) is copied, so the rank file stores only the chunk and
    readers can slice its rows."""
    data = tensor.detach()
    if data.device.type != "cpu":
        return data.cpu()
    if data.is_conj() or data.is_neg():
        data = data.resolve_conj().resolve_neg()
    nbytes = data.untyped_storage().nbytes()
    if data.storage_offset() == 0 and data.is_contiguous() and data.numel() * data.element_size() == nbytes:
        return data
    return data.clone(memory_format=torch.contiguous_format)


class ZanjStorageWriter(StorageWriter):
    """Saves a DCP checkpoint as a folder of `.zanj` files plus a JSON index.

    `checkpoint_id` is a local folder or an fsspec URL (`s3://bucket/ckpt/step-100`,
    `memory://...`); `storage_options` go to fsspec. `durable` fsyncs each local file before it
    is renamed into place (as FileSystemWriter's `sync_files`). `zanj` is the `ZANJ` instance
    used to save rank files (its thresholds and settings), a default one if None.
    """

    def __init__(
        self,
        checkpoint_id: str | os.PathLike[str] | None = None,
        *,
        storage_options: Mapping[str, Any] | None = None,
        durable: bool = True,
        zanj: ZANJ | None = None,
    ) -> None:
        super().__init__()
        self.storage_options = dict(storage_options or {})
        self.zanj = zanj if zanj is not None else ZANJ(durable=durable)
        self.path: str | None = layout.checkpoint_text(checkpoint_id) if checkpoint_id is not None else None
        self.save_id = uuid.uuid4().hex
        self.is_coordinator = False

    @property
    def checkpoint_id(self) -> str:
        if self.path is None:
            raise ZanjError("ZanjStorageWriter has no checkpoint_id: pass one to it or to dcp.save")
        return self.path

    def reset(self, checkpoint_id: str | os.PathLike[str] | None = None) -> None:
        if checkpoint_id:
            self.path = layout.checkpoint_text(checkpoint_id)
        self.save_id = uuid.uuid4().hex

    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("use_collectives", True) is False:
            raise ZanjError(
                "ZanjStorageWriter needs DCP's collectives (use_collectives=True): the coordinator "
                "writes the one index that makes a checkpoint visible"
            )
        self.is_coordinator = is_coordinator

    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        return plan

    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        checkpoint = self.checkpoint_id
        folder.refuse_per_process_url(checkpoint, len(plans))
        folder.refuse_filesystem_writer_files(checkpoint, self.storage_options)
        layout.make_folder(checkpoint, self.storage_options)
        return [dataclasses.replace(plan, storage_data=RankTarget(rank)) for rank, plan in enumerate(plans)]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Future[list[WriteResult]]:
        target = plan.storage_data
        if not isinstance(target, RankTarget):
            raise ZanjError("ZanjStorageWriter.write_data got a plan its coordinator did not prepare")
        write_id = uuid.uuid4().hex
        file = layout.rank_file_name(target.rank, write_id)
        taken: set[str] = set()
        keys = [
            storage_key(item.index.fqn, tuple(item.index.offset) if item.index.offset is not None else None, taken)
            for item in plan.items
        ]
        objects: dict[str, Any] = {}
        for key, item in zip(keys, plan.items, strict=True):  # values first: one zanj refuses stops the save early
            if item.type == WriteItemType.BYTE_IO:
                objects[key] = take_object(planner, item)
                refuse_unsavable(self.zanj, item.index.fqn, key, objects[key])
        tensors: dict[str, torch.Tensor] = {}
        results: list[WriteResult] = []
        for key, item in zip(keys, plan.items, strict=True):
            if item.type == WriteItemType.BYTE_IO:
                size = 0
            else:
                data = planner.resolve_data(item)
                if not isinstance(data, torch.Tensor):
                    raise ZanjError(f"the planner gave {type(data).__name__} for the tensor {item.index.fqn!r}")
                tensors[key] = own_storage(data)
                size = tensors[key].numel() * tensors[key].element_size()
            results.append(
                WriteResult(index=item.index, size_in_bytes=size, storage_data=StoredAt(file, key, write_id))
            )
        if results:  # a rank with nothing to save writes no file
            shard = {"format": SHARD_FORMAT, "write_id": write_id, "tensors": tensors, "objects": objects}
            self.zanj.save(shard, layout.join(self.checkpoint_id, file), storage_options=self.storage_options)
        future: Future[list[WriteResult]] = Future()
        future.set_result(results)
        return future

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        metadata.storage_meta = self.storage_meta()
        index = encode(metadata, results, self.save_id)
        layout.write_atomically(layout.join(self.checkpoint_id, layout.METADATA_NAME), index, self.storage_options)
        named = {
            r.storage_data.file
            for rank_results in results
            for r in rank_results
            if isinstance(r.storage_data, StoredAt)
        }
        folder.remove_unlisted_rank_files(self.checkpoint_id, named, self.storage_options)

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=self.path, save_id=self.save_id)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike[str]) -> bool:
        return isinstance(checkpoint_id, (str, os.PathLike))
