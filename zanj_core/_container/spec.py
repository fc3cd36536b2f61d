"""Layer 2, the container: the `.zanj` format as this version writes it and reads it.

A `.zanj` file is a zip archive with two JSON members (`MAIN_MEMBER`, the object tree, and
`META_MEMBER`, the metadata) and any number of data members. Binary members are stored
uncompressed with their data aligned to `ALIGNMENT` bytes, so readers can map them into
memory; everything else is deflated. docs/format.md describes the format in full.
"""

from __future__ import annotations

FORMAT_VERSION = "1.0"
"""The file format this version writes (`zanj_format` in the metadata); it reads any 1.x."""
MAIN_MEMBER = "__zanj__.json"
META_MEMBER = "__zanj_meta__.json"
JSON_MEMBERS = frozenset({MAIN_MEMBER, META_MEMBER})
ALIGNMENT = 64
"""Where a stored binary member's data starts: a multiple of this many bytes into the file."""
STORED, DEFLATED = 0, 8
"""The zip compression methods zanj writes (zipfile's `ZIP_STORED`, `ZIP_DEFLATED`)."""
READABLE_METHODS = frozenset({STORED, DEFLATED})
"""Stored and deflate: what zanj (and zanj 0.6) write. zipfile inflates deflate in bounded steps;
its bzip2 and lzma readers expand a whole compressed chunk at once, so a 1 KB member could
allocate gigabytes before any size is compared. Other methods are refused."""
