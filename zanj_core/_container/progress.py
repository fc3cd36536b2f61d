"""Opt-in progress bars (`ZANJ(progress=True)`) for long saves, uploads and reads, drawn by tqdm.

A bar counts bytes (of data members written, uploaded or fetched) and shows members done as
its postfix. tqdm is imported only when a bar is drawn; `ZANJ(progress=True)` checks up front
that it is installed, so a long save never fails at its end for want of a progress bar.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from zanj_core.errors import ZanjError

PROGRESS_EXTRA_HINT = 'pip install "zanj-core[progress]" (or pip install tqdm)'


def require_tqdm() -> None:
    if importlib.util.find_spec("tqdm") is None:
        raise ZanjError(f"progress=True draws its bars with tqdm, which is not installed: {PROGRESS_EXTRA_HINT}")


class ProgressBar:
    """Bytes and members of one transfer; does nothing when not `enabled`. Use as a context
    manager, so the bar is closed (and the line finished) even when the transfer fails."""

    def __init__(self, enabled: bool, description: str, total_bytes: int | None, total_members: int | None) -> None:
        self.bytes = 0
        self.members = 0
        self.total_members = total_members
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total_bytes,
                desc=description,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                dynamic_ncols=True,
            )
            self._show_members()

    def update(self, count: int) -> None:
        self.bytes += count
        if self._bar is not None:
            if self._bar.total is not None and self.bytes > self._bar.total:
                self._bar.total = self.bytes  # a window fetched twice: the bar must not overflow
            self._bar.update(count)

    def set_total(self, total_bytes: int) -> None:
        if self._bar is not None and self._bar.total != total_bytes:
            self._bar.total = total_bytes
            self._bar.refresh()

    def member_done(self) -> None:
        self.members += 1
        self._show_members()

    def _show_members(self) -> None:
        if self._bar is not None:
            of = f"/{self.total_members}" if self.total_members is not None else ""
            self._bar.set_postfix_str(f"{self.members}{of} members", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
