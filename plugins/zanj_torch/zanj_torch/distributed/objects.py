"""Non-tensor values (step counters, hyperparameters, RNG states, configs) without pickle.

DCP moves every non-tensor value as bytes: `DefaultSavePlanner.resolve_data` turns it into
`torch.save` bytes, and `DefaultLoadPlanner.load_bytes` turns bytes back with
`torch.load(weights_only=False)`, which can run code from the checkpoint. zanj takes both steps
off that path:

- saving, `take_object` asks the planner for the value itself (`lookup_object`, which
  DefaultSavePlanner has) and the rank file stores it through zanj's own serialization;
  `refuse_unsavable` first walks each value as that save will, so a value zanj cannot save
  (a plain `@dataclass`, a `torch.Generator`, a function) fails the save, naming its key,
  before the rank writes anything;
- loading, `place_object` puts the value zanj read where `load_bytes` would have put it: for a
  `DefaultLoadPlanner` (or a subclass that keeps its `load_bytes`), into `original_state_dict`
  along the planner's flattening map (`mappings`), or into `state_dict` when it does not
  flatten. A planner may instead define `load_object(read_item, value)`; one that overrides
  `load_bytes` without it is refused, since what it would do with bytes is unknown.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.planner import LoadPlanner, ReadItem, SavePlanner, WriteItem

from zanj_core import ZANJ
from zanj_core.errors import ZanjError, ZanjSerializationError
from zanj_core.plugin import SaveContext


def take_object(planner: SavePlanner, item: WriteItem) -> Any:
    """The value behind a BYTE_IO write item, not its `torch.save` bytes."""
    resolve = getattr(planner, "resolve_object", None)
    if callable(resolve):
        return resolve(item)
    lookup = getattr(planner, "lookup_object", None)
    if not callable(lookup):
        raise ZanjSerializationError(
            f"the save planner {type(planner).__name__} gives non-tensor values only as torch.save bytes, "
            f"which ZanjStorageWriter does not store (reading them would need pickle): give it a "
            f"lookup_object(index) or resolve_object(write_item) method returning the value of {item.index.fqn!r}, "
            "or subclass DefaultSavePlanner"
        )
    return lookup(item.index)


def _generator_in(value: Any, depth: int = 0) -> bool:
    """Whether `value` is, or holds in its dicts, lists, tuples and sets, a `torch.Generator`."""
    if isinstance(value, torch.Generator):
        return True
    if depth > 32:
        return False
    if isinstance(value, dict):
        return any(_generator_in(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_generator_in(v, depth + 1) for v in value)
    return False


def refuse_unsavable(zanj: ZANJ, fqn: str, key: str, value: Any) -> None:
    """Walk `value` as `zanj.save` will walk it in the rank file (under `objects/<key>`), and
    refuse it, naming the state dict's key `fqn`, when zanj cannot save it. The walk builds JSON
    nodes only; data members are written by the save itself."""
    if _generator_in(value):
        raise ZanjSerializationError(
            f"the state dict's value {fqn!r} is or holds a torch.Generator, which zanj does not save: "
            "save its state instead, generator.get_state() (a uint8 tensor), and restore it after "
            "loading with generator.set_state(state)"
        )
    try:
        SaveContext(zanj).serialize(value, ("objects", key))
    except ZanjSerializationError as exc:
        raise ZanjSerializationError(f"the state dict's value {fqn!r} cannot be saved: {exc}") from exc


def set_at(root: dict[str, Any], path: Sequence[str | int], value: Any) -> None:
    """Put `value` at `path` in nested dicts and lists, creating the containers on the way
    (a str key makes a dict, an int key a list padded with None), as DCP's unflattening does."""
    container: Any = root
    for here, after in itertools.pairwise(path):
        fresh: Any = {} if type(after) is str else []
        if isinstance(container, dict):
            container = container.setdefault(here, fresh)
        else:
            container.extend([None] * (int(here) + 1 - len(container)))
            if container[here] is None:
                container[here] = fresh
            container = container[here]
    last = path[-1]
    if isinstance(container, list):
        container.extend([None] * (int(last) + 1 - len(container)))
    container[last] = value


def place_object(planner: LoadPlanner, item: ReadItem, value: Any) -> None:
    """Put a value read by zanj where the planner's `load_bytes` would have put it, unpickled."""
    custom = getattr(planner, "load_object", None)
    if callable(custom):
        custom(item, value)
        return
    if isinstance(planner, DefaultLoadPlanner) and type(planner).load_bytes is DefaultLoadPlanner.load_bytes:
        fqn = item.dest_index.fqn
        if planner.flatten_state_dict and fqn in planner.mappings:
            set_at(planner.original_state_dict, planner.mappings[fqn], value)
        else:
            planner.state_dict[fqn] = value
        return
    raise ZanjError(
        f"the load planner {type(planner).__name__} overrides load_bytes, which takes torch.save bytes; "
        f"ZanjStorageReader never makes such bytes (loading them would unpickle). Give the planner a "
        f"load_object(read_item, value) method that places the already loaded value of {item.dest_index.fqn!r}"
    )
