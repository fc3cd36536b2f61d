"""What zanj 0.6 reads back from zanj-pandas's nodes: the `compat` callback of the frame handler.

Under `ZANJ(compat="0.6")` a DataFrame is written as zanj 0.6 writes it, a `.jsonl` member of
rows, and only when zanj 0.6 reads those rows back equal (`serialize_pandas` refuses the rest
with the reason). Series and Arrow frames have no zanj 0.6 form. This module imports nothing
heavy: the callback sees JSON nodes only.
"""

from __future__ import annotations

from zanj_core.plugin import FORMAT_KEY, REF_KEY, JSONdict

ZANJ06 = "0.6"
ZANJ06_FRAME_TAG = "pandas.DataFrame:external"


def zanj06_frame_problem(version: str, node: JSONdict) -> str | None:
    """None for a frame node in zanj 0.6's form, else why zanj `version` would not read it back.

    Its rows are plain JSON objects keyed by column label, so a label that is one of zanj's
    markers would make a row read as a tagged node."""
    tag = node.get(FORMAT_KEY)
    if version != ZANJ06 or tag != ZANJ06_FRAME_TAG:
        return f"{tag!r} has no zanj {version} form"
    columns = node.get("columns")
    marker = next((c for c in columns if c in (FORMAT_KEY, REF_KEY)), None) if isinstance(columns, list) else None
    if marker is not None:
        return f"column label {marker!r} would read as a zanj marker in zanj 0.6's rows"
    return None
