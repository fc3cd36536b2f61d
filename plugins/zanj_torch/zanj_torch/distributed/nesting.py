"""The nesting paths of a checkpoint's entries (DCP's flattening map, `planner_data`), checked
before `consolidate` builds the nested state dict along them.

`DefaultSavePlanner` flattens `{"optim": {"param_groups": [{...}]}}` to flat names and keeps,
for each, the path of dict keys and list indices back. A hostile index could make those paths
allocate without bound (a list index of 10**12 pads a list with a trillion `None`s), contradict
one another (one path treats a node as a dict, another as a list; one ends where another goes
on) or be empty. `checked_paths` walks every path once through a trie of string-keyed nodes
(string hashes are randomised per process, so no key can be crafted to collide) and refuses
each of those, so building the nested dict along them cannot fail or blow up.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from zanj_core.plugin import safe_text

MAX_PATH_STEPS = 200
"""Steps in one path: `ZANJ(max_depth=200)`, the deepest nesting zanj saves by default."""
MAX_KEY_CHARS = 4096
MAX_SPARE_LIST_SLOTS = 1 << 16
"""List slots the paths may leave unfilled, over all lists (a list holding empty containers,
which DCP does not flatten, has gaps); each path fills one slot at most."""

Path = tuple[str | int, ...]
_DICT, _LIST = 1, 2


def _path(value: Any, name: str, fail: Callable[[str], Exception]) -> Path:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_PATH_STEPS:
        raise fail(f"'planner_data' gives {name} a path that is not a list of 1 to {MAX_PATH_STEPS} keys")
    for step in value:
        if type(step) is int:
            if step < 0:
                raise fail(f"'planner_data' gives {name} a path with a negative list index")
        elif type(step) is not str or len(step) > MAX_KEY_CHARS:
            raise fail(f"'planner_data' gives {name} a path holding something other than keys and list indices")
    if type(value[0]) is not str:
        raise fail(f"'planner_data' gives {name} a path starting with a list index, not a key of the state dict")
    return tuple(value)


def checked_paths(raw: Any, fqns: Collection[str], fail: Callable[[str], Exception]) -> dict[str, Path] | None:
    """`planner_data` as `{flat name: path}`, checked so that every entry in `fqns` (placed at its
    path, or at `(fqn,)` when the map has none) has a place of its own; `fail(what)` makes the error."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail("'planner_data' is not a map of names to paths of str and int keys")
    paths = {fqn: _path(value, f"entry {safe_text(repr(fqn))[:200]}", fail) for fqn, value in raw.items()}
    # the trie: node 0 is the root dict; children are keyed "parent/kind/key" (strings only)
    child: dict[str, int] = {}
    kind = bytearray([_DICT])  # 0 until a path steps into the node
    ends = bytearray(1)  # 1 where an entry's value is placed
    list_slots: dict[int, int] = {}
    slots = 0
    for fqn in fqns:
        node = 0
        name = f"entry {safe_text(repr(fqn))[:200]}"
        for step in paths.get(fqn, (fqn,)):
            wanted = _LIST if type(step) is int else _DICT
            if ends[node]:
                raise fail(f"the path of {name} runs into the value of another entry")
            if kind[node] == 0:
                kind[node] = wanted
            elif kind[node] != wanted:
                raise fail(f"the path of {name} steps into a container with the other kind of key (dict or list)")
            if wanted == _LIST:
                before = list_slots.get(node, 0)
                if int(step) + 1 > before:
                    slots += int(step) + 1 - before
                    list_slots[node] = int(step) + 1
                if slots > len(fqns) + MAX_SPARE_LIST_SLOTS:
                    raise fail(f"the path of {name} reaches list slots far past what the entries fill")
            key = f"{node}/{wanted}/{step}"
            found = child.get(key)
            if found is None:
                found = child[key] = len(kind)
                kind.append(0)
                ends.append(0)
            node = found
        if ends[node] or kind[node]:
            raise fail(f"the path of {name} is the place of another entry, or of a container")
        ends[node] = 1
    return paths
