"""The `.npy` member format: streamed writes, validated reads, zero-copy maps.

Written headers are padded so the array data starts on a 64-byte boundary of the member (and
the archive aligns the member), so a memory map of the file is aligned too. Reads check every
field of the header (`zanj_numpy.checks`) and that shape x itemsize is exactly the member's data
size before allocating anything, never allow pickled (`object`) data, reserve what they allocate
in the read's budget first, and copy exactly once: straight from the file into the result array,
which the copy fills completely (no byte of a result is memory the file did not write).
"""

from __future__ import annotations

import ast
import functools
import re
import struct
from typing import IO, Any, Literal, NamedTuple

import numpy as np

from zanj_core.plugin import (
    ALIGNMENT,  # the archive aligns the member; the header aligns the data in it
    MemberSource,
    ZanjFormatError,
    ZanjLimitError,
    format_path,
)
from zanj_numpy.checks import MAX_DIM, Refused, check_descr, check_dtype, check_shape, nbytes_within, shown, shown_error
from zanj_numpy.memory import empty_bytes

MAGIC = b"\x93NUMPY"
WRITE_CHUNK_BYTES = 16 << 20


class NpyPayload(NamedTuple):
    """An array ready to stream: its header and the C-contiguous array whose memory follows it
    (a tuple: it is made once per array saved)."""

    header: bytes
    data: np.ndarray
    fortran_order: bool

    @property
    def size(self) -> int:
        return len(self.header) + self.data.nbytes


def build_header(dtype: np.dtype[Any], shape: tuple[int, ...], fortran_order: bool) -> bytes:
    """An npy header (version 1.0, 2.0 or 3.0 as needed) padded to a multiple of 64 bytes.

    Kept per (dtype, shape, order) for plain dtypes: a save of many arrays of one shape builds
    each header once. Records and dtypes with metadata are built every time (dtypes that
    compare equal may describe themselves differently)."""
    shape = tuple(shape)
    if dtype.names is not None or dtype.metadata is not None:
        return _header_text(dtype, shape, fortran_order)
    key = (dtype, shape, fortran_order)
    header = _HEADERS.get(key)
    if header is None:
        header = _header_text(dtype, shape, fortran_order)
        if len(_HEADERS) >= HEADERS_KEPT:
            _HEADERS.clear()
        _HEADERS[key] = header
    return header


HEADERS_KEPT = 4096
"""Headers `build_header` keeps (a dict cleared when full: shapes are unbounded)."""
_HEADERS: dict[tuple[np.dtype[Any], tuple[int, ...], bool], bytes] = {}


def _header_text(dtype: np.dtype[Any], shape: tuple[int, ...], fortran_order: bool) -> bytes:
    descr = np.lib.format.dtype_to_descr(dtype)
    text = repr({"descr": descr, "fortran_order": fortran_order, "shape": shape})
    try:
        encoded = text.encode("latin1")
        version = (1, 0) if len(encoded) < 65000 else (2, 0)
    except UnicodeEncodeError:  # unicode field names need version 3.0
        encoded = text.encode("utf-8")
        version = (3, 0)
    length_bytes = 2 if version == (1, 0) else 4
    prefix = len(MAGIC) + 2 + length_bytes
    total = prefix + len(encoded) + 1
    padded = encoded + b" " * ((-total) % ALIGNMENT) + b"\n"
    length = struct.pack("<H" if length_bytes == 2 else "<I", len(padded))
    return MAGIC + bytes(version) + length + padded


def prepare(array: np.ndarray) -> NpyPayload:
    """Header plus a contiguous view to stream; copies nothing for C- or Fortran-ordered arrays."""
    if array.dtype.hasobject:
        raise TypeError("arrays with object fields cannot be stored as .npy without pickle")
    fortran = array.ndim > 1 and bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    data = array.T if fortran else array
    return NpyPayload(build_header(array.dtype, array.shape, fortran), data, fortran)


def _write_data(data: np.ndarray, stream: IO[bytes]) -> None:
    """Write the array's bytes in C order: contiguous memory directly, strided views one
    bounded block of leading-axis rows at a time (so at most one block is ever copied)."""
    if data.nbytes == 0:
        return
    if data.flags.c_contiguous:
        view = data.reshape(-1).view(np.uint8).data
        for start in range(0, len(view), WRITE_CHUNK_BYTES):
            stream.write(view[start : start + WRITE_CHUNK_BYTES])
        return
    row_bytes = max(data[0].nbytes, 1)
    rows = max(1, WRITE_CHUNK_BYTES // row_bytes)
    for start in range(0, data.shape[0], rows):
        block = np.ascontiguousarray(data[start : start + rows])
        stream.write(block.reshape(-1).view(np.uint8).data)
        del block  # free this block before the next one is made


def write_npy(data: NpyPayload | np.ndarray, stream: IO[bytes]) -> None:
    """Stream an array (or a prepared payload) into an open member; a small C-ordered array
    goes in one write with its header (one call into the archive instead of two)."""
    payload = data if isinstance(data, NpyPayload) else prepare(np.asarray(data))
    array = payload.data
    if array.nbytes <= SMALL_WRITE_BYTES and array.flags.c_contiguous:
        # one copy: a C-contiguous array hands join its raw bytes, whatever its dtype (numpy's
        # stubs do not declare ndarray a buffer)
        stream.write(b"".join((payload.header, array)))  # type: ignore[arg-type]
        return
    stream.write(payload.header)
    _write_data(array, stream)


SMALL_WRITE_BYTES = 64 << 10
"""Arrays up to this size are copied once to be written with their header in one call."""


class NpyHeader(NamedTuple):
    """A parsed header (a tuple: it is made once per array read)."""

    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int
    nbytes: int


def _where(source: MemberSource) -> str:
    return f"{source.location}: member {shown(source.name)} (at {format_path(source.path)})"


def _bad(source: MemberSource, what: str) -> ZanjFormatError:
    return ZanjFormatError(f"{_where(source)} is not a valid .npy: {what}")


def _refused(source: MemberSource, refused: Refused) -> ZanjFormatError:
    return refused.error(_where(source) if refused.limit else f"{_where(source)} is not a valid .npy")


@functools.lru_cache(maxsize=256)
def _simple_dtype(descr: str) -> np.dtype[Any]:
    return np.lib.format.descr_to_dtype(descr)  # type: ignore[arg-type]


_DTYPE_ERRORS = (TypeError, ValueError, KeyError, IndexError, SyntaxError, OverflowError, RecursionError, MemoryError)
"""What numpy's dtype parser raises for descrs it cannot make a dtype of."""


def descr_to_dtype(descr: Any) -> np.dtype[Any]:
    """A dtype from an npy descr (string or list of fields), checked by `checks.check_dtype`:
    no object fields, no zero-size or over-wide elements, only numpy's own fixed-size types.
    Raises `Refused` for anything else."""
    check_descr(descr)
    try:
        dtype = _simple_dtype(descr) if isinstance(descr, str) else np.lib.format.descr_to_dtype(descr)
    except _DTYPE_ERRORS as exc:
        raise Refused(f"its dtype {shown(descr)} is unusable ({shown_error(exc)})") from None
    return check_dtype(dtype)


# the header numpy and zanj write for plain dtypes, parsed without ast (which costs ~0.1 ms)
_SIMPLE_HEADER = re.compile(
    r"\{'descr': '([<>|=]?[A-Za-z0-9\[\]]+)', 'fortran_order': (True|False), 'shape': \(([0-9, ]*)\),? ?\}[ \n]*"
)
_FIRST_READ = 256  # magic, length and the header of almost every array in one read


def _parse_header_text(text: str) -> Any:
    simple = _SIMPLE_HEADER.fullmatch(text)
    if simple is None:
        return ast.literal_eval(text)
    dims = [part.strip() for part in simple.group(3).split(",")]
    return {
        "descr": simple.group(1),
        "fortran_order": simple.group(2) == "True",
        "shape": tuple(int(d) for d in dims if d),
    }


class _Written(NamedTuple):
    """The exact header zanj writes for an array, its parse, and the member size it makes."""

    header: bytes
    parsed: NpyHeader
    member_size: int


WRITTEN_KEPT = 4096
"""(dtype, shape) pairs whose written header `read_header` keeps (a dict cleared when full)."""
_WRITTEN: dict[tuple[np.dtype[Any], tuple[int, ...]], _Written | None] = {}
_UNSEEN = _Written(b"", NpyHeader(np.dtype("u1"), (), False, 0, 0), -1)


def _written_header(source: MemberSource, dtype: np.dtype[Any], shape: tuple[int, ...]) -> _Written | None:
    """What zanj writes for a C-ordered array of `dtype` and `shape`; None for object dtypes
    and shapes of more than 2**63-1 bytes. Kept per (dtype, shape) for plain dtypes."""
    key = (dtype, shape)
    written = _WRITTEN.get(key, _UNSEEN)
    if written is not _UNSEEN:
        return written
    written = None
    if not dtype.hasobject:
        try:
            nbytes = nbytes_within(shape, dtype.itemsize, MAX_DIM)
        except Refused as refused:
            raise _refused(source, refused) from None
        if nbytes is not None:
            header = build_header(dtype, shape, False)
            written = _Written(header, NpyHeader(dtype, shape, False, len(header), nbytes), len(header) + nbytes)
    if dtype.names is None and dtype.metadata is None:  # records: see build_header
        if len(_WRITTEN) >= WRITTEN_KEPT:
            _WRITTEN.clear()
        _WRITTEN[key] = written
    return written


def read_header(
    source: MemberSource,
    expect_dtype: np.dtype[Any] | None = None,
    expect_shape: tuple[int, ...] | None = None,
    agree: bool = False,
) -> NpyHeader:
    """Parse and validate the header; checks the declared size against the member's. The
    header comes from `MemberSource.read_range`, which the archive serves from the bytes it
    took with the member's local header. With `agree`, the header must also declare
    `expect_dtype` and `expect_shape` (what the JSON node says).

    When the node says what to expect and the member starts with exactly the header zanj writes
    for it, that header's parse is reused instead of parsing again (the common case: it saves
    most of the per-array cost of a read). Any other header is parsed and checked."""
    if expect_dtype is not None and expect_shape is not None:
        # the node's dtype and shape were checked by the caller
        written = _written_header(source, expect_dtype, tuple(expect_shape))
        if (
            written is not None
            and written.member_size == source.size
            and source.read_range(0, len(written.header)) == written.header
        ):
            return written.parsed
    header = _parse_header(source)
    if agree:
        if expect_dtype is not None and header.dtype != expect_dtype:
            raise _bad(
                source, f"its dtype {shown(str(header.dtype))} disagrees with the node's {shown(str(expect_dtype))}"
            )
        if expect_shape is not None and header.shape != tuple(expect_shape):
            raise _bad(
                source, f"its shape {shown(header.shape)} disagrees with the node's {shown(tuple(expect_shape))}"
            )
    return header


ONE_CALL_BYTES = 64 << 10
"""Largest member `read_written` reads when not mapped: past it, per-member overhead no longer
matters and `read_bytes` buffers (fresh, huge pages from 2 MiB) are faster than bytes lent from
the archive's read-ahead windows (which live as long as any array over them)."""


def read_written(
    source: MemberSource, dtype: np.dtype[Any], shape: tuple[int, ...], copy_on_write: bool = False
) -> np.ndarray | None:
    """The array of `dtype` and `shape` (what the node says, checked by the caller) when the
    member is stored and holds exactly what zanj writes for it: its header, then exactly the
    data that header declares. Mapped when the reader maps (private copy-on-write when asked),
    else over bytes of its own (lent by the archive's read-ahead window, or copied once). None
    for anything else, and for members with no data: read those with `read_header`.

    The common case of a read of many small arrays in one call to the archive
    (`MemberSource.data_after`), which makes every check and charge a header read and a data
    read make. Unmapped members over `ONE_CALL_BYTES` are left to `read_header` and
    `read_bytes` (their fresh buffers are faster to fill and free than the archive's)."""
    written = _WRITTEN.get((dtype, shape), _UNSEEN)
    if written is _UNSEEN:
        written = _written_header(source, dtype, shape)
    if written is None or written.member_size != source.info.file_size or not written.parsed.nbytes:
        return None
    data = source.data_after(written.header, copy_on_write, ONE_CALL_BYTES)
    if data is None:
        return None
    array: np.ndarray = np.ndarray(shape, dtype, data)
    return array


def _parse_header(source: MemberSource) -> NpyHeader:
    if source.size < len(MAGIC) + 4:
        raise _bad(source, f"only {source.size} bytes")
    first = min(source.size, _FIRST_READ)
    start = source.read_range(0, first)
    if start[: len(MAGIC)] != MAGIC:
        raise _bad(source, "missing the \\x93NUMPY magic")
    major, minor = start[6], start[7]
    if (major, minor) not in ((1, 0), (2, 0), (3, 0)):
        raise _bad(source, f"unknown format version {major}.{minor}")
    if major == 1:
        (header_len,) = struct.unpack("<H", start[8:10])
        prefix = 10
    else:
        if len(start) < 12:
            raise _bad(source, "truncated header length")
        (header_len,) = struct.unpack("<I", start[8:12])
        prefix = 12
    if prefix + header_len > source.size:
        raise _bad(source, f"header of {header_len} bytes does not fit the member's {source.size} bytes")
    limit = source.limits.max_header_bytes
    if header_len > limit:
        raise ZanjLimitError(
            f"{_where(source)} has a .npy header of {header_len} bytes, over the limit of {limit} "
            "(raise ReadLimits.max_header_bytes if you trust the file)"
        )
    end = prefix + header_len
    if end <= len(start):
        raw = start[prefix:end]
    else:
        raw = source.read_range(prefix, header_len)
    try:
        text = raw.decode("utf-8" if major == 3 else "latin1")
        header = _parse_header_text(text)
    except (ValueError, SyntaxError, UnicodeDecodeError, RecursionError, MemoryError, TypeError) as exc:
        raise _bad(source, f"unparsable header ({type(exc).__name__})") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _bad(source, "header must be a dict with exactly descr, fortran_order and shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise _bad(source, f"shape {shown(shape)} is not a tuple of non-negative ints")
    if type(header["fortran_order"]) is not bool:
        raise _bad(source, "fortran_order is not a bool")
    data_offset = prefix + header_len
    held = source.size - data_offset
    try:
        check_shape(shape)
        dtype = descr_to_dtype(header["descr"])
        # checked before any allocation, and without multiplying past int64: a 200-byte member
        # cannot declare 16 GiB, nor a shape of 64 dimensions of 2**62
        nbytes = nbytes_within(shape, dtype.itemsize, MAX_DIM)
    except Refused as refused:
        raise _refused(source, refused) from None
    if nbytes != held:
        declared = "more than 2**63-1" if nbytes is None else str(nbytes)
        raise _bad(
            source,
            f"header declares {declared} data bytes for shape {shown(shape)} of {shown(str(dtype))}, "
            f"but the member holds {held}",
        )
    return NpyHeader(dtype, shape, header["fortran_order"], data_offset, held)  # == nbytes


def array_from(source: MemberSource, header: NpyHeader, mapped: memoryview | None) -> np.ndarray:
    """The whole array: a view of `mapped` when given, else copied once into a fresh array that
    the read fills completely (reserved in the read's budget before it is allocated)."""
    order: Literal["C", "F"] = "F" if header.fortran_order else "C"
    if header.nbytes == 0:  # no elements (zero-size dtypes are refused): no memory to fill
        return np.zeros(header.shape, dtype=header.dtype, order=order)
    if mapped is not None:
        view = mapped[header.data_offset : header.data_offset + header.nbytes]
        flat = np.frombuffer(view, dtype=header.dtype, count=header.nbytes // header.dtype.itemsize)
    else:
        flat = read_bytes(source, header).view(header.dtype)
    return flat if len(header.shape) == 1 else flat.reshape(header.shape, order=order)


def read_bytes(source: MemberSource, header: NpyHeader) -> np.ndarray:
    """The member's data (`header` read by `read_header`) as a fresh uint8 array, reserved in
    the read's budget before it is allocated and filled completely by one copy from the file."""
    source.reserve(header.nbytes)
    buffer = empty_bytes(header.nbytes)
    source.read_into(buffer.data, header.data_offset)
    return buffer


def read_npy(
    source: MemberSource,
    expect_dtype: np.dtype[Any] | None = None,
    expect_shape: tuple[int, ...] | None = None,
    copy_on_write: bool = False,
    header: NpyHeader | None = None,
) -> np.ndarray:
    """Read an array member: mapped when the reader asked for mmap and the member is stored
    (read-only, or private copy-on-write when asked), else copied once into a fresh array.
    Mismatches with what the JSON node declared are errors. `header`: the member's header,
    already read with `read_header(..., agree=True)`, so it is not read twice."""
    mapped = source.memory_map(copy_on_write=copy_on_write) if source.want_mmap else None
    if header is None:
        header = read_header(source, expect_dtype, expect_shape, agree=True)
    return array_from(source, header, mapped)
