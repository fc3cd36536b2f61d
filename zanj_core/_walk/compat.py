"""`ZANJ(compat="0.6")`: files that an old zanj reads back to equal objects, or a refusal.

The core keeps only the mechanism; what an old zanj reads is each handler's own knowledge.
Handlers write their old forms when `ctx.zanj.compat` asks for them (a model's bare class tag,
a frame's `.jsonl` rows, an `OrderedDict` as a plain dict, as zanj 0.6 itself does), and each
declares `SerializerHandler.compat(version, node)`: None when that version reads the node back
equal, else the reason it would not. A handler without one writes nothing the old reader reads.

How the nodes are checked: the save walk records each tagged node next to the handler that
returned it (the same record names each tag's distribution in the file's tag table; items of
`.jsonl` members are serialized through the walk too), and after the walk every recorded node
is judged by that handler's callback. Recording during the walk knows exactly which handler
wrote a node, where a walk of the finished tree could only guess from the tag (two handlers may
write one tag); judging after the walk sees each node as it is written, even if its handler
changed it later (zanj-torch moves a tensor to a member once a second one shares its storage).
Any problem makes the save fail before anything is written, with one `ZanjSerializationError`
listing the objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zanj_core._contract.nodes import FORMAT_KEY, JSONdict, ObjectPath, format_path
from zanj_core.errors import ZanjSerializationError

if TYPE_CHECKING:
    from zanj_core._contract.records import SerializerHandler

COMPAT_VERSIONS: dict[str, str] = {
    "0.6": "lists, dicts, numeric arrays and tensors, dataclasses, DataFrames of int/float/bool/str columns",
}
"""The old zanj versions `ZANJ(compat=...)` can write for -> what that version handles, in
words, for the refusal's advice."""

MAX_LISTED = 5
"""Refused objects named in the error; the rest are counted."""


WrittenNode = tuple["SerializerHandler | None", JSONdict, ObjectPath]
"""A tagged node one save wrote, with the handler that returned it (None: no handler accepted
the object, which was stored as its repr) and its object path."""


class CompatCheck:
    """Judges the nodes one save wrote, each by its own handler, for an old zanj `version`."""

    def __init__(self, version: str) -> None:
        self.version = version

    def problems(self, written: list[WrittenNode]) -> list[str]:
        """`object path: reason` for each node the old version would not read back equal."""
        found: list[str] = []
        for handler, node, path in written:
            problem = self._problem(handler, node)
            if problem is not None:
                found.append(f"{format_path(path)}: {problem}")
        return found

    def _problem(self, handler: SerializerHandler | None, node: JSONdict) -> str | None:
        if handler is None or handler.compat is None:
            return f"{node.get(FORMAT_KEY)!r} has no zanj {self.version} form"
        try:
            return handler.compat(self.version, node)
        except Exception as exc:
            raise ZanjSerializationError(
                f"the zanj {self.version} compat check of handler {handler.tag or handler.description!r} from "
                f"{handler.source.distribution} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def refuse_unreadable(self, written: list[WrittenNode]) -> None:
        """Raise one `ZanjSerializationError` naming the objects the old version would not read
        back equal (the first few, sorted by path, and a count of the rest); nothing if none."""
        problems = sorted(self.problems(written))
        if not problems:
            return
        listed = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise ZanjSerializationError(
            f"ZANJ(compat='{self.version}') cannot write this object so that zanj {self.version} reads it back: "
            f"{listed}{more}. Convert those objects to types zanj {self.version} handles "
            f"({COMPAT_VERSIONS[self.version]}), or save without compat."
        )
