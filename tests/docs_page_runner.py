"""Runs the Python code blocks of one markdown page in order, through Sybil, in this process.

`python tests/docs_page_runner.py PAGE` is what tests/test_docs_examples.py starts, one process
per page, in the page's own temporary folder: the classes a page defines, the process group it
starts and the modules it imports end with it, so no page changes what a later test finds (a
zanj 0.6 file naming `MyNN` would otherwise resolve to a page's `MyNN` too). Prints one JSON
line, {"ran": N, "skipped": {reason: [lines]}}, then exits 0; a block that fails ends the
process with its traceback, which names the page and line.

A page's hidden setup calls `serve_over_http(folder)` for a block that reads an `http(s)://`
URL: it starts tests/remote_servers.py's `RangeHTTPServer` (the one tests/test_remote.py reads
through, honouring `Range` and counting what it sends) on a free port of 127.0.0.1, in a thread
of this process, and stops it when the page ends, however it ends; a page that hangs is killed
with its server by the test's timeout.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import sys
import unittest
import warnings
from pathlib import Path
from typing import Any

from remote_servers import RangeHTTPServer
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

SYBIL = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()])


def missing(*modules: str) -> str | None:
    """The skip reason for a block needing `modules`, or None when all are installed."""
    absent = [module for module in modules if importlib.util.find_spec(module) is None]
    return f"needs {', '.join(absent)} (not installed)" if absent else None


def is_code(example: Any) -> bool:
    """A code block (visible or not), as opposed to a skip directive."""
    return not isinstance(example.region.parsed, tuple)


def is_invisible(example: Any) -> bool:
    """Setup code in an HTML comment (`<!-- invisible-code-block: python`), which readers do not see."""
    return bool(example.document.text.startswith("<!--", example.start))


def run_page(page: Path, name: str) -> dict[str, Any]:
    """Evaluates every example of `page` in order in one namespace whose module is `name`."""
    document = SYBIL.parse(page)
    ran, skipped = 0, dict[str, list[int]]()
    with contextlib.ExitStack() as page_servers:

        def serve_over_http(folder: str | Path) -> RangeHTTPServer:
            """Serves `folder` over HTTP on loopback until the page ends; `.url` is its address."""
            return page_servers.enter_context(RangeHTTPServer(Path(folder)))

        # classes the blocks define get a module of their own page, as in a script of that name
        document.namespace.update(__name__=name, missing=missing, serve_over_http=serve_over_http)
        for example in document.examples():
            try:
                example.evaluate()
            except unittest.SkipTest as skip:
                skipped.setdefault(str(skip), []).append(example.line)
                continue
            ran += is_code(example)
    return {"ran": ran, "skipped": skipped}


def main() -> int:
    page = Path(sys.argv[1]).resolve()
    # torch.distributed.checkpoint says so each time a page saves or loads without a process group
    warnings.filterwarnings("ignore", "torch.distributed is disabled", UserWarning)
    name = "docs_" + re.sub(r"\W", "_", page.name if len(sys.argv) < 3 else sys.argv[2])
    result = run_page(page, name)
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
