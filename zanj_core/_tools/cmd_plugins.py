"""Layer 5, the tools: `zanj plugins`, the plugins this installation discovered.

Each plugin's distribution, version, the format tags it saves and loads, its member formats,
read options, the commands and location listers it adds to the command line, and its load error if it failed or the mistakes found in it (then the command
exits 1).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from zanj_core._contract.textsafe import safe_text
from zanj_core._tools.exits import EXIT_ERROR, EXIT_OK
from zanj_core._tools.output import MESSAGE_CHARS, Output, print_json
from zanj_core._walk.registry import REGISTRY


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
            "commands": info.commands,
            "location_listers": info.location_listers,
            "error": info.error,
            "problems": info.problems,
        }
        for info in REGISTRY.plugins
    ]


def cmd_plugins(args: argparse.Namespace) -> int:
    """List discovered plugins: distribution, version, tags handled, load errors."""
    report = _plugins_report()
    if args.json:
        print_json(report)
    else:
        out = Output(sys.stdout)
        for entry in report:
            if entry["error"]:
                status = f"FAILED: {entry['error']}"
            elif entry["problems"]:
                status = f"used, with problems: {'; '.join(entry['problems'])}"
            else:
                status = "ok"
            out.line(
                f"{entry['distribution']} {entry['version']}  [{entry['entry_point']} = {entry['value']}]  ",
                safe_text(status, MESSAGE_CHARS),
            )
            for label, key in (
                ("saves", "serializer_tags"),
                ("loads", "loader_tags"),
                ("members", "member_formats"),
                ("read options", "read_options"),
                ("commands", "commands"),
                ("lists", "location_listers"),
            ):
                values = entry[key]
                if values:
                    out.line(f"    {label}: {', '.join(str(v) for v in values)}")
    return EXIT_ERROR if any(entry["error"] or entry["problems"] for entry in report) else EXIT_OK
