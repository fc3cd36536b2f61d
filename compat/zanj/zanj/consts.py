"""zanj 0.6's constants: the JSON markers (zanj-core's own) and muutils' JSON helpers."""

from __future__ import annotations

from muutils.json_serialize.util import MonoTuple, safe_getsource, string_as_lines

from zanj_core.plugin import FORMAT_KEY, REF_KEY, JSONdict, JSONitem

_FORMAT_KEY: str = FORMAT_KEY
"""zanj 0.6's name for the key of a node's format tag, `zanj_core.FORMAT_KEY`."""
_REF_KEY: str = REF_KEY
"""zanj 0.6's name for the key of a reference to a data member, `zanj_core.REF_KEY`."""

__all__ = [
    "JSONdict",
    "JSONitem",
    "MonoTuple",
    "_FORMAT_KEY",
    "_REF_KEY",
    "safe_getsource",
    "string_as_lines",
]
