"""Layer 5, the tools: what plugins add to the command line (plugin API 1.1).

Subcommands come from `CommandHandler` records (hook `zanj_commands`), locations that are not
one `.zanj` file from `LocationLister` records (hook `zanj_location_listers`). Both are taken
from the registry's discovered plugins in discovery order, so precedence is the same as for
handlers: the first plugin to offer a command name keeps it. A plugin whose command cannot be
added, or whose lister fails where it should only answer yes or no, is named in a
`ZanjBrokenPluginWarning` and left out; the core's commands keep working.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

from zanj_core._contract.commands import CommandHandler, LocationLister, StorageOptions
from zanj_core._contract.records import PluginSource
from zanj_core._walk.registry import REGISTRY, PluginRegistry
from zanj_core.errors import ZanjBrokenPluginWarning, ZanjError


def _who(source: PluginSource) -> str:
    return f"{source.distribution} {source.version}".strip()


def _warn(record: CommandHandler | LocationLister, what: str, fix: str) -> None:
    kind = "command" if isinstance(record, CommandHandler) else "location lister"
    warnings.warn(
        f"the zanj {kind} {record.name!r} from {_who(record.source)} {what}. {fix}",
        ZanjBrokenPluginWarning,
        stacklevel=3,
    )


def plugin_commands(registry: PluginRegistry = REGISTRY) -> list[CommandHandler]:
    """The subcommands installed plugins provide, one per name, in discovery order."""
    chosen: dict[str, CommandHandler] = {}
    for record in registry.plugin_records():
        if not isinstance(record, CommandHandler):
            continue
        first = chosen.get(record.name)
        if first is None:
            chosen[record.name] = record
        else:
            _warn(
                record,
                f"is skipped: {_who(first.source)} provides a command of that name and was found first",
                f"Uninstall one of {first.source.distribution} and {record.source.distribution}.",
            )
    return list(chosen.values())


def add_plugin_commands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    storage_options: argparse.ArgumentParser,
    registry: PluginRegistry = REGISTRY,
) -> None:
    """Add each plugin's subcommand to the `zanj` parser; every one also takes `-o KEY=VALUE`,
    which reaches it as `args.storage_options` (a dict, or None)."""
    for command in plugin_commands(registry):
        try:  # on a scratch parser first, so a failing plugin leaves no half-made subcommand
            command.configure(argparse.ArgumentParser(add_help=False, parents=[storage_options]))
        except Exception as exc:
            _warn(
                command,
                f"is left out: its configure() failed with {type(exc).__name__}: {exc}",
                f"Upgrade or uninstall {command.source.distribution}.",
            )
            continue
        parser = sub.add_parser(
            command.name,
            parents=[storage_options],
            help=f"{command.help} [{command.source.distribution}]",
            description=command.description or command.help,
        )
        command.configure(parser)
        parser.set_defaults(func=_runner(command))


def _runner(command: CommandHandler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        status = command.run(args)
        if type(status) is not int:
            raise ZanjError(
                f"the zanj command {command.name!r} from {_who(command.source)} returned {type(status).__name__}, "
                f"not an exit status; upgrade or report {command.source.distribution}"
            )
        return status

    return run


def location_lister(
    location: str, storage_options: StorageOptions | None, registry: PluginRegistry = REGISTRY
) -> LocationLister | None:
    """The first lister that recognizes `location`, or None: `ls` then opens it as a file."""
    for record in registry.plugin_records():
        if not isinstance(record, LocationLister):
            continue
        try:
            recognized = record.recognizes(location, storage_options)
        except Exception as exc:
            _warn(
                record,
                f"failed to tell whether it reads {location!r} ({type(exc).__name__}: {exc}) and is not used",
                f"Upgrade or report {record.source.distribution}.",
            )
            continue
        if recognized is True:
            return record
    return None
