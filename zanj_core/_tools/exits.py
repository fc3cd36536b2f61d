"""Layer 5, the tools: the exit statuses of the `zanj` command, which scripts rely on.

Their meaning is documented in `zanj_core._tools.cli`; each command returns one of them.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_MISSING_PLUGIN = 3
EXIT_LOAD_FAILED = 4
EXIT_INTERRUPTED = 130
