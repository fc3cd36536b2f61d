"""Text from a file, made safe to print on a terminal.

A `.zanj` file is data from anywhere: its keys, tags, member names and metadata may hold
escape sequences (clear the screen, set the window title, fake a prompt), carriage returns
and backspaces that overwrite what was printed, bidi overrides that show text in another
order than it is, and lone surrogates that make an encoder fail. Everything the `zanj`
command prints from a file goes through `safe_text` (one field) or `safe_lines` (a block of
the command's own lines): such characters come out as visible escapes (`\\x1b`, `\\u202e`)
and each field is cut to a bounded length.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"
"""Marks text that was cut: one character that escaped text never ends with by itself."""

DEFAULT_LIMIT = 200
"""Characters one field may take once escaped, ellipsis included."""

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls (C0, C1, DEL), format characters (bidi controls, zero-width joiners, BOM),
surrogates, and the line and paragraph separators."""


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_char(char: str) -> str:
    """`char` as a Python escape: `\\n`, `\\x1b`, `\\u202e`, `\\U000e0001`."""
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_unsafe(char: str) -> bool:
    """Whether printing `char` raw could move the cursor, change the terminal or hide text."""
    return not char.isprintable() and unicodedata.category(char) in UNSAFE_CATEGORIES


def _escape(text: str, keep: str = "") -> str:
    """Every unsafe character of `text` escaped, except those in `keep`."""
    if text.isprintable():  # the common case, at C speed: no control, format or separator char
        return text
    return "".join(escape_char(c) if c not in keep and is_unsafe(c) else c for c in text)


def safe_text(text: str, limit: int | None = DEFAULT_LIMIT) -> str:
    """One field from a file (a key, a tag, a value, an error message) as one safe line.

    Unsafe characters (`UNSAFE_CATEGORIES`, so also newline and tab) are escaped; the result is
    cut to at most `limit` characters, ending in `ELLIPSIS` when cut (`limit=None`: never cut).
    Only the first `limit` characters of `text` are looked at, so a huge string costs little.
    """
    if not isinstance(text, str):
        raise TypeError(f"safe_text takes a str, got {type(text).__name__}")
    if limit is None:
        return _escape(text)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    escaped = _escape(text[: limit + 1])
    if len(escaped) <= limit and len(text) <= limit:
        return escaped
    # cut before the escape that passes the limit, never inside one
    pieces: list[str] = []
    used = 0
    for char in text[:limit]:
        piece = escape_char(char) if is_unsafe(char) else char
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + ELLIPSIS


def safe_lines(text: str, width: int | None = None) -> str:
    """A block of lines the command composed (a pretty-printed value, a table): every unsafe
    character escaped except the newlines between lines; with `width`, each line cut to it."""
    lines = text.split("\n")
    if width is None:
        return "\n".join(_escape(line) for line in lines)
    return "\n".join(safe_text(line, width) for line in lines)


def quoted(text: str, limit: int = 80) -> str:
    """`text` shown as data, never as something to run: its `repr` (which escapes every
    non-printable character), of at most `limit` characters of it, then `ELLIPSIS` if cut."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + ELLIPSIS
