"""Reading user files: plain, ``.zip`` or ``.7z``, decoded, with bounds against hostile archives.

Every input is opened once and read as a stream: ``-`` is standard input, and a FIFO or a
process substitution (``<(zcat x.gz)``) works like a file. Devices (``/dev/zero``), sockets and
folders are refused before anything is read.

Archives are never extracted to disk, so member names (``../``, absolute paths, symlinks) cannot
write anywhere. Zip members are decompressed as they are read, counting: a member is refused the
moment it passes the cap or its running compression ratio looks like a bomb, whatever its header
claims. Two caps, both configurable:

* ``ONCOCLASS_MAX_TABLE_BYTES`` (default 256 MiB): an input read whole (a variants, CIViC,
  solution or generic table file), after decompression;
* ``ONCOCLASS_MAX_MEMBER_BYTES`` (default 2 GiB): a streamed text file (Kaggle's ``ID||Text``),
  which is held one document at a time.
"""

from __future__ import annotations

import codecs
import gzip
import io
import lzma
import os
import re
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple

from oncoclass.errors import InputError
from oncoclass.settings import get_settings

#: What a damaged or unsupported archive member raises while it is decompressed (bad deflate data,
#: an encrypted member, a compression method Python lacks).
_DAMAGED: tuple[type[BaseException], ...] = (
    EOFError, OSError, zlib.error, lzma.LZMAError, NotImplementedError, RuntimeError, zipfile.BadZipFile,
)  # fmt: skip
#: The path that means standard input.
STDIN = "-"
#: A compression ratio above this is treated as a bomb (text compresses ~3-10x).
MAX_RATIO = 200

_JUNK_PREFIXES = ("__MACOSX/",)


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.endswith("/") or name.startswith(_JUNK_PREFIXES) or base.startswith("._")


def archive_kind(magic: bytes) -> str | None:
    """``zip``, ``7z``, ``gzip`` or None, from a file's first bytes."""
    if magic.startswith(b"PK\x03\x04") or magic.startswith(b"PK\x05\x06"):
        return "zip"
    if magic.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if magic.startswith(b"\x1f\x8b"):  # gzip, and the BGZF of .vcf.gz and .maf.gz
        return "gzip"
    return None


#: Office documents are zip archives; a sheet saved from Excel or LibreOffice is the usual way a
#: table that is not plain text reaches oncoclass. Told apart by the members each format requires.
_OFFICE = (
    ("xl/", "an Excel workbook"),
    ("word/", "a Word document"),
    ("ppt/", "a PowerPoint file"),
    ("content.xml", "an OpenDocument file (LibreOffice)"),
)


def _office_document(names: list[str]) -> str | None:
    if "[Content_Types].xml" not in names and "mimetype" not in names:
        return None
    return next((what for prefix, what in _OFFICE for n in names if n.startswith(prefix)), None)


def _single(names: list[str], path: Path) -> str:
    office = _office_document(names)
    if office is not None:
        raise InputError(
            f"this is {office}, not a text table; oncoclass reads CSV, TSV, MAF, VCF and Kaggle's "
            "files (plain or compressed).",
            path=path,
            hint="Save the sheet as CSV or as tab-separated text (File > Save As) and pass that file.",
        )
    members = [n for n in names if not _is_junk(n)]
    if not members:
        raise InputError("the archive holds no file.", path=path)
    if len(members) > 1:
        shown = ", ".join(members[:5])
        raise InputError(
            f"the archive holds {len(members)} files ({shown}); oncoclass reads one per archive.",
            path=path,
            hint="Extract the file you mean and pass it directly.",
        )
    return members[0]


def _read_7z(source: BinaryIO, path: Path, limit: int) -> bytes:
    import py7zr
    from py7zr.exceptions import ArchiveError

    try:
        with py7zr.SevenZipFile(source, mode="r") as archive:
            infos = {info.filename: info for info in archive.list() if not info.is_directory}
            name = _single(list(infos), path)
            info = infos[name]
            _check_size(path, info.uncompressed or 0, info.compressed or 1, limit)
            factory = _MemoryFactory(limit)
            archive.extract(targets=[name], factory=factory)
    except (ArchiveError, EOFError, OSError, ValueError, KeyError) as exc:
        raise InputError(f"the 7z archive is truncated or corrupt ({exc}).", path=path) from exc
    except Exception as exc:  # py7zr raises assorted bare errors on damaged streams
        if isinstance(exc, InputError):
            raise
        raise InputError(f"the 7z archive cannot be read ({exc}).", path=path) from exc
    data = factory.data(name)
    _check_size(path, len(data), info.compressed or 1, limit)
    return data


class _MemoryFactory:
    """py7zr writer factory that keeps members in memory, bounded by ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffers: dict[str, _BoundedBuffer] = {}

    def create(self, filename: str) -> _BoundedBuffer:
        buffer = _BoundedBuffer(self.limit)
        self._buffers[filename] = buffer
        return buffer

    def data(self, filename: str) -> bytes:
        return self._buffers[filename].getvalue()


class _BoundedBuffer(io.BytesIO):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.limit:
            raise InputError(f"an archive member is larger than {self.limit} bytes.")
        return super().write(data)

    def size(self) -> int:
        return self.tell()

    def flush(self) -> None:
        pass

    def close(self) -> None:  # py7zr closes writers; keep the bytes readable afterwards
        pass


def _limit_env(limit: int) -> str:
    tables = get_settings().max_table_bytes
    return "ONCOCLASS_MAX_TABLE_BYTES" if limit == tables else "ONCOCLASS_MAX_MEMBER_BYTES"


def _check_size(path: Path, uncompressed: int, compressed: int, limit: int) -> None:
    if uncompressed > limit:
        raise InputError(
            f"the input unpacks to more than {limit} bytes, past the limit.",
            path=path,
            hint=f"Raise {_limit_env(limit)} if the file is genuine.",
        )
    if compressed > 0 and uncompressed > 1024**2 and uncompressed / compressed > MAX_RATIO:
        raise InputError(
            f"the archive member compresses {uncompressed // compressed}:1, which looks like a "
            "zip bomb; refusing to unpack it.",
            path=path,
        )


def existing_file(path: str | Path) -> Path:
    """``path`` if it can be read as a stream: a regular file, a FIFO, or ``-`` (standard input).
    Refused with a message: a missing path, a folder, a device (``/dev/zero`` would be read for
    ever), a socket."""
    path = Path(path)
    if str(path) == STDIN:
        return path
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise InputError("no such file.", path=path) from exc
    except PermissionError as exc:
        raise InputError("permission denied.", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror}).", path=path) from exc
    _refuse_unstreamable(mode, path)
    return path


def _refuse_unstreamable(mode: int, path: Path) -> None:
    """An input must be a regular file or a pipe: a folder, a device or a socket is refused."""
    if stat.S_ISDIR(mode):
        raise InputError("is a folder, not a file.", path=path)
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise InputError(
            "is a device or socket, not a file; refusing to read it.",
            path=path,
            hint="Pass a file, a pipe, or - for standard input.",
        )


@contextmanager
def _open_raw(path: Path) -> Iterator[tuple[BinaryIO, bool]]:
    """The one open of an input: (binary stream, whether it can seek). Standard input is left
    open for the process; anything else is closed after use."""
    if str(path) == STDIN:
        yield sys.stdin.buffer, False
        return
    try:
        handle = path.open("rb")
    except PermissionError as exc:
        raise InputError("permission denied.", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot be opened ({exc.strerror}).", path=path) from exc
    with handle:
        mode = os.fstat(handle.fileno()).st_mode  # the thing opened, not what the name was before
        _refuse_unstreamable(mode, path)
        yield handle, stat.S_ISREG(mode)


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read to sniff the format) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Counted(io.RawIOBase):
    """A decompressing stream that counts what it yields and stops past ``limit`` bytes or past
    :data:`MAX_RATIO` to the compressed size, whatever the archive's header declared."""

    def __init__(self, stream: BinaryIO, path: Path, compressed: int, limit: int) -> None:
        self.stream, self.path, self.compressed, self.limit = stream, path, max(compressed, 1), limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self.stream.read(len(buffer))
        except _DAMAGED as exc:
            raise damaged_archive(exc, self.path) from exc
        self.count += len(data)
        _check_size(self.path, self.count, self.compressed, self.limit)
        buffer[: len(data)] = data
        return len(data)


def damaged_archive(exc: BaseException, path: str | Path) -> InputError:
    """The error for an archive that fails while it is decompressed (by :func:`open_stream`, or
    by Dask's own gzip reader): mostly one whose download was interrupted, which gzip reports as
    EOFError ("Compressed file ended before the end-of-stream marker was reached")."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return InputError(
        f"the archive is cut short or damaged ({reason}).", path=path, hint="Download or copy the file again."
    )


def _read_head(stream: BinaryIO, size: int = 8) -> bytes:
    head = b""
    while len(head) < size:
        chunk = stream.read(size - len(head))
        if not chunk:
            break
        head += chunk
    return head


def read_bytes(path: str | Path, *, limit: int | None = None) -> bytes:
    """The bytes of ``path``, or of the single file inside it when it is a zip or 7z archive,
    read once; more than ``limit`` (default ``ONCOCLASS_MAX_TABLE_BYTES``) decompressed is refused."""
    limit = get_settings().max_table_bytes if limit is None else limit
    path = existing_file(path)
    with _open_stream(path, limit) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        _check_size(path, len(data), len(data), limit)
    return data


def read_start(path: str | Path, size: int = 64) -> bytes:
    """The first ``size`` bytes of ``path`` (of its single member when it is an archive,
    decompressed), for telling a format from its start without reading the whole file. Not for
    standard input, which can be read only once."""
    path = existing_file(path)
    with _open_stream(path, get_settings().max_member_bytes) as stream:
        return _read_head(stream, size)


@contextmanager
def open_stream(path: str | Path, *, limit: int | None = None) -> Iterator[BinaryIO]:
    """A binary stream over ``path`` (or its single archive member, decompressed as it is read),
    bounded by ``limit`` decompressed bytes, for readers that take a file object (pandas' chunked
    ``read_csv``) and so never hold the whole input."""
    path = existing_file(path)
    with _open_stream(path, get_settings().max_member_bytes if limit is None else limit) as stream:
        yield stream


def spool(path: str | Path, target: Path, *, limit: int | None = None) -> None:
    """Copy standard input or a pipe to ``target`` as it comes (compressed or not), so that it can
    be read more than once; more than ``limit`` bytes is refused."""
    path = existing_file(path)
    limit = get_settings().max_member_bytes if limit is None else limit
    copied = 0
    with _open_raw(path) as (raw, _), target.open("wb") as out:
        while block := raw.read(1 << 20):
            copied += len(block)
            if copied > limit:
                _check_size(path, copied, copied, limit)
            out.write(block)


def refuse_binary(head: bytes, path: str | Path) -> None:
    """Refuse a file whose first bytes hold a NUL: a binary file, not text."""
    _refuse_binary(head, path)


#: Binary formats a curator is likely to pass by mistake, by their first bytes.
_NOT_TEXT = (
    (b"%PDF-", "a PDF", "Extract its text (for example `pdftotext paper.pdf paper.txt`) and pass it "
     "as a table's text column, or as Kaggle's text file with --text."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls or .doc)",
     "Save the sheet as CSV or as tab-separated text (File > Save As) and pass that file."),
)  # fmt: skip


def _refuse_binary(head: bytes, path: str | Path) -> None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-32's LE mark begins so too
        # Excel's "Unicode Text" and PowerShell's default: text, but two or four bytes a letter.
        raise InputError(
            "this is UTF-16 or UTF-32 text (its byte-order mark says so); oncoclass reads UTF-8.",
            path=path,
            hint="Save it as UTF-8 (Excel: CSV UTF-8; or iconv -f UTF-16 -t UTF-8 FILE > NEW).",
        )
    for magic, what, hint in _NOT_TEXT:
        if head.startswith(magic):
            raise InputError(f"this is {what}, not a text table.", path=path, hint=hint)
    if b"\x00" in head[:8192]:
        raise InputError(
            "looks like a binary file, not text.",
            path=path,
            hint="Pass the CSV/TSV/text file itself (zip and 7z archives are read directly).",
        )
    if (where := head.find(b"\x00", 8192)) != -1:  # a whole file given: a NUL further on
        raise nul_byte(where, line_ends(head[:where]) + 1, path)


def line_ends(data: bytes) -> int:
    """The line ends in ``data`` (held whole: a CRLF is not cut in two): LF, CRLF and a lone CR
    each end a line, as :class:`RowWidths` and an editor count them. The one count by which a
    byte's row (not UTF-8, a NUL) is named, by every reader and the Dask engine's blocks."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def nul_byte(offset: int | None, row: int, path: str | Path) -> InputError:
    """The error for a NUL byte inside a text file (past its start, which would have read as
    binary): a damaged file or binary data pasted in; kept, it would become part of a value (a
    gene "BR\\x00AF") without a word."""
    at = f"byte {offset} is" if offset is not None else "a byte is"
    return InputError(
        f"{at} a NUL (binary data, not text).",
        path=path,
        row=row,
        hint="The file is damaged or holds binary data: export or copy it again as text.",
    )


def refuse_cut_short(
    data: bytes | str, path: str | Path, *, delimiter: str, quoted: bool, skip: int = 0
) -> None:
    """Refuse a table that was cut short (an interrupted download or copy): it ends without a
    line break, inside a last row that has fewer fields than the header. Read as it is, that row
    would come in with its last values cut or empty (half a statement, no URL) without a word. A
    complete file ends with a line break, so only a file that does not has its last row parsed.
    ``skip``: comment lines before the header (a MAF's)."""
    if not data or data.endswith(("\n", "\r") if isinstance(data, str) else (b"\n", b"\r")):
        return
    raw = data.encode("utf-8") if isinstance(data, str) else data
    _refuse_short_last_row([raw], path, delimiter=delimiter, quoted=quoted, skip=skip)


def refuse_cut_short_file(
    source: Path, path: str | Path, *, delimiter: str, quoted: bool, skip: int = 0
) -> None:
    """:func:`refuse_cut_short` for a file read in pieces (``annotate``, the Dask engine), plain
    or compressed (gzip, or a zip or 7z archive's single member): a plain file's last byte is
    looked at; a compressed one is decompressed through once to find its last byte. Only a file
    that does not end with a line break is read through again, to its last row. ``skip``: comment
    lines before the header (a MAF's)."""
    with source.open("rb") as handle:
        compressed = archive_kind(_read_head(handle)) is not None
        size = handle.seek(0, io.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        last = handle.read(1)
    if compressed:
        with open_stream(source) as stream:
            last = b""
            while block := stream.read(1 << 20):
                last = block[-1:]
    if last not in (b"\n", b"\r", b""):
        _refuse_short_last_row_of(source, path, delimiter=delimiter, quoted=quoted, skip=skip)


def _refuse_short_last_row_of(
    source: Path, path: str | Path, *, delimiter: str, quoted: bool, skip: int
) -> None:
    """The last row of ``source`` (decompressed as it is read), refused when cut short."""
    with open_stream(source) as stream:
        blocks = iter(lambda: stream.read(1 << 20), b"")
        _refuse_short_last_row(blocks, path, delimiter=delimiter, quoted=quoted, skip=skip)


class _CutShortWatch(io.RawIOBase):
    """A stream passed through as it is, which at its end refuses a table cut short (the rule of
    :func:`refuse_cut_short_file`): its last byte is kept as the reader goes, so a compressed
    input is decompressed once; only one that ends without a line break is read again. With
    ``widths``, every record's number of fields is checked as it passes (:class:`RowWidths`)."""

    def __init__(
        self, stream: BinaryIO, source: Path, path: str | Path, *, cut_short: bool = True,
        widths: RowWidths | None = None, **rule: object,
    ) -> None:  # fmt: skip
        self.stream, self.source, self.path, self.rule = stream, source, path, rule
        self.cut_short, self.widths = cut_short, widths
        self.last, self.done = b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        if data:
            self.last = data[-1:]
            if self.widths is not None:
                self.widths.feed(data)
        elif len(buffer) and not self.done:
            self.done = True  # the end: checked once, before the reader takes it for complete
            if self.cut_short and self.last not in (b"\n", b"\r", b""):
                _refuse_short_last_row_of(self.source, self.path, **self.rule)  # type: ignore[arg-type]
            if self.widths is not None:
                self.widths.end()
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def open_checked_stream(
    source: Path, path: str | Path, *, delimiter: str, quoted: bool, skip: int = 0,
    cut_short: bool = True, widths: bool = False,
) -> Iterator[BinaryIO]:  # fmt: skip
    """:func:`open_stream` over a table whose end is checked as it is reached: a table cut short
    raises the :func:`refuse_cut_short_file` error there, from inside the reader, so a compressed
    file (whose last byte cannot be looked at without decompressing it) is not read twice.
    ``cut_short=False`` leaves that check out (a plain file checked when it was opened);
    ``widths``: every record must have the header's number of fields (:class:`RowWidths`)."""
    with open_stream(source) as stream:
        counter = RowWidths(path, delimiter=delimiter, quoted=quoted, skip=skip) if widths else None
        watch = _CutShortWatch(
            stream, source, path, cut_short=cut_short, widths=counter, delimiter=delimiter, quoted=quoted,
            skip=skip,
        )  # fmt: skip
        yield io.BufferedReader(watch, buffer_size=1 << 16)  # type: ignore[arg-type]


def check_rows_of(
    source: Path, path: str | Path, *, delimiter: str, quoted: bool, skip: int = 0, cut_short: bool = False
) -> None:
    """Read ``source`` (plain or compressed) through once, refusing a record whose number of fields
    is not the header's (:class:`RowWidths`) and, with ``cut_short``, a table cut short: for a
    reader that cannot check as it reads (Dask's)."""
    with open_checked_stream(
        source, path, delimiter=delimiter, quoted=quoted, skip=skip, cut_short=cut_short, widths=True
    ) as stream:
        while stream.read(1 << 20):
            pass


def _refuse_short_last_row(
    blocks: Iterable[bytes], path: str | Path, *, delimiter: str, quoted: bool, skip: int = 0
) -> None:
    """The last record of a table that ends without a line break, as :class:`RowWidths` reads it
    (named by its first line, as an editor shows it: blank lines skipped, a quoted value's line
    breaks counted), refused when it has fewer fields than the header; the Dask engine's blocks
    apply the same rule (:meth:`RowWidths.cut_short`). A file cut inside a quoted value is cut
    short when the record has fewer fields so far; a ragged row before the last is left to the
    widths check."""
    widths = RowWidths(path, delimiter=delimiter, quoted=quoted, skip=skip, bad=[])
    for block in blocks:
        view = memoryview(block)
        for start in range(0, len(block), 1 << 20):  # a table held whole: a mebibyte at a time
            widths.feed(bytes(view[start : start + (1 << 20)]))
    widths.end(final=False)
    cut = (widths.start, widths.fields) if widths.in_quote else widths.cut_short()
    if cut is not None and widths.width is not None and cut[1] < widths.width:
        raise cut_short_row(cut[1], widths.width, path=path, row=cut[0])


#: The most a CSV, TSV or MAF's comment lines and header line may hold: past it, the file is one
#: line (no line breaks: not a table), and the Dask engine's client stops reading it there.
HEADER_CAP = 64 << 20


def header_too_long(path: str | Path, cap: int) -> InputError:
    """The error for a CSV, TSV or MAF whose header line (with a MAF's comment lines) runs past
    ``cap`` bytes: a file with no line breaks (or binary data) is not a table, and reading on
    for its header's end would hold the whole file in memory."""
    return InputError(
        f"its header line runs past {cap >> 20} MiB without a line break: this is not a table "
        "of rows (one line, or binary data).",
        path=path,
        hint="Check that it is the file you meant; a CSV, TSV or MAF has one row per line.",
    )


def cut_short_row(found: int, width: int, *, path: str | Path, row: int) -> InputError:
    """The error for a table cut short: its last row has ``found`` of the header's ``width``
    fields and the file ends without a line break (the one wording, whichever reader finds it)."""
    return InputError(
        f"the last row has {found} of the header's {width} fields and the file ends "
        "without a line break: it was cut short (an interrupted download or copy).",
        path=path,
        row=row,
        hint="Download or copy the file again.",
    )


def ragged_row(found: int, width: int, *, path: str | Path, row: int, delimiter: str) -> InputError:
    """The error for a row whose number of fields is not the header's: the one wording, whichever
    reader finds it. A short row would otherwise come in padded with empty values (pandas fills
    them without a word: a label or a statement lost), a long one shifted or cut."""
    sep = {"\t": "tabs", ",": "commas"}.get(delimiter, repr(delimiter))
    if found < width:
        what = f"only {found} of the header's {width} fields: a value is missing or was cut off"
        hint = f"Give the row all {width} fields (an empty value as nothing between two {sep}), or remove it."
    else:
        what = f"{found} fields where the header has {width}: a value probably holds one of the {sep}"
        hint = "Quote that value (CSV) or remove the extra separator, or remove the row."
    return InputError(f"this row has {what}.", path=path, row=row, hint=hint)


def open_quote(row: int, path: str | Path) -> InputError:
    """The error for a CSV whose quoted value never ends: every line after its opening quote would
    be read into it (pandas says "EOF inside string"), the rows it swallows lost without a word."""
    return InputError(
        "a quoted value begins on this row and never ends: the rest of the file would be read into it.",
        path=path,
        row=row,
        hint='Close the quote (a quote inside a quoted value is written twice, ""), or remove it.',
    )


class BadRecord(NamedTuple):
    """A record whose number of fields is not the header's, as :class:`RowWidths` keeps it when
    told to keep rather than refuse: its first line (``row``), its ``fields``, its bytes
    ``start:end`` in what was fed (line end included) and its ``ordinal`` among the data records."""

    row: int
    fields: int
    start: int
    end: int
    ordinal: int


class RowWidths:
    """Checks, as a delimited text is fed to it a block at a time, that every record has as many
    fields as the header: the one rule for every reader of CSV, TSV and MAF (pandas pads a short
    row with empty values and reads a first row one field too long as an index, both silently).
    Blank lines are skipped as the readers skip them; ``skip`` comment lines come before the
    header; ``quoted``: RFC 4180 quoting, where a quoted value may hold the delimiter and line
    breaks. Raises :func:`ragged_row`'s error naming the record's first line.

    A piece of a file (a Dask partition's block of whole lines) is checked with the header's
    ``width`` given, as it holds no header; its rows are then numbered from the piece's start. With
    ``bad`` (a list), a record of the wrong width is appended to it as a :class:`BadRecord` instead
    of refused, so that a reader can set it aside (``--on-bad-rows skip``); with ``starts`` (a
    list), each data record's first line is appended to it. ``records`` counts the
    data records, ``line`` the lines, ``body`` the offset where they begin past the header, and
    ``last`` is the last record's (first line, fields)."""

    def __init__(
        self, path: str | Path, *, delimiter: str, quoted: bool, skip: int = 0, width: int | None = None,
        bad: list[BadRecord] | None = None, starts: list[int] | None = None,
    ) -> None:  # fmt: skip
        self.path, self.sep, self.quoted, self.skip = path, delimiter.encode(), quoted, skip
        self.width = width
        self.bad, self.starts = bad, starts
        self.header = width is None  # the first record is the header, unless the width is given
        self.records = 0  # data records seen
        self.last: tuple[int, int] | None = None
        self.line = 0  # lines seen
        self.offset = 0  # bytes of the lines seen, their ends included
        self.carry: list[bytes] = []  # a line begun and not yet ended, in the pieces it came in
        self.fields, self.start, self.in_quote = 0, 0, False  # the record being read
        self.start_byte, self.end_byte = 0, 0  # where the record being read begins; its line's end
        self.body = 0  # where the records after the header begin

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if b"\x00" in data:  # a NUL in a text table: named with its row, never read into a value
            self._nul(b"".join(self.carry) + data)
        # Lines end at LF, or at a lone CR (a CR last in the block may be a CRLF's first half).
        cut = data.rfind(b"\n")
        if cut == -1:
            cut = data.rfind(b"\r", 0, len(data) - 1)
        if cut == -1:  # no line ends here: kept in pieces, never copied again per block
            self.carry.append(data)
            return
        complete = b"".join([*self.carry, data[: cut + 1]])
        self.carry = [data[cut + 1 :]] if cut + 1 < len(data) else []
        lines = complete.split(b"\n")
        ended = complete.endswith(b"\n")
        if ended:
            lines.pop()
        last = len(lines) - 1
        for number, line in enumerate(lines):
            self._line(line, len(line) + (1 if ended or number < last else 0))

    def _nul(self, data: bytes) -> None:
        # ``data`` begins where the lines seen end (``offset``): the NUL's byte in what was fed,
        # the file's when fed from its start, as every other reader names it.
        where = data.find(b"\x00")
        row = self.line + line_ends(data[:where]) + 1
        raise nul_byte(self.offset + where, row, self.path)

    def end(self, *, final: bool = True) -> None:
        """The end of what is fed: the file's (``final``), or of a piece of it, where a quoted
        value may go on into the next piece."""
        if self.carry:
            line = b"".join(self.carry)
            self._line(line, len(line))
            self.carry = []
        if final and self.in_quote:
            raise open_quote(self.start, self.path)

    def cut_short(self) -> tuple[int, int] | None:
        """The last record (its first line, its fields) when it has fewer fields than the header:
        the table was cut short if it ends there without a line break."""
        if self.last is None or self.width is None or self.last[1] >= self.width:
            return None
        return self.last

    def check(self, data: bytes, *, final: bool = True) -> None:
        """Check a table held whole, a mebibyte at a time (its lines are never all split at once)."""
        view = memoryview(data)
        for start in range(0, len(data), 1 << 20):
            self.feed(bytes(view[start : start + (1 << 20)]))
        self.end(final=final)

    def _line(self, line: bytes, size: int) -> None:
        """One line, ``size`` bytes of the input with its end."""
        begin = self.offset
        if line.endswith(b"\r"):
            line = line[:-1]
        if b"\r" in line:  # a lone CR ends a line too, as the readers take it (in a value, it is one)
            pieces = line.split(b"\r")
            for piece in pieces[:-1]:
                self._line(piece, len(piece) + 1)
            self._line(pieces[-1], size - (self.offset - begin))
            return
        self.offset += size
        self.end_byte = self.offset
        self.line += 1
        if self.line <= self.skip:
            return
        if self.in_quote:
            self._quoted(line, continued=True)
            return
        if self.line == 1 and self.width is None and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]  # the file's byte-order mark: no part of its first line
        if not line.strip(blank_bytes(self.sep)):
            return  # skipped by the readers
        self.start, self.start_byte = self.line, begin
        if self.quoted and b'"' in line:
            self.fields = 0
            self._quoted(line, continued=False)
        else:
            self._record(line.count(self.sep) + 1)

    def _quoted(self, line: bytes, *, continued: bool) -> None:
        """Count the fields of ``line`` with RFC 4180 quoting: a quote opening a field quotes it to
        the next lone quote; elsewhere a quote is a character."""
        position, sep, size = 0, self.sep, len(line)
        if not continued:
            self.fields = 1
        while True:
            if self.in_quote:
                close = line.find(b'"', position)
                while close != -1 and line[close + 1 : close + 2] == b'"':
                    close = line.find(b'"', close + 2)
                if close == -1:
                    return  # the value goes on to the next line
                self.in_quote, position = False, close + 1
            elif line[position : position + 1] == b'"' and self._field_start(line, position):
                self.in_quote, position = True, position + 1
                continue
            following = line.find(sep, position)
            if following == -1:
                self._record(self.fields)
                return
            self.fields += 1
            position = following + 1
            if position > size:
                self._record(self.fields)
                return

    def _field_start(self, line: bytes, position: int) -> bool:
        return position == 0 or line[position - 1 : position] == self.sep

    def _record(self, fields: int) -> None:
        if self.header:
            self.header, self.width, self.body = False, fields, self.end_byte
            return
        assert self.width is not None
        ordinal, self.records = self.records, self.records + 1
        self.last = (self.start, fields)
        if self.starts is not None:
            self.starts.append(self.start)
        if fields == self.width:
            return
        if self.bad is None:
            raise ragged_row(fields, self.width, path=self.path, row=self.start, delimiter=self.sep.decode())
        self.bad.append(BadRecord(self.start, fields, self.start_byte, self.end_byte, ordinal))


def blank_bytes(sep: bytes) -> bytes:
    """What a blank line may hold besides its end, the readers' rule (pandas' too): spaces and
    tabs, or in a TSV spaces only (a tab there ends a field, and a line of tabs is a row)."""
    return b" \t" if sep != b"\t" else b" "


def for_pandas(data: bytes, delimiter: str) -> bytes:
    """``data`` as pandas' C parser must be given it to read the rows :class:`RowWidths` counts.
    After a blank line (empty, or of :func:`blank_bytes`) that ends with a lone CR, the parser
    takes the next byte for that CR's LF if it is the delimiter, and drops it: a first field left
    empty (``,KRAS,G12D``) vanishes, the row's values shift left, and a row of one delimiter
    vanishes whole (every later row then stood on another line than RowWidths' count gave it).
    Such a CR is given to pandas as an LF, the same length, so every offset holds; a copy is made
    only when the data holds one (a quoted value holding such a line gets an LF for that CR)."""
    sep = delimiter.encode()
    if b"\r" + sep not in data:
        return data
    blank = re.escape(blank_bytes(sep))
    pattern = re.compile(rb"(?:^|(?<=[\r\n]))[" + blank + rb"]*\r(?=" + re.escape(sep) + rb")")
    return pattern.sub(lambda found: found.group()[:-1] + b"\n", data)


def refuse_ragged_rows(
    data: bytes,
    path: str | Path,
    *,
    delimiter: str,
    quoted: bool,
    skip: int = 0,
    starts: list[int] | None = None,
) -> None:
    """:class:`RowWidths` over a table held whole (``starts``: each record's first line is
    appended to it)."""
    RowWidths(path, delimiter=delimiter, quoted=quoted, skip=skip, starts=starts).check(data)


def not_utf8_byte(offset: int, row: int, path: str | Path) -> InputError:
    """The error for a byte that is not UTF-8, at ``offset`` of the file, on line ``row``."""
    return InputError(
        f"byte {offset} is not valid UTF-8.",
        path=path,
        row=row,
        hint="Save the file as UTF-8 (for example with iconv -t UTF-8).",
    )


def check_text(data: bytes, path: str | Path) -> None:
    """Refuse ``data`` unless it is UTF-8 text, as :func:`decode` does, without keeping a decoded
    copy: checked a block at a time (the error, when there is one, comes from :func:`decode`)."""
    _refuse_binary(data, path)
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    block = 1 << 22
    try:
        for start in range(0, len(data), block):
            decoder.decode(view[start : start + block], final=start + block >= len(data))
    except UnicodeDecodeError:
        decode(data, path)  # raises with the byte and row
        raise


def decode(data: bytes, path: str | Path) -> str:
    """Decode UTF-8 (a byte-order mark is dropped), normalising CRLF; refuse binary files."""
    _refuse_binary(data, path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts from after the byte-order mark it drops; the user's file holds it.
        start = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        raise not_utf8_byte(start, line_ends(data[:start]) + 1, path) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_text(path: str | Path) -> str:
    return decode(read_bytes(path), path)


@contextmanager
def _open_stream(path: Path, limit: int) -> Iterator[BinaryIO]:
    """A binary stream over ``path`` or its single archive member, opened once, decompressed as it
    is read and bounded by ``limit``. A 7z member is decompressed into memory first (py7zr cannot
    stream); an archive arriving through a pipe is buffered (compressed) to be read."""
    with _open_raw(path) as (raw, seekable):
        head = _read_head(raw)
        kind = archive_kind(head)
        if kind is None:
            yield io.BufferedReader(_Prefixed(head, raw), buffer_size=1 << 16)  # type: ignore[arg-type]
            return
        if seekable:
            raw.seek(0)
            source: BinaryIO = raw
        else:
            source = io.BytesIO(head + raw.read(limit + 1))
            if source.getbuffer().nbytes > limit:
                _check_size(path, limit + 1, limit + 1, limit)
        if kind == "7z":
            yield io.BytesIO(_read_7z(source, path, limit))
            return
        if kind == "gzip":
            size = source.seek(0, io.SEEK_END)
            source.seek(0)
            with gzip.GzipFile(fileobj=source) as member:
                counted = _Counted(member, path, size, limit)  # type: ignore[arg-type]
                yield io.BufferedReader(counted, buffer_size=1 << 16)  # type: ignore[arg-type]
            return
        try:
            with zipfile.ZipFile(source) as archive:
                infos = {info.filename: info for info in archive.infolist()}
                info = infos[_single(list(infos), path)]
                _check_size(path, info.file_size, info.compress_size, limit)
                with archive.open(info) as member:
                    counted = _Counted(member, path, info.compress_size, limit)  # type: ignore[arg-type]
                    yield io.BufferedReader(counted, buffer_size=1 << 16)  # type: ignore[arg-type]
        except zipfile.BadZipFile as exc:
            raise InputError(f"not a readable zip archive ({exc}).", path=path) from exc
        except (*_DAMAGED, zipfile.LargeZipFile) as exc:
            raise InputError(f"the zip archive is truncated or corrupt ({exc}).", path=path) from exc


def iter_lines(
    path: str | Path, *, max_line_chars: int | None = None, block: int = 1 << 20, keep_ends: bool = False
) -> Iterator[str]:
    """The lines of a UTF-8 text file (or its single archive member), decoded as they stream in.

    Same rules as :func:`read_text` (byte-order mark dropped, CRLF and CR read as newlines, binary
    and invalid UTF-8 refused with the byte and line), but only one block and one line are held at
    a time, so a 500 MB Kaggle text file never sits in memory whole. A line longer than
    ``max_line_chars`` is refused before it is assembled. ``keep_ends``: each line with its
    ``\n``, so a last line without one (the file ends inside it: cut short?) can be told apart.
    """
    path = existing_file(path)
    with _open_stream(path, get_settings().max_member_bytes) as stream:
        yield from _lines(stream, path, max_line_chars, block, keep_ends=keep_ends)


def not_utf8(source: Path, path: str | Path) -> InputError | None:
    """Where ``source`` (named ``path``) first fails to decode as UTF-8, with its byte and row as
    :func:`iter_lines` says it, for a reader whose own decoder knows neither (pandas reading in
    chunks); None if it decodes. Read through again, so only once a reader has failed."""
    try:
        with _open_stream(source, get_settings().max_member_bytes) as stream:
            for _ in _lines(stream, Path(path), None, 1 << 20):
                pass
    except InputError as exc:
        return exc
    return None


def _lines(
    stream: BinaryIO, path: Path, max_line_chars: int | None, block: int, *, keep_ends: bool = False
) -> Iterator[str]:
    end = "\n" if keep_ends else ""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending: list[str] = []  # pieces of the line still being read
    pending_chars = 0
    line_number = 1
    consumed = 0  # bytes before the current block
    carry = ""  # a CR at a block's end: its LF may open the next block
    first = True
    while True:
        data = stream.read(block)
        if first:
            _refuse_binary(data, path)
            first = False
        buffered = decoder.getstate()[0]  # bytes of the previous block not yet decoded
        held = len(buffered)
        # utf-8-sig counts the input it drops a byte-order mark from after the mark.
        undecided = getattr(decoder, "first", False)
        shift = len(codecs.BOM_UTF8) if undecided and (buffered + data).startswith(codecs.BOM_UTF8) else 0
        try:
            text = carry + decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            start = exc.start + shift
            # A CR carried from the last block ended a line unless this block opens with its LF.
            lone_cr = int(carry == "\r" and not data.startswith(b"\n"))
            row = line_number + lone_cr + line_ends(data[: max(start - held, 0)])
            raise not_utf8_byte(max(consumed + start - held, 0), row, path) from exc
        consumed += len(data)
        if consumed > (bound := get_settings().max_member_bytes):
            _check_size(path, consumed, consumed, bound)
        carry = ""
        if data and text.endswith("\r"):
            text, carry = text[:-1], "\r"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        pieces = text.split("\n")
        for piece in pieces[:-1]:
            pending.append(piece)
            yield "".join(pending) + end
            pending, pending_chars = [], 0
            line_number += 1
        if pieces[-1]:
            pending.append(pieces[-1])
            pending_chars += len(pieces[-1])
            if max_line_chars is not None and pending_chars > max_line_chars:
                raise InputError(
                    f"a line of more than {max_line_chars:,} characters, past the limit for one text.",
                    path=path,
                    row=line_number,
                    hint="Split the document, or raise ONCOCLASS_MAX_TEXT_CHARS if it is genuine.",
                )
        if not data:
            break
    if pending:
        yield "".join(pending)
