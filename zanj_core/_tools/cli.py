"""The `zanj` command line tool: `ls`, `show`, `meta`, `verify` and `plugins`.

Every command reads only what it prints: `ls` and `meta` parse the JSON members alone, `show`
loads one item (large arrays: only the rows shown), `verify` reads everything on purpose. All
the reads of one command are charged to one budget (`zanj_core._contract.budget`), so no file, however
it is built, makes a command use more than a fixed multiple of the file's size.

Output is plain text that reads well on a terminal (with colour there, unless NO_COLOR is set)
and in a pipe (no colour); `--json` gives the same facts for scripts, as ASCII JSON. A file is
data from anywhere, so everything printed is escaped first (`zanj_core._contract.textsafe`): control
characters, escape sequences, bidi controls and lone surrogates come out as `\\x1b`, `\\u202e`;
each field from the file is cut to a bounded length, `show` fits its lines to the terminal and
listings stop after `--limit` lines. Colour is added after escaping, by `Output` alone, so file
text can never produce it. Install hints name only plugins this reader knows or has installed.

Exit status (`EXIT_*`):
  0    success (`verify`: intact, and every format has a loader; with `--load`, every item loads)
  1    error: the file is corrupt, malformed, over a safety limit or unreadable, a path is not
       in it, or anything else failed (`plugins`: a plugin failed to load)
  2    usage error
  3    `verify`: the file is intact, but a plugin it needs is missing here
  4    `verify --load`: the file is intact, but a loader fails on an item
  130  interrupted
When several apply, `verify` exits with the worst: 1, then 4, then 3. Every failure is one line
on stderr, `zanj: error: ...`, without a traceback (set ZANJ_TRACEBACK=1 to add it).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import pprint
import shutil
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Union

from zanj_core._contract.budget import ReadBudget
from zanj_core._contract.nodes import FORMAT_KEY, ObjectPath, format_path
from zanj_core._contract.records import ZanjUnloaded
from zanj_core._contract.textsafe import ELLIPSIS, safe_lines, safe_text
from zanj_core._tools.verify import CORRUPT, LOAD_FAILED, MISSING_PLUGIN, VerifyReport, verify_file
from zanj_core._walk.lazy import ItemInfo, ItemPath, RefMemo, ZanjFile
from zanj_core._walk.loading import PROJECT_NAME, VERSION_TEXT
from zanj_core._walk.registry import REGISTRY
from zanj_core._walk.zanj import ZANJ
from zanj_core.errors import ZanjError, ZanjIndexError, ZanjMissingClassWarning

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_MISSING_PLUGIN = 3
EXIT_LOAD_FAILED = 4
EXIT_INTERRUPTED = 130
VERIFY_EXIT: dict[str, int] = {
    "ok": EXIT_OK,
    CORRUPT: EXIT_ERROR,
    MISSING_PLUGIN: EXIT_MISSING_PLUGIN,
    LOAD_FAILED: EXIT_LOAD_FAILED,
}

MiB = 1 << 20
SHOW_SUMMARY_BYTES = 1 * MiB  # larger items with rows are shown by their first and last rows
LIST_LIMIT = 1000
"""Lines `ls` prints unless `--limit` says otherwise."""
COUNT_BEYOND_LIMIT = 1_000_000
"""Items past the limit that `ls` counts exactly before it says "more than"."""
MESSAGE_CHARS = 1000
"""Longest error, warning or problem line, once escaped."""
NAME_CHARS = 80
VALUE_CHARS = 120
HINT_CHARS = 300
SHOWN_PROBLEMS = 100
SHOWN_NOTES = 20
SHOWN_WARNINGS = 20
META_ROWS = 200
SHOW_ITEMS = 1000
"""Entries of one list, tuple, dict or set `show` prints (the rest are counted)."""
SHOW_CHARS = 4000
"""Characters of one string or bytes value `show` prints."""
SHOW_NODES = 20_000
"""Values in all that `show` prints before it elides the rest."""
SHOW_DEPTH = 40
"""Nesting `show` prints; deeper values are elided (and never overflow the stack)."""


# -- output --------------------------------------------------------------------------------


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
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def _short(value: Any, width: int = 60) -> str:
    """`repr(value)` escaped and cut to `width`; a long string is cut before `repr` sees it all."""
    if isinstance(value, str) and len(value) > width:
        value = value[:width]
    return safe_text(repr(value), width)


def _field(value: Any, limit: int = NAME_CHARS) -> str:
    """A metadata value from the file as text: a string escaped and cut, anything else as `_short`."""
    return safe_text(value, limit) if isinstance(value, str) else _short(value, limit)


def _claimed_dist(entry: Any) -> str:
    """A plugins-table entry's distribution and version as the file states them: plain when they
    look like a project name and a version, else quoted, so the column never reads as a command."""
    if not isinstance(entry, dict):
        return _short(entry)
    parts = []
    for key, pattern in (("dist", PROJECT_NAME), ("version", VERSION_TEXT)):
        value = entry.get(key)
        if isinstance(value, str) and len(value) <= NAME_CHARS and pattern.fullmatch(value):
            parts.append(value)
        elif value is not None:
            parts.append(_short(value, NAME_CHARS))
    return " ".join(parts)


def _error(message: str, code: int = EXIT_ERROR) -> int:
    Output(sys.stderr).line(f"zanj: error: {safe_text(message, MESSAGE_CHARS)}")
    return code


def _warn_lines(messages: Sequence[str]) -> None:
    """Each distinct warning once, on one line; at most `SHOWN_WARNINGS` of them."""
    err = Output(sys.stderr)
    distinct = list(dict.fromkeys(messages))
    for message in distinct[:SHOWN_WARNINGS]:
        err.line(f"zanj: warning: {safe_text(message, MESSAGE_CHARS)}")
    if len(distinct) > SHOWN_WARNINGS:
        err.line(f"zanj: warning: ... {len(distinct) - SHOWN_WARNINGS} more warnings")


JSON_STRING_CHARS = 4096
"""Longest string `--json` prints whole; longer ones (from a file) end in an ellipsis."""


def _bounded(value: Any) -> Any:
    """`value` with every string cut to `JSON_STRING_CHARS`, so output stays bounded however
    long the strings a file holds (lists are bounded by the commands themselves)."""
    if isinstance(value, str):
        return value if len(value) <= JSON_STRING_CHARS else value[:JSON_STRING_CHARS] + "…"
    if isinstance(value, dict):
        return {_bounded(key): _bounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_bounded(item) for item in value]
    return value


def _print_json(value: Any) -> None:
    """JSON for scripts: `ensure_ascii` escapes every control and non-ASCII character (bidi
    controls and lone surrogates included), so the text is plain printable ASCII; strings from
    the file are cut to `JSON_STRING_CHARS`."""
    Output(sys.stdout).block(json.dumps(_bounded(value), indent=1, ensure_ascii=True, default=str))


def _open(args: argparse.Namespace) -> ZanjFile:
    return ZANJ().open(args.file, storage_options=args.storage_options)


def _storage_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`, VALUE read as JSON when it is JSON (`anon=true`, `client_kwargs={...}`), else text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _file_arguments() -> argparse.ArgumentParser:
    """FILE and its fsspec options, shared by the subcommands that open a file."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("file", metavar="FILE", help="a path, or a URL such as s3://bucket/x.zanj (zanj-core[remote])")
    shared.add_argument(
        "-o",
        "--storage-option",
        dest="storage_option_pairs",
        type=_storage_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an fsspec storage option for a URL, e.g. anon=true (repeatable; VALUE is JSON or text)",
    )
    return shared


# -- reading under the command's one budget ------------------------------------------------
# ZanjFile's public methods each take a budget of their own; a command charges everything it
# reads to the budget its open started, through the same steps those methods take.


def _resolve(opened: ZanjFile, path: ItemPath, budget: ReadBudget) -> tuple[ObjectPath, Any]:
    return opened._resolve(path, opened.context(budget))


def _info_of(opened: ZanjFile, resolved: ObjectPath, node: Any, budget: ReadBudget) -> ItemInfo:
    ctx = opened.context(budget)
    return opened._info(node, resolved, ctx, opened._children(node, resolved, ctx, for_lookup=False))


def _load_node(opened: ZanjFile, path: ObjectPath, node: Any, budget: ReadBudget) -> Any:
    return opened._load(node, path, opened.context(budget))


def _load_part(opened: ZanjFile, path: ObjectPath, node: Any, key: slice, budget: ReadBudget) -> Any:
    """`opened.slice(path)[key]` under `budget`: only those rows where the loader can."""
    ctx = opened.context(budget)
    handler = ctx.loader_for(node[FORMAT_KEY]) if type(node) is dict and isinstance(node.get(FORMAT_KEY), str) else None
    try:
        if handler is not None and handler.load_part is not None:
            return handler.load_part(node, path, ctx, key)
        return opened._load(node, path, ctx)[key]
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ZanjError):
            raise
        raise ZanjIndexError(
            f"{opened.path}: cannot index the item at {format_path(path)} with {key!r}: {exc}"
        ) from exc


def _tree(
    opened: ZanjFile, path: ItemPath, max_depth: int | None, expand_members: bool, limit: int, budget: ReadBudget
) -> tuple[list[ItemInfo], int, bool]:
    """`opened.tree(...)` under `budget`, describing at most `limit` items (0: all).

    Returns the items, how many more there are (counted, not described, up to
    `COUNT_BEYOND_LIMIT`) and whether there are more than that.
    """
    ctx = opened.context(budget)
    items: list[ItemInfo] = []
    memo: RefMemo = {}
    more = 0
    for item_path, item, children in opened._walk(path, max_depth, expand_members, ctx):
        if limit and len(items) >= limit:
            more += 1  # counted, not described
            if more >= COUNT_BEYOND_LIMIT:
                return items, more, True
        else:
            items.append(opened._info(item, item_path, ctx, children, memo))
    return items, more, False


# -- plugins -------------------------------------------------------------------------------


def _plugins_report() -> list[dict[str, Any]]:
    REGISTRY.ensure_discovered()
    return [
        {
            "entry_point": info.name,
            "value": info.value,
            "distribution": info.source.distribution,
            "version": info.source.version,
            "serializer_tags": info.serializer_tags,
            "loader_tags": info.loader_tags,
            "member_formats": info.member_formats,
            "read_options": info.read_options,
            "error": info.error,
        }
        for info in REGISTRY.plugins
    ]


def cmd_plugins(args: argparse.Namespace) -> int:
    """List discovered plugins: distribution, version, tags handled, load errors."""
    report = _plugins_report()
    if args.json:
        _print_json(report)
    else:
        out = Output(sys.stdout)
        for entry in report:
            status = f"FAILED: {entry['error']}" if entry["error"] else "ok"
            out.line(
                f"{entry['distribution']} {entry['version']}  [{entry['entry_point']} = {entry['value']}]  ",
                safe_text(status, MESSAGE_CHARS),
            )
            for label, key in (
                ("saves", "serializer_tags"),
                ("loads", "loader_tags"),
                ("members", "member_formats"),
                ("read options", "read_options"),
            ):
                values = entry[key]
                if values:
                    out.line(f"    {label}: {', '.join(str(v) for v in values)}")
    return EXIT_ERROR if any(entry["error"] for entry in report) else EXIT_OK


# -- ls ------------------------------------------------------------------------------------


def _describe(info: ItemInfo) -> str:
    """The middle column of `ls`: shape and dtype, item count, or a scalar's value (escaped)."""
    if info.shape is not None or info.dtype is not None:
        shape = (
            "(" + ", ".join(str(d) for d in info.shape) + ("," if len(info.shape) == 1 else "") + ")"
            if info.shape is not None
            else ""
        )
        return safe_text(" ".join(part for part in (info.dtype or "", shape) if part), VALUE_CHARS)
    if info.length is not None:
        return f"{info.length} item{'s' if info.length != 1 else ''}"
    if not info.tagged and info.kind not in ("dict", "list"):
        return "= " + _short(info.value)
    if info.value is not None:
        return "= " + safe_text(str(info.value)[:61], 60)
    return ""


def _more_line(more: int, beyond: bool, what: str) -> str:
    count = f"at least {more}" if beyond else str(more)
    return f"... {count} more {what} (use --limit 0 for all)"


def cmd_ls(args: argparse.Namespace) -> int:
    """List the items of a file (or of the item at PATH) from the JSON alone, `--limit` lines."""
    with _open(args) as opened:
        items, more, beyond = _tree(opened, args.path, args.depth, args.members, args.limit, opened.open_budget)
    if args.json:
        base = len(items[0].path) if items else 0
        _print_json([{**info.as_json(), "depth": len(info.path) - base} for info in items])
        if more:
            _warn_lines([_more_line(more, beyond, "items were not listed")])
        return EXIT_OK
    out = Output(sys.stdout)
    base = len(items[0].path) if items else 0
    rows: list[tuple[str, str, str, str, str, bool]] = []
    for info in items:
        label = format_path(info.path) if len(info.path) == base else info.name
        name = ("  " * min(len(info.path) - base, 40)) + safe_text(label, NAME_CHARS)
        size = human_bytes(info.data_bytes) if info.data_bytes else ""
        where = safe_text(info.member or "", NAME_CHARS)
        if not info.loadable:
            where = safe_text(f"MISSING PLUGIN: {info.install_hint}", HINT_CHARS)
        rows.append((name, safe_text(info.kind, NAME_CHARS), _describe(info), size, where, info.loadable))
    widths = [
        min(max((len(row[:4][i]) for row in rows), default=0), cap) for i, cap in ((0, 48), (1, 40), (2, 40), (3, 10))
    ]
    for name, kind, described, size, where, loadable in rows:
        out.line(
            out.bold(name.ljust(widths[0])),
            "  ",
            out.kind(kind.ljust(widths[1])),
            f"  {described.ljust(widths[2])}  {size.rjust(widths[3])}  ",
            out.dim(where) if loadable else out.bad(where),
        )
    if more:
        out.line(out.dim(_more_line(more, beyond, "items")))
    return EXIT_OK


# -- show ----------------------------------------------------------------------------------


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


def _pretty(value: Any, width: int, clip: bool = True) -> str:
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


def _fields_of_unloaded(
    opened: ZanjFile, path: ObjectPath, node: Any, value: Any, notes: list[str], budget: ReadBudget
) -> Any:
    """A dataclass or model whose class this process lacks, as a dict of its fields loaded one
    by one (the command line never imports a module a file names)."""
    if not isinstance(value, ZanjUnloaded):
        return value
    try:
        children = opened._children(node, path, opened.context(budget), for_lookup=True)
    except ZanjError:
        return value
    if children is None:
        return value
    notes.append(
        f"{safe_text(format_path(path), NAME_CHARS)} is a {safe_text(value.tag, NAME_CHARS)}; "
        "its class is not defined here, so it is shown as its fields"
    )
    fields = {}
    for key, child in children:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = _load_node(opened, (*path, key), child, budget)
        fields[key] = _fields_of_unloaded(opened, (*path, key), child, loaded, notes, budget)
    return fields


def _terminal_width() -> int:
    return max(40, min(shutil.get_terminal_size((100, 24)).columns, 200))


def cmd_show(args: argparse.Namespace) -> int:
    """Print one item: large arrays by their first and last rows, everything else whole but
    cut to the terminal's width and `--max-lines`."""
    width = _terminal_width()
    bounded = args.max_lines != 0
    out = Output(sys.stdout)
    notes: list[str] = []
    with _open(args) as opened:
        budget = opened.open_budget
        resolved, node = _resolve(opened, args.path, budget)
        info = _info_of(opened, resolved, node, budget)
        facts = [safe_text(info.kind, NAME_CHARS), _describe(info)]
        if info.data_bytes:
            facts.append(human_bytes(info.data_bytes))
        if info.member:
            facts.append(f"member {safe_text(info.member, NAME_CHARS)}")
        header = safe_text(format_path(info.path), max(10, width // 2))
        rows = args.rows
        length = info.shape[0] if info.shape else 0
        summarise = info.data_bytes > SHOW_SUMMARY_BYTES and length > 2 * rows
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if summarise:
                head = _load_part(opened, resolved, node, slice(None, rows), budget)
                tail = _load_part(opened, resolved, node, slice(-rows, None), budget)
            else:
                loaded = _load_node(opened, resolved, node, budget)
                value = _fields_of_unloaded(opened, resolved, node, loaded, notes, budget)
        if notes:  # the notes say which classes are missing; their warnings would repeat it
            caught = [w for w in caught if not issubclass(w.category, ZanjMissingClassWarning)]
        _warn_lines([str(w.message) for w in caught])
    out.line(
        out.bold(header), "  ", out.dim(safe_text("  ".join(f for f in facts if f), max(10, width - len(header) - 2)))
    )
    if summarise:
        text = (
            f"first {rows} of {length} rows:\n{_pretty(head, width, bounded)}\n"
            f"...\nlast {rows} rows:\n{_pretty(tail, width, bounded)}"
        )
    else:
        text = _pretty(value, width, bounded)
    lines = text.splitlines()
    hidden = 0
    if bounded and len(lines) > args.max_lines:
        hidden = len(lines) - args.max_lines
        lines = lines[: args.max_lines]
    for note in notes[:SHOWN_NOTES]:
        out.line(out.dim(f"note: {note}"))
    if len(notes) > SHOWN_NOTES:
        out.line(out.dim(f"note: ... {len(notes) - SHOWN_NOTES} more such items"))
    out.block("\n".join(lines), width if bounded else None)
    if hidden:
        out.line(out.dim(f"... {hidden} more lines (--max-lines 0 shows all)"))
    return EXIT_OK


# -- meta ----------------------------------------------------------------------------------


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} entr{'y' if len(value) == 1 else 'ies'}}}"
    if isinstance(value, list):
        return f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    return _short(value, 80)


def cmd_meta(args: argparse.Namespace) -> int:
    """Print the file's metadata: format, writer, settings, plugins used (installed or not)."""
    with _open(args) as opened:
        meta = opened.meta
        names = opened.reader.names()
        file_size = opened.reader.byte_source.size
        ctx = opened.context(opened.open_budget)
        table = meta.get("plugins")
        plugins: dict[str, Any] = table if isinstance(table, dict) else {}
        shown = sorted(plugins.items())[:META_ROWS]
        installed = {tag: ctx.loader_for(tag) is not None for tag, _ in shown}
        hints = {tag: ctx.install_hint(tag) for tag, ok in installed.items() if not ok}
    if args.json:
        _print_json(meta)
        return EXIT_OK
    out = Output(sys.stdout)
    writer = meta.get("writer")
    rows: list[tuple[str, list[Part]]] = [
        ("file", [f"{safe_text(str(opened.path), HINT_CHARS)}  ({human_bytes(file_size)}, {len(names)} members)"])
    ]
    if "zanj_format" in meta:
        rows.append(("format", [safe_text(str(meta["zanj_format"])[: NAME_CHARS + 1], NAME_CHARS)]))
    else:
        rows.append(("format", ["no zanj_format key: written by zanj 0.6 or another writer"]))
    if isinstance(writer, dict):
        described = " ".join(_field(writer[k]) for k in ("dist", "version") if k in writer)
        if "python" in writer:
            described += f", Python {_field(writer['python'])}"
        rows.append(("writer", [described]))
    cfg = meta.get("zanj_cfg")
    if isinstance(cfg, dict):
        settings = [f"{_field(k)}={_summary(v)}" for k, v in itertools.islice(cfg.items(), 50)]
        if len(cfg) > 50:
            settings.append(f"... {len(cfg) - 50} more")
        rows.append(("settings", [", ".join(settings)]))
    tags = {tag: safe_text(tag, NAME_CHARS) for tag, _ in shown}
    tag_width = max((len(text) for text in tags.values()), default=0)
    for number, (tag, entry) in enumerate(shown):
        dist = _claimed_dist(entry)
        status = (
            out.good("installed") if installed[tag] else out.bad(f"NOT INSTALLED: {safe_text(hints[tag], HINT_CHARS)}")
        )
        rows.append(("plugins" if number == 0 else "", [f"{tags[tag].ljust(tag_width)}  {dist}  ", status]))
    if len(plugins) > len(shown):
        rows.append(("", [out.dim(f"... {len(plugins) - len(shown)} more plugin entries (--json shows all)")]))
    others = [key for key in meta if key not in ("zanj_format", "writer", "zanj_cfg", "plugins")]
    for key in others[:META_ROWS]:
        rows.append((safe_text(key, NAME_CHARS), [_summary(meta[key])]))
    if len(others) > META_ROWS:
        rows.append(("", [out.dim(f"... {len(others) - META_ROWS} more keys (--json shows all)")]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.line(out.bold(key.ljust(width)), "  ", *value)
    return EXIT_OK


# -- verify --------------------------------------------------------------------------------

_STATUS_WORDS: dict[str, str] = {CORRUPT: "corrupt", MISSING_PLUGIN: "plugin missing", LOAD_FAILED: "a loader failed"}
_KIND_WORDS: dict[str, str] = {CORRUPT: "corrupt", MISSING_PLUGIN: "missing plugin", LOAD_FAILED: "load failed"}


def _print_verify_report(report: VerifyReport, loaded: bool) -> None:
    out = Output(sys.stdout)
    file = safe_text(report.file, HINT_CHARS)
    checked = f"{report.members_checked} members ({human_bytes(report.bytes_checked)}) checked"
    if loaded:
        checked += f", {report.items_loaded} items loaded"
    if report.ok:
        out.line(out.good("OK"), f"  {file}: {checked}, every format has a loader")
    else:
        out.line(
            out.bad(f"FAILED ({_STATUS_WORDS[report.status]})"),
            f"  {file}: {len(report.problems)} problem(s); {checked}",
        )
        for problem in report.problems[:SHOWN_PROBLEMS]:
            out.line(f"  {_KIND_WORDS[problem.kind]}: {safe_text(problem.message, MESSAGE_CHARS)}")
        if len(report.problems) > SHOWN_PROBLEMS:
            out.line(f"  ... {len(report.problems) - SHOWN_PROBLEMS} more problems (--json lists all)")
    for note in report.notes[:SHOWN_NOTES]:
        out.line(out.dim(f"  note: {safe_text(note, MESSAGE_CHARS)}"))
    if len(report.notes) > SHOWN_NOTES:
        out.line(out.dim(f"  note: ... {len(report.notes) - SHOWN_NOTES} more notes (--json lists all)"))


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every member's CRC, the structure and the plugins (and `--load`: every item);
    exit with the code of the worst problem found (`VERIFY_EXIT`)."""
    report = verify_file(args.file, load=args.load, storage_options=args.storage_options)
    if args.json:
        _print_json(report.as_json())
    else:
        _print_verify_report(report, args.load)
    return VERIFY_EXIT[report.status]


# -- the parser and the entry point --------------------------------------------------------

EXIT_STATUS_HELP = (
    "Exit status: 0 if the file is intact and every format tag has a loader (with --load: and every "
    "item loads); 1 if it is corrupt (a bad zip, a CRC mismatch, bad JSON, a bad $ref, a safety limit "
    "exceeded) or cannot be read; 3 if it is intact but a plugin it needs is missing here; 4 (with "
    "--load) if it is intact but a loader fails on an item; 2 for a usage error. When several apply, "
    "the first of 1, 4, 3 wins."
)


def build_parser() -> argparse.ArgumentParser:
    from zanj_core._version import __version__

    parser = argparse.ArgumentParser(
        prog="zanj",
        description="Inspect .zanj files and the installed zanj plugins. Paths name items as "
        "'a/0/b' (dict keys and list indices separated by '/'). Text from a file is printed "
        "escaped (\\x1b, \\u202e) and cut to a bounded length.",
        epilog="Exit status: 0 on success, 1 on an error (a bad file, a path not in it, any failure), "
        "2 for a usage error, 3 and 4 from verify (see zanj verify --help), 130 when interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"zanj-core {__version__}")
    file_arguments = _file_arguments()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    ls = sub.add_parser(
        "ls",
        parents=[file_arguments],
        help="list the items of a file with their types, shapes, dtypes and sizes",
        description="List the items of FILE (or of the item at PATH) as a tree: type tag, shape and "
        "dtype (or item count, or value), data size, and the member holding the data. Reads the "
        "JSON members only. Items whose plugin is missing are listed with what to install.",
    )
    ls.add_argument("path", metavar="PATH", nargs="?", default=None, help="list only this item (default: all)")
    ls.add_argument("--depth", type=int, default=None, metavar="N", help="list N levels below PATH at most")
    ls.add_argument(
        "--members", action="store_true", help="also open containers kept in members (long lists as .jsonl)"
    )
    ls.add_argument(
        "--limit",
        type=int,
        default=LIST_LIMIT,
        metavar="N",
        help=f"list N items at most, then say how many more there are (default {LIST_LIMIT}; 0: all)",
    )
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")
    ls.set_defaults(func=cmd_ls)

    show = sub.add_parser(
        "show",
        parents=[file_arguments],
        help="print one item",
        description="Load and print the item at PATH. Arrays and tensors over 1 MiB show their first and "
        "last rows (only those rows are read); frames are summarised by pandas. A dataclass whose class "
        "is not defined here is shown as its fields. Lines are cut to the terminal's width, long strings "
        "and containers are elided, unless --max-lines is 0.",
    )
    show.add_argument("path", metavar="PATH", help="the item, e.g. 'layers/0/weight' ('' for the root)")
    show.add_argument("--rows", type=int, default=3, metavar="N", help="rows shown at each end of large arrays")
    show.add_argument(
        "--max-lines",
        type=int,
        default=100,
        metavar="N",
        help="stop printing after N lines (0: no limit, and lines, strings and containers printed whole)",
    )
    show.set_defaults(func=cmd_show)

    meta = sub.add_parser(
        "meta",
        parents=[file_arguments],
        help="print the file's metadata",
        description="Print the metadata of FILE: format version, writer, settings, and each plugin the "
        "file needs with whether it is installed here.",
    )
    meta.add_argument("--json", action="store_true", help="print the metadata member as JSON")
    meta.set_defaults(func=cmd_meta)

    verify = sub.add_parser(
        "verify",
        parents=[file_arguments],
        help="check every member's checksum, the structure and the plugins",
        description="Check FILE completely: the zip directory, every member's local header and CRC-32, the "
        "JSON members, every $ref, and that every format tag has a loader installed; prints each "
        "problem with its kind and the member or path it concerns.",
        epilog=EXIT_STATUS_HELP,
    )
    verify.add_argument(
        "--load",
        action="store_true",
        help="also run the loaders on every item, warnings counting as errors (slower, deeper)",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON (with each problem's kind)")
    verify.set_defaults(func=cmd_verify)

    plugins = sub.add_parser(
        "plugins",
        help="list discovered plugins",
        description="List every plugin found through the 'zanj' entry-point group: its distribution, "
        "version, the format tags it saves and loads, its member formats, and any load error. "
        "Exits 1 if a plugin failed to load.",
    )
    plugins.add_argument("--json", action="store_true", help="print JSON for scripts")
    plugins.set_defaults(func=cmd_plugins)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.storage_options = dict(getattr(args, "storage_option_pairs", [])) or None
    if (
        getattr(args, "rows", 1) < 1
        or getattr(args, "max_lines", 0) < 0
        or (getattr(args, "depth", None) or 0) < 0
        or getattr(args, "limit", 0) < 0
    ):
        parser.error("--rows must be at least 1; --max-lines, --depth and --limit must not be negative")
    with warnings.catch_warnings(record=True) as caught:  # printed once each, escaped, on one line
        warnings.simplefilter("always")
        try:
            return int(args.func(args))
        finally:
            _warn_lines([str(w.message) for w in caught])


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, ZanjError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory; the file asks for more than this machine has"
    if isinstance(exc, RecursionError):
        return "the data is nested too deeply to process"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _quiet_stdout() -> None:
    """After a closed pipe (`zanj ls big.zanj | head`): send what is left to nowhere."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure becomes one escaped line on stderr and an exit status
    (see the module docstring), never a traceback."""
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 terminal gets escapes, not an encoding error
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        return _run(argv)
    except SystemExit:
        raise  # argparse: --help, --version and usage errors (status 2) say what they need
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except BaseException as exc:  # the one place every failure ends: one line, a documented status
        code = EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_ERROR
        message = "interrupted" if isinstance(exc, KeyboardInterrupt) else _failure_message(exc)
        try:
            if os.environ.get("ZANJ_TRACEBACK"):
                Output(sys.stderr).block("".join(traceback.format_exception(exc)).rstrip("\n"))
            return _error(message, code)
        except Exception:  # stderr itself is gone: the status still says it
            return code


if __name__ == "__main__":
    sys.exit(main())
