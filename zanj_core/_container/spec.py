"""Layer 2, the container: the `.zanj` format as this version writes it and reads it.

A `.zanj` file is a zip archive with two JSON members read on opening (`MAIN_MEMBER`, the
object tree, and `META_MEMBER`, the metadata), any number of data members, and, when there are
data members, `EXTERNALS_MEMBER` last: the members described, read only when someone asks. Binary members are stored
uncompressed with their data aligned to `ALIGNMENT` bytes, so readers can map them into
memory; everything else is deflated. docs/format.md describes the format in full.
"""

from __future__ import annotations

FORMAT_VERSION = "1.1"
"""The file format this version writes (`zanj_format` in the metadata); it reads any 1.x.
1.1 moved `externals_info` out of the metadata into `EXTERNALS_MEMBER`: opening a file no longer
parses a second description of every member."""
INLINE_EXTERNALS_FORMAT = "1.0"
"""The format of a file whose metadata holds `externals_info` itself, as zanj 0.6 reads it
(written for `ZANJ(compat="0.6")`)."""
MAIN_MEMBER = "__zanj__.json"
META_MEMBER = "__zanj_meta__.json"
EXTERNALS_MEMBER = "__zanj_externals__.json"
"""Format 1.1: member name -> its object path, member format and the writer's info, written after
the data members (the metadata's `externals_info` in format 1.0)."""
JSON_MEMBERS = frozenset({MAIN_MEMBER, META_MEMBER, EXTERNALS_MEMBER})
ALIGNMENT = 64
"""Where a stored binary member's data starts: a multiple of this many bytes into the file."""
STORED, DEFLATED = 0, 8
"""The zip compression methods zanj writes (zipfile's `ZIP_STORED`, `ZIP_DEFLATED`)."""
READABLE_METHODS = frozenset({STORED, DEFLATED})
"""Stored and deflate: what zanj (and zanj 0.6) write. zipfile inflates deflate in bounded steps;
its bzip2 and lzma readers expand a whole compressed chunk at once, so a 1 KB member could
allocate gigabytes before any size is compared. Other methods are refused."""
