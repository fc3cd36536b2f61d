"""Where the tests find files written by the original zanj 0.6.0.

The committed corpus (tests/data/zanj06, made by its make_corpus.py) by default; the `interop`
nox session writes a fresh one with zanj 0.6.0 from PyPI and points `ZANJ06_CORPUS` at it.
"""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path(os.environ.get("ZANJ06_CORPUS") or Path(__file__).parent / "data" / "zanj06")
