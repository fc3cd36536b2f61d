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


class ZanjLimitError(ZanjFormatError):
    """A file exceeds a safety limit (size, nesting depth, member count)."""


class ZanjMissingPluginError(ZanjError):
    """Strict mode only: a node's format tag has no loader installed."""


class ZanjPluginError(ZanjError):
    """A plugin returned something that is not a handler, or two handlers clash."""


class ZanjMissingPluginWarning(UserWarning):
    """A node could not be loaded because the plugin (or class) it needs is absent.

    The read goes on; the node comes back as a `ZanjUnloaded` placeholder keeping its raw data.
    """


class ZanjMissingClassWarning(ZanjMissingPluginWarning):
    """A dataclass or enum named in the file is not defined by the running program."""


class ZanjBrokenPluginWarning(UserWarning):
    """A plugin found through the `zanj` entry-point group failed to load; it is skipped."""
