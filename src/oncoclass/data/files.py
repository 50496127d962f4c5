"""Reading user files: plain, ``.zip`` or ``.7z``, decoded, with bounds against hostile archives.

Archives are read into memory and never extracted to disk, so member names (``../``, absolute
paths, symlinks) cannot write anywhere; size bounds refuse zip bombs before decompressing.
"""

from __future__ import annotations

import codecs
import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from oncoclass.errors import InputError

#: Largest member we will decompress; Kaggle's biggest file is ~180 MB.
MAX_MEMBER_BYTES = int(os.environ.get("ONCOCLASS_MAX_MEMBER_BYTES", str(2 * 1024**3)))
#: A compression ratio above this is treated as a bomb (text compresses ~3-10x).
MAX_RATIO = 200

_JUNK_PREFIXES = ("__MACOSX/",)


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.endswith("/") or name.startswith(_JUNK_PREFIXES) or base.startswith("._")


def archive_kind(path: Path) -> str | None:
    with path.open("rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"PK\x03\x04") or magic.startswith(b"PK\x05\x06"):
        return "zip"
    if magic == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    return None


def _single(names: list[str], path: Path) -> str:
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


def _read_7z(path: Path) -> bytes:
    import py7zr
    from py7zr.exceptions import ArchiveError

    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            infos = {info.filename: info for info in archive.list() if not info.is_directory}
            name = _single(list(infos), path)
            info = infos[name]
            _check_size(path, info.uncompressed or 0, info.compressed or 1)
            factory = _MemoryFactory()
            archive.extract(targets=[name], factory=factory)
    except (ArchiveError, EOFError, OSError, ValueError, KeyError) as exc:
        raise InputError(f"the 7z archive is truncated or corrupt ({exc}).", path=path) from exc
    except Exception as exc:  # py7zr raises assorted bare errors on damaged streams
        if isinstance(exc, InputError):
            raise
        raise InputError(f"the 7z archive cannot be read ({exc}).", path=path) from exc
    data = factory.data(name)
    _check_size(path, len(data), info.compressed or 1)
    return data


class _MemoryFactory:
    """py7zr writer factory that keeps members in memory, bounded by MAX_MEMBER_BYTES."""

    def __init__(self) -> None:
        self._buffers: dict[str, _BoundedBuffer] = {}

    def create(self, filename: str) -> _BoundedBuffer:
        buffer = _BoundedBuffer()
        self._buffers[filename] = buffer
        return buffer

    def data(self, filename: str) -> bytes:
        return self._buffers[filename].getvalue()


class _BoundedBuffer(io.BytesIO):
    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > MAX_MEMBER_BYTES:
            raise InputError(f"an archive member is larger than {MAX_MEMBER_BYTES} bytes.")
        return super().write(data)

    def size(self) -> int:
        return self.tell()

    def flush(self) -> None:
        pass

    def close(self) -> None:  # py7zr closes writers; keep the bytes readable afterwards
        pass


def _check_size(path: Path, uncompressed: int, compressed: int) -> None:
    if uncompressed > MAX_MEMBER_BYTES:
        raise InputError(
            f"the archive member would unpack to {uncompressed} bytes, past the "
            f"{MAX_MEMBER_BYTES}-byte limit.",
            path=path,
            hint="Raise ONCOCLASS_MAX_MEMBER_BYTES if the file is genuine.",
        )
    if compressed > 0 and uncompressed > 1024**2 and uncompressed / compressed > MAX_RATIO:
        raise InputError(
            f"the archive member compresses {uncompressed // compressed}:1, which looks like a "
            "zip bomb; refusing to unpack it.",
            path=path,
        )


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file.", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file.", path=path)
    return path


def read_bytes(path: str | Path) -> bytes:
    """The bytes of ``path``, or of the single file inside it when it is a zip or 7z archive."""
    path = _existing_file(path)
    try:
        if archive_kind(path) == "7z":
            return _read_7z(path)  # already whole in memory; no stream to read it through
        with _open_stream(path) as stream:
            data = stream.read(MAX_MEMBER_BYTES + 1)
    except PermissionError as exc:
        raise InputError("permission denied.", path=path) from exc
    if len(data) > MAX_MEMBER_BYTES:  # a zip member larger than its header declared
        _check_size(path, len(data), 1)
    return data


def _refuse_binary(head: bytes, path: str | Path) -> None:
    if b"\x00" in head[:8192]:
        raise InputError(
            "looks like a binary file, not text.",
            path=path,
            hint="Pass the CSV/TSV/text file itself (zip and 7z archives are read directly).",
        )


def _not_utf8(offset: int, row: int, path: str | Path) -> InputError:
    return InputError(
        f"byte {offset} is not valid UTF-8.",
        path=path,
        row=row,
        hint="Save the file as UTF-8 (for example with iconv -t UTF-8).",
    )


def decode(data: bytes, path: str | Path) -> str:
    """Decode UTF-8 (a byte-order mark is dropped), normalising CRLF; refuse binary files."""
    _refuse_binary(data, path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc.start, data[: exc.start].count(b"\n") + 1, path) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_text(path: str | Path) -> str:
    return decode(read_bytes(path), path)


@contextmanager
def _open_stream(path: Path) -> Iterator[BinaryIO]:
    """A binary stream over ``path`` or its single archive member, with the same bounds as
    :func:`read_bytes`. A 7z member is decompressed into memory first (py7zr cannot stream)."""
    kind = archive_kind(path)
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                infos = {info.filename: info for info in archive.infolist()}
                info = infos[_single(list(infos), path)]
                _check_size(path, info.file_size, info.compress_size)
                with archive.open(info) as member:
                    yield member  # type: ignore[misc]
        except zipfile.BadZipFile as exc:
            raise InputError(f"not a readable zip archive ({exc}).", path=path) from exc
        except (EOFError, zipfile.LargeZipFile, OSError) as exc:
            raise InputError(f"the zip archive is truncated or corrupt ({exc}).", path=path) from exc
    elif kind == "7z":
        yield io.BytesIO(_read_7z(path))
    else:
        size = path.stat().st_size
        if size > MAX_MEMBER_BYTES:
            _check_size(path, size, size)
        with path.open("rb") as handle:
            yield handle


def iter_lines(path: str | Path, *, max_line_chars: int | None = None, block: int = 1 << 20) -> Iterator[str]:
    """The lines of a UTF-8 text file (or its single archive member), decoded as they stream in.

    Same rules as :func:`read_text` (byte-order mark dropped, CRLF and CR read as newlines, binary
    and invalid UTF-8 refused with the byte and line), but only one block and one line are held at
    a time, so a 500 MB Kaggle text file never sits in memory whole. A line longer than
    ``max_line_chars`` is refused before it is assembled.
    """
    path = _existing_file(path)
    try:
        with _open_stream(path) as stream:
            yield from _lines(stream, path, max_line_chars, block)
    except PermissionError as exc:
        raise InputError("permission denied.", path=path) from exc


def _lines(stream: BinaryIO, path: Path, max_line_chars: int | None, block: int) -> Iterator[str]:
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
        held = len(decoder.getstate()[0])  # bytes of the previous block not yet decoded
        try:
            text = carry + decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            row = line_number + data[: max(exc.start - held, 0)].count(b"\n")
            raise _not_utf8(max(consumed + exc.start - held, 0), row, path) from exc
        consumed += len(data)
        if consumed > MAX_MEMBER_BYTES:
            _check_size(path, consumed, 1)
        carry = ""
        if data and text.endswith("\r"):
            text, carry = text[:-1], "\r"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        pieces = text.split("\n")
        for piece in pieces[:-1]:
            pending.append(piece)
            yield "".join(pending)
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
