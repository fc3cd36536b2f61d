"""What zanj 0.6 reads back from the core plugins' nodes: their `compat` callbacks.

The tuple, the long list and tuple (`.jsonl` members) and the `SerializableDataclass` nodes
are written exactly as zanj 0.6 writes them, so zanj 0.6 reads them back equal; their items
and fields are judged by their own handlers. Every other core node (sets, bytes, non-finite
floats, dicts with other keys...) has no zanj 0.6 form: those handlers declare no callback.
"""

from __future__ import annotations

from zanj_core.plugin import FORMAT_KEY, JSONdict

ZANJ06 = "0.6"


def same_in_zanj06(version: str, node: JSONdict) -> str | None:
    """None for zanj 0.6, which reads this node back equal; a refusal for any other version."""
    return None if version == ZANJ06 else f"{node.get(FORMAT_KEY)!r} has no zanj {version} form"
