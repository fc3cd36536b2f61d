"""Hostile Arrow members in frames: each is refused before pandas converts (or allocates) anything.

Every file here is a real DataFrame saved by ZANJ whose Arrow member (and, where the case needs
it, its node) was replaced: a few hundred bytes of IPC that declare 3x10^8 rows of nulls, empty
structs or dictionary entries, compressed buffers, deep nesting, thousands of batches, pandas
metadata naming modules or huge dtypes. Cases that would allocate gigabytes run in a subprocess
under an address-space cap, and their peak memory is measured.
"""

from __future__ import annotations

import json
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("zanj_pandas")

import numpy as np  # noqa: E402
import pyarrow.pandas_compat as pandas_compat  # noqa: E402
from hostile_corpus import DEFLATED, STORED, Entry, zip_bytes  # noqa: E402
from memory_probe import read_measured  # noqa: E402
from zanj_pandas import arrow, arrow_layout  # noqa: E402

from zanj_core import ZANJ, ZanjFormatError, ZanjLimitError  # noqa: E402
from zanj_core._container.reader import ArchiveReader  # noqa: E402

BIG = 300_000_000
"""Rows that cost nothing in Arrow (no buffers) and 2.4 GB as an object array."""
MEMBER = "df.arrow"


# -- building the files ---------------------------------------------------------------------------


def ipc_bytes(table: pa.Table, **options: Any) -> bytes:
    """`table` as an Arrow IPC file, written with `IpcWriteOptions(**options)`."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def saved(frame: pd.DataFrame, folder: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """`frame` saved as item `df`: the file, its node, and its member's pandas metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    path = ZANJ().save({"df": frame}, folder / "honest.zanj")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("__zanj__.json"))["df"]
        member = zf.read(MEMBER)
    table = pa.ipc.open_file(pa.py_buffer(member)).read_all()
    return path, node, table.schema.pandas_metadata


def forged(
    honest: Path, out: Path, member: bytes | None = None, node_edit: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    """`honest` with its Arrow member replaced by `member` and/or its node edited, as a new file."""
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


def with_metadata(table: pa.Table, metadata: dict[str, Any]) -> pa.Table:
    return table.replace_schema_metadata({b"pandas": json.dumps(metadata).encode()})


def one_column_metadata(metadata: dict[str, Any], rows: int, **column: Any) -> dict[str, Any]:
    """A one-column frame's pandas metadata for `rows` rows, the column entry updated."""
    metadata = json.loads(json.dumps(metadata))
    metadata["index_columns"] = [{"kind": "range", "name": None, "start": 0, "stop": rows, "step": 1}]
    metadata["columns"][0].update(column)
    return metadata


def declare_rows(rows: int, dtype: str | None = None) -> Callable[[dict[str, Any]], None]:
    """A node edit making the node agree with a member of `rows` rows (and column dtype)."""

    def edit(node: dict[str, Any]) -> None:
        node["n_rows"] = rows
        node["range_index"] = [0, rows, 1]
        if dtype is not None:
            node["dtypes"] = [dtype]

    return edit


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the tables converted to pandas (pyarrow's to_pandas calls this at each call)."""
    calls: list[int] = []
    convert = pandas_compat.table_to_dataframe

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return convert(*args, **kwargs)

    monkeypatch.setattr(pandas_compat, "table_to_dataframe", counted)
    return calls


# -- gigabytes from a few hundred bytes: refused before allocating ------------------------------


def _null_column(metadata: dict[str, Any]) -> pa.Table:
    return with_metadata(pa.table({"a": pa.nulls(BIG)}), one_column_metadata(metadata, BIG))


def _empty_structs(metadata: dict[str, Any]) -> pa.Table:
    structs = pa.Array.from_buffers(pa.struct([]), BIG, [None], children=[])
    return with_metadata(pa.table({"a": structs}), one_column_metadata(metadata, BIG, pandas_type="object"))


def _huge_dictionary(metadata: dict[str, Any]) -> pa.Table:
    """Three rows of a categorical whose dictionary holds 3x10^8 nulls (no buffers)."""
    codes = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2], pa.int8()), pa.nulls(BIG))
    return with_metadata(
        pa.table({"a": codes}), one_column_metadata(metadata, 3, pandas_type="categorical", numpy_type="int8")
    )


def _repeated_views(metadata: dict[str, Any]) -> pa.Table:
    """2000 string views of one and the same 1 MiB string: 1 MiB stored, 2 GiB once copied out."""
    count, size = 2000, 1 << 20
    views = np.zeros((count, 4), dtype="<i4")
    views[:, 0] = size
    views[:, 1] = int.from_bytes(b"xxxx", "little")
    array = pa.Array.from_buffers(
        pa.string_view(), count, [None, pa.py_buffer(views.tobytes()), pa.py_buffer(b"x" * size)]
    )
    return with_metadata(pa.table({"a": array}), one_column_metadata(metadata, count, numpy_type="str"))


BOMBS: dict[str, tuple[Callable[[dict[str, Any]], pa.Table], Callable[[dict[str, Any]], None] | None]] = {
    "3e8-row null column, node agrees": (_null_column, declare_rows(BIG)),
    "3e8 empty structs, node agrees": (_empty_structs, declare_rows(BIG)),
    "dictionary of 3e8 nulls": (_huge_dictionary, declare_rows(3, "category")),
    "2000 views of one MiB": (_repeated_views, declare_rows(2000, "str")),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_expanding_members_hit_the_budget_before_allocating(name: str, tmp_path: Path) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": pd.Series([None, None, None], dtype=object)}), tmp_path)
    build, edit = BOMBS[name]
    path = forged(honest, tmp_path / "bomb.zanj", ipc_bytes(build(metadata)), edit)
    assert path.stat().st_size < (2 << 20)
    error, message, grown = read_measured(path, honest, ("pandas", "pyarrow"))
    assert error == "ZanjLimitError", message
    assert "the read's budget ran out on the frame converted from member 'df.arrow' at df, which needs" in message
    assert grown < 200 << 20, f"peak memory grew by {grown >> 20} MiB"


def test_null_column_disagreeing_with_its_node(tmp_path: Path) -> None:
    """The attack as found (394 bytes without pandas metadata): 3x10^8 rows of nulls, a node saying 3."""
    honest, _, metadata = saved(pd.DataFrame({"a": pd.Series([None, None, None], dtype=object)}), tmp_path)
    member = ipc_bytes(_null_column(metadata))
    assert len(member) < 2048
    error, message, grown = read_measured(forged(honest, tmp_path / "bomb.zanj", member), honest, ("pandas", "pyarrow"))
    assert error == "ZanjFormatError", message
    assert "declares 3 rows, its member holds 300000000" in message
    assert grown < 200 << 20, f"peak memory grew by {grown >> 20} MiB"


def test_member_format_reader_charges_the_conversion(tmp_path: Path) -> None:
    """`arrow.read_table` (the `arrow` member format, for any caller) charges the same bound."""
    honest, _, metadata = saved(pd.DataFrame({"a": pd.Series([None, None, None], dtype=object)}), tmp_path)
    path = forged(honest, tmp_path / "bomb.zanj", ipc_bytes(_null_column(metadata)))
    reader = ArchiveReader(path)
    try:
        source = reader.source(MEMBER, ("df",), reader.new_budget())
        with pytest.raises(
            ZanjLimitError, match=r"ran out on the frame converted from member 'df\.arrow' at df, which needs"
        ):
            arrow.read_table(source)
    finally:
        reader.close()


# -- the member disagreeing with its node: refused before conversion ------------------------------


def test_row_count_disagreeing_is_refused_before_conversion(tmp_path: Path, conversions: list[int]) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": [1, 2, 3]}), tmp_path)
    member = ipc_bytes(with_metadata(pa.table({"a": np.arange(5)}), one_column_metadata(metadata, 5)))
    with pytest.raises(ZanjFormatError, match="declares 3 rows, its member holds 5"):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", member))
    assert conversions == []


def test_column_count_disagreeing_is_refused_before_conversion(tmp_path: Path, conversions: list[int]) -> None:
    honest, _, _ = saved(pd.DataFrame({"a": [1, 2, 3]}), tmp_path)
    _, _, two_columns = saved(pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]}), tmp_path / "x")
    member = ipc_bytes(with_metadata(pa.table({"a": [1, 2, 3], "b": [4, 5, 6]}), two_columns))
    with pytest.raises(ZanjFormatError, match="declares 1 columns, its member holds 2"):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", member))
    assert conversions == []


@pytest.mark.parametrize(
    ("column", "values", "needle"),
    [
        ("b", [1, 2, 3], "declares the column 'a' where its member holds 'b'"),
        ("a", [1.5, 2.5, 3.5], r"declares column 0 \('a'\) of dtype 'int64', but its member holds Arrow type 'double'"),
    ],
    ids=["name", "dtype"],
)
def test_column_name_or_dtype_disagreeing(
    column: str, values: list[Any], needle: str, tmp_path: Path, conversions: list[int]
) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": [1, 2, 3]}), tmp_path)
    numpy_type = str(np.asarray(values).dtype)
    table = pa.table({column: values})
    metadata = one_column_metadata(metadata, 3, name=column, field_name=column, numpy_type=numpy_type)
    with pytest.raises(ZanjFormatError, match=needle):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(with_metadata(table, metadata))))
    assert conversions == []


def test_duplicate_field_names(tmp_path: Path, conversions: list[int]) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]}), tmp_path)
    metadata["columns"][1].update(name="a", field_name="a")
    table = pa.Table.from_arrays([pa.array([1, 2, 3]), pa.array([4, 5, 6])], names=["a", "a"])
    with pytest.raises(ZanjFormatError, match="its member has the field 'a' twice"):
        ZANJ().read(forged(honest, tmp_path / "bad.zanj", ipc_bytes(with_metadata(table, metadata))))
    assert conversions == []


def test_series_member_of_another_column(tmp_path: Path, conversions: list[int]) -> None:
    path = ZANJ().save({"df": pd.Series([1, 2, 3])}, tmp_path / "s.zanj")
    honest, _, _ = saved(pd.DataFrame({"other": [1, 2, 3]}), tmp_path)
    with zipfile.ZipFile(honest) as zf:
        member = zf.read(MEMBER)
    with pytest.raises(ZanjFormatError, match="is a series, but its member holds the columns \\['other'\\]"):
        ZANJ().read(forged(path, tmp_path / "bad.zanj", member))
    assert conversions == []


# -- types, layouts and metadata zanj never writes -------------------------------------------------


def test_deeply_nested_list_type(tmp_path: Path) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": pd.Series([None], dtype=object)}), tmp_path)
    value: Any = 1
    for _ in range(40):
        value = [value]
    table = with_metadata(pa.table({"a": pa.array([value])}), one_column_metadata(metadata, 1, pandas_type="object"))
    with pytest.raises(ZanjLimitError, match=r"column 'a' nests types more than 32 levels deep"):
        ZANJ().read(forged(honest, tmp_path / "deep.zanj", ipc_bytes(table), declare_rows(1)))


def test_type_zanj_never_writes(tmp_path: Path) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": pd.Series([None, None], dtype=object)}), tmp_path)
    union = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()), [pa.array([1, 2]), pa.array(["x", "y"])])
    table = with_metadata(pa.table({"a": union}), one_column_metadata(metadata, 2, pandas_type="object"))
    with pytest.raises(ZanjFormatError, match=r"has Arrow type 'sparse_union.*zanj-pandas never writes"):
        ZANJ().read(forged(honest, tmp_path / "union.zanj", ipc_bytes(table), declare_rows(2)))


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
@pytest.mark.parametrize("codec", ["lz4", "zstd"])
@pytest.mark.parametrize("lying", [False, True], ids=["honest length", "lying length"])
def test_ipc_body_compression_is_refused(codec: str, lying: bool, mmap: bool, tmp_path: Path) -> None:
    """Compressed buffers state their own inflated length: a bomb inside a stored member."""
    frame = pd.DataFrame({"a": np.zeros(10_000, dtype=np.int64)})
    honest, _, metadata = saved(frame, tmp_path)
    member = bytearray(ipc_bytes(with_metadata(pa.table({"a": frame["a"]}), metadata), compression=codec))
    if lying:  # the 8-byte length before the compressed frame: claim 1 TiB
        frame_magic = {"zstd": b"\x28\xb5\x2f\xfd", "lz4": b"\x04\x22\x4d\x18"}[codec]
        at = member.index(frame_magic)
        assert struct.unpack_from("<q", member, at - 8)[0] == 80_000
        struct.pack_into("<q", member, at - 8, 1 << 40)
    path = forged(honest, tmp_path / "compressed.zanj", bytes(member))
    with pytest.raises(ZanjFormatError, match="uses Arrow IPC body compression"):
        ZANJ().read(path, mmap=mmap)


def test_too_many_record_batches(tmp_path: Path) -> None:
    rows = arrow_layout.MAX_RECORD_BATCHES + 10
    frame = pd.DataFrame({"a": np.arange(rows)})
    honest, _, metadata = saved(frame, tmp_path)
    table = with_metadata(pa.table({"a": frame["a"]}), metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1)
    member = sink.getvalue().to_pybytes()
    with pytest.raises(
        ZanjLimitError, match=f"more than {arrow_layout.MAX_RECORD_BATCHES} record and dictionary batches"
    ):
        ZANJ().read(forged(honest, tmp_path / "batches.zanj", member))


CANARY_MODULE = "zanj_frame_canary"


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda m: m["columns"][0].update(numpy_type=f"{CANARY_MODULE}.Evil"), "the dtype 'zanj_frame_canary.Evil'"),
        (lambda m: m["columns"][0].update(numpy_type=f"{CANARY_MODULE}:Evil[pyarrow]"), "zanj_frame_canary:Evil"),
        (lambda m: m["columns"][0].update(numpy_type="Sparse[int64]"), "the dtype 'Sparse"),
        (lambda m: m["column_indexes"][0].update(numpy_type=f"{CANARY_MODULE}.Evil"), "column labels the dtype"),
        (lambda m: m["column_indexes"][0].update(numpy_type="V100000000"), "column labels the dtype 'V100000000'"),
        (lambda m: m["column_indexes"][0].update(pandas_type=f"{CANARY_MODULE}.Evil"), "column label level"),
        (lambda m: m["index_columns"].__setitem__(0, {"kind": CANARY_MODULE}), "index descriptor"),
        (lambda m: m["columns"][0].update(field_name="elsewhere"), "describes field 'a'"),
        (lambda m: m.__setitem__("columns", "zanj_frame_canary"), "describes no columns"),
    ],
    ids=[
        "numpy_type module",
        "numpy_type arrow dtype",
        "numpy_type sparse",
        "column index dtype module",
        "column index dtype 100 MB",
        "column index type module",
        "index kind",
        "field name",
        "columns not a list",
    ],
)
def test_pandas_metadata_outside_what_pyarrow_writes(
    edit: Callable[[dict[str, Any]], None], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow hands these strings to pandas_dtype / Index.astype: refused, nothing imported."""
    (tmp_path / f"{CANARY_MODULE}.py").write_text(f"open({str(tmp_path / 'CANARY')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    honest, _, metadata = saved(pd.DataFrame({"a": [1, 2, 3]}), tmp_path)
    edit(metadata)
    member = ipc_bytes(with_metadata(pa.table({"a": [1, 2, 3]}), metadata))
    with pytest.raises(ZanjFormatError, match="pandas metadata") as caught:
        ZANJ().read(forged(honest, tmp_path / "meta.zanj", member))
    assert needle in str(caught.value)
    assert CANARY_MODULE not in sys.modules
    assert not (tmp_path / "CANARY").exists()


class _ForeignType(pa.ExtensionType):
    """An extension type some library registered in this process: converting runs its code."""

    converted: ClassVar[list[int]] = []

    def __init__(self) -> None:
        super().__init__(pa.int64(), "zanj_test.foreign")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> _ForeignType:
        return cls()

    def to_pandas_dtype(self) -> Any:
        _ForeignType.converted.append(1)
        return pd.Int64Dtype()


def test_foreign_extension_type_is_not_converted(tmp_path: Path) -> None:
    honest, _, metadata = saved(pd.DataFrame({"a": [1, 2, 3]}), tmp_path)
    pa.register_extension_type(_ForeignType())
    try:
        storage = pa.array([1, 2, 3])
        column = pa.ExtensionArray.from_storage(_ForeignType(), storage)
        member = ipc_bytes(with_metadata(pa.table({"a": column}), metadata))
        with pytest.raises(ZanjFormatError, match=r"Arrow extension type 'zanj_test\.foreign'"):
            ZANJ().read(forged(honest, tmp_path / "ext.zanj", member))
    finally:
        pa.unregister_extension_type("zanj_test.foreign")
    assert _ForeignType.converted == []


def _footer_length_lie(member: bytes) -> bytes:
    return member[:-10] + struct.pack("<i", len(member) * 4) + b"ARROW1"


def _record_batch_block(member: bytearray) -> int:
    """Where the footer's record batch Block lies (offset, metadata length, padding, body
    length): found by its body length, the 800 bytes of 100 int64."""
    footer_start = len(member) - 10 - struct.unpack_from("<i", member, len(member) - 10)[0]
    body_length = struct.pack("<q", 800)
    assert member.count(body_length, footer_start) == 1
    return member.index(body_length, footer_start) - 16


def _batch_outside(member: bytes) -> bytes:
    data = bytearray(member)
    struct.pack_into("<q", data, _record_batch_block(data), len(data) * 2)
    return bytes(data)


def _batch_at_schema(member: bytes) -> bytes:
    """The record batch Block pointed at the schema message (at 8), its length made to fit."""
    data = bytearray(member)
    block = _record_batch_block(data)
    schema_length = 8 + struct.unpack_from("<i", data, 12)[0]
    struct.pack_into("<qi", data, block, 8, schema_length)
    return bytes(data)


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [
        (_footer_length_lie, "its footer length"),
        (_batch_outside, "outside the data part"),
        (_batch_at_schema, "record batch 0 holds a message of type 1, not a batch"),
    ],
    ids=["footer length", "batch outside", "batch at schema"],
)
@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_garbage_member(spoil: Callable[[bytes], bytes], needle: str, mmap: bool, tmp_path: Path) -> None:
    honest, _, _ = saved(pd.DataFrame({"a": np.arange(100)}), tmp_path)
    with zipfile.ZipFile(honest) as zf:
        member = zf.read(MEMBER)
    with pytest.raises(ZanjFormatError, match="not a valid Arrow IPC file") as caught:
        ZANJ().read(forged(honest, tmp_path / "garbage.zanj", spoil(member)), mmap=mmap)
    assert needle in str(caught.value)
    assert "df.arrow" in str(caught.value)


# -- buffers pointed at each other's bytes: large frames are read as views of their member -------

ALIASED_ROWS = 20_000
"""Rows enough that the frame's columns are read as writable views of the member."""


def _aliased(member: bytes, victim: str, target: str) -> bytes:
    """`member` with the record batch's entry for column `victim`'s values buffer (offset and
    length, relative to the body) pointed at the first bytes of column `target`'s first buffer."""
    holder = pa.py_buffer(member)
    table = pa.ipc.open_file(holder).read_all()

    def spans(name: str) -> list[tuple[int, int]]:
        chunk = table.column(name).chunk(0)
        return [(b.address - holder.address, b.size) for b in chunk.buffers() if b is not None and b.size]

    body = min(start for name in table.column_names for start, _ in spans(name))
    victim_start, victim_size = spans(victim)[-1]
    target_start, target_size = spans(target)[0]
    assert target_size >= victim_size
    entry = struct.pack("<qq", victim_start - body, victim_size)
    assert member[:body].count(entry) == 1
    return member.replace(entry, struct.pack("<qq", target_start - body, victim_size), 1)


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_columns_sharing_bytes_are_not_writable_views(mmap: bool, tmp_path: Path) -> None:
    """A forged member whose column `b` reads the bytes of column `a`: the same values as ever,
    and a write to one column does not show in the other."""
    rows = np.arange(ALIASED_ROWS)
    # `pad` first: an entry's length then never reads, with the next entry's offset, as another entry
    frame = pd.DataFrame({"pad": (rows % 100).astype(np.int8), "a": rows, "b": rows + 10**12})
    honest, _, _ = saved(frame, tmp_path)
    with zipfile.ZipFile(honest) as zf:
        member = _aliased(zf.read(MEMBER), "b", "a")
    back = ZANJ().read(forged(honest, tmp_path / "aliased.zanj", member), mmap=mmap)["df"]
    assert (back["b"].to_numpy() == rows).all()
    back.iloc[0, 1] = -1
    assert back["b"].iloc[0] == 0 and back["a"].iloc[0] == -1


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mmap"])
def test_numbers_over_a_string_columns_offsets_cannot_corrupt_it(mmap: bool, tmp_path: Path) -> None:
    """A forged member whose int column reads the offsets of a `str` column (which pandas keeps
    as Arrow data over the member): writing the numbers must not move those offsets."""
    if not isinstance(pd.Series(["w"], dtype="str").array, pd.arrays.ArrowStringArray):
        pytest.skip("pandas < 3 keeps `str` columns as Python objects: no Arrow offsets to alias")
    words = [f"w{i}" for i in range(ALIASED_ROWS)]
    frame = pd.DataFrame({"s": pd.Series(words, dtype="str"), "a": np.arange(ALIASED_ROWS) * 7})
    honest, _, _ = saved(frame, tmp_path)
    with zipfile.ZipFile(honest) as zf:
        member = _aliased(zf.read(MEMBER), "a", "s")
    back = ZANJ().read(forged(honest, tmp_path / "aliased.zanj", member), mmap=mmap)["df"]
    offsets = pa.array(back["s"].array).buffers()[1]
    assert (back["a"].to_numpy() == np.frombuffer(offsets, dtype=np.int64)[:ALIASED_ROWS]).all()
    back.iloc[5, 1] = 1 << 40
    assert list(back["s"]) == words
