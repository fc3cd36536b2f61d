"""Layer 2, the container: `MemberSource`, a loader's access to one data member.

Handed to `MemberFormat.read` (published in `zanj_core.plugin`): streams, memory maps and
buffer reads of one member, each charged to the read's budget, with the CRC checks that
`verify_checksums` asks for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zanj_core._container.checksums import crc32_function
from zanj_core._container.member_streams import MemberStream
from zanj_core._contract.budget import Description, ReadBudget
from zanj_core._contract.nodes import ObjectPath, format_path
from zanj_core.errors import ZanjFormatError

if TYPE_CHECKING:
    from zanj_core._container.limits import ReadLimits
    from zanj_core._container.reader import ArchiveReader
    from zanj_core._container.zip_records import MemberInfo


class MemberSource:
    """Read access to one data member, handed to `MemberFormat.read`.

    `open()` streams (decompressing if needed); `memory_map()` gives a zero-copy read-only view
    of an uncompressed member; `read_into()` fills a caller's buffer in one copy. What these
    bring into memory is charged to the read's `budget`; call `reserve(nbytes)` *before*
    allocating a buffer (it is then not charged twice), and `charge(nbytes, what)` for memory a
    loader builds from the member in other ways (a conversion, an expansion).
    """

    def __init__(
        self, reader: ArchiveReader, info: MemberInfo, path: ObjectPath, budget: ReadBudget | None = None
    ) -> None:
        self.reader = reader
        self.info = info
        self.name = info.filename
        self.path = path
        self.budget = budget if budget is not None else reader.new_budget()
        self._reserved = 0

    @property
    def location(self) -> str:
        """The file this member is read from, as messages show it."""
        return str(self.reader.location)

    @property
    def limits(self) -> ReadLimits:
        """The reader's `ReadLimits` (a format checks its own headers against them)."""
        return self.reader.limits

    def check_json_size(self) -> None:
        """Refuse a JSON-lines member over `ReadLimits.max_json_bytes`, before reading it."""
        self.reader.check_json_size(self.name, self.size)

    @property
    def size(self) -> int:
        """Uncompressed size in bytes."""
        return self.info.file_size

    @property
    def compressed(self) -> bool:
        return self.info.compress_type != 0  # not stored

    @property
    def want_mmap(self) -> bool:
        """Whether the reader was asked for memory-mapped data (`read(..., mmap=True)`)."""
        return self.reader.use_mmap

    def reserve(self, nbytes: int) -> None:
        """Charge `nbytes` that are about to be allocated to hold this member's data; the reads
        that then fill them are not charged again."""
        self.budget.charge(nbytes, self._describe)
        self._reserved += nbytes

    def charge(self, nbytes: int, what: Description = "") -> None:
        """Charge memory a loader builds from this member beyond the bytes it reads (`what`: a
        description, or a function making one only if the charge fails)."""
        self.budget.charge(nbytes, what or (lambda: f"data of member {self.name!r} at {format_path(self.path)}"))

    def _describe(self) -> str:
        return f"member {self.name!r} at {format_path(self.path)}"

    def _take_reserved(self, nbytes: int) -> int:
        """How much of `nbytes` earlier `reserve` calls paid for (and use that up)."""
        covered = min(nbytes, self._reserved)
        self._reserved -= covered
        return covered

    def open(self) -> MemberStream:
        return self.reader.open_member(self.info, self.budget, self._take_reserved(self.size))

    def data_offset(self) -> int:
        return self.reader.data_offset(self.info)

    def memory_map(self, start: int = 0, length: int | None = None, copy_on_write: bool = False) -> memoryview | None:
        """A view of the member's bytes in the mapped file, or None if the member is compressed
        or the file cannot be mapped (a URL, an in-memory stream): callers then read a copy.

        Read-only by default; `copy_on_write=True` gives a private mapping that can be written
        (pages are copied on first write; the file never changes), for frameworks such as torch
        that have no read-only tensors. A map allocates nothing, so nothing is charged; with
        `verify_checksums` the whole member is checked first, which touches every page.
        """
        info = self.info
        reader = self.reader
        if info.compress_type or not reader.can_map:
            return None
        size = info.file_size
        if length is None:
            length = size - start
        if type(start) is not int or type(length) is not int or start < 0 or length < 0 or start + length > size:
            self._bad_range(start, length)
        offset = info.data_start
        if offset < 0:  # its local header is checked from the map: its data starts in the same page
            offset = reader.directory.data_offset(info, reader.mapped(copy_on_write))
        view = reader.views.get(copy_on_write)
        if view is None:
            view = reader.mapped_view(copy_on_write)
        if reader.verify_checksums:
            reader.verify_member(info, self.budget)
        offset += start
        return view[offset : offset + length]

    def _check_range(self, start: int, length: int) -> None:
        if type(start) is not int or type(length) is not int or start < 0 or length < 0 or start + length > self.size:
            self._bad_range(start, length)

    def _bad_range(self, start: int, length: int) -> None:
        raise ZanjFormatError(
            f"{self.reader.location}: member {self.name!r} holds {self.size} bytes; "
            f"bytes {start}..{start + length} were asked for (at {format_path(self.path)})"
        )

    def read_range(self, start: int, length: int) -> bytes:
        """`length` bytes from `start`: for headers and other small reads."""
        info = self.info
        if (
            type(start) is not int
            or type(length) is not int
            or start < 0
            or length < 0
            or start + length > info.file_size
        ):
            self._bad_range(start, length)
        reader = self.reader
        if reader.verify_checksums:
            reader.verify_member(info, self.budget)
        if not info.compress_type:
            directory = reader.directory
            if info.data_start < 0:  # read with its local header (or from the map when mapped)
                directory.data_offset(info, reader.current_mapping() if reader.use_mmap else None)
            head = directory.head_bytes(info, start, length)
            if head is not None:
                self.budget.charge(length, self._describe)
                return head
        self.reserve(length)
        buffer = bytearray(length)
        self.read_into(memoryview(buffer), start)
        return bytes(buffer)

    def data_after(
        self, head: bytes, copy_on_write: bool = False, copy_limit: int | None = None
    ) -> memoryview | bytearray | None:
        """The member's bytes after `head` when it is stored and starts with exactly `head` (the
        header its format writes): a view of the mapped file when the reader maps (read-only, or
        private copy-on-write, as `memory_map`), else bytes of the caller's own, writable: when
        the whole file is read in order, the archive's read-ahead window lends them (no copy;
        the window never serves them again, and its memory lives as long as they do), else a
        fresh copy. None when it is compressed, starts otherwise, or would be copied whole past
        `copy_limit` bytes: read it then with `read_range` and `read_into`.

        One call in place of `read_range` of the head and `read_into` of the rest, for formats
        whose members are many and small: the same checks (the local header against the
        directory, `verify_checksums`) before any byte is used, the same charges (the head as
        `read_range` charges it, then the rest before it is handed over)."""
        info = self.info
        size = info.file_size
        length = len(head)
        reader = self.reader
        mapping = reader.use_mmap and reader.can_map
        if info.compress_type or length > size or (not mapping and copy_limit is not None and size > copy_limit):
            return None
        if reader.verify_checksums:
            reader.verify_member(info, self.budget)
        directory = reader.directory
        budget = self.budget
        if mapping:
            budget.charge(length, self._describe)  # the head, as `read_range` charges it
            whole = self.memory_map(copy_on_write=copy_on_write)
            if whole is None or whole[:length] != head:
                return None
            return whole[length:]
        offset = info.data_start
        if offset < 0:
            offset = directory.data_offset(info)
        budget.charge(length, self._describe)
        found = directory.kept(offset, size)  # the member whole in memory: a read-ahead window, say
        if found is not None:
            data, at = found
            if data[at : at + length] != head:
                return None
            budget.charge(size - length, self._describe)
            lent = directory.lend(offset + length, size - length)  # read ahead: handed over, no copy
            return lent if lent is not None else bytearray(memoryview(data)[at + length : at + size])
        first: bytes | bytearray | None = directory.head_bytes(info, 0, length)
        if first is None:
            first = bytearray(length)
            directory.read_into(memoryview(first), offset, info.filename)
        if first != head:
            return None
        budget.charge(size - length, self._describe)
        rest = bytearray(size - length)
        directory.read_into(memoryview(rest), offset + length, info.filename)
        return rest

    def read_into(self, buffer: memoryview | bytearray | Any, start: int = 0) -> None:
        """Fill `buffer` (any writable, C-contiguous buffer: a `bytearray`, a numpy array, a
        `memoryview` of one) with the member's bytes from `start`, copying once.

        Uncompressed members are read straight from the file into `buffer`; compressed members
        are inflated, and their CRC checked when a read reaches the member's end.
        With `verify_checksums` every member is checked whole before its first use, whatever
        part of it is read. Bytes not paid for by `reserve` are charged to the budget first.
        """
        view = buffer if type(buffer) is memoryview else memoryview(buffer)
        if view.readonly:
            raise TypeError(
                f"read_into needs a writable buffer (a bytearray, a numpy array or a memoryview of one), "
                f"got a read-only {type(buffer).__name__}"
            )
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        length = view.nbytes
        info = self.info
        if type(start) is not int or start < 0 or start + length > info.file_size:
            self._bad_range(start, length)
        reserved = self._reserved
        if reserved >= length:
            self._reserved = reserved - length
        else:
            self._reserved = 0
            self.budget.charge(length - reserved, self._describe)
        if info.compress_type:
            self._inflate_into(view, start)
        else:
            self._read_stored_into(view, start)

    def _read_stored_into(self, view: memoryview, start: int) -> None:
        """Read a stored member's bytes from `start` straight from the file into `view`; a read
        of the whole member checks its CRC on the way when `verify_checksums` asks for it."""
        reader = self.reader
        info = self.info
        length = view.nbytes
        whole = start == 0 and length == info.file_size
        verify = reader.verify_checksums
        if verify and not whole:
            reader.verify_member(info, self.budget)
        directory = reader.directory
        directory.read_into(view, directory.data_offset(info) + start, info.filename)
        if verify and whole and not reader.is_verified(info.filename):
            if crc32_function()(view) != info.CRC:
                raise ZanjFormatError(
                    f"{reader.location}: member {info.filename!r} fails its CRC check: the file is corrupt"
                )
            reader.mark_verified(info.filename)

    def _inflate_into(self, view: memoryview, start: int) -> None:
        """Inflate a compressed member from its start, dropping what comes before `start`, into
        `view` (already paid for, so the stream's output is not charged again)."""
        reader = self.reader
        length = view.nbytes
        if reader.verify_checksums and not (start == 0 and length == self.size):
            reader.verify_member(self.info, self.budget)
        with reader.open_member(self.info, self.budget, charged_ahead=length + 1) as stream:
            skip = start
            while skip:
                dropped = stream.read(min(skip, 1 << 20))
                if not dropped:
                    raise ZanjFormatError(f"{reader.location}: member {self.name!r} is truncated")
                skip -= len(dropped)
            filled = 0
            while filled < length:
                got = stream.readinto(view[filled:])
                if not got:
                    raise ZanjFormatError(f"{reader.location}: member {self.name!r} is truncated")
                filled += got
            if start + length == self.size:
                stream.read(1)  # reaching the end checks the CRC
