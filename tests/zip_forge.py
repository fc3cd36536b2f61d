"""A zip writer that can make every field of a `.zanj` archive lie, for the directory tests.

`forge(parts, ...)` lays out local headers, data, the central directory, optional zip64 end
records and the end record, each field taken from the member unless an override says
otherwise. With no override it writes a file zanj reads (`base_parts()`): the JSON members
and one stored data member, `blob.bin`, that the tree refers to. Standard library only.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

STORED, DEFLATED = 0, 8
BLOB = bytes(range(256)) * 2
"""What `blob.bin` holds in `base_parts()`."""


@dataclass
class Part:
    """One member: `content` (deflated when `method` is DEFLATED) and overrides of the fields
    of its local header (`local`) and its directory entry (`central`). Keys: `signature`,
    `version`, `flags`, `method`, `crc`, `csize`, `size`, `name` (bytes), `extra` (bytes);
    `local` also takes `extra_len` (the length field alone); `central` also takes `offset`
    (absolute) and `comment` (bytes)."""

    name: str
    content: bytes
    method: int = STORED
    local: dict[str, Any] = field(default_factory=dict)
    central: dict[str, Any] = field(default_factory=dict)

    def packed(self) -> bytes:
        if self.method != DEFLATED:
            return self.content
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return packer.compress(self.content) + packer.flush()

    def fields(self, which: dict[str, Any], data: bytes) -> dict[str, Any]:
        raw = self.name.encode("utf-8")
        values: dict[str, Any] = {
            "version": 20,
            "flags": 0 if raw.isascii() else 0x800,
            "method": self.method,
            "crc": zlib.crc32(self.content),
            "csize": len(data),
            "size": len(self.content),
            "name": raw,
            "extra": b"",
        }
        values.update(which)
        return values


def base_parts(blob: bytes = BLOB, method: int = STORED) -> list[Part]:
    """A good archive: the tree refers to `blob.bin` (bytes) and holds a plain value."""
    tree = {"blob": {"__muutils_format__": "bytes", "$ref": "blob.bin", "len": len(blob)}, "x": 1}
    meta = {"zanj_format": "1.0", "writer": {"dist": "zip-forge"}}
    return [
        Part("__zanj__.json", json.dumps(tree).encode(), DEFLATED),
        Part("__zanj_meta__.json", json.dumps(meta).encode(), DEFLATED),
        Part("blob.bin", blob, method),
    ]


def forge(
    parts: list[Part],
    *,
    prefix: bytes = b"",
    end: dict[str, Any] | None = None,
    comment: bytes = b"",
    trailing: bytes = b"",
    between: bytes = b"",
    zip64: dict[str, Any] | None = None,
) -> bytes:
    """The archive's bytes. `prefix` comes before it (offsets count from the archive's start,
    as a zip appended to other data); `end` overrides the end record's `count`, `size`,
    `offset` and `comment_len`; `zip64` (a dict, maybe empty) adds zip64 end records, its keys
    overriding `count`, `size`, `offset`, `signature`, `record_offset`, `disk` and `disks`;
    `between` comes right after the directory; `trailing` follows the end record and its
    comment."""
    body = bytearray()
    directory = bytearray()
    for part in parts:
        data = part.packed()
        offset = len(body)
        loc = part.fields(part.local, data)
        body += struct.pack(
            "<4sHHHHHLLLHH",
            loc.get("signature", b"PK\x03\x04"),
            loc["version"],
            loc["flags"],
            loc["method"],
            0,
            0x21,
            loc["crc"],
            loc["csize"],
            loc["size"],
            len(loc["name"]),
            loc.get("extra_len", len(loc["extra"])),
        )
        body += loc["name"] + loc["extra"] + data
        cen = part.fields(part.central, data)
        comment_bytes = cen.get("comment", b"")
        directory += struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            cen.get("signature", b"PK\x01\x02"),
            0x0314,
            cen["version"],
            cen["flags"],
            cen["method"],
            0,
            0x21,
            cen["crc"],
            cen["csize"],
            cen["size"],
            len(cen["name"]),
            len(cen["extra"]),
            len(comment_bytes),
            0,
            0,
            0o100644 << 16,
            cen.get("offset", offset),
        )
        directory += cen["name"] + cen["extra"] + comment_bytes
    ends = {
        "count": len(parts),
        "size": len(directory) + len(between),
        "offset": len(body),
        "comment_len": len(comment),
    }
    ends.update(end or {})
    directory += between
    tail = b""
    if zip64 is not None:
        record_at = len(body) + len(directory)
        z = {"count": len(parts), "size": len(directory), "offset": len(body), "signature": b"PK\x06\x06"}
        z.update(zip64)
        tail += struct.pack(
            "<4sQHHLLQQQQ", z["signature"], 44, 45, 45, 0, 0, z["count"], z["count"], z["size"], z["offset"]
        )
        tail += struct.pack(
            "<4sLQL", b"PK\x06\x07", z.get("disk", 0), z.get("record_offset", record_at), z.get("disks", 1)
        )
    record = struct.pack(
        "<4sHHHHLLH",
        b"PK\x05\x06",
        0,
        0,
        ends["count"] & 0xFFFF,
        ends["count"] & 0xFFFF,
        ends["size"] & 0xFFFFFFFF,
        ends["offset"] & 0xFFFFFFFF,
        ends["comment_len"],
    )
    return prefix + bytes(body) + bytes(directory) + tail + record + comment + trailing
