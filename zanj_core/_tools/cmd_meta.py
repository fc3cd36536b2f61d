"""Layer 5, the tools: `zanj meta`, the metadata of a file.

Format version, writer, settings, and each plugin the file needs with whether it is installed
here. The plugins table is the file's claim: a distribution and version are printed plainly
only when they look like one, and install hints name only plugins this reader knows.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from typing import Any

from zanj_core._contract.records import PROJECT_NAME
from zanj_core._contract.textsafe import safe_text
from zanj_core._tools.exits import EXIT_OK
from zanj_core._tools.output import (
    HINT_CHARS,
    NAME_CHARS,
    Output,
    Part,
    field_text,
    human_bytes,
    print_json,
    short_repr,
)
from zanj_core._tools.reading import open_file
from zanj_core._walk.hints import VERSION_TEXT

META_ROWS = 200


def _claimed_dist(entry: Any) -> str:
    """A plugins-table entry's distribution and version as the file states them: plain when they
    look like a project name and a version, else quoted, so the column never reads as a command."""
    if not isinstance(entry, dict):
        return short_repr(entry)
    parts = []
    for key, pattern in (("dist", PROJECT_NAME), ("version", VERSION_TEXT)):
        value = entry.get(key)
        if isinstance(value, str) and len(value) <= NAME_CHARS and pattern.fullmatch(value):
            parts.append(value)
        elif value is not None:
            parts.append(short_repr(value, NAME_CHARS))
    return " ".join(parts)


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} entr{'y' if len(value) == 1 else 'ies'}}}"
    if isinstance(value, list):
        return f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    return short_repr(value, 80)


def cmd_meta(args: argparse.Namespace) -> int:
    """Print the file's metadata: format, writer, settings, plugins used (installed or not)."""
    with open_file(args) as opened:
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
        print_json(meta)
        return EXIT_OK
    out = Output(sys.stdout)
    writer = meta.get("writer")
    rows: list[tuple[str, list[Part]]] = [
        ("file", [f"{safe_text(str(opened.location), HINT_CHARS)}  ({human_bytes(file_size)}, {len(names)} members)"])
    ]
    if "zanj_format" in meta:
        rows.append(("format", [safe_text(str(meta["zanj_format"])[: NAME_CHARS + 1], NAME_CHARS)]))
    else:
        rows.append(("format", ["no zanj_format key: written by zanj 0.6 or another writer"]))
    if isinstance(writer, dict):
        described = " ".join(field_text(writer[k]) for k in ("dist", "version") if k in writer)
        if "python" in writer:
            described += f", Python {field_text(writer['python'])}"
        rows.append(("writer", [described]))
    cfg = meta.get("zanj_cfg")
    if isinstance(cfg, dict):
        settings = [f"{field_text(k)}={_summary(v)}" for k, v in itertools.islice(cfg.items(), 50)]
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
