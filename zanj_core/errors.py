"""One exception family for everything zanj refuses, plus the warnings it gives.

Every message says what is wrong, where (file, object path, member) and how to fix it.
Exceptions take a finished message string; they never format an object themselves.
"""

from __future__ import annotations


class ZanjError(Exception):
    """Base class of every error zanj raises on purpose."""


class ZanjSerializationError(ZanjError, TypeError):
    """An object could not be saved: no handler accepts it, or its handler failed."""


class ZanjFormatError(ZanjError, ValueError):
    """A file is not a valid `.zanj` archive, or a node in it is malformed."""


class ZanjFileNotFoundError(ZanjError, FileNotFoundError):
    """The path given to read does not exist or is not a regular file."""


class ZanjRemoteError(ZanjError, OSError):
    """A remote store or server failed a request (network, permissions, a refused upload)."""


class ZanjSaveError(ZanjError, OSError):
    """Writing or publishing a save failed: a full disk, a read-only folder, a name too long, a
    stream that refused its bytes, an archive field too large for the zip format.

    Also an `OSError`, so code written for the raw error keeps working: `errno` is the original
    error's (None when it had none) and `filename` the target. The message names the target,
    the step that failed and the system's message; the original exception is the `__cause__`.
    """

    def __init__(self, message: str, errno: int | None = None, filename: str | None = None) -> None:
        if errno is None:
            super().__init__(message)
        else:
            super().__init__(errno, message)  # OSError's two-argument form sets errno and strerror
        self.message = message
        self.filename = filename

    def __str__(self) -> str:  # OSError would prefix "[Errno N]" and append the filename
        return self.message

    def __reduce__(self) -> tuple[type[ZanjSaveError], tuple[str, int | None, str | None]]:
        # OSError pickles its args, whose order differs from this constructor's
        return type(self), (self.message, self.errno, self.filename)


class ZanjKeyError(ZanjError, KeyError):
    """A path given to an open file names no item in it; the message lists the closest keys."""

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class ZanjIndexError(ZanjError, IndexError):
    """A row or index asked of a stored array lies outside it."""


class ZanjLimitError(ZanjFormatError):
    """A file exceeds a safety limit (size, nesting depth, member count)."""


class ZanjMissingPluginError(ZanjError):
    """A node's format tag has no loader installed: raised in strict mode, and when a path
    steps inside such a node (its structure is unknown without the plugin)."""


class ZanjPluginError(ZanjError):
    """A plugin returned something that is not a handler, or two handlers clash."""


class ZanjMissingPluginWarning(UserWarning):
    """A node could not be loaded because the plugin (or class) it needs is absent.

    The read goes on; the node comes back as a `ZanjUnloaded` placeholder keeping its raw data.
    """


class ZanjMissingClassWarning(ZanjMissingPluginWarning):
    """A dataclass or enum named in the file is not defined by the running program."""


class ZanjRemoteWarning(UserWarning):
    """A remote read works, but slowly: the server sends whole files instead of byte ranges."""


class ZanjBrokenPluginWarning(UserWarning):
    """A plugin found through the `zanj` entry-point group failed to load; it is skipped."""
