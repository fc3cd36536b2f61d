"""polars failures, panics included, turned into zanj's errors.

polars reports some malformed input by panicking in Rust, which pyo3 raises as
`PanicException`: a BaseException, so `except Exception` lets it through and it would end the
program. Every polars call that sees data from a file runs inside `guarded`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import polars as pl

T = TypeVar("T")


def cut(exc: BaseException, limit: int = 200) -> str:
    """An exception's text as a bounded repr: data from a file shows as data."""
    text = repr(str(exc))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def guarded(run: Callable[[], T], failure: Callable[[str], Exception]) -> T:
    """`run()`, with a polars error or panic raised as `failure(text)` instead."""
    try:
        return run()
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
        raise failure(cut(exc)) from None
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":
            raise failure(f"polars panicked: {cut(exc)}") from None
        raise
