"""Layer 2, the container: what a failed save says, naming the file, the step and the fix.

Every step of publishing a file (local, file object, upload) wraps itself in `save_step`, so
an `OSError` deep in a write comes out as one `ZanjSaveError`: "saving TARGET: STEP: MESSAGE
(how to fix)". It sits below `publishing.py` and `remote.py`, which both use it.
"""

from __future__ import annotations

import contextlib
import errno
import struct
from collections.abc import Iterator

from zanj_core.errors import ZanjError, ZanjSaveError

SAVE_ERRORS: tuple[type[BaseException], ...] = (OSError, struct.error, OverflowError)
"""What the system and the zip writer raise when a save cannot be written. ValueError is not
here: member formats (plugin code) raise it for their own reasons, and those pass unchanged;
it is added only around calls on the caller's stream (a closed file raises ValueError)."""

_HINTS: dict[int, str] = {
    getattr(errno, name): hint
    for name, hint in (
        ("ENOSPC", "free some space on that disk or save elsewhere"),
        ("EDQUOT", "the disk quota is used up: free some space or save elsewhere"),
        ("EACCES", "check the permissions of the folder and of the file it replaces"),
        ("EPERM", "check the permissions of the folder and of the file it replaces"),
        ("EROFS", "that file system is mounted read-only: save elsewhere"),
        ("ENAMETOOLONG", "use a shorter file name"),
        ("ENOTDIR", "a part of the path is a file, not a folder: choose another path"),
        ("EISDIR", "a folder is in the way: choose another path"),
        ("EEXIST", "a file is in the way of a folder the path needs: choose another path"),
    )
    if hasattr(errno, name)
}
"""How to fix the common failures, by errno."""


def save_failure(target: str, what: str, exc: BaseException) -> ZanjSaveError:
    """The `ZanjSaveError` for `exc`, raised while doing `what` to save `target`: "saving
    TARGET: WHAT: MESSAGE (how to fix)", keeping an OSError's errno (raise it `from exc`)."""
    code = exc.errno if isinstance(exc, OSError) else None
    detail = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
    hint = _HINTS.get(code) if code is not None else None
    message = f"saving {target}: {what}: {detail}" + (f" ({hint})" if hint else "")
    return ZanjSaveError(message, code, target)


@contextlib.contextmanager
def save_step(target: str, what: str, errors: tuple[type[BaseException], ...] = SAVE_ERRORS) -> Iterator[None]:
    """Turn `errors` raised inside into a `ZanjSaveError` saying which step of saving `target`
    failed. `ZanjError`s (a handler's `ZanjSerializationError`, an inner step's
    `ZanjSaveError`) and everything else (KeyboardInterrupt, a plugin's own RuntimeError) pass
    unchanged."""
    try:
        yield
    except ZanjError:
        raise
    except errors as exc:
        raise save_failure(target, what, exc) from exc
