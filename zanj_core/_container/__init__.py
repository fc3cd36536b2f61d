"""Layer 2, the container: bytes in and out of a `.zanj` zip archive.

Byte sources (local files, file objects, fsspec URLs), the strict zip reader with its limits
and members, the aligned streaming zip writer, and publishing a finished file atomically.
It knows nothing of objects, handlers or plugins; it depends only on the contract layer.
"""
