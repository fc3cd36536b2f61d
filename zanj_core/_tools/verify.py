"""Layer 5, the tools: checking a whole file without trusting it (`verify_file`, `zanj verify`).

Checks, in order: the zip directory (as every read does), each member's local header and
CRC-32 (stored members read in bounded chunks, compressed ones inflated), the JSON members
(the tree, the metadata, format 1.1's description of the data members), every `$ref` (names a
data member that exists), that every format tag met has a loader installed, and optionally
(`load=True`) that every item loads, with warnings as errors. Each problem names the member or object path it concerns; nothing stops at the first one, and
the tree's problems come in document order (the order of `walk_nodes`).

Each problem is of one kind, and the report's `status` is the worst kind found:
`"corrupt"` (the file is damaged or malformed: unreadable zip, CRC mismatch, bad JSON, a bad
`$ref`, a limit exceeded), `"load_failed"` (every byte checks out, but a loader fails on an
item), `"missing_plugin"` (intact, but some format tag has no loader installed here).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from zanj_core._container.locations import Location, describe_location
from zanj_core._container.reader import ArchiveReader
from zanj_core._container.spec import EXTERNALS_MEMBER, JSON_MEMBERS, MAIN_MEMBER, META_MEMBER
from zanj_core._contract.budget import ReadBudget
from zanj_core._contract.nodes import FORMAT_KEY, REF_KEY, ObjectPath, format_path, walk_nodes
from zanj_core._contract.textsafe import quoted
from zanj_core._plugins.externals import JSONL
from zanj_core._walk.loading import NODE_BATCH, LoadContext
from zanj_core._walk.zanj import ZANJ
from zanj_core.errors import (
    ZanjError,
    ZanjLimitError,
    ZanjMissingClassWarning,
    ZanjMissingPluginError,
    ZanjMissingPluginWarning,
)

ProblemKind = Literal["corrupt", "missing_plugin", "load_failed"]
CORRUPT: ProblemKind = "corrupt"
MISSING_PLUGIN: ProblemKind = "missing_plugin"
LOAD_FAILED: ProblemKind = "load_failed"
SEVERITY: tuple[ProblemKind, ...] = (CORRUPT, LOAD_FAILED, MISSING_PLUGIN)
"""Worst first: a report's status is the first of these any problem has."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, with the member or object path it concerns and its kind."""

    message: str
    member: str | None = None
    path: ObjectPath | None = None
    kind: ProblemKind = CORRUPT

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "member": self.member,
            "path": None if self.path is None else list(self.path),
        }


@dataclass
class VerifyReport:
    """What `verify_file` found: problems make the file fail; notes do not."""

    file: str
    members_checked: int = 0
    bytes_checked: int = 0
    items_loaded: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> Literal["ok", "corrupt", "missing_plugin", "load_failed"]:
        """`"ok"`, or the worst kind of problem found (`SEVERITY`): corrupt, then load_failed,
        then missing_plugin."""
        kinds = {problem.kind for problem in self.problems}
        return next((kind for kind in SEVERITY if kind in kinds), "ok")

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "ok": self.ok,
            "status": self.status,
            "members_checked": self.members_checked,
            "bytes_checked": self.bytes_checked,
            "items_loaded": self.items_loaded,
            "problems": [p.as_json() for p in self.problems],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class _Loadable:
    """A node with a loader, found by the walk; `within` is the path of the nearest node with a
    loader that holds it (loading that one loads this one too), None at the top."""

    path: ObjectPath
    node: dict[str, Any]
    within: ObjectPath | None


def _check_members(reader: ArchiveReader, report: VerifyReport, budget: ReadBudget) -> set[str]:
    """CRC and header of every member; returns the names that failed."""
    bad: set[str] = set()
    for name in reader.names():
        info = reader.info(name)
        try:
            reader.verify_member(info, budget)  # its local header against the directory, then its CRC
        except (ZanjError, OSError) as exc:
            bad.add(name)
            report.problems.append(Problem(f"member {quoted(name)} is bad: {exc}", member=name))
            continue
        report.members_checked += 1
        report.bytes_checked += info.file_size
    return bad


def _mark_dirty(dirty: set[ObjectPath], path: ObjectPath) -> None:
    """Mark `path` and everything holding it as not worth loading (a problem is reported there)."""
    for end in range(len(path), -1, -1):
        prefix = path[:end]
        if prefix in dirty:
            return  # its holders are marked already
        dirty.add(prefix)


class _TreeCheck:
    """The checks of the tree, node by node, as `walk_nodes` meets them: tags and `$ref`s of
    every node and of the lines of each `.jsonl` member referred to.

    Collects the nodes that have a loader, for `--load`, and the paths holding a problem already
    reported (a missing plugin, a bad member or `$ref`): loading those would only repeat it.
    """

    def __init__(self, reader: ArchiveReader, ctx: LoadContext, bad: set[str], report: VerifyReport) -> None:
        self.reader = reader
        self.ctx = ctx
        self.bad = bad
        self.report = report
        self.loadable: list[_Loadable] = []
        self.dirty: set[ObjectPath] = set()
        self.referenced: set[str] = set()
        self.expanded: set[str] = set()
        self.missing_tags: dict[str, list[ObjectPath]] = {}
        self._holders: list[ObjectPath | None] = []
        """`_holders[d]`: the nearest node with a loader that holds the items of the container
        last met at depth `d` (the walk meets each node before what it holds, so a node's
        holder is the one recorded one level up)."""

    def items(self, path: ObjectPath, node: Any) -> list[tuple[str | int, Any]] | None:
        """Check one node; what the walk steps into under it (its lines, for a `.jsonl` `$ref`)."""
        kind = type(node)
        if kind is not list and kind is not dict:
            return None
        depth = len(path)
        if depth > self.ctx.zanj.max_depth:
            self.report.problems.append(
                Problem(
                    f"data at {format_path(path[:8])}/... is nested more than {self.ctx.zanj.max_depth} levels deep"
                )
            )
            _mark_dirty(self.dirty, path)
            return None
        within = self._holders[depth - 1] if depth else None
        del self._holders[depth:]
        if kind is list:
            self._holders.append(within)
            return list(enumerate(node))
        self._holders.append(self._check_tag(path, node, within))
        held: list[tuple[str | int, Any]] = [(k, v) for k, v in node.items() if k not in (FORMAT_KEY, REF_KEY)]
        if REF_KEY in node:
            held.extend(self._check_ref(path, node[REF_KEY]))
        return held

    def _check_tag(self, path: ObjectPath, node: dict[str, Any], within: ObjectPath | None) -> ObjectPath | None:
        """Check a node's format tag; returns the holder of its items (itself, if it has a loader)."""
        tag = node.get(FORMAT_KEY)
        if tag is None:
            return within
        if not isinstance(tag, str):
            self.report.problems.append(Problem(f"at {format_path(path)}, {FORMAT_KEY} is not a string", path=path))
            _mark_dirty(self.dirty, path)
        elif self.ctx.loader_for(tag) is None:
            self.missing_tags.setdefault(tag, []).append(path)
            _mark_dirty(self.dirty, path)
        else:
            self.loadable.append(_Loadable(path, node, within))
            return path
        return within

    def _check_ref(self, path: ObjectPath, ref: Any) -> list[tuple[int, Any]]:
        """Check a `$ref`; returns the lines of the `.jsonl` member it names, the first time only
        (each member's lines are checked once, however often it is referred to)."""
        if not isinstance(ref, str) or ref in JSON_MEMBERS or not self.reader.has(ref):
            what = (
                "is not a member name"
                if not isinstance(ref, str)
                else "names the JSON member"
                if ref in JSON_MEMBERS
                else "names a member the archive lacks"
            )
            shown = quoted(ref) if isinstance(ref, str) else type(ref).__name__
            self.report.problems.append(Problem(f"at {format_path(path)}, $ref {shown} {what}", path=path))
            _mark_dirty(self.dirty, path)
            return []
        self.referenced.add(ref)
        if ref in self.bad:
            _mark_dirty(self.dirty, path)
            return []
        if not ref.endswith(JSONL.extension) or ref in self.expanded:
            return []
        self.expanded.add(ref)
        lines = _jsonl_lines(self.reader, ref, path, self.report, self.ctx.budget)
        if lines is None:
            _mark_dirty(self.dirty, path)
            return []
        return list(enumerate(lines))

    def finish(self) -> None:
        """Report the tags without a loader (once each) and the members nothing refers to."""
        for tag, paths in sorted(self.missing_tags.items()):
            where = ", ".join(format_path(p) for p in paths[:3]) + (
                f" and {len(paths) - 3} more" if len(paths) > 3 else ""
            )
            self.report.problems.append(
                Problem(
                    f"no loader installed for format {quoted(tag)} (at {where}); {self.ctx.install_hint(tag)}",
                    path=paths[0],
                    kind=MISSING_PLUGIN,
                )
            )
        for name in self.reader.names():
            if name not in JSON_MEMBERS and name not in self.referenced:
                self.report.notes.append(f"member {quoted(name)} is not referenced by any item")


def _check_tree(
    reader: ArchiveReader, root: Any, ctx: LoadContext, bad: set[str], report: VerifyReport
) -> tuple[list[_Loadable], set[ObjectPath]]:
    """Walk the tree (and the `.jsonl` members it refers to) through `_TreeCheck`, each node
    charged as a load charges it; returns the nodes with a loader and the paths not worth loading."""
    check = _TreeCheck(reader, ctx, bad, report)
    walked = 0
    for _ in walk_nodes(root, (), check.items):
        walked += 1
        if walked == NODE_BATCH:
            ctx.walked(walked)
            walked = 0
    check.finish()
    return check.loadable, check.dirty


def _jsonl_lines(
    reader: ArchiveReader, name: str, path: ObjectPath, report: VerifyReport, budget: ReadBudget
) -> list[Any] | None:
    """The items of a `.jsonl` member, read by the core's own jsonl format (size limit included);
    None, with the problem reported, if it is not valid JSON lines."""
    try:
        return list(JSONL.read(reader.source(name, path, budget)))
    except ZanjError as exc:  # the jsonl format reports every bad line as one
        report.problems.append(Problem(f"member {quoted(name)} is not valid JSON lines: {exc}", member=name))
        return None


def _failure_kind(exc: BaseException) -> ProblemKind:
    """How a failed load counts: over a limit is corrupt, a missing plugin is that, else the loader failed."""
    if isinstance(exc, ZanjLimitError):
        return CORRUPT
    if isinstance(exc, ZanjMissingPluginError):
        return MISSING_PLUGIN
    return LOAD_FAILED


def _load_items(
    zanj: ZANJ,
    reader: ArchiveReader,
    meta: dict[str, Any],
    loadable: list[_Loadable],
    dirty: set[ObjectPath],
    report: VerifyReport,
    budget: ReadBudget,
) -> None:
    """Load every item through its loader, warnings as errors, each outermost node once.

    Nodes on a path with a reported problem are skipped (their intact parts are loaded one
    by one instead). A dataclass or enum whose class this program does not define is not a
    fault of the file (classes are never imported from one): what it holds is loaded instead.
    """
    lenient = copy.copy(zanj)
    lenient.strict = False  # a missing class must come back as its warning, to be told apart
    held: dict[ObjectPath, list[_Loadable]] = {}
    for item in loadable:
        if item.within is not None:
            held.setdefault(item.within, []).append(item)
    queue = [item for item in loadable if item.path not in dirty and (item.within is None or item.within in dirty)]
    queue.reverse()  # popped in the order the walk found them
    classes_missing = 0
    while queue:
        item = queue.pop()
        ctx = LoadContext(lenient, reader, meta, budget=budget)
        ref = item.node.get(REF_KEY)
        member = ref if isinstance(ref, str) else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ctx.load(item.node, item.path)
        except Exception as exc:  # any failure to load is what this check reports
            report.problems.append(
                Problem(
                    f"item at {format_path(item.path)} does not load: {type(exc).__name__}: {exc}",
                    member=member,
                    path=item.path,
                    kind=_failure_kind(exc),
                )
            )
            continue
        if any(issubclass(w.category, ZanjMissingClassWarning) for w in caught):
            classes_missing += 1
            queue.extend(reversed(held.get(item.path, [])))
            continue
        failures = [w for w in caught if not issubclass(w.category, ZanjMissingClassWarning)]
        if failures:  # warnings count as errors: a loader that warns has not loaded the item as stored
            first = failures[0]
            kind = MISSING_PLUGIN if issubclass(first.category, ZanjMissingPluginWarning) else LOAD_FAILED
            report.problems.append(
                Problem(
                    f"item at {format_path(item.path)} warns while loading: {first.category.__name__}: {first.message}",
                    member=member,
                    path=item.path,
                    kind=kind,
                )
            )
            continue
        report.items_loaded += 1
    if classes_missing:
        report.notes.append(
            f"{classes_missing} item(s) are of a class this program does not define (zanj never imports one "
            "a file names): the items they hold were loaded one by one instead"
        )


def verify_file(
    location: Location,
    zanj: ZANJ | None = None,
    load: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> VerifyReport:
    """Check the file at `location` (a path, URL or binary file object) completely; see the module
    docstring. Never raises for a bad file: everything found is in the report."""
    zanj = zanj or ZANJ()
    report = VerifyReport(file=describe_location(location))
    try:
        reader = ArchiveReader(location, zanj.read_limits, storage_options=storage_options)
    except ZanjError as exc:
        report.problems.append(Problem(str(exc)))
        return report
    with reader:
        budget = reader.new_budget()  # one for the whole check
        bad = _check_members(reader, report, budget)
        meta: dict[str, Any] = {}
        if META_MEMBER not in bad:
            try:
                meta = reader.read_meta(budget)
            except ZanjError as exc:
                report.problems.append(Problem(str(exc), member=META_MEMBER))
        if not reader.has(META_MEMBER):
            report.notes.append(f"no {META_MEMBER} member: plugin hints for missing formats are guesses")
        if EXTERNALS_MEMBER not in bad:  # what `meta` shows: the member, else the metadata's copy
            try:
                reader.read_externals_info(meta, budget)
            except ZanjError as exc:
                described = EXTERNALS_MEMBER if reader.has(EXTERNALS_MEMBER) else META_MEMBER
                report.problems.append(Problem(str(exc), member=described))
        if MAIN_MEMBER in bad:
            return report
        try:
            tree = reader.read_json(MAIN_MEMBER, budget)
        except ZanjError as exc:
            report.problems.append(Problem(str(exc), member=MAIN_MEMBER))
            return report
        ctx = LoadContext(zanj, reader, meta, budget=budget)
        loadable, dirty = _check_tree(reader, tree, ctx, bad, report)
        if load:
            _load_items(zanj, reader, meta, loadable, dirty, report, budget)
    return report
