"""Reading untrusted `.zanj` files in a child process that a hostile file can at worst kill.

The reader promises that every read of a hostile file costs bounded memory and time, ends in a
`ZanjError` or a value, writes nothing and imports nothing the file names (docs/security.md).
Checking that in the test process itself would let one bad file take the test run (or the
machine) down with it, so reads run in `sandbox_worker.py`: one long-lived child that imports
zanj-core and the installed plugins once, caps its address space (RLIMIT_AS, 4 GiB by default)
and, per request, its CPU time (RLIMIT_CPU). Each request comes back as an `Outcome`:

- `ok` / `zanj_error`: what the reader may do (`assert_safe` passes);
- `other_error`: any other exception (MemoryError, RecursionError, a numpy ValueError...), with
  its traceback;
- `masked_memory_error`: a ZanjError made from a MemoryError (or a verify report naming one):
  the reader tried to allocate without bound, and only the address-space limit stopped it;
- `crashed`: the worker died (SIGXCPU past the CPU limit, SIGKILL after the wall-clock limit,
  an abort, a segfault); a fresh worker serves the next request;
- `leak`: a secret planted in freed memory before the read came back inside the result
  (uninitialised memory handed out);
- `wrote_files`: the read created a file in the worker's (empty) working or temporary folder;
- `imported`: the read imported a module a hostile file names (sentinels such as `this`).

    with Sandbox() as sandbox:
        outcome = sandbox.run("suspect.zanj", "read", cpu_seconds=10)
        assert_safe(outcome)

From a shell: `python tests/sandbox.py FILE... [--op read --op cli]` prints each outcome.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

OPS = ("read", "read_mmap", "open", "verify", "cli", "verify_checksums")
"""`read`: ZANJ().read; `read_mmap`: read(mmap=True); `open`: ZANJ().open with keys, tree
(members expanded), info on each item and loading each top-level key; `verify`: verify_file
plain and with load=True; `cli`: `zanj ls --members`, `show FILE ''`, `meta`, `verify`;
`verify_checksums`: ZANJ(verify_checksums=True).read."""
SAFE_KINDS = frozenset({"ok", "zanj_error"})
DEFAULT_ADDRESS_SPACE = 4 << 30
WORKER = Path(__file__).with_name("sandbox_worker.py")
WORKER_ENV = {
    # one thread per library and two malloc arenas: the address space a process reserves grows with
    # its threads, and the 4 GiB limit must mean the same on a 2-core laptop and a 64-core runner
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONFAULTHANDLER": "1",
    "NO_COLOR": "1",
}


@dataclass
class Outcome:
    """What one operation on one file gave, as the worker (or, for a crash, the parent) saw it."""

    kind: str
    op: str
    path: str
    error_class: str | None = None
    error_mro: list[str] = field(default_factory=list)
    """Class names of the exception's MRO, so callers can test `isinstance` by name."""
    error_message: str | None = None
    traceback: str | None = None
    step: str | None = None
    """For `open`: the step (`tree(...)`, `load('x')`) that raised the reported ZanjError."""
    raised: str | None = None
    """What the operation itself gave (`ok`/`zanj_error`) when `kind` is leak, wrote_files or imported."""
    signal: str | None = None
    exit_code: int | None = None
    crash_reason: str | None = None
    worker_log: str = ""
    """The worker's stderr during the request (faulthandler's trace after a crash)."""
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    rss_peak_delta: int | None = None
    """Peak resident memory during the request above the resident memory before it (bytes)."""
    vm_peak_delta: int = 0
    """How far the request pushed the worker's all-time peak address space up (bytes)."""
    vm_size_delta: int = 0
    digest: str | None = None
    """sha256 over the result's types and content (arrays by their bytes)."""
    result_bytes: int = 0
    """Bytes of array/bytes data in the result (digested up to 1 GiB)."""
    digest_truncated: bool = False
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """Each warning caught: `category`, `mro` (class names) and `message`."""
    stdout: str = ""
    stderr: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    """Per operation: `result` (type and top-level key types), `plain`/`load` verify reports,
    `cli` runs (exit status, output, control characters printed), `zanj_errors` of `open`."""
    files_written: list[str] = field(default_factory=list)
    imported_modules: list[str] = field(default_factory=list)
    imported_forbidden: list[str] = field(default_factory=list)
    leak_found_in: list[str] = field(default_factory=list)
    analysis_error: str | None = None
    restart: bool = False

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> Outcome:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in reply.items() if key in known})

    @property
    def safe(self) -> bool:
        return self.kind in SAFE_KINDS

    def is_error(self, class_name: str) -> bool:
        """Whether the operation raised an exception that is an instance of `class_name`."""
        return class_name in self.error_mro

    def warned(self, class_name: str) -> list[dict[str, Any]]:
        """The warnings caught whose category is `class_name` or a subclass of it."""
        return [w for w in self.warnings if class_name in w.get("mro", [])]

    def signature(self) -> str:
        """`op kind class [where]: first line of message`, with the file's path, quoted text and
        numbers taken out: what groups outcomes that are the same failure. `where` is the
        innermost frame of zanj code in the traceback (or in faulthandler's trace of a crash)."""
        message = (self.error_message or self.crash_reason or "").replace(self.path, "FILE").strip()
        first = message.splitlines()[0] if message else ""
        first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
        first = re.sub(r"\d+", "N", first)[:120]
        what = " ".join(part for part in (self.error_class or self.signal or "", self.origin()) if part)
        return f"{self.op} {self.kind} {what}: {first}".rstrip(": ")

    def origin(self) -> str:
        """`module/file.py:function` of the innermost zanj-core or plugin frame that raised or
        crashed, or "" (a ZanjError carries no traceback back)."""
        text = self.traceback or self.worker_log or ""
        frames = re.findall(r'File "([^"]+)", line \d+,? in (\S+)', text)
        ours = [(f, fn) for f, fn in frames if re.search(r"zanj_(core|numpy|torch|pandas|polars)[/\\]", f)]
        if not ours:
            return ""
        path, function = ours[-1] if self.traceback else ours[0]  # faulthandler lists innermost first
        parts = Path(path).parts
        return f"{'/'.join(parts[-2:])}:{function}"

    def describe(self) -> str:
        """A readable account for a failing assertion."""
        lines = [
            f"{self.op} of {self.path}: {self.kind}" + (f" (the operation gave {self.raised})" if self.raised else "")
        ]
        if self.error_class:
            lines.append(f"  {self.error_class}: {(self.error_message or '')[:2000]}")
        if self.step:
            lines.append(f"  in step {self.step}")
        if self.signal or self.exit_code is not None:
            lines.append(f"  worker ended: signal {self.signal}, exit code {self.exit_code}, {self.crash_reason}")
        if self.leak_found_in:
            lines.append(f"  planted secret found in: {', '.join(self.leak_found_in)}")
        if self.files_written:
            lines.append(f"  files written: {self.files_written}")
        if self.imported_forbidden:
            lines.append(f"  modules imported that the file names: {self.imported_forbidden}")
        lines.append(
            f"  cpu {self.cpu_seconds:.2f} s, wall {self.wall_seconds:.2f} s, "
            f"peak RSS +{(self.rss_peak_delta or 0) / 2**20:.0f} MiB, peak VM +{self.vm_peak_delta / 2**20:.0f} MiB"
        )
        if self.traceback:
            lines.append("  traceback:\n" + _indent(self.traceback[-6000:]))
        if self.worker_log.strip():
            lines.append("  worker log:\n" + _indent(self.worker_log[-4000:]))
        return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def assert_safe(outcome: Outcome, *, max_cpu_seconds: float | None = None, max_rss_bytes: int | None = None) -> None:
    """Pass only for `ok` or `zanj_error`: every other outcome breaks docs/security.md. With
    `max_cpu_seconds` / `max_rss_bytes`, also fail a read that took more CPU time or added more
    resident memory at its peak (bounded work is part of the guarantee)."""
    __tracebackhide__ = True
    if not outcome.safe:
        raise AssertionError(outcome.describe())
    if max_cpu_seconds is not None and outcome.cpu_seconds > max_cpu_seconds:
        raise AssertionError(f"over {max_cpu_seconds} s of CPU time: {outcome.describe()}")
    if max_rss_bytes is not None and (outcome.rss_peak_delta or 0) > max_rss_bytes:
        raise AssertionError(f"over {max_rss_bytes / 2**20:.0f} MiB of added memory: {outcome.describe()}")


class SandboxError(RuntimeError):
    """The worker could not be started or spoke nonsense: the infrastructure, not the reader."""


class _Worker:
    """One running worker process with its folders and log."""

    def __init__(self, command: list[str], env: dict[str, str], startup_timeout: float) -> None:
        self.cwd = Path(tempfile.mkdtemp(prefix="zanj-sandbox-cwd-"))
        self.tmp = Path(tempfile.mkdtemp(prefix="zanj-sandbox-tmp-"))
        self.log_path = self.tmp.parent / f"{self.tmp.name}.log"
        self.log: IO[bytes] = open(self.log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=self.cwd,
            env={**env, "TMPDIR": str(self.tmp)},
            start_new_session=True,  # its own process group: killed as a whole, spared the terminal's ^C
        )
        self._buffer = b""
        self.closed = False
        """Whether the worker closed its end of the reply pipe (it exited, or was killed)."""
        line = self.read_line(time.monotonic() + startup_timeout)
        if line is None:
            self.stop()
            raise SandboxError(f"the sandbox worker did not start:\n{self.log_text(0)[-8000:]}")
        self.ready: dict[str, Any] = json.loads(line)
        if not self.ready.get("ready"):
            self.stop()
            raise SandboxError(f"the sandbox worker refused to start: {self.ready.get('error')}")

    def log_size(self) -> int:
        self.log.flush()
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_text(self, start: int) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(start)
                return fh.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            return ""

    def send(self, message: dict[str, Any]) -> bool:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def read_line(self, deadline: float) -> str | None:
        """The next reply line, or None if the worker closed its end or the deadline passed."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.closed = True
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.log.close()
        shutil.rmtree(self.cwd, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.log_path.unlink()


class Sandbox:
    """Runs operations on untrusted files in one long-lived worker, restarted after a crash.

    `address_space`: the worker's RLIMIT_AS in bytes (None: no limit). `plugins`: the plugin
    packages the worker imports when installed. `preload`: modules imported at start (the test
    dataclasses, so files can name defined classes). Not thread-safe: one request at a time.
    """

    def __init__(
        self,
        address_space: int | None = DEFAULT_ADDRESS_SPACE,
        plugins: tuple[str, ...] = ("zanj_numpy", "zanj_torch", "zanj_pandas"),
        preload: tuple[str, ...] = ("dataclass_defs",),
        startup_timeout: float = 600.0,
        python: str = sys.executable,
    ) -> None:
        config = {"address_space": address_space, "plugins": list(plugins), "preload": list(preload)}
        self._command = [python, "-X", "faulthandler", str(WORKER), json.dumps(config)]
        self._env = {**os.environ, **WORKER_ENV}
        self._startup_timeout = startup_timeout
        self._worker: _Worker | None = None
        self._next_id = 0
        self.starts = 0
        """How many workers were started (1 + restarts after crashes)."""
        self.ready: dict[str, Any] = {}
        """The last worker's start-up report: plugins, address space after imports and warm-up."""

    assert_safe = staticmethod(assert_safe)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _ensure(self) -> _Worker:
        if self._worker is None or self._worker.process.poll() is not None:
            if self._worker is not None:
                self._worker.stop()
            self._worker = _Worker(self._command, self._env, self._startup_timeout)
            self.ready = self._worker.ready
            self.starts += 1
        return self._worker

    @property
    def plugins(self) -> list[str]:
        """The plugin packages the worker has imported."""
        return list(self._ensure().ready.get("plugins", []))

    def run(
        self,
        path: str | os.PathLike[str],
        op: str,
        cpu_seconds: float = 10.0,
        *,
        limits: dict[str, int] | None = None,
        sys_path: list[str] | None = None,
        forbidden_modules: list[str] | None = None,
        wall_seconds: float | None = None,
    ) -> Outcome:
        """Run `op` (one of `OPS`) on the file at `path` in the worker.

        `limits` are `ReadLimits` settings; `sys_path` folders are put in front of sys.path for
        the request (to offer the reader a module it must not import, listed in
        `forbidden_modules`). The worker is killed past `cpu_seconds` of CPU time, or past
        `wall_seconds` (default: 3x the CPU time + 30 s) of waiting for its reply."""
        if op not in OPS and op != "selftest":  # selftest: `path` names a misbehaviour (sandbox_worker.op_selftest)
            raise ValueError(f"unknown op {op!r}; known: {OPS}")
        worker = self._ensure()
        self._next_id += 1
        request = {
            "id": self._next_id,
            "op": op,
            "path": os.fspath(path),
            "cpu_seconds": cpu_seconds,
            "limits": limits or {},
            "sys_path": [os.fspath(p) for p in sys_path or []],
            "forbidden_modules": list(forbidden_modules or []),
        }
        log_start = worker.log_size()
        started = time.monotonic()
        wall_limit = wall_seconds if wall_seconds is not None else cpu_seconds * 3 + 30
        line = worker.read_line(started + wall_limit) if worker.send(request) else None
        if line is None:
            return self._crashed(worker, request, log_start, time.monotonic() - started, wall_limit)
        try:
            reply = json.loads(line)
        except ValueError as exc:
            worker.kill()
            raise SandboxError(f"the sandbox worker sent an unreadable reply: {line[:500]!r}") from exc
        if reply.get("id") != request["id"]:
            worker.kill()
            raise SandboxError(f"the sandbox worker answered request {reply.get('id')}, not {request['id']}")
        outcome = Outcome.from_reply(reply)
        if outcome.kind == "protocol_error":
            raise SandboxError(outcome.error_message or "protocol error")
        if outcome.restart or not outcome.safe:
            outcome.worker_log = worker.log_text(log_start)
        if outcome.restart:
            worker.stop()
            self._worker = None
        return outcome

    def _crashed(
        self, worker: _Worker, request: dict[str, Any], log_start: int, waited: float, wall_limit: float
    ) -> Outcome:
        timed_out = not worker.closed
        if timed_out:
            worker.kill()
        try:
            code = worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # closed its pipe but lives on: end it
            worker.kill()
            code = worker.process.wait()
        name = None
        if code < 0:
            with contextlib.suppress(ValueError):
                name = signal.Signals(-code).name
        reason = (
            f"no reply within the wall-clock limit of {wall_limit:.0f} s: killed"
            if timed_out
            else "past its CPU limit (SIGXCPU)"
            if name == "SIGXCPU"
            else "killed (SIGKILL: out of memory?)"
            if name == "SIGKILL"
            else f"died ({name or f'exit code {code}'})"
        )
        outcome = Outcome(
            kind="crashed",
            op=request["op"],
            path=request["path"],
            signal=name,
            exit_code=code,
            crash_reason=reason,
            wall_seconds=waited,
            worker_log=worker.log_text(log_start),
        )
        worker.stop()
        self._worker = None
        return outcome


def main(argv: list[str] | None = None) -> int:
    """Run operations on files from the shell; exit 1 if any outcome is unsafe."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--op", action="append", choices=OPS, help="repeatable; default: every operation")
    parser.add_argument("--cpu-seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print each outcome as JSON")
    args = parser.parse_args(argv)
    unsafe = 0
    with Sandbox() as sandbox:
        for path in args.files:
            for op in args.op or OPS:
                outcome = sandbox.run(path, op, args.cpu_seconds)
                unsafe += not outcome.safe
                if args.json:
                    print(json.dumps(outcome.__dict__, default=repr))
                elif outcome.safe:
                    print(f"{op} of {path}: {outcome.signature()}")
                else:
                    print(outcome.describe())
    return 1 if unsafe else 0


if __name__ == "__main__":
    sys.exit(main())
