"""Saves are crash-safe: a killed, racing or concurrently read save never exposes a broken file.

`ZANJ.save` writes a hidden temporary file beside the target and renames it into place
(`zanj_core._container.publishing.write_local`). These tests check what that promises from the outside,
with real processes: a save killed with SIGKILL at any moment leaves the complete old object or
the complete new one; saves racing on one path leave exactly one complete object; readers of a
path that another process keeps replacing always see one complete version, and an open handle
keeps reading the version it opened.

What they cannot see: power loss or a kernel crash (the data may still sit in the page cache
when the rename happens), which needs a machine that really loses power.

A killed save leaves its temporary file behind (`.<target name>.<random>.tmp`): nothing runs
to delete it after SIGKILL. The tests check that such leftovers are the only other files, that
they are hidden from `*.zanj` globs, and that reading the target is not disturbed by them.

`ZANJ_CRASH_TRIES` sets how many saves are killed at random moments (20 by default; raise it
for a heavier run); 3 more are killed once the temporary file is half written.
Run with `-s` to see the counts; they are also recorded as junit properties.
"""

from __future__ import annotations

import inspect
import os
import random
import re
import select
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if os.name != "posix" or not hasattr(signal, "SIGKILL"):
    pytest.skip("crash-safety tests kill processes with SIGKILL (POSIX only)", allow_module_level=True)

np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

from zanj_core import ZANJ  # noqa: E402

MIB = 1 << 20
KILL_BYTES = 64 * MIB  # large enough that a save takes a while, so kills land inside it
RACE_BYTES = 16 * MIB
READ_BYTES = 16 * MIB
DEFAULT_TRIES = 20
HALF_WRITTEN_TRIES = 3
CALIBRATION_SAVES = 5
DELAY_SEED = 20_240_229  # the kill delays are drawn from this, so a run can be repeated
OLD_SEED, NEW_SEED = 101, 202
SEED_A, SEED_B = 303, 404
RACERS, RACE_ROUNDS = 4, 3
READ_SECONDS, MIN_READS = 2.0, 50
HANDLE_OPENS = 8
WATCHDOG_S = 120.0  # only against hangs; nothing here asserts on speed


def build_object(seed: int, total_bytes: int) -> dict[str, Any]:
    """The object saved: 8 arrays of seeded random bytes (several dtypes, 1-D and 2-D), a
    marker naming the seed, and the SHA-256 of all array bytes.

    Self-contained (imports inside) because its source is also sent to the child processes,
    so parent and children build identical objects from a seed. Random bytes make float
    arrays hold NaNs with arbitrary payloads, which only a bit-for-bit comparison checks.
    """
    import hashlib

    import numpy

    dtypes = ("<u8", "<f8", "<i4", "<u2", "<f4", "|u1", ">i8", "<c16")
    per_array = total_bytes // len(dtypes) // 1024 * 1024
    rng = numpy.random.default_rng(seed)
    digest = hashlib.sha256()
    obj: dict[str, Any] = {"marker": f"seed-{seed}", "seed": seed}
    for index, dtype in enumerate(dtypes):
        array = numpy.frombuffer(rng.bytes(per_array), dtype=dtype).copy()
        if index % 2 == 0:
            array = array.reshape(64, -1)
        obj[f"a{index}"] = array
        digest.update(array.tobytes())
    obj["sha256"] = digest.hexdigest()
    return obj


CHILD_MAIN = """
import os
import sys
import time
from pathlib import Path

import numpy
import zanj_numpy  # noqa: F401
from zanj_core import ZANJ


def say(*words):
    print(*words, flush=True)


def main(mode, target, *args):
    zanj = ZANJ()
    if mode == "serve":  # save once per "go" line on stdin, until EOF
        obj = build_object(int(args[0]), int(args[1]))
        # a first save loads the plugins and warms up code paths, so "go" starts a save proper
        zanj.save({"warm-up": numpy.arange(1024)}, f"warm-up-{os.getpid()}.zanj")
        say("ready")
        for line in sys.stdin:
            if line.strip() != "go":
                break
            zanj.save(obj, target)
            say("saved")
    elif mode == "race":  # save once, as soon as the start file appears
        obj = build_object(int(args[0]), int(args[1]))
        start_file = Path(args[2])
        say("ready")
        while not start_file.exists():
            time.sleep(0.0005)
        began = time.time()
        zanj.save(obj, target)
        say("saved", began, time.time())
    elif mode == "alternate":  # save B, A, B, A... until the stop file appears
        objs = [build_object(int(args[1]), int(args[2])), build_object(int(args[0]), int(args[2]))]
        stop_file = Path(args[3])
        say("ready")
        saves = 0
        while not stop_file.exists():
            zanj.save(objs[saves % 2], target)
            saves += 1
        say("saves", saves)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


main(*sys.argv[1:])
"""

CHILD_SCRIPT = (
    "from __future__ import annotations\nfrom typing import Any\n\n" + inspect.getsource(build_object) + CHILD_MAIN
)


def mismatch(loaded: Any, expected: dict[str, Any]) -> str | None:
    """Why `loaded` is not `expected` bit for bit (None when it is)."""
    if not isinstance(loaded, dict):
        return f"read back a {type(loaded).__name__}, not a dict"
    if set(loaded) != set(expected):
        return f"keys {sorted(loaded)} != {sorted(expected)}"
    for key, want in expected.items():
        got = loaded[key]
        if isinstance(want, np.ndarray):
            if not isinstance(got, np.ndarray):
                return f"{key}: a {type(got).__name__}, not an array"
            if got.dtype.str != want.dtype.str or got.shape != want.shape:
                return f"{key}: {got.dtype.str}{got.shape} != {want.dtype.str}{want.shape}"
            if got.tobytes() != want.tobytes():
                return f"{key}: same dtype and shape, different bytes"
        elif type(got) is not type(want) or got != want:
            return f"{key}: {got!r} != {want!r}"
    return None


def classify(loaded: Any, candidates: dict[str, dict[str, Any]]) -> tuple[str | None, str]:
    """The name of the candidate `loaded` equals exactly, or None and why it equals none."""
    reasons = []
    for name, expected in candidates.items():
        why = mismatch(loaded, expected)
        if why is None:
            return name, ""
        reasons.append(f"not {name}: {why}")
    return None, "; ".join(reasons)


def read_and_classify(path: Path, candidates: dict[str, dict[str, Any]], **options: Any) -> tuple[str | None, str]:
    """Read `path` whole and classify it; a failed read is a broken file, with the error as reason."""
    try:
        loaded = ZANJ().read(path, **options)
    except Exception as exc:
        return None, f"read failed: {type(exc).__name__}: {exc}"
    return classify(loaded, candidates)


def leftover_pattern(target: Path) -> re.Pattern[str]:
    """Names a killed save may leave beside `target`: `.<target name>.<anything>.tmp`."""
    return re.compile(rf"\.{re.escape(target.name)}\..+\.tmp")


def file_version(path: Path) -> tuple[int, int, int]:
    """What changes when `path` is replaced by another file."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_ctime_ns


@dataclass
class Child:
    """A child process running CHILD_SCRIPT, talking one line at a time on stdin/stdout."""

    label: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def describe(self) -> str:
        """Exit status and stderr, for assertion messages."""
        stderr = self.stderr_path.read_text(errors="replace")[-4000:] if self.stderr_path.exists() else ""
        return f"child {self.label} (pid {self.proc.pid}, exit status {self.proc.poll()}); stderr:\n{stderr}"

    def read_line(self) -> str:
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], WATCHDOG_S)
        assert readable, f"no output within {WATCHDOG_S:.0f} s from {self.describe()}"
        line = self.proc.stdout.readline().decode()
        if not line:
            self.proc.wait(timeout=WATCHDOG_S)
            raise AssertionError(f"output ended early: {self.describe()}")
        return line.strip()

    def expect(self, word: str) -> list[str]:
        """The next line's words, which must start with `word`."""
        words = self.read_line().split()
        assert words and words[0] == word, f"expected {word!r}, got {words}: {self.describe()}"
        return words

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self) -> int:
        """Close stdin and wait for a normal exit; its status."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=WATCHDOG_S)

    def sigkill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WATCHDOG_S)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


Spawn = Callable[..., Child]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start CHILD_SCRIPT with this interpreter and its import path; all are killed at teardown.

    Children run in their own empty folder so their current directory shadows no package.
    """
    workdir = tmp_path / "children"
    workdir.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) if p else os.getcwd() for p in sys.path)
    started: list[Child] = []

    def start(label: str, *args: object) -> Child:
        stderr_path = workdir / f"{label}.stderr"
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD_SCRIPT, *map(str, args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=workdir,
                env=env,
            )
        child = Child(label, proc, stderr_path)
        started.append(child)
        return child

    yield start
    for child in started:
        child.cleanup()


def report(record_property: Callable[[str, object], None], title: str, **counts: object) -> None:
    """Counts to stdout (seen with -s) and to the junit report."""
    for key, value in counts.items():
        record_property(key, value)
    print(f"\n{title}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))


def kill_when_half_written(child: Child, folder: Path, leftover: re.Pattern[str], min_size: int) -> None:
    """Tell `child` to save, then SIGKILL it as soon as its temporary file holds `min_size`
    bytes (or once it reports the save done, if it finished first)."""
    assert child.proc.stdout is not None
    child.send("go")
    deadline = time.monotonic() + WATCHDOG_S
    while time.monotonic() < deadline:
        for entry in os.scandir(folder):
            try:
                if leftover.fullmatch(entry.name) and entry.stat().st_size >= min_size:
                    child.sigkill()
                    return
            except FileNotFoundError:  # renamed into place meanwhile
                pass
        if select.select([child.proc.stdout], [], [], 0)[0]:  # "saved": too late this time
            child.sigkill()
            return
    raise AssertionError(f"the save neither wrote its temporary file nor finished: {child.describe()}")


def test_sigkill_during_save_leaves_old_or_new_object_complete(
    tmp_path: Path, spawn: Spawn, record_property: Callable[[str, object], None]
) -> None:
    """Kill a saving process at random moments: the target is always the whole old or the whole new object.

    Each try starts a child holding the new object, tells it to save over the old one, and
    kills it with SIGKILL after a delay spread over 0..1.3x a measured save (stratified, from a
    seeded generator), so kills land before, during and after the write. Save times vary a lot
    with the page cache, so a few more tries kill once the temporary file is half written; at
    least one of those must leave it behind, proving that the test does hit writes in progress.
    """
    tries = int(os.environ.get("ZANJ_CRASH_TRIES", DEFAULT_TRIES))
    assert tries > 0, "ZANJ_CRASH_TRIES must be positive"
    folder = tmp_path / "target"
    folder.mkdir()
    target = folder / "model.zanj"
    leftover = leftover_pattern(target)
    old, new = build_object(OLD_SEED, KILL_BYTES), build_object(NEW_SEED, KILL_BYTES)
    candidates = {"old": old, "new": new}
    ZANJ().save(old, target)

    # how long a save of `new` over `old` takes, seen from here: "go" sent until "saved" read
    calibration = spawn("calibration", "serve", target, NEW_SEED, KILL_BYTES)
    calibration.expect("ready")
    durations = []
    for _ in range(CALIBRATION_SAVES):
        ZANJ().save(old, target)
        began = time.perf_counter()
        calibration.send("go")
        calibration.expect("saved")
        durations.append(time.perf_counter() - began)
    assert calibration.finish() == 0, calibration.describe()
    outcome, why = read_and_classify(target, candidates)
    assert outcome == "new", f"the child's save did not write the new object: {why}"
    save_s = statistics.median(durations)
    ZANJ().save(old, target)

    rng = random.Random(DELAY_SEED)
    horizon = 1.3 * save_s
    delays = [horizon * (i + rng.random()) / tries for i in range(tries)]
    rng.shuffle(delays)
    plan: list[float | None] = [*delays, *[None] * HALF_WRITTEN_TRIES]  # None: kill when half written

    outcomes: Counter[str] = Counter()
    broken: list[str] = []
    leftovers_seen = 0
    half_written_caught = 0
    child = spawn("kill-0", "serve", target, NEW_SEED, KILL_BYTES)
    for i, delay in enumerate(plan):
        when = "when half written" if delay is None else f"{delay * 1000:.1f} ms after 'go'"
        child.expect("ready")
        if delay is None:
            kill_when_half_written(child, folder, leftover, KILL_BYTES // 2)
        else:
            child.send("go")
            time.sleep(delay)
            child.sigkill()
        assert child.proc.returncode == -signal.SIGKILL, f"try {i}: the child ended before the kill: {child.describe()}"
        child.cleanup()
        if i + 1 < len(plan):  # the next child starts up while this try is checked
            child = spawn(f"kill-{i + 1}", "serve", target, NEW_SEED, KILL_BYTES)

        others = sorted(p.name for p in folder.iterdir() if p.name != target.name)
        assert target.is_file(), f"try {i}: the target is gone (others: {others})"
        strays = [name for name in others if not leftover.fullmatch(name)]
        assert not strays, f"try {i}: unexpected files beside the target: {strays}"
        assert sorted(folder.glob("*.zanj")) == [target], f"try {i}: leftovers visible as .zanj files"
        leftovers_seen += bool(others)
        half_written_caught += delay is None and bool(others)

        outcome, why = read_and_classify(target, candidates)
        if outcome is None:
            broken.append(f"try {i}, killed {when}: {why}")
        else:
            outcomes[outcome] += 1
        if outcome != "old":  # so the next try replaces the old object again
            ZANJ().save(old, target)
        for name in others:  # nothing deletes a killed save's temporary file; keep the disk bounded
            (folder / name).unlink()

    report(
        record_property,
        "SIGKILL during save",
        tries=len(plan),
        random_delay_tries=tries,
        half_written_tries=HALF_WRITTEN_TRIES,
        old=outcomes["old"],
        new=outcomes["new"],
        broken=len(broken),
        tries_leaving_tmp=leftovers_seen,
        save_ms=round(save_s * 1000, 1),
        max_delay_ms=round(horizon * 1000, 1),
    )
    assert not broken, f"{len(broken)} of {len(plan)} killed saves left a broken target:\n" + "\n".join(broken)
    assert outcomes["old"] + outcomes["new"] == len(plan)
    assert half_written_caught, f"none of {HALF_WRITTEN_TRIES} tries caught a save in the middle of writing"


def test_concurrent_saves_leave_exactly_one_complete_object(
    tmp_path: Path, spawn: Spawn, record_property: Callable[[str, object], None]
) -> None:
    """Processes saving different objects to one path at once: one of them wins, whole, and no
    temporary file is left (each save renames its own uniquely named one)."""
    folder = tmp_path / "target"
    folder.mkdir()
    target = folder / "shared.zanj"
    winners: list[str] = []
    overlapping_rounds = 0
    for round_ in range(RACE_ROUNDS):  # the first round creates the file, later ones replace it
        seeds = [1000 + 10 * round_ + k for k in range(RACERS)]
        start_file = tmp_path / f"start-{round_}"
        racers = [
            spawn(f"racer-{round_}-{k}", "race", target, seed, RACE_BYTES, start_file) for k, seed in enumerate(seeds)
        ]
        for racer in racers:
            racer.expect("ready")
        start_file.touch()
        spans = []
        for racer in racers:
            assert racer.finish() == 0, f"round {round_}: a save failed: {racer.describe()}"
            words = racer.expect("saved")
            spans.append((float(words[1]), float(words[2])))
        overlapping_rounds += max(s for s, _ in spans) < min(e for _, e in spans)

        assert sorted(p.name for p in folder.iterdir()) == [target.name], (
            f"round {round_}: files left beside the target"
        )
        candidates = {f"seed {seed}": build_object(seed, RACE_BYTES) for seed in seeds}
        outcome, why = read_and_classify(target, candidates)
        assert outcome is not None, f"round {round_}: the target is none of the {RACERS} objects saved: {why}"
        winners.append(outcome)

    report(
        record_property,
        "concurrent saves",
        rounds=RACE_ROUNDS,
        racers=RACERS,
        winners=winners,
        all_overlapping_rounds=overlapping_rounds,
    )


def start_alternating_writer(tmp_path: Path, spawn: Spawn) -> tuple[Path, dict[str, dict[str, Any]], Path, Child]:
    """A child saving A and B in turn over `live.zanj` (which starts as A) until `stop` appears:
    (target, {"A": a, "B": b}, stop file, the child)."""
    target = tmp_path / "live.zanj"
    a, b = build_object(SEED_A, READ_BYTES), build_object(SEED_B, READ_BYTES)
    ZANJ().save(a, target)
    stop_file = tmp_path / "stop"
    writer = spawn("writer", "alternate", target, SEED_A, SEED_B, READ_BYTES, stop_file)
    writer.expect("ready")
    return target, {"A": a, "B": b}, stop_file, writer


def writer_saves(writer: Child) -> int:
    """Wait for a stopped alternating writer; how many saves it made."""
    assert writer.finish() == 0, writer.describe()
    return int(writer.expect("saves")[1])


def test_reads_while_another_process_replaces_the_file_see_one_complete_version(
    tmp_path: Path, spawn: Spawn, record_property: Callable[[str, object], None]
) -> None:
    """Whole reads racing a writer that alternates two objects: every read is exactly A or B."""
    target, candidates, stop_file, writer = start_alternating_writer(tmp_path, spawn)

    seen: Counter[str] = Counter()
    failures: list[str] = []
    began = time.monotonic()
    try:
        # read for a while, and until both versions were seen (the writer alternates them)
        while time.monotonic() - began < WATCHDOG_S:
            outcome, why = read_and_classify(target, candidates)
            if outcome is None:
                failures.append(why)
            else:
                seen[outcome] += 1
            enough = time.monotonic() - began >= READ_SECONDS and sum(seen.values()) + len(failures) >= MIN_READS
            if (enough and len(seen) == 2) or len(failures) >= 5:
                break
    finally:
        stop_file.touch()
    saves = writer_saves(writer)

    report(
        record_property,
        "reads during replacement",
        reads=sum(seen.values()) + len(failures),
        A=seen["A"],
        B=seen["B"],
        failed=len(failures),
        writer_saves=saves,
    )
    assert not failures, f"{len(failures)} reads saw a broken file:\n" + "\n".join(failures)
    assert seen["A"] and seen["B"], f"reads never saw both versions ({dict(seen)}; writer saved {saves} times)"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["children", "live.zanj", "stop"])


@pytest.mark.parametrize("mmap", [False, True], ids=["pread", "mmap"])
def test_open_handle_keeps_reading_the_version_it_opened(
    tmp_path: Path, spawn: Spawn, record_property: Callable[[str, object], None], mmap: bool
) -> None:
    """`ZANJ().open` holds its file: items loaded after the path was replaced still all come from
    the one complete version that was opened, never from a mix.

    Should saves ever write the file in place, the mmap case would not fail politely: reading a
    mapped page that the writer truncated kills the test process with SIGBUS.
    """
    target, candidates, stop_file, writer = start_alternating_writer(tmp_path, spawn)

    seen: Counter[str] = Counter()
    try:
        for attempt in range(HANDLE_OPENS):
            with ZANJ().open(target, mmap=mmap) as handle:
                opened = file_version(target)  # the opened file is this one or an older one
                marker = handle["marker"]
                version = next((name for name, obj in candidates.items() if obj["marker"] == marker), None)
                assert version is not None, f"open {attempt}: unknown marker {marker!r}"
                first = handle["a0"]
                deadline = time.monotonic() + WATCHDOG_S
                while file_version(target) == opened:  # wait until the path holds a newer file
                    assert time.monotonic() < deadline, f"the writer stopped replacing the file: {writer.describe()}"
                    time.sleep(0.001)
                items = {key: handle[key] for key in candidates[version] if key not in ("marker", "a0")}
                items.update(marker=marker, a0=first)
                why = mismatch(items, candidates[version])
            assert why is None, f"open {attempt}: items of one handle mix versions or are broken ({version}: {why})"
            seen[version] += 1
    finally:
        stop_file.touch()
    saves = writer_saves(writer)
    report(
        record_property,
        f"open handle during replacement ({'mmap' if mmap else 'pread'})",
        opens=HANDLE_OPENS,
        A=seen["A"],
        B=seen["B"],
        writer_saves=saves,
    )
