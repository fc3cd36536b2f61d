"""Real servers on the loopback interface for the remote-storage tests.

`RangeHTTPServer` serves a folder over HTTP, honouring single `Range` requests (or ignoring
them, to test the fallback), and counts every body byte it sends. `MotoS3Server` (moto) and
`GCSEmulator` (gcp-storage-emulator) run in their own processes, as real S3 and Google Cloud
Storage endpoints for s3fs and gcsfs.
"""

from __future__ import annotations

import http.server
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Handler(http.server.BaseHTTPRequestHandler):
    server: RangeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _file(self) -> Path | None:
        relative = self.path.split("?", 1)[0].lstrip("/")
        target = (self.server.folder / relative).resolve()
        if self.server.folder not in target.parents or not target.is_file():
            self.send_error(404)
            return None
        return target

    def _etag(self, target: Path) -> str:
        facts = target.stat()
        return f'"{facts.st_mtime_ns:x}-{facts.st_size:x}"'

    def do_HEAD(self) -> None:
        target = self._file()
        if target is None:
            return
        self.send_response(200)
        if self.server.send_sizes:
            self.send_header("Content-Length", str(target.stat().st_size))
        if self.server.honour_ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", self._etag(target))
        self.end_headers()

    def do_GET(self) -> None:
        target = self._file()
        if target is None:
            return
        wanted_version = self.headers.get("If-Match")
        if wanted_version is not None and wanted_version != self._etag(target):
            self.send_error(412)  # the file changed since the client looked it up
            return
        size = target.stat().st_size
        start, end = 0, size
        wanted = self.headers.get("Range")
        match = _RANGE.match(wanted or "")
        partial = self.server.honour_ranges and match is not None
        if partial:
            assert match is not None
            start = int(match.group(1))
            end = min(int(match.group(2)) + 1, size) if match.group(2) else size
            if start >= size or end <= start:
                self.send_error(416)
                return
        self.send_response(206 if partial else 200)
        if self.server.send_sizes or partial:
            self.send_header("Content-Length", str(end - start))
        self.send_header("ETag", self._etag(target))
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        with open(target, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start)
        with self.server.lock:  # counted before the client can have it, so a reset never races a count
            self.server.bytes_sent += len(body)
            self.server.requests.append((wanted, len(body)))
        self.wfile.write(body)


class RangeHTTPServer(http.server.ThreadingHTTPServer):
    """Serves `folder` on 127.0.0.1; `bytes_sent` counts body bytes, `requests` each GET.

    Each response carries an ETag (mtime and size) and `If-Match` is honoured (412 when the file
    changed). `honour_ranges=False` answers every GET with the whole file; `send_sizes=False`
    sends no Content-Length, so the client learns no size."""

    daemon_threads = True

    def __init__(self, folder: Path, honour_ranges: bool = True, send_sizes: bool = True) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = folder.resolve()
        self.honour_ranges = honour_ranges
        self.send_sizes = send_sizes
        self.lock = threading.Lock()
        self.bytes_sent = 0
        self.requests: list[tuple[str | None, int]] = []
        self._thread = threading.Thread(target=self.serve_forever, name="range-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reset_counts(self) -> None:
        with self.lock:
            self.bytes_sent = 0
            self.requests.clear()

    def __enter__(self) -> RangeHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _ChildServer:
    """A server in a child process on a free loopback port, waited for until it answers."""

    ready_path = "/"

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self) -> _ChildServer:
        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + self.ready_path, timeout=2):
                    return self
            except urllib.error.HTTPError:  # it answers, if only to say no
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"{self.command()[2]} did not start on {self.endpoint}") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


class MotoS3Server(_ChildServer):
    """moto's S3 server (`python -m moto.server`): a real S3 endpoint for s3fs."""

    ready_path = "/moto-api/"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def storage_options(self) -> dict[str, Any]:
        """What s3fs needs to talk to this server (moto accepts any credentials)."""
        return {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "eu-west-1"},
            "skip_instance_cache": True,
        }


class GCSEmulator(_ChildServer):
    """gcp-storage-emulator: Google Cloud Storage's JSON API in memory, for gcsfs, with one
    bucket. gcsfs must be imported with GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false, or it asks a
    gRPC endpoint the emulator lacks for each bucket's type (a minute's timeout each)."""

    bucket = "zanj-gcs-bucket"

    def command(self) -> list[str]:
        emulator = str(Path(sys.executable).with_name("gcp-storage-emulator"))
        return [
            emulator,
            "start",
            "-H",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--default-bucket",
            self.bucket,
            "-q",
            "-M",
        ]

    def storage_options(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint, "token": "anon", "project": "zanj-tests", "skip_instance_cache": True}
