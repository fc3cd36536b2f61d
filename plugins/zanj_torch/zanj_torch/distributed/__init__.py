"""zanj as a storage backend of `torch.distributed.checkpoint` (DCP): sharded checkpoints saved
by many processes, one ordinary `.zanj` file per rank plus a JSON index, loaded by any number
of processes, with nothing ever unpickled. docs/distributed.md is the guide.

```python
import torch.distributed.checkpoint as dcp
from zanj_torch.distributed import ZanjStorageReader, ZanjStorageWriter

dcp.save(state_dict, storage_writer=ZanjStorageWriter("ckpt/step-100"))
dcp.load(state_dict, storage_reader=ZanjStorageReader("ckpt/step-100"))
```

The names load (with torch) on first access, so `zanj_torch.distributed.commands` (the `zanj`
command-line hooks) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real objects, for type checkers; at run time they load on first access
    from zanj_torch.distributed.consolidation import consolidate
    from zanj_torch.distributed.listing import GlobalEntry, list_checkpoint
    from zanj_torch.distributed.reader import ZanjStorageReader
    from zanj_torch.distributed.writer import ZanjStorageWriter

_EXPORTS = {
    "ZanjStorageWriter": "zanj_torch.distributed.writer",
    "ZanjStorageReader": "zanj_torch.distributed.reader",
    "consolidate": "zanj_torch.distributed.consolidation",
    "list_checkpoint": "zanj_torch.distributed.listing",
    "GlobalEntry": "zanj_torch.distributed.listing",
}

__all__ = ["GlobalEntry", "ZanjStorageReader", "ZanjStorageWriter", "consolidate", "list_checkpoint"]


def __getattr__(name: str) -> Any:
    """Load an export (and torch) on first access, then keep it as a module attribute."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zanj_torch.distributed' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
