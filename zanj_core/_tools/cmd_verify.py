"""Layer 5, the tools: `zanj verify`, the report of `verify_file` and its exit status.

The check itself is `zanj_core._tools.verify`; this prints its report (each problem with its
kind, notes dimmed) or its JSON, and exits with the status of the worst problem (`VERIFY_EXIT`).
"""

from __future__ import annotations

import argparse
import sys

from zanj_core._contract.textsafe import safe_text
from zanj_core._tools.exits import EXIT_ERROR, EXIT_LOAD_FAILED, EXIT_MISSING_PLUGIN, EXIT_OK
from zanj_core._tools.output import HINT_CHARS, MESSAGE_CHARS, SHOWN_NOTES, Output, human_bytes, print_json
from zanj_core._tools.reading import refuse_listed_location
from zanj_core._tools.verify import CORRUPT, LOAD_FAILED, MISSING_PLUGIN, VerifyReport, verify_file

VERIFY_EXIT: dict[str, int] = {
    "ok": EXIT_OK,
    CORRUPT: EXIT_ERROR,
    MISSING_PLUGIN: EXIT_MISSING_PLUGIN,
    LOAD_FAILED: EXIT_LOAD_FAILED,
}
SHOWN_PROBLEMS = 100

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
    refuse_listed_location(args)
    report = verify_file(args.file, load=args.load, storage_options=args.storage_options)
    if args.json:
        print_json(report.as_json())
    else:
        _print_verify_report(report, args.load)
    return VERIFY_EXIT[report.status]
