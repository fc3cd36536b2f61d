"""One budget per read: what a whole operation on a file may materialise, fixed before it starts.

Checking each size a file declares is not enough: a hostile file can keep every single size
small and still make a read expand (members referring to members, one member used a thousand
times, a small node asking for a large allocation). So every operation that reads a file
(`read`, `open`, one item access of an open file, `tree`, `verify`, each CLI command) gets one
`ReadBudget`, and everything it materialises is charged to it *before* it is allocated:
decompressed bytes, data read into memory, arrays built from JSON, parsed JSON (at
`JSON_OBJECT_FACTOR` bytes per byte of text), tables converted to frames, and each repeated use
of the same member. The budget is linear in the file's size (`ReadLimits.read_budget`), so no
file, however it is built, costs more memory than a fixed multiple of its own size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from zanj_core.errors import ZanjLimitError

if TYPE_CHECKING:
    from zanj_core._container.limits import ReadLimits

JSON_OBJECT_FACTOR = 4
"""Bytes charged per byte of JSON text parsed: Python objects take a few times the text they
came from (`0.25,` becomes an 8-byte list slot and a 24-byte float). Containers and strings
take more than that (`{},` builds a 64-byte dict, about 21 bytes per byte of text): each is
charged on top, by `json_structure_cost`."""

JSON_STRUCTURE_COSTS = ((b"{", 64), (b"[", 56), (b'"', 25))
"""Bytes charged per `{` (an empty dict's size), per `[` (an empty list's) and per `"` (half a
short string's), on top of `JSON_OBJECT_FACTOR` per byte."""


def json_structure_cost(text: bytes) -> int:
    """What parsing `text` builds beyond `JSON_OBJECT_FACTOR` per byte: a dict per `{`, a list
    per `[`, a string per pair of `"`. Counted in C, in a few passes over the text; braces and
    quotes inside strings are counted too, which errs towards charging more, never less. With
    it, no JSON text builds more than about 2x what it is charged (`[1.5, 2.5, ...]`)."""
    return sum(text.count(char) * cost for char, cost in JSON_STRUCTURE_COSTS)


ITEM_COST = 64
"""Charged per item of a `.jsonl` member each time it is read: short lines are cheap to store
but each becomes an object and a loader call."""

MEMBER_USE_COST = 4096
"""Charged each time a read uses a member, whatever its size: opening one has a fixed cost in
time (its headers, a decompressor), so thousands of uses of tiny members are not free."""


Description = Union[str, Callable[[], str]]
"""What a charge is for: text, or a function making it when a message needs it."""


def _words(what: Description) -> str:
    return what if isinstance(what, str) else what()


class ReadBudget:
    """Bytes one read operation may still materialise; `charge` before allocating.

    An operation charges its budget from the thread that runs it (each item access of an open
    file, in whatever thread, has a budget of its own), so the count needs no lock. A charge
    that would pass the limit raises `ZanjLimitError` naming the file, what was being read, and
    the setting to raise for a trusted file; nothing is allocated for it.
    """

    def __init__(self, limit: int, label: str, file_size: int, limits: ReadLimits | None = None) -> None:
        self.limit = limit
        self.spent = 0
        self.label = label
        self.file_size = file_size
        self._limits = limits

    @classmethod
    def for_file(cls, limits: ReadLimits, label: str, file_size: int) -> ReadBudget:
        return cls(limits.read_budget(file_size), label, file_size, limits)

    @property
    def left(self) -> int:
        return self.limit - self.spent

    def charge(self, nbytes: int, what: Description) -> None:
        """Count `nbytes` about to be materialised for `what` (a member, an object path): a
        string, or a function making one, called only if the charge fails (reads charge
        thousands of times; most never need the words)."""
        if type(nbytes) is not int or nbytes < 0:
            raise ZanjLimitError(f"{self.label}: {_words(what)} asks for {nbytes!r} bytes, which is not a size")
        spent = self.spent + nbytes
        if spent > self.limit:
            raise ZanjLimitError(self._over(nbytes, _words(what)))
        self.spent = spent

    def _over(self, nbytes: int, what: str) -> str:
        how = ""
        if self._limits is not None:
            how = (
                f" (the budget is ReadLimits.read_budget_floor {self._limits.read_budget_floor} + "
                f"{self._limits.read_budget_ratio} x the {self.file_size}-byte file)"
            )
        return (
            f"{self.label}: the read's budget ran out on {what}, which needs {nbytes} more bytes with "
            f"{self.left} of {self.limit} left{how}; the file expands far beyond its size, as hostile "
            "files do (raise ReadLimits.read_budget_ratio or read_budget_floor if you trust the file)"
        )


UNLIMITED_LABEL = "<unbudgeted>"


def unlimited_budget() -> ReadBudget:
    """A budget that never runs out, for data already in memory (no file to bound it by)."""
    return ReadBudget(1 << 62, UNLIMITED_LABEL, 0)
