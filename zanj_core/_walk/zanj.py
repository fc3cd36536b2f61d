"""`ZANJ`: the settings object users create, with `save` and `read`."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any, Union

from zanj_core._container.limits import ReadLimits
from zanj_core._container.locations import Location, describe_location, is_file_object, location_text
from zanj_core._container.progress import ProgressBar, require_tqdm
from zanj_core._container.publishing import publish
from zanj_core._container.spec import (
    DEFLATED,
    EXTERNALS_MEMBER,
    FORMAT_VERSION,
    INLINE_EXTERNALS_FORMAT,
    JSON_MEMBERS,
    MAIN_MEMBER,
    META_MEMBER,
    STORED,
)
from zanj_core._container.writer import write_zip
from zanj_core._contract.nodes import JSONdict
from zanj_core._contract.records import LoaderHandler, MemberFormat, SerializerHandler
from zanj_core._version import __version__
from zanj_core._walk.compat import COMPAT_VERSIONS
from zanj_core._walk.gcpause import collector_paused
from zanj_core._walk.json_text import PRETTY_JSON_MAX_BYTES as PRETTY_JSON_MAX_BYTES  # tests read it here
from zanj_core._walk.json_text import encode_json
from zanj_core._walk.lazy import ZanjFile
from zanj_core._walk.plain_json import not_json_error
from zanj_core._walk.registry import REGISTRY, PluginRegistry
from zanj_core._walk.saving import SaveContext
from zanj_core.errors import ZanjError, ZanjSerializationError

ERROR_MODES = ("except", "warn", "ignore")

Handler = Union[SerializerHandler, LoaderHandler, MemberFormat]

MEMBER_OVERHEAD = 512
"""About what a member adds to an archive besides its data (headers, alignment), for sizing
the buffer of a save."""


def _normalize_error_mode(error_mode: Any) -> str:
    # accepts muutils' ErrorMode enum as well as plain strings
    text = str(getattr(error_mode, "value", error_mode)).lower()
    if text not in ERROR_MODES:
        raise ZanjError(f"error_mode must be one of {ERROR_MODES} (or a muutils ErrorMode), got {error_mode!r}")
    return text


class ZANJ:
    """Saves objects to `.zanj` files and reads them back.

    Settings (those of zanj 0.6, plus a few):

    - `error_mode`: what saving does with an object no handler accepts: `"except"` (default)
      raises `ZanjSerializationError`; `"warn"` stores its `repr()` with a warning; `"ignore"`
      stores its `repr()` silently.
    - `external_array_threshold`: arrays, tensors and byte strings with at least this many
      elements (bytes for byte strings) go to their own binary member instead of inline JSON.
    - `external_list_threshold`: lists and tuples with at least this many items go to a
      `.jsonl` member.
    - `compress`: `False` (default) stores binary members uncompressed and 64-byte aligned
      (fast, memory-mappable) and deflates the JSON members; `True` (or `zipfile.ZIP_DEFLATED`)
      deflates everything.
    - `custom_settings`: a free dict that handlers read through `ctx.zanj.custom_settings`.
    - `handlers_pre`: handlers for this instance only, tried before every installed one:
      `SerializerHandler`s, `LoaderHandler`s (exact or pattern) and `MemberFormat`s.
    - `handlers_fallback`: handlers of the same kinds for this instance only, tried after every
      installed one: for objects no other handler accepts (before `error_mode` applies), tags
      no other loader reads and member formats no plugin provides. Ranked among themselves like
      any handler table; installed plugins keep what they handle.
    - `strict`: reading a node whose plugin is missing raises `ZanjMissingPluginError`
      instead of warning and returning a `ZanjUnloaded` placeholder.
    - `max_depth`: deepest nesting saved or read before a `ZanjError` (not a `RecursionError`).
    - `read_limits`: size limits checked before reading members (`ReadLimits`).
    - `verify_checksums`: check the CRC of uncompressed binary members as they are read.
      Off by default, as in torch.load and safetensors: checking costs more than the read.
      Compressed members are always checked; `zanj verify FILE` checks every member.
    - `progress`: draw progress bars (tqdm, the `progress` extra) for saves, uploads and
      reads, counting bytes of data members and members done.
    - `compat="0.6"`: write files that zanj 0.6.0 reads back to equal objects; an object it
      cannot represent (a set, bytes, bfloat16, a typed frame...) makes the save fail with a
      `ZanjSerializationError` naming it, so no file it would misread is ever written.
    - `pause_gc`: pause Python's cyclic garbage collector during each `save` and `read` (on by
      default): the containers a walk makes hold no cycles, and scanning them cost up to two
      fifths of the time on files of many items. Other threads' cycles wait for the collector
      until the walk ends; set it to `False` in a program that cannot allow that.
    - `durable`: fsync a saved file before renaming it into place and its folder after (on by
      default, as torch.distributed.checkpoint does), so a power loss or kernel crash leaves
      the old or the new file. `False` skips both fsyncs (as `torch.save`, `np.save` and
      safetensors do): faster, still atomic against crashes of the program, but after a power
      cut the target may be the old file, the new one or, on some file systems, empty. A save
      to a file object fsyncs its descriptor, if it has one; a URL's store decides its own
      durability. Not recorded in the file.
    """

    def __init__(
        self,
        error_mode: Any = "except",
        external_array_threshold: int = 256,
        external_list_threshold: int = 256,
        compress: bool | int = False,
        custom_settings: dict[str, Any] | None = None,
        handlers_pre: Iterable[Handler] = (),
        *,
        strict: bool = False,
        max_depth: int = 200,
        read_limits: ReadLimits | None = None,
        verify_checksums: bool = False,
        compat: str | None = None,
        progress: bool = False,
        pause_gc: bool = True,
        durable: bool = True,
        handlers_fallback: Iterable[Handler] = (),
    ) -> None:
        self.error_mode: str = _normalize_error_mode(error_mode)
        for name, value in (
            ("external_array_threshold", external_array_threshold),
            ("external_list_threshold", external_list_threshold),
            ("max_depth", max_depth),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ZanjError(f"{name} must be a non-negative int, got {value!r}")
        self.external_array_threshold = external_array_threshold
        self.external_list_threshold = external_list_threshold
        self.max_depth = max_depth
        if isinstance(compress, bool) or compress in (STORED, DEFLATED):
            # zanj 0.6 accepted a zipfile method constant; stored and deflate are the two we write
            self.compress: bool = compress == DEFLATED or compress is True
        else:
            raise ZanjError(
                f"compress must be a bool, zipfile.ZIP_STORED or zipfile.ZIP_DEFLATED, got {compress!r} "
                "(files compressed with other methods still read)"
            )
        if custom_settings is not None and not isinstance(custom_settings, Mapping):
            raise ZanjError(f"custom_settings must be a dict or None, got {type(custom_settings).__name__}")
        self.custom_settings: dict[str, Any] = dict(custom_settings or {})
        self.strict = bool(strict)
        self.read_limits = read_limits or ReadLimits()
        self.verify_checksums = bool(verify_checksums)
        if compat is not None and compat not in COMPAT_VERSIONS:
            raise ZanjError(f"compat must be None or one of {tuple(COMPAT_VERSIONS)}, got {compat!r}")
        self.compat: str | None = compat
        if progress:
            require_tqdm()
        self.progress = bool(progress)
        self.pause_gc = bool(pause_gc)
        if not isinstance(durable, bool):
            raise ZanjError(f"durable must be a bool, got {durable!r}")
        self.durable: bool = durable
        self.handlers_pre: tuple[Handler, ...] = tuple(handlers_pre)
        self.handlers_fallback: tuple[Handler, ...] = tuple(handlers_fallback)
        # built now, so a handler of the wrong kind is refused where the ZANJ is made
        self._overlay: PluginRegistry | None = (
            REGISTRY.overlay(self.handlers_pre, fallback=self.handlers_fallback)
            if self.handlers_pre or self.handlers_fallback
            else None
        )

    @property
    def registry(self) -> PluginRegistry:
        """What this instance dispatches through: the process-wide registry, with `handlers_pre`
        laid over it and `handlers_fallback` under it (each ranked by the same rules)."""
        if not (self.handlers_pre or self.handlers_fallback):
            return REGISTRY
        if self._overlay is None:  # dropped by a copy or a pickle
            self._overlay = REGISTRY.overlay(self.handlers_pre, fallback=self.handlers_fallback)
        return self._overlay

    def __getstate__(self) -> dict[str, Any]:
        # settings only: the overlay holds the registry (and its lock), rebuilt on first use
        return {**self.__dict__, "_overlay": None}

    def __repr__(self) -> str:
        return (
            f"ZANJ(error_mode={self.error_mode!r}, external_array_threshold={self.external_array_threshold}, "
            f"external_list_threshold={self.external_list_threshold}, compress={self.compress}, strict={self.strict})"
        )

    def settings(self) -> JSONdict:
        """The settings recorded in each file's metadata."""
        return {
            "error_mode": self.error_mode,
            "external_array_threshold": self.external_array_threshold,
            "external_list_threshold": self.external_list_threshold,
            "compress": self.compress,
            **({"compat": self.compat} if self.compat else {}),
        }

    def _meta(self, ctx: SaveContext) -> dict[str, Any]:
        """The metadata member. zanj 0.6 finds the members through the metadata's
        `externals_info`, so a `compat` file keeps format 1.0's inline copy; otherwise the
        description of the members goes to `EXTERNALS_MEMBER` (format 1.1), which opening a
        file does not read."""
        meta: dict[str, Any] = {
            "zanj_format": INLINE_EXTERNALS_FORMAT if self.compat else FORMAT_VERSION,
            "writer": {"dist": "zanj-core", "version": __version__, "python": ".".join(map(str, sys.version_info[:3]))},
            "zanj_cfg": self.settings(),
            "plugins": ctx.tag_table(),
        }
        if self.compat:
            meta["externals_info"] = ctx.externals_info
        return meta

    def check_read_options(self, options: dict[str, Any]) -> None:
        """Refuse read options that no installed loader declares (typos, missing plugins)."""
        known = self.registry.read_options()
        unknown = sorted(set(options) - set(known))
        if unknown:
            accepted = ", ".join(f"{k} ({'/'.join(v)})" for k, v in sorted(known.items())) or "none"
            raise ZanjError(
                f"unknown read option(s) {unknown}: no installed plugin declares them. Options accepted: {accepted}"
            )

    def save(self, obj: Any, file_path: Location, *, storage_options: dict[str, Any] | None = None) -> str:
        """Save `obj` to `file_path`; returns the path or URL written.

        `file_path` is a local path (`.zanj` appended if missing; parent folders are created),
        an fsspec URL such as `s3://bucket/run/model.zanj` (the `remote` extra;
        `storage_options` go to fsspec), or a binary file object, written from its position
        and cut at the archive's end. The file appears only once complete: on any error the
        previous file at that path, if any, is left untouched and no partial file remains (a
        remote file is uploaded in one final step; a file object gets nothing written). A
        failure to write (a full disk, a read-only folder, a name too long...) raises a
        `ZanjSaveError` naming the target; it is also an `OSError` with the original `errno`.
        """
        if not is_file_object(file_path):
            path = location_text(file_path)
            if not path.endswith(".zanj"):
                path += ".zanj"
            file_path = path
        with collector_paused(self.pause_gc):
            return self._save(obj, file_path, storage_options)

    def _save(self, obj: Any, file_path: Location, storage_options: dict[str, Any] | None) -> str:
        """Walk `obj`, encode its JSON and publish the archive (the collector is paused)."""
        label = describe_location(file_path)
        ctx = SaveContext(self)
        try:
            tree = ctx.serialize(obj)
            ctx.finish_walk()
            meta = self._meta(ctx)
            externals = ctx.externals_info if "externals_info" not in meta else {}
            try:
                main_bytes, meta_bytes = encode_json(tree), encode_json(meta)
                trailing = [(EXTERNALS_MEMBER, encode_json(externals))] if externals else []
            except (TypeError, ValueError) as exc:
                raise not_json_error(label, tree, {**meta, "externals_info": ctx.externals_info}, ctx, exc) from exc
        except ZanjError:
            raise
        except RecursionError as exc:
            raise ZanjSerializationError(f"saving {label}: the object is nested too deeply to write as JSON") from exc
        ctx.warn_unreadable_tags()
        json_members = [(MAIN_MEMBER, main_bytes), (META_MEMBER, meta_bytes)]
        known_sizes = [m.size_hint for m in ctx.members if m.size_hint is not None]
        total = sum(known_sizes) if len(known_sizes) == len(ctx.members) else None

        def write(fh: Any) -> None:
            with ProgressBar(self.progress, f"saving {label}", total, len(ctx.members)) as bar:
                write_zip(fh, json_members, ctx.members, self.compress, bar if self.progress else None, trailing)

        # about the archive's size (each member adds its headers), when every member's is known
        size = (
            None
            if total is None
            else total
            + sum(len(data) for _, data in (*json_members, *trailing))
            + MEMBER_OVERHEAD * (len(ctx.members) + len(json_members) + len(trailing))
        )
        return publish(file_path, write, storage_options, self.progress, self.durable, size)

    def open(
        self,
        file_path: Location,
        *,
        mmap: bool = False,
        storage_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> ZanjFile:
        """Open a file to look inside and load only what is asked for.

        Reads the zip directory and the JSON members only; `f["a/0/w"]` then loads one item,
        `f.info(path)` / `f.tree()` describe items without reading data, `f.slice(path)[a:b]`
        reads rows of an array. Over a URL each of these fetches only the byte ranges it needs.
        Use it as a context manager. `mmap`, `storage_options` and `options` are as in `read`.
        """
        return ZanjFile(self, file_path, mmap=mmap, storage_options=storage_options, **options)

    def read(
        self,
        file_path: Location,
        *,
        mmap: bool = False,
        storage_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """Read the object saved in `file_path`: a local path, an fsspec URL (`s3://...`,
        `https://...`; the `remote` extra, with `storage_options` passed to fsspec) or a
        binary file object.

        `mmap=True` asks plugins to return data backed by a memory map of the file (uncompressed
        binary members of local files only; other data is copied). Other keyword options go to
        plugins that declare them (`zanj plugins` lists them), e.g. `map_location="cuda"` for
        zanj-torch.
        """
        with (
            collector_paused(self.pause_gc),
            self.open(file_path, mmap=mmap, storage_options=storage_options, **options) as opened,
        ):
            opened.reader.byte_source.read_ahead()
            if not self.progress:
                return opened.load_paused(None, opened.open_budget)
            reader = opened.reader
            members = len([name for name in reader.names() if name not in JSON_MEMBERS])
            source = reader.byte_source
            with ProgressBar(True, f"reading {opened.path}", source.size, members) as bar:
                bar.update(source.bytes_read)  # the directory and JSON members, read by open
                reader.progress, source.on_read = bar, bar.update
                try:
                    return opened.load_paused(None, opened.open_budget)
                finally:
                    reader.progress, source.on_read = None, None
