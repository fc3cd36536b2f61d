"""What zanj 0.6 reads back from zanj-polars's nodes: the `compat` callback of the frame handler.

zanj 0.6 wrote a polars DataFrame as a `.jsonl` member of rows (`polars.DataFrame:external`)
and read it back with `polars.DataFrame(rows)`. Under `ZANJ(compat="0.6")` a DataFrame is
written in that form, and only when those rows read back equal (`zanj06.serialize_frame_zanj06`
refuses the rest with the reason); Series, LazyFrames and Arrow frames have no zanj 0.6 form.
This module imports nothing heavy: the callback sees JSON nodes only.
"""

from __future__ import annotations

from zanj_core.plugin import FORMAT_KEY, REF_KEY, JSONdict

ZANJ06 = "0.6"
ZANJ06_FRAME_TAG = "polars.DataFrame:external"


def zanj06_frame_problem(version: str, node: JSONdict) -> str | None:
    """None for a frame node in zanj 0.6's form, else why zanj `version` would not read it back.

    Its rows are JSON objects keyed by column name, so a name that is one of zanj's markers
    would make a row read as a tagged node."""
    tag = node.get(FORMAT_KEY)
    if version != ZANJ06 or tag != ZANJ06_FRAME_TAG:
        return f"{tag!r} has no zanj {version} form"
    columns = node.get("columns")
    marker = next((c for c in columns if c in (FORMAT_KEY, REF_KEY)), None) if isinstance(columns, list) else None
    if marker is not None:
        return f"column name {marker!r} would read as a zanj marker in zanj 0.6's rows"
    return None
