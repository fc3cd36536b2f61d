"""Saves and reads pause the cyclic garbage collector for their walk, and always restore it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zanj_core import ZANJ, LoaderHandler, SerializerHandler, ZanjSerializationError
from zanj_core._contract.nodes import FORMAT_KEY
from zanj_core._walk.gcpause import collector_paused


class Probe:
    """Records whether the collector ran while it was saved or loaded."""


seen: list[bool] = []


def _probe_handlers() -> list[Any]:
    def serialize(obj: Any, path: Any, ctx: Any) -> dict[str, Any]:
        seen.append(gc.isenabled())
        return {FORMAT_KEY: "probe"}

    def load(node: Any, path: Any, ctx: Any) -> Probe:
        seen.append(gc.isenabled())
        return Probe()

    return [
        SerializerHandler(tag="probe", types=(Probe,), serialize=serialize),
        LoaderHandler(tag="probe", load=load),
    ]


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    seen.clear()
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.parametrize("pause", [True, False])
def test_walks_run_with_the_collector_paused_unless_asked_not_to(pause: bool, tmp_path: Path) -> None:
    zanj = ZANJ(handlers_pre=_probe_handlers(), pause_gc=pause)
    path = zanj.save({"p": Probe()}, tmp_path / "p")
    assert gc.isenabled()
    assert isinstance(zanj.read(path)["p"], Probe)
    assert gc.isenabled()
    assert seen == [not pause, not pause]


def test_lazy_loads_pause_too(tmp_path: Path) -> None:
    zanj = ZANJ(handlers_pre=_probe_handlers())
    path = zanj.save({"a": Probe(), "b": Probe()}, tmp_path / "p")
    seen.clear()
    with zanj.open(path) as opened:
        assert isinstance(opened["a"], Probe)
        assert set(opened.load()) == {"a", "b"}
    assert seen == [False, False, False]
    assert gc.isenabled()


def test_the_collector_comes_back_after_a_failed_save_or_read(tmp_path: Path) -> None:
    with pytest.raises(ZanjSerializationError):
        ZANJ().save({"x": object()}, tmp_path / "bad")
    assert gc.isenabled()
    (tmp_path / "junk.zanj").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a readable"):
        ZANJ().read(tmp_path / "junk.zanj")
    assert gc.isenabled()


def test_a_collector_the_program_disabled_stays_disabled(tmp_path: Path) -> None:
    gc.disable()
    zanj = ZANJ(handlers_pre=_probe_handlers())
    zanj.read(zanj.save(Probe(), tmp_path / "p"))
    assert not gc.isenabled()


def test_overlapping_walks_resume_the_collector_when_the_last_ends() -> None:
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second walk is still running
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_walks_in_threads_leave_the_collector_enabled(tmp_path: Path) -> None:
    zanj = ZANJ(handlers_pre=_probe_handlers())
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            for round_number in range(20):
                path = zanj.save([Probe()] * 50, tmp_path / f"t{index}_{round_number}")
                assert len(zanj.read(path)) == 50
        except BaseException as exc:  # reported below: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert gc.isenabled()
    assert not any(seen)  # every walk ran paused, however they overlapped
