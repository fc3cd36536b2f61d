"""Shared fixtures and the strict comparison every round-trip test uses."""

from __future__ import annotations

import datetime
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from zanj_core import REGISTRY, ZANJ

# plugin discovery keeps a per-user cache (zanj_core._walk.entry_point_cache): tests, and the
# processes they start, keep theirs in a folder of their own instead of the user's ~/.cache
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="zanj-tests-cache-")

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
# HYPOTHESIS_PROFILE=fuzz: long runs of the hostile-file generator (`nox -s fuzz` runs
# tests/test_hostile_generated.py with it); under the default "ci" profile that test uses
# "hostile-ci" instead: 40 files, the same on every run
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile(
    "hostile-ci",
    parent=settings.get_profile("ci"),
    max_examples=40,
    derandomize=True,  # the same 40 files on every CI run: a failure there reproduces anywhere
    # no shrinking: each attempt on a file that crashes the sandbox costs a worker restart (seconds);
    # the failing file is kept on disk instead (see test_hostile_generated.py)
    phases=[phase for phase in settings().phases if phase.name not in ("shrink", "explain")],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def assert_identical(a: Any, b: Any, where: str = "<root>") -> None:
    """Equal values of identical types all the way down; floats compared bit for bit."""
    assert type(a) is type(b), f"{where}: type {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, float):
        assert struct.pack(">d", a) == struct.pack(">d", b), f"{where}: {a!r} != {b!r} (bits)"
    elif isinstance(a, complex):
        assert_identical(a.real, b.real, where + ".real")
        assert_identical(a.imag, b.imag, where + ".imag")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}/{i}")
    elif isinstance(a, dict):
        assert list(a) == list(b) or set(a) == set(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_identical(a[key], b[key], f"{where}/{key!r}")
            matching = [k for k in b if k == key]
            assert type(matching[0]) is type(key), f"{where}: key {key!r} changed type"
    elif isinstance(a, (set, frozenset)):
        assert a == b, f"{where}: {a!r} != {b!r}"
        assert sorted(map(repr, a)) == sorted(map(repr, b)), f"{where}: element types differ"
    elif isinstance(a, (datetime.datetime, datetime.time)):
        assert a == b and a.tzinfo == b.tzinfo and a.fold == b.fold, f"{where}: {a!r} != {b!r}"
        assert a.tzname() == b.tzname(), f"{where}: time zone name {a.tzname()!r} != {b.tzname()!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def roundtrip(obj: Any, path: Path, zanj: ZANJ | None = None, **read_kwargs: Any) -> Any:
    zanj = zanj or ZANJ()
    written = zanj.save(obj, path)
    return zanj.read(written, **read_kwargs)


@pytest.fixture
def zpath(tmp_path: Path) -> Path:
    return tmp_path / "obj.zanj"


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """Rediscover plugins after a test that changed sys.path or registered handlers."""
    yield
    REGISTRY.refresh()


# -- reading hostile files in a sandbox (tests/sandbox.py) ----------------------------------------


@pytest.fixture(scope="session")
def hostile_reader() -> Iterator[Any]:
    """One sandboxed reader (`sandbox.Sandbox`) for the whole session: `.run(path, op,
    cpu_seconds=10)` reads an untrusted file in a child process under an address-space and a
    CPU limit and returns an `Outcome`; check it with `sandbox.assert_safe`."""
    from sandbox import Sandbox

    with Sandbox() as sandbox:
        yield sandbox
