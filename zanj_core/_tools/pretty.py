"""Layer 5, the tools: how `zanj show` prints a loaded value, bounded whatever the file holds.

pprint, with numpy, torch and pandas summarising large values (only if already imported), and
a clipped copy of the value: long strings, long containers, deep nesting and too many values
in all are replaced by markers saying how much is left out.
"""

from __future__ import annotations

import contextlib
import itertools
import pprint
import sys
from collections.abc import Iterator
from typing import Any

from zanj_core._contract.textsafe import ELLIPSIS

SHOW_ITEMS = 1000
"""Entries of one list, tuple, dict or set `show` prints (the rest are counted)."""
SHOW_CHARS = 4000
"""Characters of one string or bytes value `show` prints."""
SHOW_NODES = 20_000
"""Values in all that `show` prints before it elides the rest."""
SHOW_DEPTH = 40
"""Nesting `show` prints; deeper values are elided (and never overflow the stack)."""


class _Elided:
    """Stands in for what `show` leaves out; its repr says what is missing."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Clipper:
    """A copy of a value small enough to print: long strings, long containers, deep nesting
    and too many values in all are replaced by `_Elided` markers saying how much is left out."""

    def __init__(self) -> None:
        self.room = SHOW_NODES

    def clip(self, value: Any, depth: int = 0) -> Any:
        self.room -= 1
        if self.room < 0:
            return _Elided(ELLIPSIS)
        kind = type(value)
        if isinstance(value, str):
            if len(value) <= SHOW_CHARS:
                return value
            return _Elided(f"{value[:SHOW_CHARS]!r}{ELLIPSIS} ({len(value)} characters)")
        if isinstance(value, (bytes, bytearray)):
            if len(value) <= SHOW_CHARS:
                return value
            return _Elided(f"{bytes(value[:SHOW_CHARS])!r}{ELLIPSIS} ({len(value)} bytes)")
        if kind not in (list, tuple, dict, set, frozenset):
            return value
        if depth >= SHOW_DEPTH:
            return _Elided(f"<{kind.__name__} of {len(value)}, nested too deep to show>")
        if kind is dict:
            clipped: dict[Any, Any] = {}
            for key, item in itertools.islice(value.items(), SHOW_ITEMS):
                clipped[self.clip(key, depth + 1) if isinstance(key, (str, bytes)) else key] = self.clip(
                    item, depth + 1
                )
            if len(value) > SHOW_ITEMS:
                clipped[_Elided(ELLIPSIS)] = _Elided(f"{len(value) - SHOW_ITEMS} more entries")
            return clipped
        if kind in (set, frozenset):
            if len(value) <= SHOW_ITEMS:
                return value
            head = ", ".join(repr(self.clip(item, depth + 1)) for item in itertools.islice(value, 20))
            return _Elided(f"{kind.__name__}({{{head}, {ELLIPSIS} {len(value) - 20} more}})")
        items = [self.clip(item, depth + 1) for item in itertools.islice(value, SHOW_ITEMS)]
        if len(value) > SHOW_ITEMS:
            items.append(_Elided(f"{ELLIPSIS} {len(value) - SHOW_ITEMS} more"))
        return items if kind is list else tuple(items)


@contextlib.contextmanager
def _torch_printoptions(width: int) -> Iterator[None]:
    """torch's print options for one `show` (torch has no public context manager for them)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    saved = dict(vars(torch._tensor_str.PRINT_OPTS))
    torch.set_printoptions(threshold=100, edgeitems=3, linewidth=width)
    try:
        yield
    finally:
        torch.set_printoptions(**saved)


def pretty(value: Any, width: int, clip: bool = True) -> str:
    """pprint, with numpy, torch and pandas summarising large values (only if already imported)
    to the terminal's width, and (`clip`) long strings and containers cut."""
    numpy = sys.modules.get("numpy")
    pandas = sys.modules.get("pandas")
    with contextlib.ExitStack() as options:
        if numpy is not None:
            options.enter_context(numpy.printoptions(threshold=100, edgeitems=3, linewidth=width))
        if pandas is not None:
            options.enter_context(
                pandas.option_context(
                    "display.max_rows",
                    20,
                    "display.max_columns",
                    20,
                    "display.width",
                    width,
                    "display.max_colwidth",
                    50,
                )
            )
        options.enter_context(_torch_printoptions(width))
        shown = _Clipper().clip(value) if clip else value
        return pprint.pformat(shown, width=width, sort_dicts=False, compact=True)
