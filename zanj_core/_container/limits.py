"""Layer 2, the container: `ReadLimits`, what a reader accepts from a file it did not write.

Every size a hostile file declares (members, JSON, headers, compression ratios, what one read
may materialise) is compared with these before anything is allocated for it. Users set them
through `ZANJ(read_limits=...)`; docs/security.md explains the defaults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zanj_core.errors import ZanjError


@dataclass(frozen=True)
class ReadLimits:
    """What a reader accepts from a file, each checked before anything is allocated for it.

    The defaults let every file zanj writes for ordinary use through and stop hostile ones
    (see docs/security.md); raise one for a file you trust with
    `ZANJ(read_limits=ReadLimits(max_json_bytes=...))`. Nesting depth is `ZANJ(max_depth=...)`.
    """

    max_json_bytes: int = 64 * 1024 * 1024
    """Largest JSON member (`__zanj__.json`, the metadata, each `.jsonl` member), uncompressed."""
    max_compression_ratio: int = 200
    """Largest uncompressed/compressed size ratio of a compressed member over 1 MiB (zip bombs:
    deflate reaches about 1000x on repeated bytes)."""
    max_members: int = 100_000
    """Most members in the archive, checked from the end record before the directory is parsed."""
    max_header_bytes: int = 64 * 1024
    """Largest header inside a binary member (the `.npy` header's dict, say)."""
    read_budget_floor: int = 128 * 1024 * 1024
    """Bytes any one read may materialise whatever the file's size (see `read_budget`)."""
    read_budget_ratio: int = 256
    """Further bytes one read may materialise per byte of the file: enough for members deflated
    up to `max_compression_ratio` and for JSON parsed into Python objects."""

    def read_budget(self, file_size: int) -> int:
        """What one operation on a file of `file_size` bytes may materialise in all: every
        decompressed byte, every byte read into memory (once per use), arrays built from JSON
        and parsed JSON (see `zanj_core._contract.budget`). Linear in the file's size, so no file costs
        more than a fixed multiple of itself."""
        return self.read_budget_floor + self.read_budget_ratio * max(file_size, 0)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ZanjError(f"ReadLimits.{field.name} must be a positive int, got {value!r}")
