"""zanj as a torch.distributed.checkpoint backend, across processes: gloo ranks on CPU save a
DTensor state dict and an FSDP2 model with its Adam state (`dcp.save`, `dcp.async_save`, and to
S3 through moto), load it back with 2 and 3 ranks and in one process without a group, and
compare bit for bit with the unsharded originals. Each spawn is bounded in time
(`distributed_workers.run_ranks`); the checks run inside the ranks, whose failures come back here.
"""

from __future__ import annotations

import pickle
import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")
if not torch.distributed.is_available():  # pragma: no cover - builds without distributed
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import torch.distributed.checkpoint as dcp  # noqa: E402
from distributed_workers import assert_same, reload, run_ranks, save_and_reload, unsharded_target  # noqa: E402
from torch.distributed.checkpoint.state_dict import set_state_dict  # noqa: E402
from zanj_torch.distributed import ZanjStorageReader, consolidate, list_checkpoint  # noqa: E402

from zanj_core import ZANJ  # noqa: E402
from zanj_core._tools.cli import main as cli_main  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled:UserWarning")


@pytest.fixture(scope="module")
def s3_target() -> Iterator[tuple[str, dict[str, Any]] | None]:
    """An S3 URL (moto's server on loopback) and its storage options; None without s3fs/moto."""
    try:
        import moto.server  # noqa: F401
        import s3fs
    except ImportError:
        yield None
        return
    from remote_servers import MotoS3Server

    with MotoS3Server() as server:
        options = server.storage_options()
        s3fs.S3FileSystem(**options).mkdir("zanj-dcp")
        yield f"s3://zanj-dcp/{uuid.uuid4().hex}/step-10", options


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, s3_target: tuple[str, dict[str, Any]] | None) -> Path:
    """Two ranks save (sync, async, S3), write the originals, and load each back with two ranks."""
    out = tmp_path_factory.mktemp("dcp")
    run_ranks(save_and_reload, 2, out, s3_target)
    return out


def test_two_ranks_write_one_ordinary_zanj_file_each_and_a_json_index(saved: Path) -> None:
    for name in ("sync", "async"):
        folder = saved / name
        names = sorted(p.name for p in folder.iterdir())
        assert [re.sub("-[0-9a-f]{16}[.]", "-*.", name) for name in names] == [
            "rank-00000-*.zanj",
            "rank-00001-*.zanj",
            "zanj_checkpoint.json",
        ]
        for rank_file in names[:2]:
            assert cli_main(["verify", str(folder / rank_file)]) == 0
            with ZANJ().open(folder / rank_file) as opened:
                assert opened["format"] == "zanj_torch.distributed.shard"
                assert ("tensors", "dt.rows") in opened
        assert (folder / "zanj_checkpoint.json").read_bytes().startswith(b'{"format":"zanj_torch.distributed')
    with ZANJ().open(next((saved / "sync").glob("rank-00001-*.zanj"))) as opened:  # rank 1 holds rows 4..7
        rows = opened[("tensors", "dt.rows")]
    reference = torch.load(saved / "reference.pt", weights_only=False)
    assert torch.equal(rows, reference["dt"]["rows"][4:])


def test_three_ranks_load_what_two_saved(saved: Path, s3_target: tuple[str, dict[str, Any]] | None) -> None:
    run_ranks(reload, 3, saved, s3_target)


def _load_in_one_process(reader: ZanjStorageReader, reference: dict[str, Any], target: dict[str, Any]) -> None:
    model, optimizer = target.pop("model_and_optimizer")
    dcp.load(target, storage_reader=reader)
    _check_one_process(target, model, optimizer, reference)


def _check_one_process(target: dict[str, Any], model: Any, optimizer: Any, reference: dict[str, Any]) -> None:
    assert_same(target["dt"], reference["dt"], "dt")
    assert_same(dict(target["model"]), reference["model"], "model")
    assert_same(target["extra"], reference["extra"], "extra")
    set_state_dict(model, optimizer, model_state_dict=target["model"], optim_state_dict=target["optim"])
    assert_same(optimizer.state_dict()["param_groups"][0]["betas"], reference["optim"]["param_groups"][0]["betas"])
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter.detach(), reference["model"][name])
        state = optimizer.state[parameter]
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert_same(state[key], reference["optim"]["state"][name][key], f"optim/{name}/{key}")


def test_one_process_without_a_group_loads_the_two_rank_checkpoint(saved: Path) -> None:
    reference = torch.load(saved / "reference.pt", weights_only=False)
    assert not torch.distributed.is_initialized()
    _load_in_one_process(ZanjStorageReader(saved / "sync"), reference, unsharded_target())


def test_one_process_loads_from_s3(saved: Path, s3_target: tuple[str, dict[str, Any]] | None) -> None:
    if s3_target is None:
        pytest.skip("s3fs and moto are needed for the S3 checkpoint")
    reference = torch.load(saved / "reference.pt", weights_only=False)
    _load_in_one_process(ZanjStorageReader(s3_target[0], storage_options=s3_target[1]), reference, unsharded_target())
    import s3fs

    listed = s3fs.S3FileSystem(**s3_target[1]).ls(s3_target[0])
    assert [re.sub("-[0-9a-f]{16}[.]", "-*.", name.rsplit("/", 1)[1]) for name in sorted(listed)] == [
        "rank-00000-*.zanj",
        "rank-00001-*.zanj",
        "zanj_checkpoint.json",
    ]
    url, options = s3_target
    assert {e.fqn: e.shards for e in list_checkpoint(url, options)}["dt.rows"] == 2
    out = consolidate(url, f"{url}-full.zanj", storage_options=options, out_storage_options=options)
    assert_same(ZANJ().read(out, storage_options=options), reference)


def test_loading_never_unpickles_nor_calls_torch_load(saved: Path) -> None:
    reference = torch.load(saved / "reference.pt", weights_only=False)
    target = unsharded_target()  # built first: making an optimizer imports torch._dynamo, which subclasses Unpickler
    model, optimizer = target.pop("model_and_optimizer")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("something was unpickled")

    class RefusingUnpickler(pickle.Unpickler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("an unpickler was made")

    with (
        mock.patch.object(pickle, "load", refuse),
        mock.patch.object(pickle, "loads", refuse),
        mock.patch.object(pickle, "Unpickler", RefusingUnpickler),
        mock.patch.object(torch, "load", refuse),
    ):
        dcp.load(target, storage_reader=ZanjStorageReader(saved / "async"))
        assert list_checkpoint(saved / "async")
        consolidated = ZANJ().read(consolidate(saved / "async", saved / "from-async.zanj"))
    _check_one_process(target, model, optimizer, reference)
    assert_same(consolidated, reference)


def test_consolidate_writes_the_full_state_dict_as_one_ordinary_file(saved: Path) -> None:
    reference = torch.load(saved / "reference.pt", weights_only=False)
    out = consolidate(saved / "sync", saved / "full")
    assert out == str(saved / "full.zanj")
    assert_same(ZANJ().read(out), reference)
    assert cli_main(["verify", out]) == 0
    with ZANJ().open(out, mmap=True) as opened:  # ordinary tensors: rows can be sliced
        assert torch.equal(opened.slice("model/0.weight")[3:5], reference["model"]["0.weight"][3:5])


def test_listing_reports_global_shapes_dtypes_and_shard_counts(saved: Path) -> None:
    entries = {entry.fqn: entry for entry in list_checkpoint(saved / "sync")}
    rows = entries["dt.rows"]
    assert (rows.kind, rows.shape, rows.dtype, rows.shards, rows.nbytes) == ("tensor", (8, 6), "float32", 2, 192)
    assert entries["dt.bf16"].dtype == "bfloat16"
    assert entries["dt.replicated"].shards == 1  # deduplicated by DCP's planner
    assert entries["model.0.weight"].path == ("model", "0.weight")
    assert entries["optim.param_groups.0.lr"].path == ("optim", "param_groups", 0, "lr")
    assert entries["extra.step"].kind == "object"


def test_zanj_ls_and_consolidate_commands(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["ls", str(saved / "sync")]) == 0
    listed = capsys.readouterr().out
    line = next(text for text in listed.splitlines() if text.startswith("dt/rows"))
    assert "float32 (8, 6)" in line and "2 shards" in line
    assert cli_main(["consolidate", str(saved / "sync"), str(saved / "cli.zanj")]) == 0
    assert "cli.zanj" in capsys.readouterr().out
    assert_same(ZANJ().read(saved / "cli.zanj"), torch.load(saved / "reference.pt", weights_only=False))
    assert cli_main(["consolidate", str(saved / "absent"), str(saved / "x.zanj")]) == 1
    error = capsys.readouterr().err
    assert "absent: no such folder" in error and len(error.strip().splitlines()) == 1


def test_consolidate_holds_one_global_tensor_at_a_time(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import weakref

    from zanj_torch.distributed import consolidation as module

    alive: list[weakref.ref[Any]] = []
    most = calls = 0
    assemble = module.PendingTensor.assemble

    def counting(self: Any) -> Any:
        nonlocal most, calls
        calls += 1
        tensor = assemble(self)
        alive[:] = [ref for ref in alive if ref() is not None]
        alive.append(weakref.ref(tensor))
        most = max(most, len(alive))
        return tensor

    monkeypatch.setattr(module.PendingTensor, "assemble", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        consolidate(saved / "sync", saved / "bounded.zanj")
    assert calls > 20 and most == 1  # each assembled tensor was freed before the next was made
