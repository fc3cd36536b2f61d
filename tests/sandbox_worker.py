"""The child process of `tests/sandbox.py`: reads untrusted `.zanj` files under resource limits.

Started once per test session (and again after a crash) by `sandbox.Sandbox`, it imports
zanj-core and every installed plugin once, reads a valid file every way once (so lazy imports
happen before the limits are set), then caps its address space (RLIMIT_AS) and, per request,
its CPU time (RLIMIT_CPU), so a hostile file can at worst kill this process, never the machine.

Protocol: one JSON request per line on stdin; one JSON reply per line on the file descriptor
that was stdout at start (fd 1 is then pointed at stderr, so whatever a read prints cannot
corrupt the replies). The first line written is a "ready" message with the address space the
imports took. Only the standard library and zanj-core are required (the `core` nox session).

    python tests/sandbox_worker.py '{"address_space": 4294967296}'
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import gc
import hashlib
import importlib
import importlib.util
import io
import json
import math
import os
import pkgutil
import re
import resource
import secrets
import shutil
import struct
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLUGINS = ("zanj_numpy", "zanj_torch", "zanj_pandas")
SENTINEL_MODULES = frozenset({"this", "tabnanny", "zanj_canary_module", "zanj_sentinel_module"})
"""Modules no read may import: hostile files name them (`this:Evil`, tags `tabnanny.x`);
`this` prints the Zen of Python when imported, which the captured output would show too."""
TEXT_CAP = 20_000
"""Most characters of captured output, messages and tracebacks sent back per field."""
MAX_INFO_ITEMS = 2_000
"""The `open` operation calls `info` on at most this many items of the tree."""
ANALYSIS_CPU_SECONDS = 20
"""CPU seconds added to the limit, after an operation returns, for digesting its result."""
SCAN_BYTES_CAP = 1 << 30
"""Most bytes of array data digested and scanned for the planted secret."""
SCAN_NODES_CAP = 2_000_000
"""Most objects (and object-array elements) visited when digesting a result."""
CHUNK = 16 << 20

# -- process status ----------------------------------------------------------------------------


def proc_status() -> dict[str, int]:
    """VmPeak, VmSize, VmHWM and VmRSS of this process in bytes (empty where /proc lacks them)."""
    values: dict[str, int] = {}
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmPeak", "VmSize", "VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS, so the next reading is this request's peak (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def allow_cpu(seconds: float) -> None:
    """Let this process run `seconds` more of CPU time: the soft RLIMIT_CPU moves up (the hard
    limit stays unlimited), and passing it sends SIGXCPU, whose default action ends the process."""
    soft = math.ceil(cpu_seconds_used() + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# -- the planted secret ------------------------------------------------------------------------

PLANT_SIZES = (32, 48, 64, 100, 200, 256, 512, 1000, 1024, 4096, 8192, 65536, 120_000)


def plant_secret(secret: bytes) -> None:
    """Write `secret` (raw, and as hex text) over freshly allocated buffers of many sizes, then
    free them: a reader that hands back uninitialised memory is then likely to hand back the
    secret, which `Inspector` finds in the result. Sizes stay under glibc's mmap threshold so the
    freed blocks are reused rather than returned to the system."""
    text = secret.hex()
    held: list[Any] = []
    numpy = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    for size in PLANT_SIZES:
        raw = bytearray((secret * (size // len(secret) + 1))[:size])
        held.append(raw)
        held.append("".join([text] * (size // len(text) + 1))[:size])
        if numpy is not None:
            held.append(numpy.frombuffer(raw, dtype=numpy.uint8).copy())
        if torch is not None:
            held.append(torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone())
    del held, raw


class Inspector:
    """Walks a read's result: a digest of its content (to compare results), the number of bytes
    of array data it holds, and whether the planted secret appears anywhere in it."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.secret_hex = secret.hex()
        self.secret_hex_bytes = self.secret_hex.encode("ascii")
        self.secret_text = secret.decode("latin-1")
        self.hash = hashlib.sha256()
        self.nodes = 0
        self.data_bytes = 0
        self.truncated = False
        self.leaks: list[str] = []
        self._active: set[int] = set()

    def digest(self) -> str:
        return self.hash.hexdigest()

    def _feed(self, text: str) -> None:
        self.hash.update(text.encode("utf-8", "surrogatepass"))
        self.hash.update(b"\0")

    def _text(self, value: str, where: str) -> None:
        self._feed(value)
        if self.secret_hex in value or self.secret_text in value:
            self.leaks.append(f"{where}: str of {len(value)} characters")

    def _bytes(self, view: memoryview, where: str) -> None:
        """Digest and scan raw bytes, chunk by chunk (overlapping by the secret's length)."""
        view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        remaining = SCAN_BYTES_CAP - self.data_bytes
        if view.nbytes > remaining:
            self.truncated = True
            view = view[: max(remaining, 0)]
        self.data_bytes += view.nbytes
        overlap = len(self.secret_hex_bytes)
        self.hash.update(struct.pack("<Q", view.nbytes))
        for start in range(0, view.nbytes, CHUNK):
            self.hash.update(view[start : start + CHUNK])
            piece = bytes(view[max(start - overlap, 0) : start + CHUNK])
            if self.secret in piece or self.secret_hex_bytes in piece:
                self.leaks.append(f"{where}: bytes near offset {start}")
                break

    def visit(self, value: Any, where: str = "<root>", depth: int = 0) -> None:
        self.nodes += 1
        if self.nodes > SCAN_NODES_CAP or depth > 400:
            self.truncated = True
            return
        kind = type(value)
        self._feed(f"{kind.__module__}.{kind.__qualname__}")
        if value is None or kind is bool:
            self._feed(repr(value))
        elif isinstance(value, int):
            self._feed(hex(value))  # str() of a huge int is refused past 4300 digits
        elif isinstance(value, float):
            self.hash.update(struct.pack("<d", value))
        elif isinstance(value, complex):
            self.hash.update(struct.pack("<dd", value.real, value.imag))
        elif isinstance(value, str):
            self._text(value, where)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            self._bytes(memoryview(value), where)
        elif id(value) in self._active:
            self._feed("<cycle>")
        else:
            self._active.add(id(value))
            try:
                self._container(value, where, depth)
            finally:
                self._active.discard(id(value))

    def _container(self, value: Any, where: str, depth: int) -> None:
        if isinstance(value, dict):
            for key, item in list(value.items()):
                self.visit(key, f"{where}/key", depth + 1)
                self.visit(item, f"{where}/{_short(key)}", depth + 1)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                self.visit(item, f"{where}/{index}", depth + 1)
        elif isinstance(value, (set, frozenset)):
            for item in sorted(value, key=_sort_key):
                self.visit(item, f"{where}/<item>", depth + 1)
        elif not self._framework(value, where, depth):
            self._other(value, where, depth)

    def _framework(self, value: Any, where: str, depth: int) -> bool:
        """numpy, torch and pandas values; False for anything else."""
        numpy = sys.modules.get("numpy")
        torch = sys.modules.get("torch")
        pandas = sys.modules.get("pandas")
        if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
            self._array(numpy.asarray(value), where, depth)
            return True
        if torch is not None and isinstance(value, torch.Tensor):
            self._tensor(value, where)
            return True
        if pandas is not None and isinstance(value, pandas.DataFrame):
            self.visit([str(c) for c in value.columns], f"{where}/<columns>", depth + 1)
            self.visit(value.index, f"{where}/<index>", depth + 1)
            for position in range(value.shape[1]):
                self.visit(value.iloc[:, position], f"{where}/{_short(value.columns[position])}", depth + 1)
            return True
        if pandas is not None and isinstance(value, (pandas.Series, pandas.Index)):
            self._feed(repr(getattr(value, "name", None))[:200])
            self._feed(str(value.dtype))
            if isinstance(value, pandas.Series):
                self.visit(value.index, f"{where}/<index>", depth + 1)
            inner = value.array
            data = getattr(inner, "_data", None)
            mask = getattr(inner, "_mask", None)
            if numpy is None:  # pandas without numpy does not exist; this keeps the type checker content
                return False
            if isinstance(data, numpy.ndarray) and data.dtype != object:
                self._array(data, where, depth)
                if isinstance(mask, numpy.ndarray):
                    self._array(mask, where + "/<mask>", depth)
            else:
                count = min(len(value), max(SCAN_NODES_CAP - self.nodes, 0))
                self.truncated |= count < len(value)
                self._array(numpy.asarray(value[:count].to_numpy(dtype=object)), where, depth)
            return True
        return False

    def _array(self, array: Any, where: str, depth: int) -> None:
        numpy = sys.modules["numpy"]
        self._feed(f"{array.dtype.str} {array.shape}")
        if array.dtype.hasobject:
            flat = array.reshape(-1)
            for index in range(min(flat.size, max(SCAN_NODES_CAP - self.nodes, 0))):
                self.visit(flat[index], f"{where}/{index}", depth + 1)
            self.truncated |= flat.size > SCAN_NODES_CAP
            return
        if array.dtype.itemsize == 0 or array.size == 0:
            return
        if not array.flags.c_contiguous:
            array = numpy.ascontiguousarray(array)
        self._bytes(memoryview(array.reshape(-1).view(numpy.uint8)), where)

    def _tensor(self, tensor: Any, where: str) -> None:
        torch = sys.modules["torch"]
        self._feed(f"{tensor.dtype} {tuple(tensor.shape)} {tensor.layout}")
        try:
            flat = tensor.detach().cpu().contiguous().reshape(-1)
            if flat.numel() == 0:
                return
            try:
                raw = flat.view(torch.uint8).numpy()
            except (RuntimeError, TypeError):  # bf16 and other dtypes numpy lacks
                raw = flat.view(torch.int16).numpy() if flat.element_size() == 2 else flat.numpy()
            self._bytes(memoryview(raw.reshape(-1).view("uint8")), where)
        except (RuntimeError, TypeError, ValueError) as exc:
            self._feed(f"<tensor not readable: {type(exc).__name__}>")

    def _other(self, value: Any, where: str, depth: int) -> None:
        from zanj_core import ZanjUnloaded

        if isinstance(value, ZanjUnloaded):
            self._feed(str(value.tag))
            self.visit(value.node, f"{where}/<unloaded>", depth + 1)
            return
        if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, Path, os.PathLike)):
            self._text(repr(value), where)
            return
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.nn.Module):
            self.visit(dict(value.state_dict()), f"{where}/<state_dict>", depth + 1)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
            self.visit(fields, where, depth + 1)
            return
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict):
            self.visit(dict(attributes), where, depth + 1)
            return
        self._text(_safe_repr(value), where)


def _short(key: Any) -> str:
    text = _safe_repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:1000]
    except Exception as exc:  # a value whose repr fails is still described
        return f"<repr failed: {type(exc).__name__}>"


def _sort_key(value: Any) -> str:
    return f"{type(value).__name__}:{_safe_repr(value)}"


# -- the operations ----------------------------------------------------------------------------


@dataclasses.dataclass
class OpResult:
    """What an operation gave: its value (inspected for leaks), facts for the tests, and the
    ZanjErrors it met along the way where it keeps going after one (`open`)."""

    value: Any = None
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)
    zanj_errors: list[tuple[str, BaseException]] = dataclasses.field(default_factory=list)


def _zanj(request: dict[str, Any], **settings: Any) -> Any:
    from zanj_core import ZANJ, ReadLimits

    return ZANJ(read_limits=ReadLimits(**(request.get("limits") or {})), **settings)


def _summary(value: Any) -> dict[str, Any]:
    """Type of the result, and of each top-level item of a dict result (tests check which loaded)."""
    summary: dict[str, Any] = {"type": type(value).__qualname__}
    if isinstance(value, dict):
        summary["keys"] = {_key_text(key): type(item).__qualname__ for key, item in list(value.items())[:500]}
    return summary


def _key_text(key: Any) -> str:
    """A key as text, for any key a file can make (str() of a 5000-digit int raises)."""
    try:
        return str(key)[:200]
    except ValueError:
        return _safe_repr(key)[:200]


def op_read(request: dict[str, Any]) -> OpResult:
    value = _zanj(request).read(request["path"])
    return OpResult(value, {"result": _summary(value)})


def op_read_mmap(request: dict[str, Any]) -> OpResult:
    value = _zanj(request).read(request["path"], mmap=True)
    return OpResult(value, {"result": _summary(value)})


def op_verify_checksums(request: dict[str, Any]) -> OpResult:
    value = _zanj(request, verify_checksums=True).read(request["path"])
    return OpResult(value, {"result": _summary(value)})


def op_open(request: dict[str, Any]) -> OpResult:
    """The lazy handle every way a user meets it; a ZanjError in one step does not stop the
    next (each could hide a different failure), anything else ends the operation."""
    from zanj_core import ZanjError

    result = OpResult(value={})

    def attempt(label: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except ZanjError as exc:
            result.zanj_errors.append((label, exc))
            return None

    with _zanj(request).open(request["path"]) as opened:
        keys = attempt("keys()", opened.keys)
        items = attempt("tree(expand_members=True)", lambda: opened.tree(expand_members=True)) or []
        result.detail["tree_items"] = len(items)
        for item in items[:MAX_INFO_ITEMS]:
            attempt(f"info({item.path!r})", functools.partial(opened.info, item.path))
        if keys is None:
            result.value = {"<root>": attempt("load()", opened.load)}
        for key in keys or []:
            result.value[key] = attempt(f"load({key!r})", functools.partial(opened.load, (key,)))
    result.detail["result"] = _summary(result.value)
    return result


def op_verify(request: dict[str, Any]) -> OpResult:
    from zanj_core import verify_file

    zanj = _zanj(request)
    plain = verify_file(request["path"], zanj).as_json()
    loaded = verify_file(request["path"], zanj, load=True).as_json()
    return OpResult(None, {"plain": plain, "load": loaded})


CLI_COMMANDS = (("ls", "--members", "{path}"), ("show", "{path}", ""), ("meta", "{path}"), ("verify", "{path}"))
CONTROL_CHARACTERS = frozenset(
    [chr(c) for c in range(32) if chr(c) not in "\n\t"]
    + [chr(0x7F)]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F)]
)
"""Characters that rewrite a terminal (ESC sequences, bidi overrides): a file's strings printed
raw by the CLI could forge what the user sees. Reported, for the tests to judge."""


def op_cli(request: dict[str, Any]) -> OpResult:
    """`zanj ls --members`, `show FILE ''`, `meta` and `verify`, through the CLI's own `main`,
    output captured. The CLI catches ZanjErrors itself (exit 1); anything else propagates."""
    from zanj_core._tools.cli import main

    runs = []
    for template in CLI_COMMANDS:
        argv = [part.format(path=request["path"]) for part in template]
        # what a UTF-8 terminal is: text the CLI cannot encode (lone surrogates) fails as it would there
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
        err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: Any = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code
            except Exception as exc:
                if hasattr(exc, "add_note"):  # Python 3.11+: the traceback says which command
                    exc.add_note(f"in `zanj {' '.join(template)}`")
                raise
        stdout, stderr = (_captured(stream) for stream in (out, err))
        runs.append(
            {
                "command": template[0],
                "exit": code,
                "stdout": stdout[:TEXT_CAP],
                "stderr": stderr[:TEXT_CAP],
                "control_characters": sorted({f"U+{ord(c):04X}" for c in stdout + stderr if c in CONTROL_CHARACTERS}),
            }
        )
    return OpResult(None, {"cli": runs})


def _captured(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", "replace")


def op_selftest(request: dict[str, Any]) -> OpResult:
    """Misbehave on purpose (the request's `path` says how), so the tests can show that each
    check of the sandbox fires: "uninitialised" hands back freed memory, "write" creates a file,
    "import" imports a sentinel module, "crash" segfaults, "spin" burns CPU, "allocate" asks for
    more memory than the address-space limit, "masked" turns that MemoryError into a ZanjError."""
    how = request["path"]
    if how == "uninitialised":
        numpy = importlib.import_module("numpy")
        return OpResult([numpy.empty(size, dtype=numpy.uint8) for size in PLANT_SIZES])
    if how == "write":
        Path("written-by-a-read.txt").write_text("x")
    elif how == "import":
        importlib.import_module("tabnanny")
    elif how == "crash":
        import ctypes

        ctypes.string_at(0)  # reads address 0: SIGSEGV
    elif how == "spin":
        while True:
            pass
    elif how in ("allocate", "masked"):
        from zanj_core import ZanjFormatError

        try:
            bytearray(1 << 40)
        except MemoryError as exc:
            if how == "masked":
                raise ZanjFormatError("a loader failed: MemoryError") from exc
            raise
    return OpResult(None)


OPS: dict[str, Callable[[dict[str, Any]], OpResult]] = {
    "read": op_read,
    "read_mmap": op_read_mmap,
    "open": op_open,
    "verify": op_verify,
    "cli": op_cli,
    "verify_checksums": op_verify_checksums,
    "selftest": op_selftest,
}

# -- one request -------------------------------------------------------------------------------


def _error_fields(exc: BaseException, with_traceback: bool) -> dict[str, Any]:
    try:
        message = str(exc)
    except Exception as inner:  # a message that cannot be made is itself reported
        message = f"<str() failed: {type(inner).__name__}>"
    fields: dict[str, Any] = {
        "error_class": type(exc).__name__,
        "error_mro": [cls.__name__ for cls in type(exc).__mro__],
        "error_message": message[:TEXT_CAP],
    }
    if with_traceback:
        fields["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-TEXT_CAP:]
    return fields


def _memory_error_in(exc: BaseException) -> bool:
    """Whether a MemoryError (pyarrow's ArrowMemoryError included) is among the causes of `exc`:
    a ZanjError made from one means the reader tried to allocate without bound and only the
    sandbox's address-space limit stopped it; on a machine with more memory it would not stop."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 50:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


MEMORY_ERROR_TEXT = re.compile(r"(?:^|: )(?:\w+\.)*\w*MemoryError(?::|$)", re.MULTILINE)
"""How verify's problems and the CLI's errors name a MemoryError (`...: MemoryError: ...`)."""


def _names_memory_error(detail: dict[str, Any]) -> bool:
    """Whether a verify report's problems or a `zanj` command's errors report a MemoryError."""
    texts = [p.get("message", "") for key in ("plain", "load") for p in detail.get(key, {}).get("problems", [])]
    texts += [run.get("stderr", "") for run in detail.get("cli", [])]
    return any(MEMORY_ERROR_TEXT.search(text) for text in texts if isinstance(text, str))


def _listing(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def _clear(folder: Path, names: set[str]) -> None:
    for name in names:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                target.unlink()


def handle(request: dict[str, Any], work: Path, scratch: Path) -> dict[str, Any]:
    """Run one operation and describe what happened (see `sandbox.Outcome` for the fields)."""
    from zanj_core import ZanjError

    op = OPS.get(request.get("op", ""))
    if op is None:
        return {"kind": "protocol_error", "error_message": f"unknown op {request.get('op')!r}; known: {sorted(OPS)}"}
    secret = secrets.token_bytes(32)
    plant_secret(secret)  # its buffers are freed by reference counting, right away
    modules_before = set(sys.modules)
    scratch_before = _listing(scratch)
    extra_path = [str(p) for p in request.get("sys_path") or []]
    sys.path[:0] = extra_path
    reply: dict[str, Any] = {"op": request["op"], "path": request.get("path")}
    captured_out, captured_err = io.StringIO(), io.StringIO()
    measured = reset_peak_rss()
    before = proc_status()
    allow_cpu(float(request.get("cpu_seconds", 10)))
    cpu_start, wall_start = cpu_seconds_used(), time.perf_counter()
    result: OpResult | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(captured_out), contextlib.redirect_stderr(captured_err):
                result = op(request)
            masked = [(label, exc) for label, exc in result.zanj_errors if _memory_error_in(exc)]
            if masked:
                label, first = masked[0]
                reply.update(kind="masked_memory_error", step=label, **_error_fields(first, True))
            elif result.zanj_errors:
                label, first = result.zanj_errors[0]
                reply.update(kind="zanj_error", step=label, **_error_fields(first, False))
            elif _names_memory_error(result.detail):
                reply.update(kind="masked_memory_error", error_message="a verify report or `zanj` names a MemoryError")
            else:
                reply["kind"] = "ok"
        except ZanjError as exc:
            if _memory_error_in(exc):
                reply.update(kind="masked_memory_error", **_error_fields(exc, True))
            else:
                reply.update(kind="zanj_error", **_error_fields(exc, False))
        except BaseException as exc:  # everything else is what the sandbox exists to find
            reply.update(kind="other_error", **_error_fields(exc, True))
            if isinstance(exc, (MemoryError, RecursionError, KeyboardInterrupt)):
                reply["restart"] = True  # the process may be in a bad state
            del exc
    reply["cpu_seconds"] = cpu_seconds_used() - cpu_start
    reply["wall_seconds"] = time.perf_counter() - wall_start
    after = proc_status()
    if measured and "VmHWM" in after:
        reply["rss_peak_delta"] = after["VmHWM"] - before.get("VmRSS", 0)
    reply["vm_peak_delta"] = after.get("VmPeak", 0) - before.get("VmPeak", 0)
    reply["vm_size_delta"] = after.get("VmSize", 0) - before.get("VmSize", 0)
    reply["warnings"] = [
        {"category": w.category.__name__, "mro": [c.__name__ for c in w.category.__mro__], "message": str(w.message)}
        for w in caught[:200]
    ]
    reply["stdout"] = captured_out.getvalue()[:TEXT_CAP]
    reply["stderr"] = captured_err.getvalue()[:TEXT_CAP]
    allow_cpu(ANALYSIS_CPU_SECONDS)
    if result is not None:
        reply["detail"] = result.detail
        if len(result.zanj_errors) > 1:
            reply["detail"]["zanj_errors"] = [
                f"{label}: {type(exc).__name__}: {str(exc)[:500]}" for label, exc in result.zanj_errors[:50]
            ]
        inspector = Inspector(secret)
        try:
            inspector.visit(result.value)
            inspector.visit(result.detail)
        except Exception as exc:  # the digest is a convenience; its failure is reported, not fatal
            reply["analysis_error"] = f"{type(exc).__name__}: {exc}"[:2000]
        reply["digest"] = inspector.digest()
        reply["result_bytes"] = inspector.data_bytes
        reply["digest_truncated"] = inspector.truncated
        if inspector.leaks and reply["kind"] in ("ok", "zanj_error"):
            reply["leak_found_in"] = inspector.leaks[:20]
            reply["raised"] = reply["kind"]
            reply["kind"] = "leak"
    result = None
    gc.collect()
    del sys.path[: len(extra_path)]
    written = _listing(work)
    made_in_scratch = _listing(scratch) - scratch_before
    if written or made_in_scratch:
        reply["files_written"] = sorted(written) + sorted(f"$TMPDIR/{n}" for n in made_in_scratch)
        _clear(work, written)
        _clear(scratch, made_in_scratch)
        if reply["kind"] in ("ok", "zanj_error", "leak"):
            reply.setdefault("raised", reply["kind"])
            reply["kind"] = "wrote_files"
    imported = sorted(set(sys.modules) - modules_before)
    reply["imported_modules"] = imported[:500]
    forbidden = SENTINEL_MODULES | set(request.get("forbidden_modules") or ())
    named = sorted(set(imported) & forbidden)
    if named:
        reply["imported_forbidden"] = named
        reply["restart"] = True  # the module stays imported: later requests could not tell
        if reply["kind"] in ("ok", "zanj_error"):
            reply.setdefault("raised", reply["kind"])
            reply["kind"] = "imported"
    return reply


# -- start-up ----------------------------------------------------------------------------------


def import_everything(plugins: list[str], preload: list[str]) -> list[str]:
    """zanj-core, its CLI, and each plugin that is installed with all its submodules (loaders
    import theirs lazily; importing now keeps that out of the measured requests)."""
    import zanj_core
    import zanj_core._tools.cli
    import zanj_core._tools.verify

    found = []
    for name in plugins:
        if importlib.util.find_spec(name) is None:
            continue
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            importlib.import_module(info.name)
        found.append(name)
    for name in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    zanj_core.REGISTRY.ensure_discovered()
    return found


def quiet_threads() -> None:
    """One compute thread per library: the address space a process reserves grows with its
    threads (stacks, malloc arenas), and the limit must not depend on the machine's core count."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.set_cpu_count(1)
        pyarrow.set_io_thread_count(1)


def warm_up(folder: Path, work: Path, scratch: Path) -> None:
    """Save a valid file holding something of every installed plugin and run every operation on
    it, so first-use imports and caches are in place before limits and measurements start."""
    from zanj_core import ZANJ

    obj: dict[str, Any] = {
        "builtins": [1, 2.5, "x", None, True, (1, 2), {3}, frozenset({4}), {5: "a"}, b"b", 10**30, float("nan")],
        "when": [datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc), datetime.timedelta(1), 1 + 2j],
        "long": list(range(300)),
    }
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        obj["arrays"] = [numpy.arange(300.0), numpy.zeros(3, dtype="<U3"), numpy.float32(1), numpy.zeros(2, "V4")]
    torch = sys.modules.get("torch")
    if torch is not None:
        base = torch.arange(300, dtype=torch.bfloat16)
        obj["tensors"] = [base, base[10:20], torch.arange(3)]
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        obj["frames"] = [pandas.DataFrame({"a": [1, None], "b": ["x", None]}), pandas.Series([1.0], name="s")]
    path = ZANJ().save(obj, folder / "warm.zanj")
    ZANJ(compress=True).save(obj, folder / "warm-deflated.zanj")
    for name in ("warm.zanj", "warm-deflated.zanj"):
        for op in OPS:
            if op == "selftest":
                continue
            reply = handle({"op": op, "path": str(folder / name), "cpu_seconds": 120}, work, scratch)
            if reply["kind"] != "ok":
                raise RuntimeError(f"warm-up {op} of {path} failed: {json.dumps(reply)[:4000]}")


def serve(config: dict[str, Any], replies: io.TextIOWrapper) -> None:
    work = Path.cwd()
    scratch = Path(tempfile.gettempdir())
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not write a core file into cwd
    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    started = time.perf_counter()
    plugins = import_everything(list(config.get("plugins", PLUGINS)), list(config.get("preload", [])))
    imported = proc_status()
    quiet_threads()
    warm_up_error = None
    if config.get("warm_up", True):
        folder = Path(tempfile.mkdtemp(prefix="zanj-sandbox-warm-", dir=config.get("warm_dir")))
        try:
            warm_up(folder, work, scratch)
        except Exception as exc:  # a broken save must not stop the reader's tests: say so, go on
            warm_up_error = f"{type(exc).__name__}: {exc}"[:4000]
            traceback.print_exc()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    gc.collect()
    gc.freeze()  # what start-up made is never garbage: later collections skip it, and stay fast
    warmed = proc_status()
    limit = config.get("address_space")
    ready: dict[str, Any] = {
        "ready": True,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "plugins": plugins,
        "after_imports": imported,
        "after_warm_up": warmed,
        "startup_seconds": time.perf_counter() - started,
        "warm_up_error": warm_up_error,
        "address_space_limit": limit,
    }
    if limit:
        if warmed.get("VmSize", 0) >= limit:
            ready.update(ready=False, error=f"VmSize after imports is {warmed['VmSize']} bytes, over the limit {limit}")
            replies.write(json.dumps(ready) + "\n")
            return
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    replies.write(json.dumps(ready) + "\n")
    replies.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        reply = handle(request, work, scratch)
        reply["id"] = request.get("id")
        replies.write(json.dumps(reply, default=repr) + "\n")
        replies.flush()


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # prints from anything a read runs land in the log, not among the replies
    import faulthandler

    faulthandler.enable(file=sys.stderr)
    serve(config, replies)


if __name__ == "__main__":
    main()
