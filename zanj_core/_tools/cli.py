"""Layer 5, the tools: the `zanj` command line (`ls`, `show`, `meta`, `verify`, `plugins`, and
the commands plugins add through `extensions`): its parser, exit statuses and entry point. Each command is a module of its own (`cmd_ls`, `cmd_show`,
`cmd_meta`, `cmd_verify`, `cmd_plugins`); they print through `output` and read through `reading`.

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

Exit status (`EXIT_*` in `zanj_core._tools.exits`):
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
import json
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

from zanj_core._tools.cmd_ls import LIST_LIMIT, cmd_ls
from zanj_core._tools.cmd_meta import cmd_meta
from zanj_core._tools.cmd_plugins import cmd_plugins
from zanj_core._tools.cmd_show import cmd_show
from zanj_core._tools.cmd_verify import cmd_verify
from zanj_core._tools.exits import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from zanj_core._tools.extensions import add_plugin_commands
from zanj_core._tools.output import Output, print_error, warn_lines
from zanj_core.errors import ZanjError


def _storage_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`, VALUE read as JSON when it is JSON (`anon=true`, `client_kwargs={...}`), else text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _storage_arguments() -> argparse.ArgumentParser:
    """`-o KEY=VALUE`, the fsspec options for a URL: taken by every command that opens a location."""
    shared = argparse.ArgumentParser(add_help=False)
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


def _file_arguments(storage: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """FILE and its fsspec options, shared by the subcommands that open a file."""
    shared = argparse.ArgumentParser(add_help=False, parents=[storage])
    shared.add_argument("file", metavar="FILE", help="a path, or a URL such as s3://bucket/x.zanj (zanj-core[remote])")
    return shared


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
    storage_arguments = _storage_arguments()
    file_arguments = _file_arguments(storage_arguments)
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
    add_plugin_commands(sub, storage_arguments)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    # warnings (a broken plugin found while the parser gathers plugin commands, or any raised by
    # the command) are printed once each, escaped, on one line
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
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
            return int(args.func(args))
        finally:
            warn_lines([str(w.message) for w in caught])


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
            return print_error(message, code)
        except Exception:  # stderr itself is gone: the status still says it
            return code


if __name__ == "__main__":
    sys.exit(main())
