"""`ZanjStorageWriter`: DCP's `StorageWriter` writing one ordinary `.zanj` file per rank.

DCP calls, on every rank: `reset`, `set_up_storage_writer`, `prepare_local_plan`; on the
coordinator: `prepare_global_plan` (here: remove an older index in the folder, so it is
never read alongside new rank files, and name each rank's file and the save's id); on every
rank `write_data` (one `ZANJ().save` of `{"tensors": ..., "objects": ...}`); on the
coordinator `finish` (the JSON index, written last and atomically). A checkpoint is therefore
visible, to `ZanjStorageReader` and `zanj ls`, only once every rank file is complete.
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
from zanj_torch.distributed import layout
from zanj_torch.distributed.metadata import StoredAt, encode, storage_key
from zanj_torch.distributed.objects import take_object

SHARD_FORMAT = "zanj_torch.distributed.shard"
"""The `format` entry of every rank file: what `zanj ls` shows at its root."""


@dataclass(frozen=True)
class RankTarget:
    """What the coordinator tells each rank: the name of its file. (The id each write gives its
    file comes back in the write results, so plans DCP caches between saves stay valid.)"""

    file: str


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
        layout.make_folder(checkpoint, self.storage_options)
        # an older checkpoint here becomes invisible before any of its files is replaced
        layout.remove(layout.join(checkpoint, layout.METADATA_NAME), self.storage_options)
        return [
            dataclasses.replace(plan, storage_data=RankTarget(layout.rank_file_name(rank)))
            for rank, plan in enumerate(plans)
        ]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Future[list[WriteResult]]:
        target = plan.storage_data
        if not isinstance(target, RankTarget):
            raise ZanjError("ZanjStorageWriter.write_data got a plan its coordinator did not prepare")
        tensors: dict[str, torch.Tensor] = {}
        objects: dict[str, Any] = {}
        results: list[WriteResult] = []
        taken: set[str] = set()
        write_id = uuid.uuid4().hex
        for item in plan.items:
            offsets = tuple(item.index.offset) if item.index.offset is not None else None
            key = storage_key(item.index.fqn, offsets, taken)
            if item.type == WriteItemType.BYTE_IO:
                objects[key] = take_object(planner, item)
                size = 0
            else:
                data = planner.resolve_data(item)
                if not isinstance(data, torch.Tensor):
                    raise ZanjError(f"the planner gave {type(data).__name__} for the tensor {item.index.fqn!r}")
                tensors[key] = own_storage(data)
                size = tensors[key].numel() * tensors[key].element_size()
            results.append(
                WriteResult(index=item.index, size_in_bytes=size, storage_data=StoredAt(target.file, key, write_id))
            )
        shard = {"format": SHARD_FORMAT, "write_id": write_id, "tensors": tensors, "objects": objects}
        location = layout.join(self.checkpoint_id, target.file)
        self.zanj.save(shard, location, storage_options=self.storage_options)
        future: Future[list[WriteResult]] = Future()
        future.set_result(results)
        return future

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        metadata.storage_meta = self.storage_meta()
        index = encode(metadata, results, self.save_id)
        layout.write_atomically(layout.join(self.checkpoint_id, layout.METADATA_NAME), index, self.storage_options)

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=self.path, save_id=self.save_id)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike[str]) -> bool:
        return isinstance(checkpoint_id, (str, os.PathLike))
