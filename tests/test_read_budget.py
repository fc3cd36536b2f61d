"""One budget per read, no super-linear work, and a zip read as every zip tool reads it.

Each hostile file here is small (a few KiB) and built to make a reader do far more than its
size: expand members that refer to members, use one member thousands of times, refer to
itself, collide hash values, or hide a second reading of the zip. Every case must end in a
`ZanjError` quickly, through `read`, `open` + `tree` and `verify_file` alike; legitimate files
of the same shapes must still read.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_corpus import DEFLATED, FORMAT_KEY, Entry, zanj_bytes, zip_bytes

from zanj_core import ZANJ, ReadLimits, ZanjError, ZanjFormatError, ZanjLimitError, verify_file
from zanj_core._contract.budget import JSON_OBJECT_FACTOR, ReadBudget, json_structure_cost

SECONDS = 10.0
"""Generous on a loaded 2-core machine; the expansions below would take hours unbounded."""


def _jsonl(lines: list[Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _external(name: str) -> dict[str, Any]:
    return {FORMAT_KEY: "list:external", "$ref": name, "len": 1}


def _fan_out_file(levels: int = 6, width: int = 64) -> bytes:
    """Member i holds `width` references to member i+1: width**levels items from ~30 KiB."""
    members = []
    for level in range(levels):
        if level + 1 < levels:
            lines = [_external(f"m{level + 1}.jsonl")] * width
        else:
            lines = [0] * width
        members.append(Entry.of(f"m{level}.jsonl", _jsonl(lines)))
    return zanj_bytes(_external("m0.jsonl"), members)


Operation = Callable[[Path], Any]


def _operations() -> tuple[dict[str, Operation], dict[str, Operation]]:
    """(operations that must raise, operations that must report the file bad)."""

    def tree(path: Path) -> Any:
        with ZANJ().open(path) as opened:
            return opened.tree(expand_members=True)

    def verify(path: Path) -> Any:
        report = verify_file(path, load=True)
        assert not report.ok
        return report

    return {"read": lambda path: ZANJ().read(path), "tree": tree}, {"verify": verify}


def _write(tmp_path: Path, data: bytes, name: str = "hostile.zanj") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path: Path, error: type[ZanjError], match: str) -> None:
    raising, reporting = _operations()
    for name, operation in raising.items():
        start = time.process_time()
        with pytest.raises(error, match=match):
            operation(path)
        assert time.process_time() - start < SECONDS, name
    for name, operation in reporting.items():
        start = time.process_time()
        operation(path)
        assert time.process_time() - start < SECONDS, name


def test_members_referring_to_members_are_bounded_by_the_budget(tmp_path: Path) -> None:
    path = _write(tmp_path, _fan_out_file())
    assert path.stat().st_size < 64 * 1024
    _refused(path, ZanjLimitError, "budget")


def test_a_member_referring_to_itself_is_a_cycle(tmp_path: Path) -> None:
    member = Entry.of("loop.jsonl", _jsonl([_external("loop.jsonl"), 1]))
    path = _write(tmp_path, zanj_bytes(_external("loop.jsonl"), [member]))
    _refused(path, ZanjFormatError, "cycle")


def test_two_members_referring_to_each_other_are_a_cycle(tmp_path: Path) -> None:
    members = [
        Entry.of("a.jsonl", _jsonl([_external("b.jsonl")])),
        Entry.of("b.jsonl", _jsonl([_external("a.jsonl")])),
    ]
    path = _write(tmp_path, zanj_bytes(_external("a.jsonl"), members))
    _refused(path, ZanjFormatError, "cycle")


def test_one_member_used_many_times_is_charged_each_time(tmp_path: Path) -> None:
    """A 1 MiB member deflates to about 1 KiB; 2,000 references would materialise 2 GiB."""
    blob = Entry.of("blob.bin", bytes(1 << 20))
    tree = [{FORMAT_KEY: "bytes", "$ref": "blob.bin", "len": 1 << 20}] * 2000
    path = _write(tmp_path, zanj_bytes(tree, [blob]))
    start = time.process_time()
    with pytest.raises(ZanjLimitError, match="budget"):
        ZANJ().read(path)
    assert time.process_time() - start < SECONDS


def test_the_same_shape_within_the_budget_reads(tmp_path: Path) -> None:
    """References are legitimate: the budget only stops expansion far beyond the file's size."""
    blob = Entry.of("blob.bin", bytes(range(256)) * 16)
    tree = [{FORMAT_KEY: "bytes", "$ref": "blob.bin", "len": 4096}] * 50
    path = _write(tmp_path, zanj_bytes(tree, [blob]))
    assert ZANJ().read(path) == [bytes(range(256)) * 16] * 50
    fan = _write(tmp_path, _fan_out_file(levels=3, width=8), "small-fan.zanj")
    assert ZANJ().read(fan) == [[[0] * 8] * 8] * 8


def test_the_budget_is_linear_in_the_file_size() -> None:
    limits = ReadLimits()
    assert limits.read_budget(0) == limits.read_budget_floor
    assert limits.read_budget(10) == limits.read_budget_floor + 10 * limits.read_budget_ratio
    budget = ReadBudget.for_file(ReadLimits(read_budget_floor=100, read_budget_ratio=1), "f.zanj", 10)
    budget.charge(110, "everything")
    with pytest.raises(
        ZanjLimitError, match=r"f\.zanj: the read's budget ran out on more, which needs 1 more bytes.*read_budget_ratio"
    ):
        budget.charge(1, "more")
    with pytest.raises(ZanjLimitError, match="not a size"):
        budget.charge(-1, "a negative size")


def test_a_small_budget_refuses_a_legitimate_file_and_says_what_to_raise(tmp_path: Path) -> None:
    path = ZANJ().save({"data": list(range(5000))}, tmp_path / "big")
    tight = ZANJ(read_limits=ReadLimits(read_budget_floor=1000, read_budget_ratio=1))
    with pytest.raises(ZanjLimitError, match="read_budget_floor"):
        tight.read(path)
    assert ZANJ().read(path) == {"data": list(range(5000))}


def test_json_is_charged_before_it_is_parsed(tmp_path: Path) -> None:
    """`[{},{},...]` inflates about 24x when parsed; the text is charged at JSON_OBJECT_FACTOR."""
    text = b"[" + b"{}," * 100_000 + b"{}]"
    path = _write(tmp_path, zanj_bytes(None, raw_main=text))
    size = path.stat().st_size
    limit = ReadLimits(read_budget_floor=len(text) * JSON_OBJECT_FACTOR - size - 1, read_budget_ratio=1)
    with pytest.raises(ZanjLimitError, match=r"JSON member '__zanj__\.json'"):
        ZANJ(read_limits=limit).open(path)
    assert len(ZANJ().read(path)) == 100_001


def test_the_containers_in_json_are_charged_before_it_is_parsed(tmp_path: Path) -> None:
    """Charged only per byte, `[{},{},...]` built about 5x its charge (a 298 KiB file parsed to
    about 1 GiB within a 202 MiB budget); each dict, list and string is charged as well."""
    text = b"[" + b"{}," * 100_000 + b"{}]"
    path = _write(tmp_path, zanj_bytes(None, raw_main=text))
    size = path.stat().st_size
    per_byte_only = len(text) * JSON_OBJECT_FACTOR + 1_000_000  # enough, were bytes all it cost
    limit = ReadLimits(read_budget_floor=per_byte_only - size, read_budget_ratio=1)
    with pytest.raises(ZanjLimitError, match=r"the objects of JSON member '__zanj__\.json'"):
        ZANJ(read_limits=limit).open(path)
    walk = 100_001 * 64  # and the load walks every node
    enough = ReadLimits(read_budget_floor=per_byte_only + json_structure_cost(text) + walk - size, read_budget_ratio=1)
    assert len(ZANJ(read_limits=enough).read(path)) == 100_001


def test_the_containers_in_a_jsonl_member_are_charged_before_it_is_parsed(tmp_path: Path) -> None:
    line = b"[" + b"{}," * 10_000 + b"{}]\n"
    text = line * 10
    path = _write(tmp_path, zanj_bytes({FORMAT_KEY: "list:external", "$ref": "l.jsonl"}, [Entry.of("l.jsonl", text)]))
    size = path.stat().st_size
    per_byte_only = len(text) * (JSON_OBJECT_FACTOR + 1) + 1_000_000
    limit = ReadLimits(read_budget_floor=per_byte_only - size, read_budget_ratio=1)
    with pytest.raises(ZanjLimitError, match=r"the objects of member 'l\.jsonl'"):
        ZANJ(read_limits=limit).read(path)


@pytest.mark.parametrize(
    "item",
    [b"{}", b"[]", b'""', b'"ab"', b"[{}]", b'{"a":{}}', b'{"a":1}', b"1.5", b"123456", b"null", b'"\\""'],
    ids=lambda item: item.decode(),
)
def test_parsed_json_builds_at_most_about_twice_its_charge(item: bytes) -> None:
    """The charge (per byte plus per container and string) against what `json.loads` allocates,
    measured, for lists of each kind of item: the budget bounds real memory."""
    import tracemalloc

    text = b"[" + b",".join([item] * 50_000) + b"]"
    charge = len(text) * JSON_OBJECT_FACTOR + json_structure_cost(text)
    tracemalloc.start()
    try:
        parsed = json.loads(text)
        built = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(parsed) == 50_000
    assert built <= 2.2 * charge, f"{item!r}: built {built} bytes for a charge of {charge}"


@pytest.mark.parametrize("typed", [False, True], ids=["dict", "dataclass"])
def test_a_wide_node_is_charged_as_it_is_walked(typed: bool, tmp_path: Path) -> None:
    """A dataclass node's fields are charged every NODE_BATCH fields, as a plain dict's are, not
    once the whole node is built."""
    from dataclass_defs import BasicZanj  # noqa: F401  (defined: the node's class resolves)

    fields = {f"k{i}": 0 for i in range(20_000)}
    tags = {FORMAT_KEY: "BasicZanj(SerializableDataclass)", "__zanj_class__": "dataclass_defs:BasicZanj"}
    node = {**(tags if typed else {}), "a": "x", **fields}
    path = _write(tmp_path, zanj_bytes({"d": node}))
    text = json.dumps({"d": node}).encode()
    parse = len(text) * JSON_OBJECT_FACTOR + json_structure_cost(text)
    limit = ReadLimits(read_budget_floor=parse + 64 * 3000 - path.stat().st_size, read_budget_ratio=1)
    with pytest.raises(ZanjLimitError, match="the walk over 1024 more items"):
        ZANJ(read_limits=limit).read(path)


def test_each_item_access_of_an_open_file_has_its_own_budget(tmp_path: Path) -> None:
    """A long-lived open file is read item by item (a training loop): no budget runs out."""
    path = ZANJ().save({"a": bytes(4096), "b": list(range(300))}, tmp_path / "loop")
    limits = ReadLimits(read_budget_floor=200_000, read_budget_ratio=1)
    with ZANJ(read_limits=limits).open(path) as opened:
        for _ in range(200):
            assert opened["a"] == bytes(4096)
            assert opened["b"][5] == 5


@pytest.mark.parametrize("kind", ["set", "dict"])
def test_keys_crafted_to_share_a_hash_are_refused_in_linear_time(kind: str, tmp_path: Path) -> None:
    modulus = 2**61 - 1  # ints k and k + modulus hash alike
    keys = [{FORMAT_KEY: "int", "value": str(1 + i * modulus)} for i in range(1, 30_001)]
    if kind == "set":
        tree: Any = {FORMAT_KEY: "set", "data": keys}
    else:
        tree = {FORMAT_KEY: "dict", "data": [[key, 0] for key in keys]}
    path = _write(tmp_path, zanj_bytes(tree))
    start = time.process_time()
    with pytest.raises(ZanjFormatError, match="equal hash"):
        ZANJ().read(path)
    assert time.process_time() - start < SECONDS


def test_sets_and_dicts_of_many_ints_still_read(tmp_path: Path) -> None:
    value = {"s": set(range(-5000, 5000)), "d": {i * 7: i for i in range(-3000, 3000)}, "f": frozenset({-1, -2})}
    path = ZANJ().save(value, tmp_path / "ints")
    assert ZANJ().read(path) == value


def test_key_suggestions_stay_cheap_on_huge_containers(tmp_path: Path) -> None:
    tree = {f"{'k' * 500}{i}": i for i in range(20_000)}
    path = _write(tmp_path, zanj_bytes(tree))
    with ZANJ().open(path) as opened:
        start = time.process_time()
        with pytest.raises(KeyError):
            opened["k" * 499 + "x"]
        assert time.process_time() - start < SECONDS


# -- the zip as every tool reads it -----------------------------------------------------------


def _honest_archive() -> bytes:
    return zanj_bytes({"a": {FORMAT_KEY: "bytes", "$ref": "a.bin", "len": 5}}, [Entry.of("a.bin", b"hello", 0)])


def _patch(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def _local_header_offset(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.getinfo(name).header_offset


def test_the_honest_archive_reads() -> None:
    assert ZANJ().read(io.BytesIO(_honest_archive())) == {"a": b"hello"}


@pytest.mark.parametrize(
    ("field", "offset", "value", "match"),
    [
        ("name", 30, b"b", "local header.*names"),
        ("method", 8, struct.pack("<H", 8), "local header.*compression method"),
        ("crc", 14, b"\0\0\0\0", "local header.*CRC"),
        ("size", 22, struct.pack("<L", 4), "local header.*says 4 bytes"),
    ],
)
def test_local_headers_must_agree_with_the_directory(field: str, offset: int, value: bytes, match: str) -> None:
    data = _honest_archive()
    forged = _patch(data, _local_header_offset(data, "a.bin") + offset, value)
    with pytest.raises(ZanjFormatError, match=match):
        ZANJ().read(io.BytesIO(forged))


def test_overlapping_members_are_refused() -> None:
    """Two directory entries for one local header: the same bytes read under two names."""
    entries = [Entry.of("__zanj__.json", b'{"a": 1}'), Entry.of("x.bin", b"data", 0)]
    data = bytearray(zip_bytes(entries))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        second = zf.getinfo("x.bin").header_offset
    directory = data.index(b"PK\x01\x02", second)
    # point the second directory entry at the first member's local header
    entry_two = data.index(b"PK\x01\x02", directory + 4)
    data[entry_two + 42 : entry_two + 46] = struct.pack("<L", 0)
    with pytest.raises(ZanjFormatError, match="inside the member before it; overlapping members"):
        ZANJ().read(io.BytesIO(bytes(data)))


@pytest.mark.parametrize(
    ("name", "match"),
    [("dir\\a.bin", "backslash"), ("a\x1b[2J.bin", "control"), ("a\x7f.bin", "control")],
)
def test_names_zip_tools_would_read_differently_are_refused(name: str, match: str) -> None:
    data = zanj_bytes({"a": 1}, [Entry.of(name, b"x", 0)])
    with pytest.raises(ZanjFormatError, match=match):
        ZANJ().read(io.BytesIO(data))


def test_non_ascii_names_must_be_marked_utf8() -> None:
    """Without the UTF-8 flag zipfile reads a name as cp437, other tools in their locale."""
    data = bytearray(zanj_bytes({"a": 1}, [Entry.of("caf\u00e9.bin", b"x", 0)]))
    local = _local_header_offset(bytes(data), "caf\u00e9.bin")
    data[local + 6 : local + 8] = b"\0\0"
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 51] != b"caf\xc3\xa9":
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 8 : central + 10] = b"\0\0"
    with pytest.raises(ZanjFormatError, match="not ASCII"):
        ZANJ().read(io.BytesIO(bytes(data)))


def test_a_unicode_path_field_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("__zanj__.json", b'{"a": 1}')
        info = zipfile.ZipInfo("x.bin")
        other = b"evil.bin"
        info.extra = struct.pack("<HHB", 0x7075, 5 + len(other), 1) + struct.pack("<L", 0) + other
        zf.writestr(info, b"x")
    with pytest.raises(ZanjFormatError, match="Unicode path"):
        ZANJ().read(io.BytesIO(buffer.getvalue()))


def test_data_before_the_archive_is_refused_with_where_it_starts(tmp_path: Path) -> None:
    data = b"#!/bin/sh\nexit 0\n" + _honest_archive()
    path = _write(tmp_path, data)
    with pytest.raises(ZanjFormatError, match="seek to byte 17"):
        ZANJ().read(path)
    with open(path, "rb") as fh:
        fh.seek(17)
        assert ZANJ().read(fh) == {"a": b"hello"}


def test_listing_a_deep_tree_is_one_pass_over_its_json(tmp_path: Path) -> None:
    """Each item's size counts the members under it: computed per item by walking its subtree,
    a chain 190 deep over a million ints cost 190 million steps; shared, it is one pass."""
    node: Any = list(range(1_000_000))
    for _ in range(190):
        node = {"k": node}
    path = _write(tmp_path, zanj_bytes(node))
    with ZANJ().open(path) as opened:
        start = time.process_time()
        items = opened.tree(max_depth=189)
        assert time.process_time() - start < SECONDS / 2
    assert len(items) == 190 and all(item.data_bytes == 0 for item in items)


# -- found by an outside attack -----------------------------------------------------------------


def test_listing_expanded_members_is_charged_per_item(tmp_path: Path) -> None:
    """One `.jsonl` line holding 100,000 `{}`, referred to 200 times: 927 bytes that listed
    20 million items (74 s, then a MemoryError) before each listed item was charged."""
    member = Entry.of("m.jsonl", b"[" + b"{}," * 99_999 + b"{}]\n")
    path = _write(tmp_path, zanj_bytes([_external("m.jsonl")] * 200, [member]))
    with ZANJ().open(path) as opened:
        start = time.process_time()
        with pytest.raises(ZanjLimitError, match="budget"):
            opened.tree(expand_members=True)
        assert time.process_time() - start < SECONDS


def test_deeply_nested_items_are_charged_per_node(tmp_path: Path) -> None:
    """1 MiB of `[[[...]]]` used 200 times: two bytes of text per list, each list parsed and
    walked, took 23 s to read (39 s to verify) when only the text was charged."""
    item = "[" * 150 + "]" * 150
    line = ("[" + ",".join([item] * ((1 << 20) // (len(item) + 1) - 8)) + "]\n").encode()  # under 1 MiB
    path = _write(tmp_path, zanj_bytes([_external("m.jsonl")] * 200, [Entry.of("m.jsonl", line)]))
    _refused(path, ZanjLimitError, "budget")


def test_a_deflate_stream_running_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    """The headers say 5 bytes with the CRC of `AAAAA`; the stream inflates to 1 MiB. zipfile
    stopped at 5 bytes and returned them; unzip extracts the megabyte and reports a bad CRC."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = packer.compress(b"A" * (1 << 20)) + packer.flush()
    liar = Entry("b.bin", stream, zlib.crc32(b"AAAAA"), 5, DEFLATED)
    path = _write(tmp_path, zanj_bytes({"b": {FORMAT_KEY: "bytes", "$ref": "b.bin", "len": 5}}, [liar]))
    with pytest.raises(ZanjFormatError, match="inflates past its declared size of 5 bytes"):
        ZANJ().read(path)
    assert not verify_file(path).ok


@pytest.mark.parametrize("cut", [1, 100])
def test_a_deflate_stream_ending_early_or_with_bytes_after_it_is_refused(cut: int, tmp_path: Path) -> None:
    content = bytes(range(256)) * 64
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = packer.compress(content) + packer.flush()
    short = Entry("s.bin", stream[:-cut], zlib.crc32(content), len(content), DEFLATED)
    trailing = Entry("t.bin", stream + b"\0" * cut, zlib.crc32(content), len(content), DEFLATED)
    for entry, match in ((short, "truncated|damaged"), (trailing, "bytes after the end of its deflate stream")):
        tree = {"b": {FORMAT_KEY: "bytes", "$ref": entry.name, "len": len(content)}}
        path = _write(tmp_path, zanj_bytes(tree, [entry]), f"{entry.name}.zanj")
        with pytest.raises(ZanjFormatError, match=match):
            ZANJ().read(path)


def test_an_end_record_must_count_the_directory_and_end_the_file(tmp_path: Path) -> None:
    honest = _honest_archive()
    forged_count = bytearray(honest)
    end = forged_count.rindex(b"PK\x05\x06")
    forged_count[end + 8 : end + 12] = struct.pack("<HH", 65535, 65535)
    with pytest.raises(ZanjFormatError, match="declares 65535 members but its directory holds 3"):
        ZANJ().read(io.BytesIO(bytes(forged_count)))
    with pytest.raises(ZanjFormatError, match="1000 bytes follow the zip's end record"):
        ZANJ().read(io.BytesIO(honest + b"\0" * 1000))
    flipped_last = bytearray(honest)
    flipped_last[-1] ^= 0xFF  # the comment length's high byte: a comment running past the file's end
    with pytest.raises(ZanjFormatError, match="announces a 65280-byte comment, but the file ends 0 bytes after"):
        ZANJ().read(io.BytesIO(bytes(flipped_last)))


def test_a_missing_key_message_is_escaped_and_bounded(tmp_path: Path) -> None:
    path = _write(tmp_path, zanj_bytes({"a" * 1_000_000: 1, "\x1b[31mred": 2}))
    with ZANJ().open(path) as opened, pytest.raises(KeyError) as caught:
        opened["b"]
    message = str(caught.value)
    assert len(message) < 1000 and "\x1b" not in message and "\\x1b[31mred" in message


def test_a_name_with_a_nul_is_refused_though_zipfile_cuts_it_there() -> None:
    """zipfile names `a.bin\\0evil` `a.bin`; another tool may show all of it."""
    tree = {"a": {FORMAT_KEY: "bytes", "$ref": "a.bin", "len": 1}}
    data = zanj_bytes(tree, [Entry.of("a.bin\0evil", b"x", 0)])
    with pytest.raises(ZanjFormatError, match=r"'a\.bin\\x00evil' holds control characters"):
        ZANJ().read(io.BytesIO(data))


def test_a_local_zip64_field_must_agree_with_the_directory() -> None:
    """Sizes that do not fit the local header sit in its zip64 field; a reader walking local
    headers takes them from there, so they must say what the directory says."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps({"a": {FORMAT_KEY: "bytes", "$ref": "a.bin", "len": 5}}))
        with zf.open("a.bin", "w", force_zip64=True) as fh:
            fh.write(b"hello")
    data = bytearray(buffer.getvalue())
    local = _local_header_offset(bytes(data), "a.bin")
    # sizes only in the zip64 field, as Python 3.11+ writes them (3.10 also left them in the header)
    data[local + 18 : local + 26] = b"\xff" * 8
    assert ZANJ().read(io.BytesIO(bytes(data))) == {"a": b"hello"}
    (name_len,) = struct.unpack_from("<H", data, local + 26)
    size_field = local + 30 + name_len + 4  # after the zip64 field's id and length
    data[size_field : size_field + 8] = struct.pack("<Q", 6)
    with pytest.raises(ZanjFormatError, match=r"zip64 field, the directory \[5, 5\]"):
        ZANJ().read(io.BytesIO(bytes(data)))


# -- the expanding files again, each read in the sandbox: 4 GiB of address space, a CPU limit ----


def _blob_used_2000_times() -> bytes:
    tree = [{FORMAT_KEY: "bytes", "$ref": "blob.bin", "len": 1 << 20}] * 2000
    return zanj_bytes(tree, [Entry.of("blob.bin", bytes(1 << 20))])


def _colliding_set() -> bytes:
    keys = [{FORMAT_KEY: "int", "value": str(1 + i * (2**61 - 1))} for i in range(1, 30_001)]
    return zanj_bytes({FORMAT_KEY: "set", "data": keys})


def _one_list_listed_200_times() -> bytes:
    member = Entry.of("m.jsonl", b"[" + b"{}," * 99_999 + b"{}]\n")
    return zanj_bytes([_external("m.jsonl")] * 200, [member])


def _nested_lists_used_200_times() -> bytes:
    item = "[" * 150 + "]" * 150
    line = ("[" + ",".join([item] * ((1 << 20) // (len(item) + 1) - 8)) + "]\n").encode()
    return zanj_bytes([_external("m.jsonl")] * 200, [Entry.of("m.jsonl", line)])


def _deflate_over_run() -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = packer.compress(b"A" * (1 << 20)) + packer.flush()
    liar = Entry("b.bin", stream, zlib.crc32(b"AAAAA"), 5, DEFLATED)
    return zanj_bytes({"b": {FORMAT_KEY: "bytes", "$ref": "b.bin", "len": 5}}, [liar])


def _inflating_json(where: str) -> bytes:
    """About 60 MiB of `[{},{},...]` behind random padding that keeps the deflated member under
    the compression-ratio limit: a 0.6 MiB file whose text, charged per byte only, fits its
    budget and parses to about 1.4 GiB. In the tree, or in format 1.1's description of the members (read
    by `meta` and `verify`)."""
    pad = base64.b64encode(random.Random(0).randbytes(520_000)).decode()
    text = ('{"pad": "' + pad + '", "a": [' + "{}," * 19_999_999 + "{}]}").encode()
    if where == "main":
        return zanj_bytes(None, raw_main=text, meta={"zanj_format": "1.1"})
    tree = {"b": {FORMAT_KEY: "bytes", "$ref": "b.bin", "len": 3}}
    return zanj_bytes(
        tree, [Entry.of("b.bin", b"abc"), Entry.of("__zanj_externals__.json", text)], {"zanj_format": "1.1"}
    )


EXPANDING: dict[str, Callable[[], bytes]] = {
    "fan-out": _fan_out_file,
    "self-cycle": lambda: zanj_bytes(
        _external("loop.jsonl"), [Entry.of("loop.jsonl", _jsonl([_external("loop.jsonl"), 1]))]
    ),
    "blob-used-2000-times": _blob_used_2000_times,
    "colliding-set": _colliding_set,
    "one-list-listed-200-times": _one_list_listed_200_times,
    "nested-lists-used-200-times": _nested_lists_used_200_times,
    "deflate-over-run": _deflate_over_run,
    "inflating-json-tree": lambda: _inflating_json("main"),
    "inflating-json-description": lambda: _inflating_json("externals"),
}


@pytest.mark.parametrize("name", sorted(EXPANDING))
def test_expanding_files_stay_bounded_in_the_sandbox(name: str, tmp_path: Path, hostile_reader: Any) -> None:
    """Each ends in a ZanjError (or a load) within the CPU limit and well under the 4 GiB the
    worker may use, through read, verify and the CLI (ls --members, show, meta, verify): each
    one operation with one budget. (The sandbox's `open` op runs an operation per item, each
    with a budget of its own, so on these files it costs items x budget by design.)"""
    from sandbox import assert_safe
    from sandbox_worker import CLI_COMMANDS

    path = _write(tmp_path, EXPANDING[name]())
    for op in ("read", "verify", "cli"):
        operations = len(CLI_COMMANDS) if op == "cli" else 1  # each command is one operation, one budget
        outcome = hostile_reader.run(path, op, cpu_seconds=SECONDS * operations * 2)
        assert_safe(outcome, max_cpu_seconds=SECONDS * operations, max_rss_bytes=1 << 30)


def _deep_then_wide() -> bytes:
    """190 levels of nesting (under max_depth) ending in a list of 500,000 zeros: each entry's
    object path is 191 keys long. Random text keeps the deflate ratio legal."""
    tree: Any = {"w": [0] * 500_000}
    for _ in range(190):
        tree = {"k": tree}
    tree["pad"] = os.urandom(12_000).hex()
    return zanj_bytes(tree)


def test_a_wide_list_deep_down_is_walked_and_listed_within_the_budget(tmp_path: Path, hostile_reader: Any) -> None:
    """Found by an outside attacker: the walk made a path for every entry of a list before
    visiting the first (4 GB for a 4 MB file), and a listing kept each entry's 191-key path
    while charging a fixed cost. Now the walk holds one path per level, a listing charges each
    item by its path's length, and memory stays near the 138 MB budget of this 30 kB file."""
    from sandbox import assert_safe

    path = _write(tmp_path, _deep_then_wide())
    budget = ReadLimits().read_budget_floor + ReadLimits().read_budget_ratio * path.stat().st_size
    for op in ("verify", "cli", "open"):
        outcome = hostile_reader.run(path, op, cpu_seconds=SECONDS * 2)
        assert_safe(outcome, max_cpu_seconds=SECONDS, max_rss_bytes=2 * budget)
    with ZANJ().open(path) as opened, pytest.raises(ZanjLimitError, match="the walk over"):
        opened.tree()
    assert verify_file(path).status == "ok"  # the walk itself needs no budget beyond the tree's
