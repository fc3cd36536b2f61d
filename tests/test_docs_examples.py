"""Every Python code block of README.md, docs/ and the packages' READMEs runs, in order within
its page, through Sybil: one test per page, each page in a process of its own
(tests/docs_page_runner.py) and a temporary folder of its own, so the blocks of a page share one
namespace as a reader running them top to bottom would, and nothing a page defines outlives it.

The markup is Sybil's, in HTML comments that GitHub and the site do not show:
`<!-- skip: next missing("zanj_torch", "s3fs") -->` skips a block (and `skip: start` /
`skip: end` a run of blocks) when a module it needs is not installed, so the core-only session
(`nox -s core`) skips what needs a plugin, and that is the only reason a block may be skipped:
no block reaches outside this machine. `<!-- invisible-code-block: python ... -->` holds setup
a page does not show (a file to open). `s3://` URLs go to moto's S3 server on 127.0.0.1
(tests/remote_servers.py), found through the AWS environment variables s3fs reads; a block
reading an `https://example.org/...` file reads `url`, which its hidden setup points at that
file served by tests/remote_servers.py's HTTP server on 127.0.0.1 (`serve_over_http`,
tests/docs_page_runner.py); torch.distributed finds a one-process group on loopback, as torchrun
would set it up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sybil")

from docs_page_runner import SYBIL, is_code, is_invisible, missing
from remote_servers import MotoS3Server, _free_port

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "docs_page_runner.py"
PAGES = sorted(
    {
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("plugins/*/README.md"),
        *ROOT.glob("compat/*/README.md"),
        *ROOT.glob("examples/*/README.md"),
    }
)
# the buckets the pages save into
BUCKETS = ("bucket", "my-bucket")
# seconds one page may take (the distributed page starts a process group and saves six times)
PAGE_TIMEOUT = 300
# any fenced block whose info string names Python, however it is spelled
_PYTHON_FENCE = re.compile(r"^ *(`{3,}|~{3,}) *(python|py|python3|pycon)\b", re.IGNORECASE | re.MULTILINE)


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def pages_with_code() -> list[Path]:
    return [page for page in PAGES if any(is_code(example) for example in SYBIL.parse(page))]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str | None]:
    """moto's S3 server with the pages' buckets, or None when s3fs or moto is not installed
    (the pages' blocks that need it are skipped by their markup then)."""
    if missing("s3fs", "moto"):
        yield None
        return
    import s3fs  # type: ignore[import-untyped]

    server = MotoS3Server()
    with server:
        filesystem = s3fs.S3FileSystem(**server.storage_options())
        for bucket in BUCKETS:
            filesystem.mkdir(bucket)
        yield server.endpoint
    s3fs.S3FileSystem.clear_instance_cache()  # no cached filesystem left pointing at a stopped server


@pytest.mark.parametrize("page", pages_with_code(), ids=page_id)
def test_page_code_blocks_run_in_order(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = dict(os.environ)
    if "s3://" in page.read_text(encoding="utf-8"):
        endpoint = request.getfixturevalue("s3_endpoint")
        if endpoint is not None:
            env |= {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "eu-west-1",
            }
    # what torchrun would set: a process group of one rank on loopback
    env |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0", "WORLD_SIZE": "1"}
    env |= {"LOCAL_RANK": "0"}
    run = subprocess.run(
        [sys.executable, str(RUNNER), str(page), page_id(page)],
        cwd=tmp_path,  # whatever the blocks write stays in this test's folder
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )
    if run.returncode != 0:
        pytest.fail(f"{page_id(page)}: a code block failed:\n{run.stderr[-8000:]}", pytrace=False)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if not result["ran"]:
        reasons = "; ".join(f"{why}: lines {', '.join(map(str, lines))}" for why, lines in result["skipped"].items())
        pytest.skip(f"{page_id(page)}: every block skipped: {reasons}")


def test_every_python_block_is_one_sybil_runs() -> None:
    """No Python block escapes the runner (a ```py fence, an indented fence Sybil reads otherwise)."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        fences = len(_PYTHON_FENCE.findall(text))
        visible = [example for example in SYBIL.parse(page) if is_code(example) and not is_invisible(example)]
        assert len(visible) == fences, f"{page_id(page)}: {fences} Python blocks, Sybil runs {len(visible)}"


def test_blocks_are_skipped_only_for_a_missing_module() -> None:
    """A block that needs the network runs against a loopback server instead of being skipped."""
    for page in PAGES:
        for example in SYBIL.parse(page):
            if is_code(example):
                continue
            action, condition = example.region.parsed
            if action in ("next", "start"):
                assert (condition or "").startswith("missing("), (
                    f"{page_id(page)}, line {example.line}: `skip: {action} {condition or ''}` skips "
                    "unconditionally; skip only with missing(...), and serve files on loopback"
                )


def test_the_pages_hold_python_blocks() -> None:
    """The pages this suite runs are the ones the documentation has: README.md and docs/ among them."""
    found = {page_id(page) for page in pages_with_code()}
    assert {"README.md", "docs/lazy.md", "docs/distributed.md", "plugins/zanj_torch/README.md"} <= found
