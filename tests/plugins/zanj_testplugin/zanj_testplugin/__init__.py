"""zanj-testplugin: 2-D polylines for zanj, written against the published plugin API alone.

`Polyline` is the type it saves. The entry point (`zanj_testplugin.plugin`) names it by its
dotted name and its handlers by `deferred`, so discovery imports neither this class's users
nor the handlers until a polyline is met.
"""

from __future__ import annotations

from collections.abc import Iterable

__version__ = "0.1.0"


class Polyline:
    """A chain of 2-D points, open or closed, with a label."""

    def __init__(self, points: Iterable[tuple[float, float]], closed: bool = False, label: str = "") -> None:
        self.points = [(float(x), float(y)) for x, y in points]
        self.closed = closed
        self.label = label

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polyline) and (self.points, self.closed, self.label) == (
            other.points,
            other.closed,
            other.label,
        )

    def __repr__(self) -> str:
        return f"Polyline({len(self.points)} points, closed={self.closed}, label={self.label!r})"
