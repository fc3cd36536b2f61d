"""Hostile Arrow members in polars frames: each ends in a ZanjError before polars sees the data.

Every file here is a real polars frame saved by ZANJ whose member (and, where the case needs it,
its node) was replaced: forged polars metadata that makes polars panic, invalid UTF-8, views and
offsets past their buffers, dictionary codes past the dictionary, members of another schema,
dtypes no writer produces, truncation, compressed buffers, thousands of batches, and a few
hundred bytes declaring 3x10^8 rows. Cases that would allocate run in a subprocess under an
address-space cap, with their peak memory measured.
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_polars")

import numpy as np  # noqa: E402
import zanj_polars.dtypes  # noqa: E402
from hostile_corpus import DEFLATED, STORED, Entry, zip_bytes  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from memory_probe import read_measured  # noqa: E402
from zanj_polars import frames, ipc_layout, streamed  # noqa: E402

from zanj_core import ZANJ, ZanjError, ZanjFormatError, ZanjLimitError  # noqa: E402

BIG = 300_000_000
MEMBER = "df.arrow"


@pytest.fixture(autouse=True, params=["whole", "streamed"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case twice: copying reads of members this small read them whole, then check; with
    `streamed`, they take the path of large members (batch by batch, checked as they come)."""
    if request.param == "streamed":
        monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    return str(request.param)


def ipc_bytes(table: pa.Table, **options: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def saved(frame: Any, folder: Path) -> tuple[Path, dict[str, Any], bytes]:
    """`frame` saved as item `df`: the file, its node, and its member's bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = ZANJ().save({"df": frame}, folder / "honest.zanj")
    with zipfile.ZipFile(path) as zf:
        return path, json.loads(zf.read("__zanj__.json"))["df"], zf.read(MEMBER)


def member_table(member: bytes) -> pa.Table:
    return pa.ipc.open_file(pa.py_buffer(member)).read_all()


def forged(
    honest: Path, out: Path, member: bytes | None = None, node_edit: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    """`honest` with its member replaced and/or its node edited, as a new file."""
    with zipfile.ZipFile(honest) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    if member is not None:
        contents[MEMBER] = member
    if node_edit is not None:
        tree = json.loads(contents["__zanj__.json"])
        node_edit(tree["df"])
        contents["__zanj__.json"] = json.dumps(tree).encode()
    entries = [Entry.of(name, data, STORED if name == MEMBER else DEFLATED) for name, data in contents.items()]
    out.write_bytes(zip_bytes(entries))
    return out


def one_column(table: pa.Table, array: pa.Array, metadata: dict[bytes, bytes] | None = None) -> pa.Table:
    """`table`'s one field, keeping its name (and metadata unless given), holding `array`."""
    field = table.schema.field(0).with_type(array.type)
    if metadata is not None:
        field = field.with_metadata(metadata)
    return pa.Table.from_arrays([array], schema=pa.schema([field]))


# -- polars' own metadata, forged: polars panics on it; zanj never lets it through -----------------


ENUM_FORGERIES = {
    "length past the text": b"9;y1;x",
    "not lengths": b"zz",
    "duplicate category": b"1;y1;y",
    "extra category": b"1;y1;x1;z",
}


@pytest.mark.parametrize("forgery", list(ENUM_FORGERIES))
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_forged_enum_metadata(forgery: str, mmap: bool, tmp_path: Path) -> None:
    honest, _, member = saved(pl.DataFrame({"e": pl.Series(["x", "y", None], dtype=pl.Enum(["y", "x"]))}), tmp_path)
    table = member_table(member)
    column = table.column(0).combine_chunks()
    bad = one_column(table, column, {b"_PL_ENUM_VALUES2": ENUM_FORGERIES[forgery]})
    with pytest.raises(ZanjFormatError, match="has metadata polars does not write for its declared dtype"):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(bad)), mmap=mmap)


def test_forged_metadata_really_makes_polars_panic() -> None:
    """The attack is real: handed to polars unchecked, the metadata above raises a panic (a
    BaseException, which `except Exception` does not catch)."""
    table = pa.table({"e": pa.array(["x"]).dictionary_encode()})
    bad = one_column(table, table.column(0).combine_chunks(), {b"_PL_ENUM_VALUES2": b"9;y1;x"})
    with pytest.raises(BaseException) as caught:
        pl.from_arrow(bad)
    assert type(caught.value).__name__ == "PanicException"
    assert not isinstance(caught.value, Exception)


def test_a_panic_inside_polars_becomes_a_format_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever slips past the checks and panics in polars ends as a ZanjFormatError."""
    honest, _, _ = saved(pl.DataFrame({"a": [1, 2]}), tmp_path)
    trap = pa.table({"e": pa.array(["x"]).dictionary_encode()})
    trap = one_column(trap, trap.column(0).combine_chunks(), {b"_PL_CATEGORICAL2": b"garbage"})
    from_arrow = pl.from_arrow
    monkeypatch.setattr(frames.pl, "from_arrow", lambda *args, **kwargs: from_arrow(trap))
    with pytest.raises(ZanjFormatError, match="polars panicked"):
        ZANJ().read(honest)


# -- values outside their buffers, invalid text: caught by validation before polars ------------------


def _views(count: int, length: int, buffer_index: int, offset: int) -> bytes:
    views = np.zeros((count, 4), dtype="<i4")
    views[:, 0] = length
    views[:, 2] = buffer_index
    views[:, 3] = offset
    return views.tobytes()


def _invalid_utf8_inline(table: pa.Table) -> pa.Array:
    view = struct.pack("<i", 2) + b"\xff\xfe" + b"\x00" * 10
    return pa.Array.from_buffers(pa.string_view(), 1, [None, pa.py_buffer(view * 3)[:48]])


def _view_past_buffer(table: pa.Table) -> pa.Array:
    data = pa.py_buffer(b"y" * 32)
    return pa.Array.from_buffers(pa.string_view(), 3, [None, pa.py_buffer(_views(3, 20, 0, 1 << 30)), data])


def _view_of_missing_buffer(table: pa.Table) -> pa.Array:
    data = pa.py_buffer(b"y" * 32)
    return pa.Array.from_buffers(pa.string_view(), 3, [None, pa.py_buffer(_views(3, 20, 7, 0)), data])


def _negative_view_length(table: pa.Table) -> pa.Array:
    return pa.Array.from_buffers(pa.string_view(), 3, [None, pa.py_buffer(_views(3, -5, 0, 0)), pa.py_buffer(b"")])


STRING_SPOILERS = {
    "invalid utf-8": (_invalid_utf8_inline, "UTF8"),
    "view past its buffer": (_view_past_buffer, "but that buffer is only 32 bytes long"),
    "view of a missing buffer": (_view_of_missing_buffer, "buffer"),
    "negative length": (_negative_view_length, "negative"),
}


@pytest.mark.parametrize("case", list(STRING_SPOILERS))
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_bad_string_views(case: str, mmap: bool, tmp_path: Path) -> None:
    honest, _, member = saved(pl.DataFrame({"s": ["a", "b", "c"]}), tmp_path)
    table = member_table(member)
    spoil, needle = STRING_SPOILERS[case]
    array = spoil(table)
    rows = len(array)
    bad = one_column(table, array)
    edit = None if rows == 3 else (lambda node: node.update(n_rows=rows))
    with pytest.raises(ZanjFormatError, match="is not a valid Arrow IPC file") as caught:
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(bad), edit), mmap=mmap)
    assert needle.lower() in str(caught.value).lower()


def test_dictionary_codes_past_the_dictionary(tmp_path: Path) -> None:
    honest, _, member = saved(pl.DataFrame({"c": pl.Series(["p", "q", "p"], dtype=pl.Categorical)}), tmp_path)
    table = member_table(member)
    column = table.column(0).combine_chunks()
    codes = pa.array([0, 1, 1_000_000], type=column.type.index_type)
    bad = one_column(table, pa.DictionaryArray.from_arrays(codes, column.dictionary, safe=False))
    with pytest.raises(ZanjFormatError, match="is not a valid Arrow IPC file"):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(bad)))


def test_list_offsets_past_the_values(tmp_path: Path) -> None:
    honest, _, member = saved(pl.DataFrame({"l": [[1], [2, 3], []]}), tmp_path)
    offsets = struct.pack("<4q", 0, 1, 3, 3)
    assert member.count(offsets) == 1
    spoiled = member.replace(offsets, struct.pack("<4q", 0, 1, 3, 1 << 40))
    with pytest.raises(ZanjFormatError, match="is not a valid Arrow IPC file"):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", spoiled))


# -- the member disagreeing with its node ------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (pa.array([1, 2, 3], pa.int32()), "is 'int32' where the node declares 'int64'"),
        (
            pa.UnionArray.from_sparse(pa.array([0, 1, 0], pa.int8()), [pa.array([1, 2, 3]), pa.array(["x", "y", "z"])]),
            "sparse_union",
        ),
        (pa.array([1, 2, 3], pa.uint64()).dictionary_encode(), "dictionary"),
        (pa.array([1, 2, 3], pa.decimal256(60, 0)), "decimal256"),
    ],
    ids=["int32 for int64", "union", "dictionary of ints", "decimal256"],
)
def test_member_of_another_schema(array: pa.Array, needle: str, tmp_path: Path) -> None:
    honest, _, member = saved(pl.DataFrame({"a": [1, 2, 3]}), tmp_path)
    bad = one_column(member_table(member), array)
    with pytest.raises(ZanjFormatError, match="does not hold the frame its node describes") as caught:
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(bad)))
    assert needle in str(caught.value)


def test_extra_field_and_rows_disagreeing(tmp_path: Path) -> None:
    honest, _, _ = saved(pl.DataFrame({"a": [1, 2, 3]}), tmp_path)
    two = pa.table({"a": [1, 2, 3], "b": [4, 5, 6]})
    with pytest.raises(ZanjFormatError, match="holds 2 fields for the 1 declared"):
        ZANJ().read(forged(honest, tmp_path / "two.zanj", ipc_bytes(two)))
    with pytest.raises(ZanjFormatError, match=r"declares 3 rows, its member holds (at least )?5"):
        ZANJ().read(forged(honest, tmp_path / "rows.zanj", ipc_bytes(pa.table({"a": [1, 2, 3, 4, 5]}))))


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ("Int128", "'Int128' is not a dtype zanj-polars writes"),
        ("Object", "'Object' is not a dtype"),
        ({"Datetime": ["us", "../../etc/passwd"]}, "time zone"),
        ({"Datetime": ["fortnights", None]}, "time unit 'fortnights'"),
        ({"Array": ["Int8", [1 << 30]]}, "Array shape"),
        ({"Array": ["Int8", [4096, 4096, 4096]]}, "holds over"),
        ({"Decimal": [100, 0]}, "precision 1..38"),
        ({"Enum": ["a", "a"]}, "duplicate"),
        ({"Categorical": ["", "", "UInt64"]}, "Categorical needs"),
        ({"Struct": [["a", "Int8"], ["a", "Int8"]]}, "names one field twice"),
        (json.loads('{"List": ' * 40 + '"Int8"' + "}" * 40), "levels deep"),
        ({"__class__": "os.system"}, "is not a dtype zanj-polars writes"),
    ],
    ids=[
        "int128",
        "object",
        "zone path",
        "unit",
        "array width",
        "array volume",
        "decimal",
        "enum",
        "physical",
        "struct",
        "deep",
        "class",
    ],
)
def test_node_declaring_dtypes_no_writer_produces(schema: Any, needle: str, tmp_path: Path) -> None:
    honest, _, _ = saved(pl.DataFrame({"a": [1, 2, 3]}), tmp_path)
    with pytest.raises(ZanjFormatError, match="column 'a'") as caught:
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", node_edit=lambda node: node.update(schema=[schema])))
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    "edit",
    [
        lambda node: node.update(dtypes=["Int32"]),
        lambda node: node.update(columns=["a", "b"]),
        lambda node: node.update(columns=[1]),
        lambda node: node.update(n_rows=-1),
        lambda node: node.update(schema="Int64"),
        lambda node: node.pop("schema"),
    ],
    ids=["printed dtype", "two names", "int name", "negative rows", "schema not a list", "no schema"],
)
def test_node_inconsistent_with_itself(edit: Callable[[dict[str, Any]], None], tmp_path: Path) -> None:
    honest, _, _ = saved(pl.DataFrame({"a": [1, 2, 3]}), tmp_path)
    with pytest.raises(ZanjFormatError):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", node_edit=edit))


# -- the file's layout ---------------------------------------------------------------------------------


def _record_batch_block(member: bytearray, body_length: int) -> int:
    footer_start = len(member) - 10 - struct.unpack_from("<i", member, len(member) - 10)[0]
    packed = struct.pack("<q", body_length)
    assert member.count(packed, footer_start) == 1
    return member.index(packed, footer_start) - 16


def _cut(member: bytes) -> bytes:
    return member[: len(member) // 2]


def _footer_length_lie(member: bytes) -> bytes:
    return member[:-10] + struct.pack("<i", len(member) * 4) + b"ARROW1"


def _batch_outside(member: bytes) -> bytes:
    data = bytearray(member)
    struct.pack_into("<q", data, _record_batch_block(data, 800), len(data) * 2)
    return bytes(data)


def _batch_at_schema(member: bytes) -> bytes:
    data = bytearray(member)
    block = _record_batch_block(data, 800)
    struct.pack_into("<qi", data, block, 8, 8 + struct.unpack_from("<i", data, 12)[0])
    return bytes(data)


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [
        (_cut, "ARROW1 magic"),
        (_footer_length_lie, "its footer length"),
        (_batch_outside, "batch 0 lies at bytes"),
        (_batch_at_schema, "holds no batch (message type 1)"),
    ],
    ids=["truncated", "footer length", "batch outside", "batch at schema"],
)
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_garbage_member(spoil: Callable[[bytes], bytes], needle: str, mmap: bool, tmp_path: Path) -> None:
    honest, _, member = saved(pl.DataFrame({"a": np.arange(100)}), tmp_path)
    member = ipc_bytes(member_table(member))  # pyarrow's layout: one 800-byte body, found in the footer
    with pytest.raises(ZanjFormatError, match="Arrow IPC file") as caught:
        ZANJ().read(forged(honest, tmp_path / "garbage.zanj", spoil(member)), mmap=mmap)
    assert needle in str(caught.value) and MEMBER in str(caught.value)


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("codec", ["lz4", "zstd"])
@pytest.mark.parametrize("lying", [False, True], ids=["honest length", "lying length"])
def test_body_compression_is_refused(codec: str, lying: bool, mmap: bool, tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": np.zeros(10_000, dtype=np.int64)})
    honest, _, member = saved(frame, tmp_path)
    data = bytearray(ipc_bytes(member_table(member), compression=codec))
    if lying:  # the 8-byte length before the compressed frame: claim 1 TiB
        magic = {"zstd": b"\x28\xb5\x2f\xfd", "lz4": b"\x04\x22\x4d\x18"}[codec]
        at = data.index(magic)
        assert struct.unpack_from("<q", data, at - 8)[0] == 80_000
        struct.pack_into("<q", data, at - 8, 1 << 40)
    with pytest.raises(ZanjFormatError, match="uses Arrow body compression"):
        ZANJ().read(forged(honest, tmp_path / "compressed.zanj", bytes(data)), mmap=mmap)


def test_too_many_batches(tmp_path: Path) -> None:
    rows = ipc_layout.MAX_BATCHES + 10
    honest, _, member = saved(pl.DataFrame({"a": np.arange(rows)}), tmp_path)
    table = member_table(member)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1)
    with pytest.raises(ZanjLimitError, match=f"over the {ipc_layout.MAX_BATCHES} zanj reads"):
        ZANJ().read(forged(honest, tmp_path / "batches.zanj", sink.getvalue().to_pybytes()))


@settings(max_examples=40, deadline=None)
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4))
def test_flipped_bytes_end_in_a_zanj_error_or_a_frame(
    tmp_path_factory: pytest.TempPathFactory, flips: list[tuple[float, int]]
) -> None:
    folder = tmp_path_factory.mktemp("flip")
    frame = pl.DataFrame(
        {"s": ["a", None, "long text, longer than twelve"], "c": pl.Series(["p", "q", "p"], dtype=pl.Categorical)}
    )
    honest, _, member = saved(frame, folder)
    data = bytearray(member)
    for where, value in flips:
        data[int(where * len(data))] = value
    try:
        back = ZANJ().read(forged(honest, folder / "flipped.zanj", bytes(data)))["df"]
    except ZanjError:
        return
    assert back.schema == frame.schema and back.height == frame.height


# -- gigabytes from a few hundred bytes: refused before allocating -------------------------------------

BOMBS = {
    "3e8-row null column": (pa.nulls(BIG), "Null"),
    "3e8 empty structs": (pa.Array.from_buffers(pa.struct([]), BIG, [None], children=[]), {"Struct": []}),
    "3e8 nulls in a list": (
        pa.LargeListArray.from_arrays(pa.array([0, BIG], pa.int64()), pa.nulls(BIG)),
        {"List": "Null"},
    ),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_expanding_members_hit_the_budget(name: str, tmp_path: Path) -> None:
    array, declared = BOMBS[name]
    honest, _, member = saved(pl.DataFrame({"a": [None, None, None]}), tmp_path)
    bad = one_column(member_table(member), array)
    member_bytes = ipc_bytes(bad)
    assert len(member_bytes) < 4096

    def edit(node: dict[str, Any]) -> None:
        rows = len(array)
        node.update(n_rows=rows, schema=[declared], dtypes=[str(zanj_polars.dtypes.decode(declared))])

    path = forged(honest, tmp_path / "bomb.zanj", member_bytes, edit)
    error, message, grown = read_measured(path, honest, ("polars", "pyarrow"))
    assert error == "ZanjLimitError", message
    assert "the frame converted from member 'df.arrow'" in message
    assert grown < 200 << 20, f"peak memory grew by {grown >> 20} MiB"
