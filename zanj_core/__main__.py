"""`python -m zanj_core` runs the `zanj` command line tool."""

import sys

from zanj_core._tools.cli import main

sys.exit(main())
