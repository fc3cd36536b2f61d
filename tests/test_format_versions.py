"""Format 1.1 (the description of the data members in a member of its own, read only when asked
for) and format 1.0 (the metadata holding `externals_info`, as zanj-core 0.1.0 wrote it, and as
`compat="0.6"` still writes it): both read, and each shows the same `meta`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from format10_objects import NEEDS, OBJECTS

from zanj_core import ZANJ, ZanjFormatError
from zanj_core._container.reader import ArchiveReader
from zanj_core._tools.verify import verify_file

FORMAT10 = Path(__file__).parent / "data" / "zanj_core_1_0"
EXTERNALS = "__zanj_externals__.json"


def _needs(stem: str) -> None:
    plugin = NEEDS[stem]
    if plugin is not None:
        pytest.importorskip(plugin)


def _equal(a: Any, b: Any) -> None:
    """Equal, arrays, tensors and frames compared exactly (dtype and bits)."""
    kind = type(a).__module__.split(".")[0]
    if kind == "numpy":
        import numpy as np

        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    elif kind == "torch":
        import torch

        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        assert bytes(a.contiguous().view(torch.uint8).numpy()) == bytes(b.contiguous().view(torch.uint8).numpy())
    elif kind == "pandas":
        import pandas as pd

        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            _equal(a[key], b[key])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _equal(x, y)
    else:
        assert a == b and type(a) is type(b)


@pytest.mark.parametrize("stem", sorted(OBJECTS))
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_format_1_0_files_read(stem: str, mmap: bool) -> None:
    _needs(stem)
    path = FORMAT10 / f"{stem}.zanj"
    assert json.loads(zipfile.ZipFile(path).read("__zanj_meta__.json"))["zanj_format"] == "1.0"
    _equal(OBJECTS[stem](), ZANJ().read(path, mmap=mmap))


def _kept(entry: Any) -> Any:
    """An entry of the description without what depends on the installed library's version."""
    return {key: value for key, value in entry.items() if key != "dtypes"}


@pytest.mark.parametrize("stem", sorted(OBJECTS))
def test_format_1_0_and_1_1_show_the_same_meta(stem: str, tmp_path: Path) -> None:
    """`meta["externals_info"]` is the file's inline copy in 1.0 and the externals member in 1.1:
    the same dict for the same object; `zanj verify` passes both."""
    _needs(stem)
    old = FORMAT10 / f"{stem}.zanj"
    new = tmp_path / f"{stem}.zanj"
    ZANJ().save(OBJECTS[stem](), new)
    with ZANJ().open(old) as f10, ZANJ().open(new) as f11:
        assert f10.meta["zanj_format"] == "1.0" and f11.meta["zanj_format"] == "1.1"
        old_info, new_info = f10.meta["externals_info"], f11.meta["externals_info"]
        assert isinstance(old_info, dict) and isinstance(new_info, dict) and new_info
        # what a plugin adds may vary with the library's version (pandas 2 and 3 name dtypes apart)
        assert {k: _kept(v) for k, v in new_info.items()} == {k: _kept(v) for k, v in old_info.items()}
    for path in (old, new):
        report = verify_file(path, load=True)
        assert report.ok, report.problems


def test_1_1_writes_the_description_last_and_not_in_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "x.zanj"
    ZANJ().save({"blob": bytes(range(256)) * 4, "rows": list(range(300))}, path)
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
    assert names[:2] == ["__zanj__.json", "__zanj_meta__.json"] and names[-1] == EXTERNALS
    meta = json.loads(archive.read("__zanj_meta__.json"))
    assert meta["zanj_format"] == "1.1" and "externals_info" not in meta
    described = json.loads(archive.read(EXTERNALS))
    assert described == {
        "blob.bin": {"item_type": "bin", "path": ["blob"], "format": "bytes", "len": 1024},
        "rows.jsonl": {"item_type": "jsonl", "path": ["rows"], "format": "list:external", "len": 300},
    }


def test_a_file_without_data_members_has_no_description(tmp_path: Path) -> None:
    path = tmp_path / "x.zanj"
    ZANJ().save({"a": [1, 2]}, path)
    assert zipfile.ZipFile(path).namelist() == ["__zanj__.json", "__zanj_meta__.json"]
    with ZANJ().open(path) as f:
        assert f.meta["externals_info"] == {}


def test_opening_and_reading_do_not_parse_the_description(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.zanj"
    ZANJ().save({"blob": b"x" * 1000, "rows": list(range(300))}, path)
    parsed: list[str] = []
    original = ArchiveReader.read_json

    def recording(self: ArchiveReader, name: str, budget: Any) -> Any:
        parsed.append(name)
        return original(self, name, budget)

    monkeypatch.setattr(ArchiveReader, "read_json", recording)
    assert ZANJ().read(path) == {"blob": b"x" * 1000, "rows": list(range(300))}
    with ZANJ().open(path) as f:
        assert f["rows"] == list(range(300))
        assert EXTERNALS not in parsed
        described: Any = f.meta["externals_info"]
        assert described["rows.jsonl"]["len"] == 300
    assert parsed.count(EXTERNALS) == 1


def test_compat_0_6_keeps_format_1_0(tmp_path: Path) -> None:
    """zanj 0.6 finds members through the metadata's `externals_info`: compat files keep it there."""
    path = tmp_path / "x.zanj"
    ZANJ(compat="0.6").save({"rows": list(range(300))}, path)
    archive = zipfile.ZipFile(path)
    meta = json.loads(archive.read("__zanj_meta__.json"))
    assert meta["zanj_format"] == "1.0" and meta["externals_info"]["rows.jsonl"]["len"] == 300
    assert EXTERNALS not in archive.namelist()


def _with_description(tmp_path: Path, text: bytes) -> Path:
    """A 1.1 file whose description member holds `text` (CRC and sizes made to match)."""
    good = tmp_path / "good.zanj"
    ZANJ().save({"rows": list(range(300))}, good)
    bad = tmp_path / "bad.zanj"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, text if info.filename == EXTERNALS else src.read(info.filename))
    return bad


@pytest.mark.parametrize("text", [b"[1, 2]", b'"x"', b"{not json", b"\xff\xfe"], ids=["list", "str", "broken", "utf8"])
def test_a_bad_description_fails_only_what_asks_for_it(tmp_path: Path, text: bytes) -> None:
    """The description is never needed to load: a bad one leaves reading alone, and `meta` and
    `zanj verify` name the member."""
    bad = _with_description(tmp_path, text)
    assert ZANJ().read(bad) == {"rows": list(range(300))}
    with ZANJ().open(bad) as f, pytest.raises(ZanjFormatError, match=EXTERNALS):
        f.meta  # noqa: B018
    report = verify_file(bad)
    assert not report.ok and any(p.member == EXTERNALS for p in report.problems)


def test_a_huge_description_is_refused_by_the_json_limit(tmp_path: Path) -> None:
    from zanj_core import ReadLimits, ZanjLimitError

    bad = _with_description(tmp_path, b'{"a": "' + b"x" * 5000 + b'"}')
    with (
        ZANJ(read_limits=ReadLimits(max_json_bytes=4096)).open(bad) as f,
        pytest.raises(ZanjLimitError, match=EXTERNALS),
    ):
        f.meta  # noqa: B018


def _forged_description(tmp_path: Path, described: Any, inline: Any = None) -> Path:
    """A 1.1 file holding a real `blob.bin` member, described by `described` (written as the
    externals member, unless None) and, when given, by an inline `externals_info` too."""
    good = tmp_path / "good.zanj"
    ZANJ().save({"blob": bytes(range(256)) * 4}, good)
    bad = tmp_path / "forged.zanj"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "__zanj_meta__.json" and inline is not None:
                data = json.dumps({**json.loads(data), "externals_info": inline}).encode()
            if info.filename == EXTERNALS:
                if described is None:
                    continue
                data = json.dumps(described).encode()
            dst.writestr(info.filename, data)
    return bad


ENTRY = {"item_type": "bin", "path": ["blob"]}


@pytest.mark.parametrize(
    ("described", "problem"),
    [
        ({"blob.bin": {**ENTRY, "item_type": ["bin"]}}, "no item_type string"),
        ({"blob.bin": {**ENTRY, "item_type": {"a": 1}}}, "no item_type string"),
        ({"blob.bin": 7}, "is a int, not an object"),
        ({"blob.bin": {**ENTRY, "path": 7}}, "no path list"),
        ({"blob.bin": {**ENTRY, "path": [["x"]]}}, "no path list"),
        ({"blob.bin": {"path": ["blob"]}}, "no item_type string"),
    ],
)
def test_a_description_of_the_wrong_shape_is_a_format_error_everywhere(
    tmp_path: Path, described: Any, problem: str
) -> None:
    """`meta`, `zanj verify` and the compat package's `LoadedZANJ` (which loads members through
    the description) all say what is wrong, as a ZanjFormatError; reading is unaffected."""
    loading = pytest.importorskip("zanj.loading")
    from zanj import ZANJ as CompatZANJ

    bad = _forged_description(tmp_path, described)
    assert ZANJ().read(bad) == {"blob": bytes(range(256)) * 4}
    with ZANJ().open(bad) as f, pytest.raises(ZanjFormatError, match=problem):
        f.meta  # noqa: B018
    report = verify_file(bad)
    assert any(p.member == EXTERNALS and problem in p.message for p in report.problems)
    with pytest.raises(ZanjFormatError, match=problem):
        loading.LoadedZANJ(bad, CompatZANJ())


def test_the_member_takes_precedence_over_an_inline_copy_and_verify_checks_what_meta_shows(tmp_path: Path) -> None:
    both = _forged_description(tmp_path, {"blob.bin": ENTRY}, inline={"blob.bin": {**ENTRY, "item_type": "x\x1b"}})
    with ZANJ().open(both) as f:
        assert f.meta["externals_info"] == {"blob.bin": ENTRY}
    assert verify_file(both).ok
    inline_only = _forged_description(tmp_path, None, inline={"blob.bin": 7})
    with ZANJ().open(inline_only) as f, pytest.raises(ZanjFormatError, match="externals_info is not a description"):
        f.meta  # noqa: B018
    report = verify_file(inline_only)
    assert any(p.member == "__zanj_meta__.json" for p in report.problems)
