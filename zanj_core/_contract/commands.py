"""The records through which a plugin extends the `zanj` command line (plugin API 1.1).

A `CommandHandler` adds a subcommand (`zanj consolidate DIR OUT.zanj`); a `LocationLister`
teaches `zanj ls` a location that is not one `.zanj` file (a directory of shards, say), listed
as `ListedItem` rows. Like the handler records they are frozen and check themselves, so a
mistake is an error where the plugin defines them, not a traceback in the middle of a command.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zanj_core._contract.records import RUNTIME_SOURCE, PluginSource

if TYPE_CHECKING:
    import argparse

COMMAND_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
"""What a subcommand's name must look like (`fullmatch` it): lowercase words joined by `-`."""

CORE_COMMANDS = frozenset({"ls", "show", "meta", "verify", "plugins", "help"})
"""Subcommands of the core that no plugin may take."""

StorageOptions = Mapping[str, Any]


def _check_callables(kind: str, name: str, record: object, fields: Sequence[str]) -> None:
    for field_name in fields:
        if not callable(getattr(record, field_name)):
            raise TypeError(f"{kind} {name!r}: {field_name} must be callable")


@dataclass(frozen=True)
class CommandHandler:
    """A subcommand of `zanj`, provided by a plugin through the hook `zanj_commands`.

    `configure(parser)` adds its arguments to its own `argparse` subparser; `run(args)` does the
    work, prints its output and returns the exit status (0 for success). A failure is raised as
    a `ZanjError` saying what, where and how to fix: the command line prints it as one line on
    stderr and exits 1, as it does for its own commands. Text from a file must be escaped
    (`safe_text`) before it is printed.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""
    source: PluginSource = RUNTIME_SOURCE

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not COMMAND_NAME.fullmatch(self.name):
            raise TypeError(
                f"CommandHandler: name must be lowercase words joined by '-' (such as 'consolidate'), got {self.name!r}"
            )
        if self.name in CORE_COMMANDS:
            raise TypeError(f"CommandHandler {self.name!r}: that name is one of zanj-core's own commands")
        if not isinstance(self.help, str) or not isinstance(self.description, str):
            raise TypeError(f"CommandHandler {self.name!r}: help and description must be strings")
        _check_callables("CommandHandler", self.name, self, ("configure", "run"))

    def with_source(self, source: PluginSource) -> CommandHandler:
        return dataclasses.replace(self, source=source)


@dataclass(frozen=True)
class ListedItem:
    """One row of `zanj ls` for a location a `LocationLister` reads: an item's object path,
    its kind (a type tag), shape and dtype when it has them, its data size, and a last column
    of the lister's own (`"2 shards"`)."""

    path: tuple[str, ...]
    kind: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    data_bytes: int = 0
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.path, tuple) or not all(isinstance(part, str) for part in self.path):
            raise TypeError(f"ListedItem: path must be a tuple of strings, got {self.path!r}")
        if self.shape is not None and (
            not isinstance(self.shape, tuple) or not all(type(d) is int and d >= 0 for d in self.shape)
        ):
            raise TypeError(f"ListedItem {self.path!r}: shape must be a tuple of non-negative ints or None")
        if type(self.data_bytes) is not int or self.data_bytes < 0:
            raise TypeError(f"ListedItem {self.path!r}: data_bytes must be a non-negative int")
        for field_name in ("kind", "detail"):
            if not isinstance(getattr(self, field_name), str):
                raise TypeError(f"ListedItem {self.path!r}: {field_name} must be a string")
        if self.dtype is not None and not isinstance(self.dtype, str):
            raise TypeError(f"ListedItem {self.path!r}: dtype must be a string or None")


@dataclass(frozen=True)
class LocationLister:
    """Teaches `zanj ls` a location that is not one `.zanj` file, through the hook
    `zanj_location_listers`.

    `recognizes(location, storage_options)` answers cheaply whether the location is one this
    lister reads (a directory holding its index file, say); it is asked before `ls` opens the
    location as a file, so it must not read much and must return False, not raise, for
    anything else. `list_items(location, storage_options)` returns the rows to print; a bad
    location is a `ZanjError` naming the file at fault.
    """

    name: str
    recognizes: Callable[[str, StorageOptions | None], bool]
    list_items: Callable[[str, StorageOptions | None], Sequence[ListedItem]]
    description: str = ""
    source: PluginSource = RUNTIME_SOURCE

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"LocationLister: name must be a non-empty string, got {self.name!r}")
        _check_callables("LocationLister", self.name, self, ("recognizes", "list_items"))

    def with_source(self, source: PluginSource) -> LocationLister:
        return dataclasses.replace(self, source=source)
