"""Shared by the page's sections: how a figure is looked up in a run's results and shown."""

from __future__ import annotations

from typing import Any

DISPLAY_NAMES = {"zanj_durable": "zanj (durable)"}
"""How contenders whose command-line name is not the clearest label appear on the page."""


def table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def seconds(value: float) -> str:
    if abs(value) < 0.001:
        return f"{value * 1e6:.0f} µs"
    return f"{value * 1000:.2f} ms" if abs(value) < 0.1 else f"{value:.3f} s"


def time_of(result: dict[str, Any], name: str, op: str) -> float | None:
    """A contender's median time; for saves, pooled (geometric mean) with its `_mmap` row, which
    saves the very same file: two independent measurements of one operation."""
    times = result.get("times", {})
    if name not in times:
        return None
    value = float(times[name][op]["median_s"])
    twin = times.get(f"{name}_mmap")
    if op == "save" and twin is not None:
        value = (value * float(twin["save"]["median_s"])) ** 0.5
    return value


def ratio(result: dict[str, Any], a: str, b: str, op: str) -> float | None:
    mine, theirs = time_of(result, a, op), time_of(result, b, op)
    return None if mine is None or theirs is None else mine / theirs
