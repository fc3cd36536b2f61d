"""DCP's global `Metadata` as JSON, and back, checking everything a hostile index could say.

`FileSystemWriter` pickles its `Metadata`; this index is plain JSON (`zanj_checkpoint.json`),
so reading it runs no code. It records, for every global entry, what DCP's planners need
(dtype, global shape, each chunk's offsets and sizes) and where each chunk or value lives: a
rank file named in `files` and the key under which that file holds it. Decoding validates
every field (types, ranks, chunk bounds, file indexes) and names the index file in each error.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.distributed.checkpoint.metadata import (
    BytesStorageMetadata,
    ChunkStorageMetadata,
    Metadata,
    MetadataIndex,
    StorageMeta,
    TensorProperties,
    TensorStorageMetadata,
)
from torch.distributed.checkpoint.storage import WriteResult

from zanj_core.errors import ZanjFormatError, ZanjLimitError, ZanjSerializationError
from zanj_core.plugin import JSON_OBJECT_FACTOR, ReadBudget, safe_text
from zanj_torch import dtypes
from zanj_torch.distributed.layout import RANK_FILE_PATTERN
from zanj_torch.distributed.nesting import checked_paths

FORMAT = "zanj_torch.distributed.checkpoint"
FORMAT_VERSION = 1
READ_VERSIONS = frozenset({FORMAT_VERSION})
"""The index format versions this zanj-torch reads: exactly the ones it writes."""
CONTAINER_COST = 64
"""Charged per `{` or `[` of the index text on top of `JSON_OBJECT_FACTOR` per byte: an empty
dict or list is a 56-64 byte object made from 2 bytes of text."""
INDEX_PARSE_RATIO = 16
"""What parsing an index may cost per byte of it, over `ReadLimits.read_budget_floor`. An index
`encode` writes costs about 6 (101 bytes and 3 containers per chunk); `[{},{},...]` costs 25
and is refused once past the floor, so parsing the largest index allowed (64 MiB) stays near 1 GiB."""
MAX_DIMS = 64
"""torch's own limit on a tensor's dimensions (numpy 2's too)."""
MAX_TENSOR_BYTES = 2**62
"""The largest global tensor an index may declare, counting each dimension of size 0 as 1: every
element count, stride and byte size stays within int64, where torch and numpy compute them (an
empty tensor of shape [0, 2**62, 2**62] overflows both), and far past what any memory holds."""
MAX_KEY_CHARS = 4096


@dataclass(frozen=True)
class StoredAt:
    """Where one chunk or value lives: the rank file's name, its key in that file, and the id
    of the write that made that file (kept in the file too, so a rank file of another save,
    left over or copied in, is told apart)."""

    file: str
    key: str
    write_id: str = ""


def storage_key(fqn: str, offsets: tuple[int, ...] | None, taken: set[str]) -> str:
    """The key a rank file keeps an item under: its fqn, with the chunk's offsets appended
    when the same rank holds more than one chunk of it."""
    key = fqn
    if key in taken:
        key = f"{fqn}@{','.join(map(str, offsets or ()))}"
        counter = 1
        while key in taken:
            key, counter = f"{fqn}@{counter}", counter + 1
    taken.add(key)
    return key


# -- encoding --------------------------------------------------------------------------------


def _planner_data_json(planner_data: Any) -> Any:
    """DefaultSavePlanner's flattening map (flat fqn -> path of str and int keys), as JSON."""
    if planner_data is None:
        return None
    if isinstance(planner_data, dict) and all(
        isinstance(k, str) and isinstance(v, (tuple, list)) and all(type(p) in (str, int) for p in v)
        for k, v in planner_data.items()
    ):
        return {k: list(v) for k, v in planner_data.items()}
    raise ZanjSerializationError(
        "ZanjStorageWriter keeps the planner's data as JSON: it must be a dict of flat names to "
        f"paths of str and int keys (DefaultSavePlanner's), not {type(planner_data).__name__}; "
        "use DefaultSavePlanner or a planner that keeps that form"
    )


def encode(metadata: Metadata, results: list[list[WriteResult]], save_id: str) -> bytes:
    """The index for a finished save: `metadata` from the planner, `results` from every rank.
    It names the rank files that hold something, each with the id of the write that made it."""
    where: dict[MetadataIndex, StoredAt] = {}
    write_ids: dict[str, str] = {}
    for rank_results in results:
        for result in rank_results:
            if not isinstance(result.storage_data, StoredAt):
                raise ZanjSerializationError(
                    f"a write result for {result.index.fqn!r} did not come from ZanjStorageWriter; "
                    "save with ZanjStorageWriter on every rank"
                )
            where[result.index] = result.storage_data
            write_ids[result.storage_data.file] = result.storage_data.write_id
    files = sorted(write_ids)
    file_index = {name: i for i, name in enumerate(files)}
    entries: dict[str, Any] = {}
    for fqn, item in metadata.state_dict_metadata.items():
        if isinstance(item, TensorStorageMetadata):
            chunks = []
            for chunk in item.chunks:
                stored = where.get(MetadataIndex(fqn, chunk.offsets))
                if stored is None:
                    raise ZanjSerializationError(f"no rank wrote the chunk at {list(chunk.offsets)} of {fqn!r}")
                chunks.append(
                    {
                        "offsets": list(chunk.offsets),
                        "sizes": list(chunk.sizes),
                        "file": file_index[stored.file],
                        "key": stored.key,
                    }
                )
            entries[fqn] = {
                "kind": "tensor",
                "dtype": dtypes.dtype_name(item.properties.dtype),
                "shape": list(item.size),
                "requires_grad": bool(item.properties.requires_grad),
                "chunks": chunks,
            }
        else:
            stored = where.get(MetadataIndex(fqn))
            if stored is None:
                raise ZanjSerializationError(f"no rank wrote the value {fqn!r}")
            entries[fqn] = {"kind": "object", "file": file_index[stored.file], "key": stored.key}
    modules = list(metadata.storage_meta.modules) if metadata.storage_meta is not None else []
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "save_id": save_id,
        "dcp_version": metadata.version,
        "files": files,
        "write_ids": [write_ids[name] for name in files],
        "entries": entries,
        "planner_data": _planner_data_json(metadata.planner_data),
        "modules": [m for m in modules if isinstance(m, str)],
    }
    return json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


# -- decoding --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    """A decoded index: DCP's `Metadata` (with `storage_data` of `StoredAt`), the rank files and
    the write id each of them must carry."""

    metadata: Metadata
    files: list[str]
    write_ids: dict[str, str]
    file_sizes: dict[str, int] = field(default_factory=dict)
    """Each rank file's size in bytes (filled by `reader.read_index`): what read budgets scale with."""


class _Check:
    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, what: str) -> ZanjFormatError:
        return ZanjFormatError(f"{self.label}: {what}; the checkpoint's index is corrupt: save the checkpoint again")

    def get(self, node: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(node, dict) or key not in node:
            raise self.fail(f"{where} has no {key!r}")
        value = node[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.fail(f"{where}: {key!r} is a {type(value).__name__}, not what an index holds")
        return value

    def ints(self, value: Any, what: str, minimum: int = 0) -> tuple[int, ...]:
        if not isinstance(value, list) or len(value) > MAX_DIMS:
            raise self.fail(f"{what} is not a list of at most {MAX_DIMS} ints")
        if not all(type(v) is int and minimum <= v < 2**62 for v in value):
            raise self.fail(f"{what} holds something other than ints from {minimum} to 2**62")
        return tuple(value)

    def key(self, value: Any, what: str) -> str:
        if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY_CHARS:
            raise self.fail(f"{what} is not a key of 1 to {MAX_KEY_CHARS} characters")
        return value


def _parse(data: bytes, check: _Check, budget: ReadBudget | None) -> dict[str, Any]:
    if data[:2] == b"\x80\x04" or data[:1] == b"\x80":
        raise check.fail("is a pickle, not JSON (a FileSystemWriter checkpoint?); zanj never unpickles")
    if budget is not None:  # what parsing builds, charged before it is built (as zanj-core's JSON)
        containers = data.count(b"{") + data.count(b"[")
        budget.charge(len(data) * JSON_OBJECT_FACTOR + containers * CONTAINER_COST, "the index's JSON")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise check.fail(f"is not complete JSON ({safe_text(str(exc))[:200]})") from None
    except MemoryError:
        raise ZanjLimitError(
            f"{check.label}: parsing the index ran out of memory; it is far larger than checkpoints' indexes "
            "are (lower ReadLimits.max_json_bytes to refuse such files sooner)"
        ) from None
    if not isinstance(document, dict):
        raise check.fail("is not a JSON object")
    if document.get("format") != FORMAT:
        raise check.fail(f"is not a zanj checkpoint index (its format is not {FORMAT!r})")
    version = document.get("format_version")
    if type(version) is not int or version not in READ_VERSIONS:
        shown = safe_text(repr(version) if type(version) is not int or abs(version) < 10**30 else "a huge int")[:40]
        if type(version) is int and version > max(READ_VERSIONS):
            raise ZanjFormatError(
                f"{check.label}: index format version {shown} is newer than this zanj-torch reads "
                f"({max(READ_VERSIONS)}); upgrade zanj-torch"
            )
        raise check.fail(f"its format version {shown} is not one zanj-torch writes")
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shown(shape: tuple[int, ...]) -> str:
    """A shape for a message, cut to a readable length."""
    text = str(list(shape))
    return text if len(text) <= 120 else f"{text[:100]}... ({len(shape)} dims)"


def _tensor_entry(
    fqn: str,
    node: dict[str, Any],
    files: list[str],
    ids: list[str],
    check: _Check,
    storage: list[tuple[MetadataIndex, StoredAt]],
) -> TensorStorageMetadata:
    where = f"entry {safe_text(repr(fqn))[:200]}"
    name = check.get(node, "dtype", str, where)
    dtype = dtypes.from_name(name)
    if dtype is None:
        raise check.fail(f"{where} has dtype {safe_text(repr(name))[:80]}, which this torch does not have")
    shape = check.ints(check.get(node, "shape", list, where), f"{where}'s shape")
    if math.prod(max(d, 1) for d in shape) > MAX_TENSOR_BYTES // dtype.itemsize:
        raise check.fail(
            f"{where} declares a {dtypes.dtype_name(dtype)} tensor of shape {_shown(shape)}, over "
            "2**62 bytes (counting dimensions of size 0 as 1): no checkpoint holds one"
        )
    chunks = []
    for i, chunk in enumerate(check.get(node, "chunks", list, where)):
        what = f"{where}, chunk {i}"
        offsets = check.ints(check.get(chunk, "offsets", list, what), f"{what}'s offsets")
        sizes = check.ints(check.get(chunk, "sizes", list, what), f"{what}'s sizes")
        if len(offsets) != len(shape) or len(sizes) != len(shape):
            raise check.fail(f"{what} has {len(offsets)} offsets and {len(sizes)} sizes for a {len(shape)}-d tensor")
        if any(o + s > d for o, s, d in zip(offsets, sizes, shape, strict=True)):
            raise check.fail(f"{what} reaches past the tensor's shape {_shown(shape)}")
        file = check.get(chunk, "file", int, what)
        if not 0 <= file < len(files):
            raise check.fail(f"{what} names file {file} of {len(files)}")
        stored = StoredAt(files[file], check.key(chunk.get("key"), f"{what}'s key"), ids[file])
        storage.append((MetadataIndex(fqn, offsets), stored))
        chunks.append(ChunkStorageMetadata(offsets=torch.Size(offsets), sizes=torch.Size(sizes)))
    if math.prod(shape) and not chunks:
        raise check.fail(f"{where} has no chunks")
    grad = node.get("requires_grad", False)
    properties = TensorProperties(dtype=dtype, requires_grad=grad is True)
    return TensorStorageMetadata(properties=properties, size=torch.Size(shape), chunks=chunks)


def _distinct_hashes(storage: list[tuple[MetadataIndex, StoredAt]], check: _Check) -> None:
    """No two chunks share a hash value: DCP keys chunks by `MetadataIndex` in dicts (as this
    module does), and offsets crafted to hash alike (ints `k + n(2**61-1)` do, and tuples of
    them) would make each lookup walk all of them. Sorting the hashes finds a pair in n log n."""
    hashes = sorted((hash(index), position) for position, (index, _) in enumerate(storage))
    for (first, _), (second, position) in itertools.pairwise(hashes):
        if first == second:
            index = storage[position][0]
            raise check.fail(
                f"entry {safe_text(repr(index.fqn))[:200]} names a chunk twice, or chunks whose offsets are "
                "crafted to share a hash value"
            )


def decode(data: bytes, label: str, checkpoint_id: str, budget: ReadBudget | None = None) -> Index:
    """The index in `data` (read from `label`), checked; raises `ZanjFormatError` naming it.
    Parsing is charged to `budget` when given."""
    check = _Check(label)
    document = _parse(data, check, budget)
    files = check.get(document, "files", list, "the index")
    if not all(isinstance(f, str) and RANK_FILE_PATTERN.fullmatch(f) for f in files):
        raise check.fail("'files' names something other than rank files (rank-NNNNN-<16 hex digits>.zanj)")
    if len(set(files)) != len(files):
        raise check.fail("'files' names a file twice")
    save_id = check.key(document.get("save_id"), "'save_id'")
    ids = check.get(document, "write_ids", list, "the index")
    if len(ids) != len(files):
        raise check.fail(f"'write_ids' has {len(ids)} ids for {len(files)} files")
    write_ids = {name: check.key(value, "a write id") for name, value in zip(files, ids, strict=True)}
    storage: list[tuple[MetadataIndex, StoredAt]] = []
    state: dict[str, TensorStorageMetadata | BytesStorageMetadata] = {}
    ids_by_file = [write_ids[f] for f in files]
    for fqn, node in check.get(document, "entries", dict, "the index").items():
        kind = check.get(node, "kind", str, f"entry {safe_text(repr(fqn))[:200]}")
        if kind == "tensor":
            state[fqn] = _tensor_entry(fqn, node, files, ids_by_file, check, storage)
        elif kind == "object":
            file = check.get(node, "file", int, "an object entry")
            if not 0 <= file < len(files):
                raise check.fail(f"entry {safe_text(repr(fqn))[:200]} names file {file} of {len(files)}")
            stored = StoredAt(files[file], check.key(node.get("key"), "an object's key"), write_ids[files[file]])
            storage.append((MetadataIndex(fqn), stored))
            state[fqn] = BytesStorageMetadata()
        else:
            raise check.fail(f"entry {safe_text(repr(fqn))[:200]} has an unknown kind {safe_text(repr(kind))[:40]}")
    _distinct_hashes(storage, check)
    planner_data = checked_paths(document.get("planner_data"), state, check.fail)
    version = document.get("dcp_version")
    modules = document.get("modules", [])
    metadata = Metadata(
        state_dict_metadata=state,
        planner_data=planner_data,
        storage_data=dict(storage),
        storage_meta=StorageMeta(
            checkpoint_id=checkpoint_id,
            save_id=save_id,
            modules=[m for m in modules if isinstance(m, str)] if isinstance(modules, list) else [],
        ),
        version=version if isinstance(version, str) else None,
    )
    return Index(metadata, files, write_ids)
