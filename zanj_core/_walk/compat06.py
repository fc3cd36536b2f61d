"""`ZANJ(compat="0.6")`: files that zanj 0.6.0 reads back to equal objects, or a refusal.

Handlers write their zanj 0.6 forms when `ctx.zanj.compat == "0.6"` (a model's bare class
tag, a frame's `.jsonl` rows, an `OrderedDict` as a plain dict, as zanj 0.6 itself does).
Then, before anything is written, every node of the tree and of its `.jsonl` members is
checked against what zanj 0.6 has loaders for: a node it would not read back equal (a set,
bytes, a non-finite float, a tensor view, a dtype it lacks, an Arrow frame...) makes the save
fail with a `ZanjSerializationError` naming each such object, never a file zanj 0.6 misreads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zanj_core._contract.nodes import FORMAT_KEY, ObjectPath, format_path
from zanj_core.errors import ZanjSerializationError

if TYPE_CHECKING:
    from zanj_core._walk.saving import SaveContext

COMPAT_VERSIONS = ("0.6",)

# tags zanj 0.6.0 has loaders for and reads back to the object zanj-core saved
_READABLE_TAGS = frozenset(
    {
        "list:external",
        "tuple:external",
        "tuple",
        "numpy.ndarray:array_list_meta",
        "numpy.ndarray:array_b64_meta",
        "numpy.ndarray:array_hex_meta",
        "numpy.ndarray:zero_dim",
        "numpy.ndarray:external",
        "torch.Tensor:array_list_meta",
        "torch.Tensor:array_b64_meta",
        "torch.Tensor:external",
        "pandas.DataFrame:external",
    }
)
_DATACLASS_SUFFIX = "(SerializableDataclass)"
# dtypes whose names mean the same to zanj 0.6 (numpy's names; torch's are the same words)
_PLAIN_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"}
)
_MAX_LISTED = 5


def _problem(node: dict[str, Any], tag: str, ctx: SaveContext) -> str | None:
    """Why zanj 0.6 would not read this node back, or None."""
    if tag.endswith(_DATACLASS_SUFFIX) or tag in ctx.zanj06_tags:
        return None
    if tag not in _READABLE_TAGS:
        return f"{tag!r} has no zanj 0.6 form"
    if tag.startswith(("numpy.ndarray", "torch.Tensor")):
        dtype = node.get("dtype")
        if dtype not in _PLAIN_DTYPES:
            return f"dtype {dtype!r} is not one zanj 0.6 reads (it reads {', '.join(sorted(_PLAIN_DTYPES))})"
    return None


def check_readable_by_zanj06(tree: Any, ctx: SaveContext) -> None:
    """Refuse the save unless every node of `tree` and of its `.jsonl` members is one zanj 0.6
    reads back equal; the error lists the objects that are not."""
    problems: list[str] = []
    stack: list[tuple[ObjectPath, Any]] = [((), tree)]
    for member in ctx.members:
        if member.member_format.name == "jsonl" and isinstance(member.data, list):
            stack.extend(((*member.path, i), item) for i, item in enumerate(member.data))
    while stack:
        path, node = stack.pop()
        if isinstance(node, list):
            stack.extend(((*path, i), item) for i, item in enumerate(node))
        elif isinstance(node, dict):
            tag = node.get(FORMAT_KEY)
            if isinstance(tag, str):
                problem = _problem(node, tag, ctx)
                if problem is not None:
                    problems.append(f"{format_path(path)}: {problem}")
            stack.extend(((*path, key), value) for key, value in node.items() if key != FORMAT_KEY)
    if problems:
        listed = "; ".join(sorted(problems)[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise ZanjSerializationError(
            f"ZANJ(compat='0.6') cannot write this object so that zanj 0.6 reads it back: {listed}{more}. "
            "Convert those objects to types zanj 0.6 handles (lists, dicts, numeric arrays and tensors, "
            "dataclasses, DataFrames of int/float/bool/str columns), or save without compat."
        )
