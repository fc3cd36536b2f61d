"""The `zanj` command line's view of sharded checkpoints (plugin API 1.1 hooks):

- `zanj consolidate DIR OUT.zanj`: one ordinary `.zanj` of the full state dict (`consolidate`);
- `zanj ls DIR`: a checkpoint folder's global entries, with shape, dtype, size and shard count.

Importing this module imports no torch: the records are built from light functions, and torch
loads only when a command runs or a recognized folder is listed.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from zanj_core.plugin import CommandHandler, ListedItem, LocationLister, safe_text
from zanj_torch.distributed import layout


def configure_consolidate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="the checkpoint folder or URL (written by ZanjStorageWriter)")
    parser.add_argument("out", help="the .zanj file to write (a path or URL; '.zanj' is added if missing)")


def run_consolidate(args: argparse.Namespace) -> int:
    from zanj_torch.distributed.consolidation import consolidate

    options = getattr(args, "storage_options", None)
    written = consolidate(args.checkpoint, args.out, storage_options=options, out_storage_options=options)
    print(f"wrote {safe_text(written)}")
    return 0


def recognizes_checkpoint(location: str, storage_options: Mapping[str, Any] | None) -> bool:
    """Whether `location` is a checkpoint folder: it holds the index (one lookup, no read)."""
    if not isinstance(location, str) or location.endswith(".zanj"):
        return False
    try:
        return layout.exists(layout.join(layout.checkpoint_text(location), layout.METADATA_NAME), storage_options)
    except Exception:  # a lister answers yes or no; the location is then opened as a file
        return False


def list_checkpoint_items(location: str, storage_options: Mapping[str, Any] | None) -> Sequence[ListedItem]:
    from zanj_torch.distributed.listing import list_checkpoint

    rows = []
    for entry in list_checkpoint(location, storage_options):
        path = tuple(str(part) for part in entry.path)
        if entry.kind == "tensor":
            shards = f"{entry.shards} shard{'s' if entry.shards != 1 else ''}"
            rows.append(ListedItem(path, "torch.Tensor", entry.shape, entry.dtype, entry.nbytes, shards))
        else:
            rows.append(ListedItem(path, "value", detail=f"in {entry.file}" if entry.file else ""))
    return rows


def zanj_commands() -> list[CommandHandler]:
    return [
        CommandHandler(
            name="consolidate",
            help="write a sharded checkpoint folder as one .zanj file of the full state dict",
            configure=configure_consolidate,
            run=run_consolidate,
            description=(
                "Assemble a torch.distributed.checkpoint folder written by zanj_torch.distributed.ZanjStorageWriter "
                "into one ordinary .zanj file holding the full, unsharded state dict, one tensor at a time."
            ),
        )
    ]


def zanj_location_listers() -> list[LocationLister]:
    return [
        LocationLister(
            name="zanj_torch.distributed",
            recognizes=recognizes_checkpoint,
            list_items=list_checkpoint_items,
            description=f"checkpoint folders holding {layout.METADATA_NAME} (torch.distributed.checkpoint)",
        )
    ]


__all__ = [
    "configure_consolidate",
    "list_checkpoint_items",
    "recognizes_checkpoint",
    "run_consolidate",
    "zanj_commands",
    "zanj_location_listers",
]
