"""The `zanj` command line tool.

Subcommands live in one parser so later commands (`ls`, `show`, `verify`...) slot in beside
`plugins`. Output is plain text that reads well on a terminal and in a pipe; `--json` gives
the same facts for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from zanj_core.registry import REGISTRY


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


def build_parser() -> argparse.ArgumentParser:
    from zanj_core import __version__

    parser = argparse.ArgumentParser(prog="zanj", description="Inspect .zanj files and the installed zanj plugins.")
    parser.add_argument("--version", action="version", version=f"zanj-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
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
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `zanj plugins | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
