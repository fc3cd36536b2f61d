"""zanj-torch's one-call read of small tensor members (`read_npy_written`, `MemberSource.data_after`):
the same checks and charges as the general read, and tensors that own their bytes.

A whole-file read hands tensors views of its read-ahead windows instead of copies; these tests
pin what that must keep: every tensor is its member's bytes exactly, aligned, writable, and
independent of every other tensor and of what the archive reads later.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zanj_torch")

from zanj_core import ZANJ, ReadLimits, ZanjFormatError, ZanjLimitError  # noqa: E402
from zanj_core._container.reader import ArchiveReader  # noqa: E402

MAPPED = pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])


def _state(count: int = 48) -> dict[str, Any]:
    """Tensors of 4 KiB and of odd sizes and wide dtypes in turn (members end off any boundary),
    in a file well past the size read whole and past one read-ahead window."""
    generator = torch.Generator().manual_seed(0)
    state: dict[str, Any] = {}
    for i in range(count):
        state[f"w{i:03d}"] = torch.randn(32, 32, generator=generator)
        state[f"b{i:03d}"] = torch.randint(0, 100, (257 + i,), generator=generator).to(torch.int8)
        state[f"d{i:03d}"] = torch.randn(300 + i, generator=generator, dtype=torch.float64)
        state[f"h{i:03d}"] = torch.randn(16, 17, generator=generator).to(torch.bfloat16)
    return state


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    state = _state()
    path = Path(ZANJ(durable=False).save(state, tmp_path_factory.mktemp("members") / "state.zanj"))
    assert path.stat().st_size > 4 * (64 << 10)  # several read-ahead windows, most members far from the kept tail
    return path, state


@MAPPED
def test_many_small_tensors_read_back_exactly_each_owning_its_bytes(
    saved: tuple[Path, dict[str, Any]], mapped: bool
) -> None:
    path, state = saved
    loaded = ZANJ().read(path, mmap=mapped)
    assert list(loaded) == list(state)
    for name, tensor in state.items():
        got = loaded[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape
        assert torch.equal(got.view(-1).view(torch.uint8), tensor.reshape(-1).view(torch.uint8))
        assert got.is_contiguous()
        # the storage is exactly the member's data: nothing before or after it is reachable
        assert got.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()
        assert got.data_ptr() % 16 == 0, name  # aligned as a fresh buffer is
    for tensor in loaded.values():  # writable, and writing one changes no other
        tensor.view(-1).view(torch.uint8).fill_(0xAB)
    for name, tensor in state.items():
        assert torch.equal(
            loaded[name].view(-1).view(torch.uint8), torch.full_like(tensor.view(-1).view(torch.uint8), 0xAB)
        )
    again = ZANJ().read(path, mmap=mapped)  # nor the file
    assert all(torch.equal(again[name], state[name]) for name in state)


def test_bytes_lent_from_a_window_are_never_served_again(saved: tuple[Path, dict[str, Any]]) -> None:
    """What a caller writes into the bytes it was handed is not what a later read of the same
    member (through the same archive) sees."""
    path, _ = saved
    with ArchiveReader(path) as reader:
        reader.byte_source.read_ahead()
        name = "w000.npy" if reader.has("w000.npy") else sorted(n for n in reader.names() if n.endswith(".npy"))[0]
        first = reader.source(name, ("x",))
        head = first.read_range(0, 128)
        lent = first.data_after(head)
        assert isinstance(lent, memoryview)  # lent from the window, not copied
        original = bytes(lent)
        lent[:] = b"\xee" * len(lent)
        second = reader.source(name, ("y",))
        again = second.data_after(head)
        assert again is not None and bytes(again) == original
        third = reader.source(name, ("z",))
        assert third.read_range(len(head), len(original)) == original


def _member_offsets(raw: bytes) -> dict[str, int]:
    """Where each member's local header starts (the file has no zip64 records and no comment)."""
    _, size, offset = struct.unpack_from("<HLL", raw, len(raw) - 12)
    found: dict[str, int] = {}
    pos = offset
    while pos < offset + size:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", raw, pos + 28)
        found[raw[pos + 46 : pos + 46 + name_len].decode()] = struct.unpack_from("<L", raw, pos + 42)[0]
        pos += 46 + name_len + extra_len + comment_len
    return found


def _middle_member(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        names = [info.filename for info in sorted(zf.infolist(), key=lambda info: info.header_offset)]
    members = [name for name in names if name.endswith(".npy")]
    return members[len(members) // 2]


@MAPPED
@pytest.mark.parametrize("field", ["crc", "name", "size"])
def test_a_tensor_member_whose_local_header_lies_is_refused(
    saved: tuple[Path, dict[str, Any]], field: str, mapped: bool, tmp_path: Path
) -> None:
    path, _ = saved
    raw = bytearray(path.read_bytes())
    at = _member_offsets(bytes(raw))[_middle_member(path)]
    if field == "crc":
        raw[at + 14] ^= 0xFF
    elif field == "name":
        name_len = struct.unpack_from("<H", raw, at + 26)[0]
        raw[at + 30 + name_len - 5] ^= 0x01  # a letter of the name, not its extension
    else:
        struct.pack_into("<L", raw, at + 22, struct.unpack_from("<L", raw, at + 22)[0] + 64)
    forged = tmp_path / "forged.zanj"
    forged.write_bytes(bytes(raw))
    with pytest.raises(ZanjFormatError, match="local header"):
        ZANJ().read(forged, mmap=mapped)


@MAPPED
def test_bytes_of_no_member_after_a_tensor_member_are_refused(
    saved: tuple[Path, dict[str, Any]], mapped: bool, tmp_path: Path
) -> None:
    path, _ = saved
    raw = path.read_bytes()
    count, size, offset = struct.unpack_from("<HLL", raw, len(raw) - 12)
    starts = _member_offsets(raw)
    cut = starts[_middle_member(path)]
    gap = b"hidden"
    directory = bytearray(raw[offset : offset + size])
    pos = 0
    while pos < size:
        start = struct.unpack_from("<L", directory, pos + 42)[0]
        if start >= cut:
            struct.pack_into("<L", directory, pos + 42, start + len(gap))
        pos += 46 + sum(struct.unpack_from("<HHH", directory, pos + 28))
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, size, offset + len(gap), 0)
    forged = tmp_path / "gap.zanj"
    forged.write_bytes(raw[:cut] + gap + raw[cut:offset] + bytes(directory) + end)
    with pytest.raises(ZanjFormatError, match="bytes of no member"):
        ZANJ().read(forged, mmap=mapped)


@MAPPED
def test_a_corrupt_tensor_member_fails_its_crc_check(
    saved: tuple[Path, dict[str, Any]], mapped: bool, tmp_path: Path
) -> None:
    path, _ = saved
    raw = bytearray(path.read_bytes())
    at = _member_offsets(bytes(raw))[_middle_member(path)]
    name_len, extra_len = struct.unpack_from("<HH", raw, at + 26)
    raw[at + 30 + name_len + extra_len + 128 + 7] ^= 0x01  # a byte of its data, after the .npy header
    forged = tmp_path / "corrupt.zanj"
    forged.write_bytes(bytes(raw))
    ZANJ().read(forged, mmap=mapped)  # not checked unless asked
    with pytest.raises(ZanjFormatError, match="CRC"):
        ZANJ(verify_checksums=True).read(forged, mmap=mapped)


@MAPPED
def test_a_tensor_member_whose_npy_header_is_not_zanjs_is_parsed_and_checked(mapped: bool, tmp_path: Path) -> None:
    """A header other than the one zanj writes (another writer's padding) is read the general way;
    one that declares more or less data than the member holds is refused."""
    import numpy as np

    values = torch.arange(1024, dtype=torch.float32)
    big = {f"t{i}": values + i for i in range(40)}
    path = Path(ZANJ(durable=False).save(big, tmp_path / "plain.zanj"))
    with zipfile.ZipFile(path) as zf:
        contents = {info.filename: zf.read(info) for info in zf.infolist()}

    def header(shape: tuple[int, ...]) -> bytes:
        text = repr({"descr": "<f4", "fortran_order": False, "shape": shape}).encode() + b" \n"  # not padded to 64
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text

    other = dict(contents)
    other["t3.npy"] = header((1024,)) + (values + 3).numpy().tobytes()
    written = tmp_path / "other.zanj"
    with zipfile.ZipFile(written, "w") as zf:
        for name, data in other.items():
            zf.writestr(name, data)
    loaded = ZANJ().read(written, mmap=mapped)
    assert all(torch.equal(loaded[name], big[name]) for name in big)

    other["t3.npy"] = header((1000,)) + np.zeros(1024, dtype="<f4").tobytes()
    with zipfile.ZipFile(written, "w") as zf:
        for name, data in other.items():
            zf.writestr(name, data)
    with pytest.raises(ZanjFormatError, match="but the member holds 4096"):
        ZANJ().read(written, mmap=mapped)


@MAPPED
def test_each_small_tensor_member_is_charged_before_it_is_used(
    saved: tuple[Path, dict[str, Any]], mapped: bool
) -> None:
    path, _ = saved
    ZANJ(read_limits=ReadLimits(read_budget_floor=1, read_budget_ratio=8)).read(path, mmap=mapped)
    tight = ReadLimits(read_budget_floor=1, read_budget_ratio=1)  # each use of a member costs more than its size
    with pytest.raises(ZanjLimitError, match=r"budget ran out on member '.*\.npy' at"):
        ZANJ(read_limits=tight).read(path, mmap=mapped)
