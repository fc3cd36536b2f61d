"""zanj-torch's own error: importing it does not import torch."""

from __future__ import annotations

from zanj_core.errors import ZanjError


class ZanjDeviceError(ZanjError, RuntimeError):
    """The reader's `map_location` names a device this process cannot use (CUDA asked for
    where torch has no CUDA, say). The file is fine: read it again with another device."""
