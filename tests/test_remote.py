"""Remote storage through fsspec: memory://, an HTTP server honouring Range that counts what
it sends, and an S3 server (moto) through s3fs, all on the loopback interface.

Skipped where the `remote` extra (fsspec, aiohttp, s3fs) or moto is not installed.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("fsspec")

from dataclass_defs import BasicZanj, Inner, Outer
from remote_servers import GCSEmulator, MotoS3Server, RangeHTTPServer

from zanj_core import (
    ZANJ,
    ZanjError,
    ZanjFileNotFoundError,
    ZanjFormatError,
    ZanjRemoteError,
    ZanjRemoteWarning,
    verify_file,
)
from zanj_core._container.remote import READ_WINDOW
from zanj_core._tools.cli import main as cli_main

MiB = 1 << 20

PLAIN: dict[str, Any] = {
    "config": BasicZanj(a="hello", q=7, c=[1, 2, 3]),
    "nested": Outer(name="n", inner=Inner(x=1), items=[Inner(x=2, tags=("a",))], lookup={3: Inner(x=3)}),
    "blob": bytes(range(256)) * 4096,  # 1 MiB binary member
    "long": [{"i": i} for i in range(2000)],  # a .jsonl member
}


def _memory_url() -> str:
    return f"memory://zanj-tests/{uuid.uuid4().hex}/obj.zanj"


# -- memory:// ---------------------------------------------------------------------------------


def test_memory_round_trip_and_lazy_open() -> None:
    url = _memory_url()
    assert ZANJ().save(PLAIN, url[: -len(".zanj")]) == url  # the suffix is added to URLs too
    assert ZANJ().read(url) == PLAIN
    with ZANJ().open(url) as opened:
        assert opened["config"] == PLAIN["config"]
        assert opened.info("blob").member_bytes == len(PLAIN["blob"])
        assert not opened.reader.can_map
    assert verify_file(url, load=True).ok


def test_memory_missing_file_and_folder() -> None:
    url = _memory_url()
    with pytest.raises(ZanjFileNotFoundError, match="no such file"):
        ZANJ().read(url)
    ZANJ().save({"a": 1}, url)
    with pytest.raises(ZanjFileNotFoundError, match="is a directory"):
        ZANJ().read(url.rsplit("/", 1)[0])


def test_garbage_at_a_url_is_a_format_error() -> None:
    import fsspec

    url = _memory_url()
    fsspec.filesystem("memory").pipe_file(url, b"PK\x05\x06 not really" * 100)
    with pytest.raises(ZanjFormatError):
        ZANJ().read(url)


@given(
    size=st.integers(0, 60_000),
    reads=st.lists(st.tuples(st.integers(0, 70_000), st.integers(0, 20_000)), max_size=25),
    read_ahead=st.booleans(),
)
def test_range_reads_match_the_bytes(size: int, reads: list[tuple[int, int]], read_ahead: bool) -> None:
    """Whatever the order and size of reads, the window cache hands back the file's bytes."""
    import fsspec

    import zanj_core._container.remote as remote

    data = bytes((i * 7919) % 251 for i in range(size))
    url = _memory_url()
    fsspec.filesystem("memory").pipe_file(url, data)
    small = {"READ_WINDOW": 1024, "LARGE_PIECE": 3000, "SEQUENTIAL_WINDOW": 8192, "KEPT_WINDOWS": 3}
    with mock.patch.multiple(remote, **small):
        source = remote.RemoteSource.open(url, None)
        if read_ahead:
            source.read_ahead()
        for offset, length in reads:
            buffer = bytearray(length)
            got = source.read_at(memoryview(buffer), offset)
            want = data[offset : offset + length]
            assert 0 < got <= len(want) or got == len(want) == 0
            assert bytes(buffer[:got]) == want[:got]
        assert source.bytes_read <= max(size, 1) * (len(reads) + 1)


def test_unknown_protocol_and_bad_storage_options() -> None:
    with pytest.raises(ZanjError, match="fsspec cannot open this URL"):
        ZANJ().read("nosuchprotocol://x/y.zanj")
    with pytest.raises(ZanjError, match="storage_options must be a dict"):
        ZANJ().read(_memory_url(), storage_options=["anon"])  # type: ignore[arg-type]


def test_memory_failed_save_leaves_the_previous_object() -> None:
    from test_storage import _Exploding, _exploding_handlers

    url = _memory_url()
    ZANJ().save({"version": 1}, url)
    with pytest.raises(RuntimeError, match="disk full"):
        ZANJ(handlers_pre=_exploding_handlers()).save({"x": _Exploding(), "version": 2}, url)
    assert ZANJ().read(url) == {"version": 1}


def test_cli_reads_urls(capsys: pytest.CaptureFixture[str]) -> None:
    url = _memory_url()
    ZANJ().save(PLAIN, url)
    assert cli_main(["ls", url]) == 0
    assert "blob" in capsys.readouterr().out
    assert cli_main(["meta", url]) == 0
    assert url in capsys.readouterr().out
    assert cli_main(["verify", url]) == 0
    assert cli_main(["ls", "-o", "skip_instance_cache=true", url]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli_main(["ls", "-o", "no-equals-sign", url])
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_upload_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    url = _memory_url()
    ZANJ(progress=True).save(PLAIN, url)
    err = capsys.readouterr().err
    assert "saving" in err and "uploading" in err and "1/1 members" in err


# -- HTTP, with a server that honours Range and counts bytes ----------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, RangeHTTPServer]]:
    with RangeHTTPServer(tmp_path) as server:
        yield tmp_path, server


def test_http_read_transfers_about_the_file_once(served: tuple[Path, RangeHTTPServer]) -> None:
    folder, server = served
    ZANJ().save(PLAIN, folder / "plain.zanj")
    size = (folder / "plain.zanj").stat().st_size
    assert ZANJ().read(f"{server.url}/plain.zanj") == PLAIN
    assert all(wanted is not None for wanted, _ in server.requests)  # ranges only
    assert server.bytes_sent <= size + 2 * READ_WINDOW


def test_http_full_read_fetches_ahead_in_few_requests(served: tuple[Path, RangeHTTPServer]) -> None:
    """`read` fetches many members per round of requests, not one request per member."""
    folder, server = served
    blobs = {f"b{i:03d}": bytes([i]) * 40_000 for i in range(200)}  # 200 members, 8 MB
    ZANJ().save(blobs, folder / "many.zanj")
    size = (folder / "many.zanj").stat().st_size
    server.reset_counts()
    assert ZANJ().read(f"{server.url}/many.zanj") == blobs
    assert len(server.requests) <= 6
    assert server.bytes_sent <= size + 2 * READ_WINDOW


def test_http_open_128_mib_load_one_4_mib_item_transfers_under_6_mib(
    served: tuple[Path, RangeHTTPServer],
) -> None:
    """The issue's figure: a 128 MiB file, one 4 MiB item, under 6 MiB over the wire."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    folder, server = served
    layers = {f"layer{i:02d}": np.full(MiB, i, dtype=np.float32) for i in range(32)}  # 32 x 4 MiB
    ZANJ().save({"layers": layers, "config": PLAIN["config"]}, folder / "big.zanj")
    assert (folder / "big.zanj").stat().st_size >= 128 * MiB
    server.reset_counts()
    with ZANJ().open(f"{server.url}/big.zanj") as opened:
        opening = server.bytes_sent
        item = opened["layers/layer17"]
        assert opened["config"] == PLAIN["config"]
    np.testing.assert_array_equal(item, layers["layer17"])
    total = server.bytes_sent
    print(f"128 MiB over HTTP: open {opening} B, + one 4 MiB item: {total} B in {len(server.requests)} requests")
    assert total < 6 * MiB
    assert opening < 2 * READ_WINDOW + 64 * 1024


def test_http_slice_reads_only_its_rows(served: tuple[Path, RangeHTTPServer]) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("zanj_numpy")
    folder, server = served
    matrix = np.arange(4096 * 1024, dtype=np.float32).reshape(4096, 1024)  # 16 MiB
    ZANJ().save({"m": matrix}, folder / "m.zanj")
    with ZANJ().open(f"{server.url}/m.zanj") as opened:
        server.reset_counts()
        rows = opened.slice("m")[1000:1010]
    np.testing.assert_array_equal(rows, matrix[1000:1010])
    assert server.bytes_sent < 2 * READ_WINDOW  # 40 KiB of rows, plus a header window


def test_http_large_reads_come_in_concurrent_pieces(
    served: tuple[Path, RangeHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    import zanj_core._container.remote

    monkeypatch.setattr(zanj_core._container.remote, "LARGE_PIECE", 1 << 20)
    folder, server = served
    blob = bytes(range(251)) * (10 * MiB // 251)  # about 10 MiB: ten pieces, in three groups
    ZANJ().save({"blob": blob}, folder / "blob.zanj")
    with ZANJ().open(f"{server.url}/blob.zanj") as opened:
        server.reset_counts()
        assert opened["blob"] == blob
    pieces = [sent for wanted, sent in server.requests if sent == 1 << 20]
    assert len(pieces) >= 9 and server.bytes_sent < len(blob) + 2 * READ_WINDOW


def test_http_server_ignoring_range_is_read_whole_with_a_warning(tmp_path: Path) -> None:
    ZANJ().save(PLAIN, tmp_path / "plain.zanj")
    size = (tmp_path / "plain.zanj").stat().st_size
    with RangeHTTPServer(tmp_path, honour_ranges=False) as server:
        with pytest.warns(ZanjRemoteWarning, match="does not serve byte ranges"):
            assert ZANJ().read(f"{server.url}/plain.zanj") == PLAIN
        assert server.bytes_sent == size  # once, then read from the temporary copy


def test_http_missing_file_and_saving_refused(served: tuple[Path, RangeHTTPServer]) -> None:
    _, server = served
    with pytest.raises(ZanjFileNotFoundError, match="no such file"):
        ZANJ().read(f"{server.url}/missing.zanj")
    with pytest.raises(ZanjError, match="HTTP URLs are read-only"):
        ZANJ().save(PLAIN, f"{server.url}/new.zanj")


def test_http_server_gone_is_a_remote_error(tmp_path: Path) -> None:
    ZANJ().save(PLAIN, tmp_path / "plain.zanj")
    with RangeHTTPServer(tmp_path) as server:
        url = f"{server.url}/plain.zanj"
        opened = ZANJ().open(url)
    with opened, pytest.raises(ZanjRemoteError, match="reading bytes"):
        opened["blob"]
    with pytest.raises(ZanjRemoteError, match="looking up the file failed"):
        ZANJ().read(url)  # connection refused: not reported as a missing file


def test_file_replaced_under_an_open_reader_is_noticed(served: tuple[Path, RangeHTTPServer]) -> None:
    """Range reads carry If-Match with the ETag seen at open: a replaced file is refused."""
    folder, server = served
    ZANJ().save({"blob": bytes(4 * READ_WINDOW)}, folder / "c.zanj")
    with ZANJ().open(f"{server.url}/c.zanj") as opened:
        ZANJ().save({"blob": b"\x01" * (4 * READ_WINDOW)}, folder / "c.zanj")  # same size, new bytes
        with pytest.raises(ZanjFormatError, match="changed since it was opened"):
            opened["blob"]


def test_server_without_sizes_is_read_whole_with_a_warning(tmp_path: Path) -> None:
    ZANJ().save(PLAIN, tmp_path / "plain.zanj")
    with RangeHTTPServer(tmp_path, send_sizes=False) as server:
        with pytest.warns(ZanjRemoteWarning):
            assert ZANJ().read(f"{server.url}/plain.zanj") == PLAIN


def test_threads_reading_from_a_server_ignoring_ranges_download_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    blobs = {f"b{i}": bytes([i]) * 300_000 for i in range(8)}
    ZANJ().save(blobs, tmp_path / "t.zanj")
    size = (tmp_path / "t.zanj").stat().st_size
    with RangeHTTPServer(tmp_path) as server:
        opened = ZANJ().open(f"{server.url}/t.zanj")
        server.honour_ranges = False  # from now on every GET sends the whole file
        server.reset_counts()
        with opened, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ZanjRemoteWarning)
            with ThreadPoolExecutor(4) as pool:
                loaded = list(pool.map(lambda key: (key, opened[key]), blobs))
        assert dict(loaded) == blobs
        assert server.bytes_sent <= 4 * size  # each thread may have asked before the first answer
        assert len([w for w in caught if w.category is ZanjRemoteWarning]) == 1  # one copy kept


def test_urls_failing_while_the_file_system_is_set_up() -> None:
    with pytest.raises(ZanjFileNotFoundError):
        ZANJ().read("zip://x.zanj::memory://no-such-archive.zip")


def test_saving_to_a_chained_http_url_is_refused() -> None:
    with pytest.raises(ZanjError, match="HTTP URLs are read-only"):
        ZANJ().save(PLAIN, "simplecache::https://example.invalid/x.zanj")


def test_failed_upload_leaves_the_previous_object_and_no_temporary_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    import fsspec

    url = _memory_url()
    ZANJ().save({"version": 1}, url)
    memory = type(fsspec.filesystem("memory"))

    def broken_put(self: Any, lpath: str, rpath: str, callback: Any = None, **kwargs: Any) -> None:
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(memory, "put_file", broken_put)
    before = set(Path(tempfile.gettempdir()).glob("zanj-upload-*"))
    with pytest.raises(ZanjRemoteError, match="uploading failed: ConnectionResetError"):
        ZANJ().save({"version": 2}, url)
    assert set(Path(tempfile.gettempdir()).glob("zanj-upload-*")) == before
    monkeypatch.undo()
    assert ZANJ().read(url) == {"version": 1}


def test_a_large_read_never_refetches_a_kept_window() -> None:
    import fsspec

    import zanj_core._container.remote as remote

    url = _memory_url()
    data = bytes(range(256)) * (4 * MiB // 256)
    fsspec.filesystem("memory").pipe_file(url, data)
    source = remote.RemoteSource.open(url, None)
    tail = bytearray(100)
    source.read_at(memoryview(tail), len(data) - 100)  # keeps the file's last window
    assert source.bytes_read == READ_WINDOW
    buffer = bytearray(MiB)
    filled = 0
    while filled < MiB:
        filled += source.read_at(memoryview(buffer)[filled:], len(data) - MiB + filled)
    assert bytes(buffer) == data[-MiB:]
    assert source.bytes_read == MiB  # the window's 256 KiB came from memory


# -- S3, through s3fs against moto's server -----------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, Any]]:
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    with MotoS3Server() as server:
        import s3fs

        options = server.storage_options()
        s3fs.S3FileSystem(**options).mkdir("zanj-bucket")
        yield options


def _s3_url() -> str:
    return f"s3://zanj-bucket/{uuid.uuid4().hex}/checkpoint.zanj"


def test_s3_round_trip_plain_objects(s3: dict[str, Any]) -> None:
    url = _s3_url()
    assert ZANJ().save(PLAIN, url, storage_options=s3) == url
    assert ZANJ().read(url, storage_options=s3) == PLAIN


def test_s3_round_trip_dataclass_with_arrays_and_frame(s3: dict[str, Any]) -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("zanj_numpy")
    pytest.importorskip("zanj_pandas")
    from remote_defs import Experiment

    experiment = Experiment(
        name="run-7",
        weights=np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32),
        steps=np.arange(1000, dtype=np.int64),
        table=pd.DataFrame({"step": np.arange(500), "loss": np.linspace(2, 0.1, 500), "tag": ["a", "b"] * 250}),
    )
    url = _s3_url()
    ZANJ().save(experiment, url, storage_options=s3)
    back = ZANJ().read(url, storage_options=s3)
    assert type(back) is Experiment and back.name == experiment.name
    for field in ("weights", "steps"):
        got, want = getattr(back, field), getattr(experiment, field)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    pd.testing.assert_frame_equal(back.table, experiment.table)
    with ZANJ().open(url, storage_options=s3) as opened:
        assert opened.info("weights").shape == (256, 64)
        np.testing.assert_array_equal(opened.slice("weights")[10:12], experiment.weights[10:12])


def test_s3_round_trip_model(s3: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("zanj_torch")
    from torch_defs import MyNN, MyNNConfig

    torch.manual_seed(0)
    model = MyNN(MyNNConfig(input_dim=4, hidden_dim=16, output_dim=2, act_fn=torch.nn.ReLU))
    url = _s3_url()
    ZANJ().save(model, url, storage_options=s3)
    back = ZANJ().read(url, storage_options=s3)
    assert type(back) is MyNN
    x = torch.randn(8, 4)
    assert torch.equal(back(x), model(x))
    for name, tensor in model.state_dict().items():
        assert torch.equal(back.state_dict()[name], tensor)


def test_s3_failed_save_leaves_the_previous_object_and_no_litter(s3: dict[str, Any]) -> None:
    import s3fs
    from test_storage import _Exploding, _exploding_handlers

    url = _s3_url()
    ZANJ().save({"version": 1}, url, storage_options=s3)
    with pytest.raises(RuntimeError, match="disk full"):
        ZANJ(handlers_pre=_exploding_handlers()).save({"x": _Exploding()}, url, storage_options=s3)
    assert ZANJ().read(url, storage_options=s3) == {"version": 1}
    folder = url.rsplit("/", 1)[0]
    assert s3fs.S3FileSystem(**s3).ls(folder) == [folder[len("s3://") :] + "/checkpoint.zanj"]


def test_s3_errors(s3: dict[str, Any]) -> None:
    with pytest.raises(ZanjFileNotFoundError):
        ZANJ().read("s3://zanj-bucket/nothing/here.zanj", storage_options=s3)
    with pytest.raises(ZanjRemoteError, match="uploading failed"):
        ZANJ().save({"a": 1}, "s3://no-such-bucket-zanj/x.zanj", storage_options=s3)


def test_s3_cli_with_storage_options(s3: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    url = _s3_url()
    ZANJ().save(PLAIN, url, storage_options=s3)
    args = [f"{key}={json.dumps(value)}" for key, value in s3.items()]
    assert cli_main(["verify", url, *[part for arg in args for part in ("-o", arg)]]) == 0
    assert "OK" in capsys.readouterr().out


def test_file_object_from_fsspec(s3: dict[str, Any]) -> None:
    """An open fsspec file is a binary file object like any other."""
    import s3fs

    url = _s3_url()
    ZANJ().save(PLAIN, url, storage_options=s3)
    with s3fs.S3FileSystem(**s3).open(url, "rb") as remote:
        assert ZANJ().read(remote) == PLAIN


# -- Google Cloud Storage, through gcsfs against gcp-storage-emulator ----------------------------


@pytest.fixture(scope="module")
def gcs() -> Iterator[dict[str, Any]]:
    if "gcsfs" not in sys.modules:  # read by gcsfs at import; see GCSEmulator
        os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    pytest.importorskip("gcsfs")
    if shutil.which("gcp-storage-emulator", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("gcp-storage-emulator is not installed")
    with GCSEmulator() as server:
        yield server.storage_options()


def test_gcs_round_trip_and_lazy_open(gcs: dict[str, Any]) -> None:
    url = f"gs://{GCSEmulator.bucket}/{uuid.uuid4().hex}/checkpoint.zanj"
    assert ZANJ().save(PLAIN, url, storage_options=gcs) == url
    assert ZANJ().read(url, storage_options=gcs) == PLAIN
    with ZANJ().open(url, storage_options=gcs) as opened:
        assert opened["config"] == PLAIN["config"]
        assert opened.reader.byte_source.bytes_read < 3 * READ_WINDOW


def test_s3_versioned_bucket_reads_the_version_opened(s3: dict[str, Any]) -> None:
    """On a versioned bucket with a version-aware s3fs, an open file keeps reading the version it
    opened, as a local open handle does, even after the object is replaced."""
    import s3fs

    options = {**s3, "version_aware": True}
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("zanj-versioned")
    fs.make_bucket_versioned("zanj-versioned")
    url = f"s3://zanj-versioned/{uuid.uuid4().hex}.zanj"
    old, new = {"blob": b"\x00" * MiB}, {"blob": b"\x01" * MiB}
    ZANJ().save(old, url, storage_options=options)
    with ZANJ().open(url, storage_options=options) as opened:
        ZANJ().save(new, url, storage_options=options)
        assert opened["blob"] == old["blob"]
    assert ZANJ().read(url, storage_options=options) == new
