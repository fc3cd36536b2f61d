"""SerializableDataclass classes the tests save, defined in a module of their own (not __main__)."""

from __future__ import annotations

import datetime

from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field


@serializable_dataclass
class BasicZanj(SerializableDataclass):
    a: str
    q: int = 42
    c: list[int] = serializable_field(default_factory=list)


@serializable_dataclass
class Inner(SerializableDataclass):
    x: int
    tags: tuple[str, ...] = serializable_field(default=())


@serializable_dataclass
class Outer(SerializableDataclass):
    name: str
    inner: Inner
    items: list[Inner]
    lookup: dict[int, Inner]
    when: datetime.date = serializable_field(default_factory=lambda: datetime.date(2020, 1, 1))


@serializable_dataclass(properties_to_serialize=["area"])
class Rect(SerializableDataclass):
    w: float
    h: float
    # stored by name, rebuilt from the whole dict, as in the zanj 0.6 README
    unit: datetime.timedelta = serializable_field(
        default_factory=lambda: datetime.timedelta(seconds=1),
        serialization_fn=lambda td: td.total_seconds(),
        loading_fn=lambda data: datetime.timedelta(seconds=data["unit"]),
    )
    scale: complex = serializable_field(
        default=1j, serialization_fn=lambda z: [z.real, z.imag], deserialize_fn=lambda pair: complex(*pair)
    )
    cache: dict = serializable_field(default_factory=dict, init=False, serialize=False)

    @property
    def area(self) -> float:
        return self.w * self.h
