"""Layer 5, the tools: everything the `zanj` command prints goes through here.

A file is data from anywhere, so every part printed is escaped first (`zanj_core._contract.textsafe`),
colour is added after escaping and only by `Output`, each field from a file is cut to a bounded
length, and `--json` is plain printable ASCII with every string bounded. The commands compose
their lines from these pieces and never write to a stream themselves.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Union

from zanj_core._contract.textsafe import quoted, safe_lines, safe_text
from zanj_core._tools.exits import EXIT_ERROR

MESSAGE_CHARS = 1000
"""Longest error, warning or problem line, once escaped."""
NAME_CHARS = 80
VALUE_CHARS = 120
HINT_CHARS = 300
SHOWN_NOTES = 20
SHOWN_WARNINGS = 20


@dataclass(frozen=True)
class Painted:
    """Text to print in a colour (an SGR code), if the stream shows colour."""

    text: str
    code: str


Part = Union[str, Painted]


class Output:
    """One output stream of the command: the only place its text is written.

    Every part is escaped here (`safe_text`: no control, format or separator character gets
    through, so each `line` is one line), and colour is added only after escaping, for
    `Painted` parts: text from a file can never produce an escape sequence, colour included.
    Colour is used on a terminal, never in a pipe or when NO_COLOR is set or TERM is dumb.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", lambda: False)()
        self.colour = bool(isatty) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def bold(self, text: str) -> Painted:
        return Painted(text, "1")

    def dim(self, text: str) -> Painted:
        return Painted(text, "2")

    def kind(self, text: str) -> Painted:
        return Painted(text, "36")

    def bad(self, text: str) -> Painted:
        return Painted(text, "31;1")

    def good(self, text: str) -> Painted:
        return Painted(text, "32;1")

    def render(self, part: Part) -> str:
        if isinstance(part, Painted):
            text = safe_text(part.text, None)
            return f"\033[{part.code}m{text}\033[0m" if self.colour and text else text
        return safe_text(part, None)

    def line(self, *parts: Part) -> None:
        """Print one line made of `parts`; a newline inside a part is shown as `\\n`."""
        self.stream.write("".join(self.render(part) for part in parts).rstrip() + "\n")

    def block(self, text: str, width: int | None = None) -> None:
        """Print lines the command composed (a pretty-printed value, JSON), each line escaped
        and, with `width`, cut to it."""
        self.stream.write(safe_lines(text, width) + "\n")


def human_bytes(count: int) -> str:
    """`15.6 KiB`: a byte count from a file (any int, however large) in a few characters."""
    if count >= 1024**7:  # past what a float shows well, and past any real size
        return "over 1 ZiB"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def short_repr(value: Any, width: int = 60) -> str:
    """`repr(value)` escaped and cut to `width`; a long string is cut before `repr` sees it all."""
    if isinstance(value, str) and len(value) > width:
        value = value[:width]
    return safe_text(repr(value), width)


PLAIN_WORD = re.compile(r"[A-Za-z0-9_.:()\[\]<>+\-/,*@$]+")
"""Text a command prints bare in a column (a tag, a key, an object path): ASCII with no space.
Anything else is shown quoted, so a file's tag or key cannot pass for zanj's own words (a tag
reading "MISSING PLUGIN: install it with: pip install ...")."""


def word_text(text: str, limit: int = NAME_CHARS) -> str:
    """A tag, key or object path from the file for a column: bare when it is a `PLAIN_WORD`
    that fits, else `quoted` (escaped, cut)."""
    if len(text) <= limit and PLAIN_WORD.fullmatch(text):
        return text
    return quoted(text, limit)


def field_text(value: Any, limit: int = NAME_CHARS) -> str:
    """A metadata value from the file as text: a string escaped and cut, anything else as `short_repr`."""
    return safe_text(value, limit) if isinstance(value, str) else short_repr(value, limit)


def print_error(message: str, code: int = EXIT_ERROR) -> int:
    Output(sys.stderr).line(f"zanj: error: {safe_text(message, MESSAGE_CHARS)}")
    return code


def warn_lines(messages: Sequence[str]) -> None:
    """Each distinct warning once, on one line; at most `SHOWN_WARNINGS` of them."""
    err = Output(sys.stderr)
    distinct = list(dict.fromkeys(messages))
    for message in distinct[:SHOWN_WARNINGS]:
        err.line(f"zanj: warning: {safe_text(message, MESSAGE_CHARS)}")
    if len(distinct) > SHOWN_WARNINGS:
        err.line(f"zanj: warning: ... {len(distinct) - SHOWN_WARNINGS} more warnings")


JSON_STRING_CHARS = 4096
"""Longest string `--json` prints whole; longer ones (from a file) end in an ellipsis."""


def bounded_json(value: Any) -> Any:
    """`value` with every string cut to `JSON_STRING_CHARS`, so output stays bounded however
    long the strings a file holds (lists are bounded by the commands themselves)."""
    if isinstance(value, str):
        return value if len(value) <= JSON_STRING_CHARS else value[:JSON_STRING_CHARS] + "…"
    if isinstance(value, dict):
        return {bounded_json(key): bounded_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded_json(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """JSON for scripts: `ensure_ascii` escapes every control and non-ASCII character (bidi
    controls and lone surrogates included), so the text is plain printable ASCII; strings from
    the file are cut to `JSON_STRING_CHARS`."""
    Output(sys.stdout).block(json.dumps(bounded_json(value), indent=1, ensure_ascii=True, default=str))
