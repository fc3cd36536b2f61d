"""Layer 2, the container: fsspec URLs (`s3://`, `gs://`, `memory://`, `http(s)://`...): range
reads, and saves that appear in one final upload. Needs the `remote` extra
(`pip install "zanj-core[remote]"`); fsspec is imported only when a URL is opened or saved to.

Reading fetches only what the archive reader asks for: the zip directory from the file's end,
the JSON members, then each member loaded. Small reads fetch a window around them (so the
directory, the JSON members and runs of small members come in a few requests) and a few
windows are kept; a read as large as a window goes straight to its destination, in pieces
fetched a few at a time.
A server that ignores `Range` (Python's `http.server`, say) sends the whole file, which is
then kept in a temporary file and read from there, with a warning.

Saving writes the archive to a local temporary file, then uploads it with one `put_file`: an
object store shows the object only once that upload completes (a multipart upload that fails
is aborted), so readers see the old object or the new one, never part of one.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from zanj_core._container.progress import ProgressBar
from zanj_core._container.save_steps import save_step
from zanj_core._container.sources import ByteSource, LocalFileSource
from zanj_core.errors import ZanjError, ZanjFileNotFoundError, ZanjFormatError, ZanjRemoteError, ZanjRemoteWarning

REMOTE_EXTRA_HINT = 'pip install "zanj-core[remote]"'
READ_WINDOW = 256 * 1024
"""Bytes fetched for a read smaller than this (headers, the directory, small members)."""
KEPT_WINDOWS = 8
LARGE_PIECE = 16 * 1024 * 1024
"""Large reads are fetched in pieces of this size..."""
CONCURRENT_PIECES = 4
"""...this many at a time: enough to fill a link to an object store, little memory in flight."""
SEQUENTIAL_WINDOW = 64 * 1024 * 1024
"""What a whole-file read fetches ahead: many members per round of concurrent requests."""
_HTTP_IN_URL = re.compile(r"(^|::)https?://", re.IGNORECASE)
"""HTTP URLs are read-only, chained (`simplecache::https://...`) or not."""


def _pinning(fs: Any, info: dict[str, Any]) -> dict[str, Any]:
    """Read options that make a server refuse bytes of another version than `info` describes."""
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    etag = info.get("ETag")
    if protocols & {"http", "https"} and isinstance(etag, str) and not etag.startswith("W/"):  # strong ETags only
        return {"headers": {"If-Match": etag}}
    if getattr(fs, "version_aware", False) and info.get("VersionId"):
        return {"version_id": info["VersionId"]}
    return {}


def filesystem(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    """The fsspec filesystem for `url` and the file's location in it (what fsspec calls its
    path), with clear errors for what is missing."""
    try:
        import fsspec.core
    except ImportError as exc:
        raise ZanjError(
            f"{url}: reading and saving URLs needs fsspec and the package of the URL's protocol: {REMOTE_EXTRA_HINT}"
        ) from exc
    if storage_options is not None and not isinstance(storage_options, dict):
        raise ZanjError(f"storage_options must be a dict or None, got {type(storage_options).__name__}")
    # some file systems connect or read while being set up (zip::..., gcs credentials)
    with remote_errors(url, "opening the file system"):
        try:
            return fsspec.core.url_to_fs(url, **(storage_options or {}))  # type: ignore[no-any-return]
        except ImportError as exc:  # the protocol's package (s3fs, gcsfs, aiohttp...) is missing
            raise ZanjError(f"{url}: {exc}. {REMOTE_EXTRA_HINT} installs s3fs, gcsfs and aiohttp") from exc
        except ValueError as exc:  # a protocol fsspec does not know
            raise ZanjError(f"{url}: fsspec cannot open this URL: {exc}") from exc
        except TypeError as exc:  # storage_options the filesystem does not take
            raise ZanjError(f"{url}: storage_options were not accepted by fsspec: {exc}") from exc


@contextlib.contextmanager
def remote_errors(url: str, action: str, reading: bool = True) -> Iterator[None]:
    """Turn what fsspec and the protocol packages raise into `ZanjError`s naming the URL (a
    missing file is `ZanjFileNotFoundError` when reading; when saving it is a missing bucket)."""
    try:
        yield
    except ZanjError:
        raise
    except FileNotFoundError as exc:
        cause, status = exc.__cause__, getattr(exc.__cause__, "status", None)
        if (status is not None and status != 404) or isinstance(cause, OSError):
            # fsspec's HTTP file system reports every failure of its lookup as a missing file
            raise ZanjRemoteError(f"{url}: {action} failed: {type(cause).__name__}: {cause}") from exc
        if not reading:
            raise ZanjRemoteError(f"{url}: {action} failed: {exc} (does the bucket exist?)") from exc
        raise ZanjFileNotFoundError(f"no such file: {url}") from exc
    except Exception as exc:  # botocore, aiohttp, gcsfs and OSError all signal failures their own way
        raise ZanjRemoteError(f"{url}: {action} failed: {type(exc).__name__}: {exc}") from exc


class RemoteSource(ByteSource):
    """A file behind an fsspec URL, read with range requests."""

    def __init__(
        self, fs: Any, fs_location: str, url: str, size: int, read_kwargs: dict[str, Any] | None = None
    ) -> None:
        self._fs = fs
        self._fs_location = fs_location
        """The file as `fs` names it (the URL without its protocol, for most file systems)."""
        self._read_kwargs = read_kwargs or {}
        """Pin every range read to the version opened (HTTP If-Match on the ETag; an S3
        VersionId when the file system is version aware), so a replaced file is noticed."""
        self.url = url
        self.location = url
        self.size = size
        self._windows: OrderedDict[int, bytearray] = OrderedDict()
        self._window = READ_WINDOW
        self._kept = KEPT_WINDOWS
        self._lock = threading.Lock()
        self._download_lock = threading.Lock()
        self._whole: LocalFileSource | None = None
        """The whole file in a temporary file, once the server has sent all of it."""

    @classmethod
    def open(cls, url: str, storage_options: dict[str, Any] | None) -> ByteSource:
        fs, fs_location = filesystem(url, storage_options)
        with remote_errors(url, "looking up the file"):
            info = fs.info(fs_location)
        if info.get("type") == "directory":
            raise ZanjFileNotFoundError(f"not a file: {url} is a directory")
        size = info.get("size")
        source = cls(fs, fs_location, url, size if isinstance(size, int) and size >= 0 else 0, _pinning(fs, info))
        if not isinstance(size, int) or size < 0:  # without a size there are no ranges to ask for
            source._download_whole(None)
        return source

    def read_at(self, view: memoryview, offset: int) -> int:
        length = min(view.nbytes, self.size - offset)
        if length <= 0:
            return 0
        if self._whole is not None:
            return self._whole.read_at(view[:length], offset)  # counted when it arrived
        with self._lock:
            for start, data in self._windows.items():
                if start <= offset < start + len(data):
                    self._windows.move_to_end(start)
                    got = min(length, start + len(data) - offset)
                    view[:got] = data[offset - start : offset - start + got]
                    return got
        if length >= self._window:
            with self._lock:  # stop where a kept window begins; the caller reads on from there
                length = min([length, *(kept - offset for kept in self._windows if offset < kept < offset + length)])
            return self._read_large(view[:length], offset)
        # a small read: fetch the window from it onwards (the whole file when that is small, the
        # file's last window near its end), stopping where a kept window begins
        if self.size <= 2 * READ_WINDOW:
            start, end = 0, self.size
        elif self.size - offset <= READ_WINDOW:
            start, end = self.size - READ_WINDOW, self.size
        else:
            start, end = offset, min(offset + self._window, self.size)
        with self._lock:  # never fetch again what a kept window holds
            for kept, data in self._windows.items():
                if start < kept + len(data) <= offset:
                    start = kept + len(data)
                if offset < kept < end:
                    end = kept
        data = bytearray(end - start)
        self._read_large(memoryview(data), start)
        if self._whole is None:  # else the server ignored Range, and the local copy serves the read
            with self._lock:
                self._windows[start] = data
                while len(self._windows) > self._kept:
                    self._windows.popitem(last=False)
        return self.read_at(view, offset)  # served by the window just kept

    def read_ahead(self) -> None:
        """The whole file is about to be read in order (`ZANJ.read`): fetch ahead in windows of
        `SEQUENTIAL_WINDOW`, whose pieces come concurrently, instead of one request per member."""
        self._window = SEQUENTIAL_WINDOW
        self._kept = 2

    def _read_large(self, view: memoryview, offset: int) -> int:
        """Fill `view` straight from the server: pieces of `LARGE_PIECE` bytes, up to
        `CONCURRENT_PIECES` at a time (async filesystems fetch those concurrently), so a read
        of any size holds at most that many pieces in flight besides its destination."""
        length = view.nbytes
        pieces = [(at, min(at + LARGE_PIECE, offset + length)) for at in range(offset, offset + length, LARGE_PIECE)]
        for first in range(0, len(pieces), CONCURRENT_PIECES):
            group = pieces[first : first + CONCURRENT_PIECES]
            for (start, end), data in zip(group, self._fetch(group), strict=True):
                if self._whole is not None:  # the server ignored Range: read the local copy
                    return self.read_at(view, offset)
                view[start - offset : end - offset] = data
        return length

    def _fetch(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of each `(start, end)` range, checked to be exactly what was asked for."""
        try:
            with remote_errors(self.url, f"reading bytes {ranges[0][0]}..{ranges[-1][1]}"):
                if len(ranges) == 1:
                    found = [
                        self._fs.cat_file(self._fs_location, start=ranges[0][0], end=ranges[0][1], **self._read_kwargs)
                    ]
                else:
                    found = self._fs.cat_ranges(
                        [self._fs_location] * len(ranges),
                        [s for s, _ in ranges],
                        [e for _, e in ranges],
                        on_error="raise",
                        **self._read_kwargs,
                    )
        except ZanjRemoteError as exc:
            status = getattr(exc.__cause__, "status", None)
            if status in (412, 416):  # If-Match failed, or the range lies past a shorter file
                raise ZanjFormatError(
                    f"{self.url} changed since it was opened (HTTP {status}); open it again to read the new version"
                ) from exc
            raise
        result = []
        for (start, end), data in zip(ranges, found, strict=True):
            self._count(len(data))
            if len(data) == end - start:
                result.append(bytes(data) if not isinstance(data, bytes) else data)
            elif len(data) == self.size:  # the server ignored Range and sent everything
                self._download_whole(bytes(data))
                return [b""] * len(ranges)
            else:
                raise ZanjFormatError(
                    f"{self.url}: asked for bytes {start}..{end} of a {self.size}-byte file and got {len(data)}; "
                    "the file changed or was truncated while being read"
                )
        return result

    def _download_whole(self, body: bytes | None) -> None:
        """Keep the whole file in a temporary file: when the server ignores ranges, or gives no
        size. Done once: threads that find the server ignoring ranges at once wait for the first."""
        with self._download_lock:
            if self._whole is not None:
                return
            warnings.warn(
                f"{self.url}: the server does not serve byte ranges (or gives no size), so the whole file "
                "is downloaded to a temporary file; reading one item transfers everything",
                ZanjRemoteWarning,
                stacklevel=2,
            )
            import shutil  # only for servers without byte ranges: not worth importing with the core
            import tempfile

            spool = tempfile.TemporaryFile()
            try:
                if body is not None:
                    spool.write(body)
                else:
                    with remote_errors(self.url, "downloading"), self._fs.open(self._fs_location, "rb") as remote:
                        shutil.copyfileobj(_Counting(remote, self._count), spool, 1 << 20)
                spool.flush()
                whole = LocalFileSource(Path(str(self.location)), spool)
            except BaseException:
                spool.close()
                raise
            with self._lock:
                self.size = whole.size
                self._whole = whole
                self._windows.clear()

    def close(self) -> None:
        if self._whole is not None:
            self._whole.close()
        self._windows.clear()


class _Counting:
    """A read-only stream that reports how many bytes pass through it."""

    def __init__(self, stream: Any, count: Callable[[int], int]) -> None:
        self._stream = stream
        self._count = count

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        self._count(len(data))
        return data


def upload(url: str, write: Callable[[BinaryIO], None], storage_options: dict[str, Any] | None, progress: bool) -> None:
    """Write the archive to a local temporary file, then publish it with one upload."""
    if _HTTP_IN_URL.search(url):
        raise ZanjError(
            f"cannot save to {url}: HTTP URLs are read-only here; save to an object store (s3://, gs://...) "
            "or a local path, and serve that"
        )
    import tempfile

    fs, fs_location = filesystem(url, storage_options)
    with save_step(url, "creating a local temporary folder for the upload"):
        staging = tempfile.TemporaryDirectory(prefix="zanj-upload-")
    with staging as folder:
        local = Path(folder) / "archive.zanj"
        with save_step(url, f"writing the archive to the local temporary file {local} for the upload"):
            with open(local, "xb") as fh:
                write(fh)
            size = local.stat().st_size
        with ProgressBar(progress, f"uploading {url}", size, 1) as bar:
            with remote_errors(url, "uploading", reading=False):
                fs.put_file(str(local), fs_location, callback=_progress_callback(bar))
            bar.member_done()


def _progress_callback(bar: ProgressBar) -> Any:
    """An fsspec callback that moves `bar` (fsspec reports the size, then increments)."""
    from fsspec.callbacks import Callback

    class BarCallback(Callback):  # type: ignore[misc]
        def call(self, *args: Any, **kwargs: Any) -> None:
            if self.size is not None:
                bar.set_total(int(self.size))
            if self.value > bar.bytes:
                bar.update(int(self.value) - bar.bytes)

    return BarCallback()
