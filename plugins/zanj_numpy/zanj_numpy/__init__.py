"""zanj-numpy: numpy arrays and scalars for zanj.

Installed, it is found through the `zanj` entry-point group; nothing needs importing. numpy
itself is imported only when an array or numpy scalar is actually saved or read.

The names below are zanj-numpy's public API for other plugins that store arrays the same way
(zanj-torch keeps its tensors as these nodes and `.npy` members). They are loaded, with numpy,
on first access; every module of the package is private.

Reading and writing `.npy` members:

- `prepare_npy(array)`: an `NpyPayload` (64-byte aligned header plus the array's memory) to hand
  to `SaveContext.add_member(..., "npy", payload)`;
- `read_npy(source, expect_dtype, expect_shape)`: a member's array, checked against what its
  node declares, mapped or copied once;
- `read_npy_header(source, expect_dtype, expect_shape, agree=False)`: only its `NpyHeader` (dtype,
  shape, data offset, size), checked; with `agree`, also against what the node declares;
- `read_npy_bytes(source, header)`: the data bytes of a member whose header was read, as a
  fresh uint8 array (charged first), for a plugin that builds its own array type over them;
- `read_npy_rows(source, key, ...)`: `array[key]`, reading only the leading-axis rows `key` covers;
- `read_npy_written(source, dtype, shape, copy_on_write)`: the array of a member holding exactly
  what zanj writes for that dtype and shape, in one call (mapped, lent from the read-ahead
  window, or copied), or None for any other member (then use `read_npy`).

Arrays kept inline in the JSON node:

- `inline_array_form(array)`: `(form, data)`, readable lists where exact, else base64 bits;
- `decode_inline_array(node, path, ctx, form, dtype)`: the array of such a node, checked.

Checking what a file says before anything is allocated:

- `check_shape(value, what)`, `nbytes_within(shape, itemsize, limit)`, `MAX_DIM`: shapes and
  sizes; they raise `Refused`, whose `error(where)` is the `ZanjFormatError` (or
  `ZanjLimitError`) to raise;
- `shown(value)`, `shown_error(exc)`: bounded, terminal-safe text of file data for messages.

Saving for zanj 0.6 (`ZANJ(compat="0.6")`):

- `zanj06_numeric_problem(version, node, readable_tags)`: why zanj 0.6 would not read an
  array-like node back equal (its tag, or a dtype it lacks), or None.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real objects, for type checkers; at run time they load on first access
    from zanj_numpy.arrays import decode_inline as decode_inline_array
    from zanj_numpy.arrays import inline_form as inline_array_form
    from zanj_numpy.checks import MAX_DIM, Refused, check_shape, nbytes_within, shown, shown_error
    from zanj_numpy.compat import zanj06_numeric_problem
    from zanj_numpy.npy import NpyHeader, NpyPayload, read_npy
    from zanj_numpy.npy import prepare as prepare_npy
    from zanj_numpy.npy import read_bytes as read_npy_bytes
    from zanj_numpy.npy import read_header as read_npy_header
    from zanj_numpy.npy import read_written as read_npy_written
    from zanj_numpy.npy_rows import read_part as read_npy_rows

__version__ = "0.1.0"

_EXPORTS: dict[str, tuple[str, str]] = {
    "NpyHeader": ("zanj_numpy.npy", "NpyHeader"),
    "NpyPayload": ("zanj_numpy.npy", "NpyPayload"),
    "prepare_npy": ("zanj_numpy.npy", "prepare"),
    "read_npy": ("zanj_numpy.npy", "read_npy"),
    "read_npy_header": ("zanj_numpy.npy", "read_header"),
    "read_npy_bytes": ("zanj_numpy.npy", "read_bytes"),
    "read_npy_written": ("zanj_numpy.npy", "read_written"),
    "read_npy_rows": ("zanj_numpy.npy_rows", "read_part"),
    "inline_array_form": ("zanj_numpy.arrays", "inline_form"),
    "decode_inline_array": ("zanj_numpy.arrays", "decode_inline"),
    "MAX_DIM": ("zanj_numpy.checks", "MAX_DIM"),
    "Refused": ("zanj_numpy.checks", "Refused"),
    "check_shape": ("zanj_numpy.checks", "check_shape"),
    "nbytes_within": ("zanj_numpy.checks", "nbytes_within"),
    "shown": ("zanj_numpy.checks", "shown"),
    "shown_error": ("zanj_numpy.checks", "shown_error"),
    "zanj06_numeric_problem": ("zanj_numpy.compat", "zanj06_numeric_problem"),
}
"""Public name: (private module, its name there)."""

__all__ = [
    "__version__",
    "NpyHeader",
    "NpyPayload",
    "prepare_npy",
    "read_npy",
    "read_npy_header",
    "read_npy_bytes",
    "read_npy_rows",
    "read_npy_written",
    "inline_array_form",
    "decode_inline_array",
    "MAX_DIM",
    "Refused",
    "check_shape",
    "nbytes_within",
    "shown",
    "shown_error",
    "zanj06_numeric_problem",
]


def __getattr__(name: str) -> Any:
    """Load a public name (and numpy) on first access, then keep it as a module attribute."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'zanj_numpy' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
