"""Finding a group's entry points without paying importlib.metadata in every process.

`importlib.metadata.entry_points()` costs 20-35 ms a process: importing it (email, csv,
zipfile, pathlib...) and parsing every installed distribution's metadata. Its answer depends
only on files: which `*.dist-info` / `*.egg-info` folders each `sys.path` entry holds, their
`entry_points.txt`, and the metadata of the few distributions that have the group. So the answer
is kept in a per-user cache file with a fingerprint of those files (each entry's listing, each
`entry_points.txt`'s mtime, ctime, size and inode) and reused while a fresh fingerprint, taken
in every process (about 1 ms), is equal. Installing, removing, upgrading or reinstalling a
distribution (editable ones too), editing its entry points or changing `sys.path` changes the
fingerprint, and importlib.metadata is asked again.

What a hit may do is narrow: the cache names which listed distributions have the group; the
entry points themselves are read again, in this process, from those distributions'
`entry_points.txt`, and must match. A cache file that is unreadable, corrupt, of another
format, Python or zanj-core, not owned by this user or writable by others is ignored and
rebuilt. A cache is not written while a fingerprinted file is younger than `RACY_SECONDS`
(its timestamp could not tell a change in the same tick), nor when the files changed while
importlib.metadata read them. `ZANJ_PLUGIN_CACHE=0` turns the cache off.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

from zanj_core._version import __version__ as CORE_VERSION

CACHE_FORMAT = 1
DISABLE_VARIABLE = "ZANJ_PLUGIN_CACHE"
"""Set to 0 (or off, false, no) to ask importlib.metadata in every process."""
RACY_SECONDS = 2.0
"""A file changed this recently is not trusted to its timestamp: no cache is written then."""
MAX_CACHE_FILES = 32
"""Cache files kept per user (one per interpreter and `sys.path`); the oldest go first."""
MAX_CACHE_BYTES = 16 * 1024 * 1024
_PREFIX = "entry-points-"

Stat = list[int] | None


class FoundEntryPoint:
    """One entry point of the group, in importlib.metadata's order, and how to load it."""

    __slots__ = ("distribution", "load", "name", "value", "version")

    def __init__(self, name: str, value: str, distribution: str, version: str, load: Callable[[], Any]) -> None:
        self.name, self.value, self.distribution, self.version, self.load = name, value, distribution, version, load


def find_entry_points(group: str) -> list[FoundEntryPoint]:
    """The group's entry points, as `importlib.metadata.entry_points(group=...)` finds them."""
    context = _context(group) if _cache_usable() else None
    cache_file = _cache_file(context) if context is not None else None
    started = time.time_ns()
    fingerprint = _fingerprint() if cache_file is not None else None
    if context is None or cache_file is None or fingerprint is None:
        return _ask_importlib(group)[0]
    cached = _read_cache(cache_file)
    hit = _from_cache(cached, context, fingerprint, group) if cached is not None else None
    if hit is not None:
        return hit
    found, distributions = _ask_importlib(group)
    if distributions is not None and _fingerprint() == fingerprint and not _racy(fingerprint, distributions, started):
        _write_cache(cache_file, {"context": context, "fingerprint": fingerprint, "distributions": distributions})
    return found


_REFERENCE = r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"
"""An entry point's value, as importlib.metadata's `EntryPoint.pattern` reads it."""


def load_entry_point(value: str) -> Any:
    """Import what an entry point's value names (`module` or `module:attribute.path`, extras
    ignored), as importlib.metadata's `EntryPoint.load` does."""
    import importlib
    import re

    match = re.match(_REFERENCE, value)
    if match is None:
        raise ValueError(f"{value!r} is not an entry point reference such as 'package.module:object'")
    found: Any = importlib.import_module(match["module"])
    for part in filter(None, (match["attr"] or "").split(".")):
        found = getattr(found, part)
    return found


# -- when the cache applies ------------------------------------------------------------------


def _cache_usable() -> bool:
    """False when the cache is turned off, or when importlib.metadata would answer from more
    than the files the fingerprint covers: a finder other than the path finder that provides
    distributions, or an `entry_points` replaced in this process (a test's fake plugins)."""
    if os.environ.get(DISABLE_VARIABLE, "").strip().lower() in ("0", "off", "false", "no"):
        return False
    from importlib.machinery import PathFinder

    if any(finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path):
        return False
    metadata = sys.modules.get("importlib.metadata")
    replaced = metadata is not None and getattr(metadata.entry_points, "__module__", None) != "importlib.metadata"
    return not replaced


def _context(group: str) -> list[Any] | None:
    """What else the answer depends on: the interpreter, zanj-core, the group, and the working
    folder when `sys.path` holds a relative entry (`python -c` puts '' first); None when that
    folder is gone."""
    relative = any(not isinstance(root, str) or not os.path.isabs(root) for root in sys.path)
    try:
        folder = os.getcwd() if relative else None
    except OSError:
        return None
    return [CACHE_FORMAT, CORE_VERSION, sys.version, sys.executable, sys.prefix, group, folder]


def _cache_file(context: list[Any]) -> str | None:
    """This interpreter's and `sys.path`'s cache file, under XDG_CACHE_HOME (or ~/.cache)/zanj."""
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA", "")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            home = os.path.expanduser("~")
            base = os.path.join(home, ".cache") if os.path.isabs(home) else ""
    if not base:
        return None
    key = json.dumps([context, [str(root) for root in sys.path]]).encode("utf-8", "surrogatepass")
    return os.path.join(base, "zanj", f"{_PREFIX}{zlib.crc32(key):08x}{zlib.adler32(key):08x}.json")


# -- the fingerprint -------------------------------------------------------------------------


def _stat(path: str) -> Stat:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def _fingerprint() -> list[Any] | None:
    """Each `sys.path` entry with its metadata folders and their `entry_points.txt`, listed as
    importlib.metadata lists them: `[root, "dir", [[folder, stat], ...]]`; an entry that is no
    folder (a zip, a missing path) by its own stat: `[root, "file", stat]`. None when `sys.path`
    holds something other than strings."""
    prints: list[Any] = []
    for root in sys.path:
        if not isinstance(root, str):
            return None
        try:
            names = os.listdir(root or ".")
        except (OSError, ValueError):
            prints.append([root, "file", _stat(root or ".")])
            continue
        egg = os.path.basename(root).lower().endswith(".egg")
        infos: list[Any] = []
        for name in names:
            low = name.lower()
            if low.endswith((".dist-info", ".egg-info")) or (egg and low == "egg-info"):
                infos.append([name, _stat(os.path.join(root, name, "entry_points.txt"))])
        prints.append([root, "dir", infos])
    return prints


def _metadata_stats(root: str, folder: str) -> list[Stat]:
    """The files a distribution's name and version are read from."""
    return [_stat(os.path.join(root, folder, "METADATA")), _stat(os.path.join(root, folder, "PKG-INFO"))]


def _racy(fingerprint: list[Any], distributions: list[dict[str, Any]], started: int) -> bool:
    """True when a fingerprinted file changed so recently that a later change might keep all
    its timestamps: then the answer is not cached (the next process tries again)."""
    stats: list[Stat] = []
    for _, kind, found in fingerprint:
        stats.extend([found] if kind == "file" else [stat for _, stat in found])
    for dist in distributions:
        stats.extend(dist["metadata_files"])
    newest = max((max(stat[0], stat[1]) for stat in stats if stat), default=0)
    return newest >= started - int(RACY_SECONDS * 1e9)


# -- asking importlib.metadata ---------------------------------------------------------------


def _ask_importlib(group: str) -> tuple[list[FoundEntryPoint], list[dict[str, Any]] | None]:
    """The entry points as importlib.metadata finds them, and what a cache keeps of them: the
    distributions that have the group, in order. None when they cannot be cached (a
    distribution outside the listed folders, an entry point that is not importlib's own)."""
    import importlib.metadata  # deferred: importing it costs more than the rest of the core

    found: list[FoundEntryPoint] = []
    names: dict[int, tuple[str, str]] = {}
    kept: dict[str, dict[str, Any]] | None = {}
    for ep in importlib.metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        if dist is None:
            name, version = "<unknown>", ""
        else:
            if id(dist) not in names:
                names[id(dist)] = (dist.metadata["Name"], dist.version)
            name, version = names[id(dist)]
        genuine = type(ep) is importlib.metadata.EntryPoint and dist is not None
        record = _kept_record(kept, dist, name, version) if genuine and kept is not None else None
        if record is None:
            kept = None
        else:
            record["entry_points"].append([ep.name, ep.value])
        found.append(FoundEntryPoint(ep.name, ep.value, name, version, _loader(ep.value) if genuine else ep.load))
    return found, None if kept is None else list(kept.values())


def _kept_record(kept: dict[str, dict[str, Any]], dist: Any, name: Any, version: Any) -> dict[str, Any] | None:
    """The cache's record of a distribution: the listed folder it lives in (an index into
    `sys.path` and a name), its name and version; None when it cannot be kept."""
    import pathlib

    path = getattr(dist, "_path", None)  # PathDistribution's folder (Python 3.8 to 3.13)
    if not isinstance(path, pathlib.Path) or not isinstance(name, str) or not isinstance(version, str):
        return None
    if str(path) in kept:
        return kept[str(path)]
    for index, root in enumerate(sys.path):
        if isinstance(root, str) and pathlib.Path(root, path.name) == path:
            record = {
                "root": index,
                "folder": path.name,
                "name": name,
                "version": version,
                "metadata_files": _metadata_stats(root, path.name),
                "entry_points": [],
            }
            kept[str(path)] = record
            return record
    return None


def _loader(value: str) -> Callable[[], Any]:
    return lambda: load_entry_point(value)


# -- the cache file --------------------------------------------------------------------------


def _read_cache(cache_file: str) -> Any:
    """The cache file's content, or None when it is missing, unreadable, too big, corrupt, not
    this user's or writable by others."""
    try:
        # non-blocking: opening a FIFO planted at the cache's path must not wait for a writer
        fd = os.open(cache_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            foreign = hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022)
            if foreign or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CACHE_BYTES:
                return None
            return json.loads(handle.read(MAX_CACHE_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return None


def _from_cache(cached: Any, context: list[Any], fingerprint: list[Any], group: str) -> list[FoundEntryPoint] | None:
    """The entry points a valid cache names, read again from their `entry_points.txt`; None
    when the cache does not apply (another context or fingerprint) or disagrees with the files."""
    try:
        if cached["context"] != context or cached["fingerprint"] != fingerprint:
            return None
        found: list[FoundEntryPoint] = []
        for dist in cached["distributions"]:
            index, folder, name, version = dist["root"], dist["folder"], dist["name"], dist["version"]
            if type(index) is not int or not 0 <= index < len(sys.path):
                return None
            if not (isinstance(folder, str) and isinstance(name, str) and isinstance(version, str)):
                return None
            root, kind, listed = fingerprint[index]
            if kind != "dir" or not any(info[0] == folder and info[1] for info in listed):
                return None
            if dist["metadata_files"] != _metadata_stats(root, folder):
                return None
            with open(os.path.join(root or ".", folder, "entry_points.txt"), encoding="utf-8") as handle:
                entries = group_entries(handle.read(), group)
            if not entries or entries != dist["entry_points"]:
                return None
            found.extend(FoundEntryPoint(ep, value, name, version, _loader(value)) for ep, value in entries)
        return found
    except (OSError, ValueError, LookupError, TypeError):
        return None


def group_entries(text: str, group: str) -> list[list[str]]:
    """The `[name, value]` pairs of one section of an `entry_points.txt`, read as
    importlib.metadata reads them (blank lines and `#` comments skipped, `name = value`)."""
    section: str | None = None
    entries: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, separator, value = line.partition("=")
            if not separator:
                raise ValueError(f"not an entry point line: {line!r}")
            entries.append([name.strip(), value.strip()])
    return entries


def _write_cache(cache_file: str, content: dict[str, Any]) -> None:
    """Write the cache atomically (a temporary file renamed over it), readable by this user
    only; any failure (a read-only folder, a full disk) leaves things as they were."""
    folder = os.path.dirname(cache_file)
    temporary = f"{cache_file}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(content, handle, separators=(",", ":"))
        os.replace(temporary, cache_file)
    except (OSError, ValueError, TypeError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return
    _prune(folder)


def _prune(folder: str) -> None:
    """Keep the newest `MAX_CACHE_FILES` cache files; drop temporary files left by a crash."""
    try:
        entries = [entry for entry in os.scandir(folder) if entry.name.startswith(_PREFIX)]
        now = time.time()
        stale = [e for e in entries if e.name.endswith(".tmp") and now - e.stat().st_mtime > 3600]
        caches = sorted((e for e in entries if e.name.endswith(".json")), key=lambda e: e.stat().st_mtime)
        for entry in stale + caches[:-MAX_CACHE_FILES]:
            os.unlink(entry.path)
    except OSError:
        pass
