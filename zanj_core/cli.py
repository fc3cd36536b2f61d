"""The `zanj` command line tool: `ls`, `show`, `meta`, `verify` and `plugins`.

Every command reads only what it prints: `ls` and `meta` parse the JSON members alone, `show`
loads one item (large arrays: only the rows shown), `verify` reads everything on purpose.
Output is plain text that reads well on a terminal (with colour there, unless NO_COLOR is set)
and in a pipe (no colour); `--json` gives the same facts for scripts. Exit status: 0 on
success, 1 when the file is bad or the path is not in it, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pprint
import shutil
import sys
import warnings
from collections.abc import Sequence
from typing import IO, Any

from zanj_core.errors import ZanjError, ZanjMissingClassWarning
from zanj_core.handlers import ZanjUnloaded, format_path
from zanj_core.loading import LoadContext
from zanj_core.registry import REGISTRY
from zanj_core.verify import verify_file
from zanj_core.zanj import ZANJ

MiB = 1 << 20
SHOW_SUMMARY_BYTES = 1 * MiB  # larger items with rows are shown by their first and last rows


class Style:
    """ANSI colour on a terminal, nothing in a pipe or when NO_COLOR is set."""

    def __init__(self, stream: IO[str]) -> None:
        isatty = getattr(stream, "isatty", lambda: False)()
        self.on = bool(isatty) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def _paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on and text else text

    def bold(self, text: str) -> str:
        return self._paint(text, "1")

    def dim(self, text: str) -> str:
        return self._paint(text, "2")

    def kind(self, text: str) -> str:
        return self._paint(text, "36")

    def bad(self, text: str) -> str:
        return self._paint(text, "31;1")

    def good(self, text: str) -> str:
        return self._paint(text, "32;1")


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _error(message: str) -> int:
    print(f"zanj: error: {message}", file=sys.stderr)
    return 1


def _warn_lines(messages: Sequence[str]) -> None:
    for message in messages:
        print(f"zanj: warning: {message}", file=sys.stderr)


def _open(args: argparse.Namespace) -> Any:
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
        print(json.dumps(report, indent=2))
    else:
        for entry in report:
            status = f"FAILED: {entry['error']}" if entry["error"] else "ok"
            print(f"{entry['distribution']} {entry['version']}  [{entry['entry_point']} = {entry['value']}]  {status}")
            for label, key in (
                ("saves", "serializer_tags"),
                ("loads", "loader_tags"),
                ("members", "member_formats"),
                ("read options", "read_options"),
            ):
                values = entry[key]
                if values:
                    print(f"    {label}: {', '.join(str(v) for v in values)}")
    return 1 if any(entry["error"] for entry in report) else 0


# -- ls ------------------------------------------------------------------------------------


def _describe(info: Any) -> str:
    """The middle column of `ls`: shape and dtype, item count, or a scalar's value."""
    if info.shape is not None or info.dtype is not None:
        shape = (
            "(" + ", ".join(str(d) for d in info.shape) + ("," if len(info.shape) == 1 else "") + ")"
            if info.shape is not None
            else ""
        )
        return " ".join(part for part in (info.dtype or "", shape) if part)
    if info.length is not None:
        return f"{info.length} item{'s' if info.length != 1 else ''}"
    if not info.tagged and info.kind not in ("dict", "list"):
        return "= " + _short(info.value)
    if info.value is not None:
        text = str(info.value)
        return "= " + (text if len(text) <= 60 else text[:57] + "...")
    return ""


def cmd_ls(args: argparse.Namespace) -> int:
    """List the items of a file (or of the item at PATH) from the JSON alone."""
    with _open(args) as opened:
        items = opened.tree(args.path, max_depth=args.depth, expand_members=args.members)
    if args.json:
        base = len(items[0].path) if items else 0
        print(json.dumps([{**info.as_json(), "depth": len(info.path) - base} for info in items], indent=1))
        return 0
    style = Style(sys.stdout)
    base = len(items[0].path) if items else 0
    rows = []
    for info in items:
        name = ("  " * (len(info.path) - base)) + (format_path(info.path) if len(info.path) == base else info.name)
        size = human_bytes(info.data_bytes) if info.data_bytes else ""
        where = info.member or ""
        if not info.loadable:
            where = f"MISSING PLUGIN: {info.install_hint}"
        rows.append((name, info.kind, _describe(info), size, where, info.loadable))
    widths = [
        min(max((len(row[i]) for row in rows), default=0), cap) for i, cap in ((0, 48), (1, 40), (2, 40), (3, 10))
    ]
    for name, kind, described, size, where, loadable in rows:
        line = (
            f"{style.bold(name.ljust(widths[0]))}  {style.kind(kind.ljust(widths[1]))}  "
            f"{described.ljust(widths[2])}  {size.rjust(widths[3])}  "
            + (style.dim(where) if loadable else style.bad(where))
        )
        print(line.rstrip())
    return 0


# -- show ----------------------------------------------------------------------------------


def _fields_of_unloaded(opened: Any, path: tuple[Any, ...], value: Any, notes: list[str]) -> Any:
    """A dataclass or model whose class this process lacks, as a dict of its fields loaded one
    by one (the command line never imports a module a file names)."""
    if not isinstance(value, ZanjUnloaded):
        return value
    try:
        keys = opened.keys(path)
    except ZanjError:
        return value
    notes.append(f"{format_path(path)} is a {value.tag}; its class is not defined here, so it is shown as its fields")
    fields = {}
    for key in keys:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            child = opened.load((*path, key))
        fields[key] = _fields_of_unloaded(opened, (*path, key), child, notes)
    return fields


def _pretty(value: Any, width: int) -> str:
    """pprint, with numpy and pandas summarising large values (only if already imported)."""
    numpy = sys.modules.get("numpy")
    pandas = sys.modules.get("pandas")
    with contextlib.ExitStack() as options:
        if numpy is not None:
            options.enter_context(numpy.printoptions(threshold=100, edgeitems=3, linewidth=width))
        if pandas is not None:
            options.enter_context(
                pandas.option_context("display.max_rows", 20, "display.max_columns", 20, "display.width", width)
            )
        return pprint.pformat(value, width=width, sort_dicts=False)


def cmd_show(args: argparse.Namespace) -> int:
    """Print one item: large arrays by their first and last rows, everything else whole."""
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 160))
    style = Style(sys.stdout)
    notes: list[str] = []
    with _open(args) as opened:
        info = opened.info(args.path)
        facts = [info.kind, _describe(info)]
        if info.data_bytes:
            facts.append(human_bytes(info.data_bytes))
        if info.member:
            facts.append(f"member {info.member}")
        print(style.bold(format_path(info.path)) + "  " + style.dim("  ".join(f for f in facts if f)))
        rows = args.rows
        summarise = bool(info.shape) and info.data_bytes > SHOW_SUMMARY_BYTES and info.shape[0] > 2 * rows
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if summarise:
                part = opened.slice(info.path)
                head, tail = part[:rows], part[-rows:]
            else:
                value = _fields_of_unloaded(opened, info.path, opened.load(info.path), notes)
        if notes:  # the notes say which classes are missing; their warnings would repeat it
            caught = [w for w in caught if not issubclass(w.category, ZanjMissingClassWarning)]
        _warn_lines([str(w.message) for w in caught])
    if summarise:
        text = (
            f"first {rows} of {info.shape[0]} rows:\n{_pretty(head, width)}\n"
            f"...\nlast {rows} rows:\n{_pretty(tail, width)}"
        )
    else:
        text = _pretty(value, width)
    lines = text.splitlines()
    if args.max_lines and len(lines) > args.max_lines:
        hidden = len(lines) - args.max_lines
        lines = [*lines[: args.max_lines], style.dim(f"... {hidden} more lines (--max-lines 0 shows all)")]
    for note in notes:
        print(style.dim(f"note: {note}"))
    print("\n".join(lines))
    return 0


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
        ctx = LoadContext(opened.zanj, opened.reader, meta, REGISTRY)
        plugins = meta.get("plugins") if isinstance(meta.get("plugins"), dict) else {}
        tags = {tag: ctx.loader_for(tag) is not None for tag in plugins}
        hints = {tag: ctx.install_hint(tag) for tag, installed in tags.items() if not installed}
    if args.json:
        print(json.dumps(meta, indent=1))
        return 0
    style = Style(sys.stdout)
    writer = meta.get("writer")
    rows: list[tuple[str, str]] = [("file", f"{opened.path}  ({human_bytes(file_size)}, {len(names)} members)")]
    if "zanj_format" in meta:
        rows.append(("format", str(meta["zanj_format"])))
    else:
        rows.append(("format", "no zanj_format key: written by zanj 0.6 or another writer"))
    if isinstance(writer, dict):
        described = " ".join(str(writer[k]) for k in ("dist", "version") if k in writer)
        if "python" in writer:
            described += f", Python {writer['python']}"
        rows.append(("writer", described))
    cfg = meta.get("zanj_cfg")
    if isinstance(cfg, dict):
        rows.append(("settings", ", ".join(f"{k}={_summary(v)}" for k, v in cfg.items())))
    tag_width = max((len(tag) for tag in plugins), default=0)
    for number, (tag, entry) in enumerate(sorted(plugins.items())):
        dist = " ".join(str(entry.get(k, "")) for k in ("dist", "version")) if isinstance(entry, dict) else str(entry)
        status = style.good("installed") if tags[tag] else style.bad(f"NOT INSTALLED: {hints[tag]}")
        rows.append(("plugins" if number == 0 else "", f"{tag.ljust(tag_width)}  {dist}  {status}"))
    for key, value in meta.items():
        if key not in ("zanj_format", "writer", "zanj_cfg", "plugins"):
            rows.append((key, _summary(value)))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{style.bold(key.ljust(width))}  {value}")
    return 0


# -- verify --------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every member's CRC, the structure and the plugins; exit 1 if anything is wrong."""
    report = verify_file(args.file, load=args.load, storage_options=args.storage_options)
    if args.json:
        print(json.dumps(report.as_json(), indent=1))
        return 0 if report.ok else 1
    style = Style(sys.stdout)
    checked = f"{report.members_checked} members ({human_bytes(report.bytes_checked)}) checked"
    if args.load:
        checked += f", {report.items_loaded} items loaded"
    if report.ok:
        print(f"{style.good('OK')}  {report.file}: {checked}, every format has a loader")
    else:
        print(f"{style.bad('FAILED')}  {report.file}: {len(report.problems)} problem(s); {checked}")
        for problem in report.problems:
            print(f"  {problem.message}")
    for note in report.notes:
        print(style.dim(f"  note: {note}"))
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    from zanj_core import __version__

    parser = argparse.ArgumentParser(
        prog="zanj",
        description="Inspect .zanj files and the installed zanj plugins. Paths name items as "
        "'a/0/b' (dict keys and list indices separated by '/').",
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
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")
    ls.set_defaults(func=cmd_ls)

    show = sub.add_parser(
        "show",
        parents=[file_arguments],
        help="print one item",
        description="Load and print the item at PATH. Arrays and tensors over 1 MiB show their first and "
        "last rows (only those rows are read); frames are summarised by pandas. A dataclass whose class "
        "is not defined here is shown as its fields.",
    )
    show.add_argument("path", metavar="PATH", help="the item, e.g. 'layers/0/weight' ('' for the root)")
    show.add_argument("--rows", type=int, default=3, metavar="N", help="rows shown at each end of large arrays")
    show.add_argument(
        "--max-lines", type=int, default=100, metavar="N", help="stop printing after N lines (0: no limit)"
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
        "JSON members, every $ref, and that every format tag has a loader installed. Exits 0 if all is "
        "well, 1 otherwise, naming each bad member.",
    )
    verify.add_argument(
        "--load", action="store_true", help="also load every item that has a data member (slower, deeper)"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.storage_options = dict(getattr(args, "storage_option_pairs", [])) or None
    if getattr(args, "rows", 1) < 1 or getattr(args, "max_lines", 0) < 0 or (getattr(args, "depth", None) or 0) < 0:
        parser.error("--rows must be at least 1; --max-lines and --depth must not be negative")
    try:
        return int(args.func(args))
    except ZanjError as exc:
        return _error(str(exc))
    except BrokenPipeError:  # e.g. `zanj ls big.zanj | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
