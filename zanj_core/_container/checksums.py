"""Layer 2, the container: the CRC-32 that zip members carry, computed as fast as available.

The writer checksums every member it writes and the reader every member it verifies; both take
the function from here, so neither depends on the other and both agree on it.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any


@functools.cache
def crc32_function() -> Any:
    """ISA-L's CRC-32 (about 8 GB/s here, zlib's about 2) when `isal` is installed (the
    `zanj-core[fast]` extra; zanj-numpy depends on it), else zlib's. Same checksum either way.
    Resolved on first use, so importing zanj_core stays light."""
    try:
        from isal.isal_zlib import crc32
    except ImportError:
        return zlib.crc32
    return crc32
