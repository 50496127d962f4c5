"""Generic tables (CSV, TSV, JSONL, Parquet) with columns id, gene, variation, text, label.

Other column names are mapped with ``columns={"gene": "Hugo_Symbol", ...}``; common spellings
(:data:`oncoclass.data.table.COLUMN_ALIASES`: ``ID``, ``Gene``, ``HGVSp_Short``, ``Class``…) are
recognised without a mapping.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass.data.files import (
    HEADER_CAP,
    check_text,
    decode,
    for_pandas,
    header_too_long,
    open_stream,
    read_bytes,
    refuse_cut_short,
    refuse_ragged_rows,
)
from oncoclass.data.table import (
    CANONICAL_COLUMNS,
    COLUMN_ALIASES,
    CONTEXT_FIELDS,
    LABEL,
    PROTEIN_CHANGE_COLUMNS,
    VARIATION,
    VARIATION_NAMES,
    as_text,
    canonicalize,
    change_disagreements,
)
from oncoclass.errors import InputError, OutputError
from oncoclass.settings import get_settings

FORMATS = ("csv", "tsv", "jsonl", "parquet")
#: A line's end (CRLF, LF or a lone CR, as the readers take them), and where one begins.
_LINE_END = re.compile(rb"\r\n|[\r\n]")
_LINE_BREAK = re.compile(rb"[\r\n]")


#: An output table's format, by the ending of its name: the formats oncoclass reads, written back.
TABLE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: The table formats written as text, which a further ``.gz`` gzips (Parquet is compressed already).
TEXT_TABLES = ("csv", "tsv", "jsonl")


def output_format(path: str | Path) -> tuple[str, bool]:
    """The format a table output's name asks for (:data:`TABLE_SUFFIXES`; CSV for a name with no
    ending) and whether it is gzipped (``p.tsv.gz``); any other ending (``.xlsx``, ``.json``,
    ``.zip``) is refused (:func:`oncoclass.output.named_format`)."""
    from oncoclass.output import named_format

    return named_format(path, TABLE_SUFFIXES, default="csv", gzips=TEXT_TABLES)


def write_frame(
    frame: pd.DataFrame, handle: Any, fmt: str, *, exact: bool = False, header: bool = True,
    newline: str = "\n",
) -> None:  # fmt: skip
    """Write ``frame`` to an open ``handle`` (binary for Parquet, text otherwise) in ``fmt``.
    Probabilities are written to six significant digits; ``exact`` writes every number as it is
    (a user's own columns, given back by ``annotate``). ``header=False`` leaves out a CSV or TSV
    header, for the second and later pieces of a file written a chunk at a time. ``newline`` ends
    a CSV's or TSV's lines (``annotate`` gives a CRLF file back with CRLF)."""
    digits = None if exact else "%.6g"
    if fmt == "parquet":
        frame.to_parquet(handle, index=False)
    elif fmt == "jsonl":
        frame.to_json(handle, orient="records", lines=True, double_precision=15 if exact else 6)
    elif fmt == "tsv":
        # Unquoted, as CIViC writes TSV and as read_frame reads it: a statement's quotes stay
        # quotes. A value holding a tab or a line break cannot be written so (csv.Error).
        frame.to_csv(
            handle, sep="\t", index=False, header=header, float_format=digits, quoting=csv.QUOTE_NONE,
            lineterminator=newline,
        )  # fmt: skip
    else:
        frame.to_csv(handle, sep=",", index=False, header=header, float_format=digits, lineterminator=newline)


def save_frame(frame: pd.DataFrame, out: str | Path) -> Path | None:
    """Write ``frame`` atomically in the format ``out``'s name asks for (:func:`output_format`);
    ``-`` writes CSV to standard output. Returns the path written, or None for standard output."""
    from oncoclass.output import atomic_write, is_stdout, write_stdout

    if is_stdout(out):
        write_stdout(lambda handle: write_frame(frame, handle, "csv"))
        return None
    path = Path(out)
    fmt, gzipped = output_format(path)
    try:
        atomic_write(
            path, lambda handle: write_frame(frame, handle, fmt), binary=fmt == "parquet", gzipped=gzipped
        )
    except csv.Error:
        raise OutputError(
            "a value holds a tab or a line break, which a TSV file cannot carry; nothing was written.",
            path=path,
            hint="Write .csv or .parquet instead.",
        ) from None
    return path


def maf_comment_lines(head: str | bytes) -> int | None:
    """How many lines open a MAF before its header: comment lines (``#version 2.4``, as the GDC
    writes them) and any blank lines among them, ``head`` being the start of the file; None when
    it is not a MAF (its first line that is neither a comment nor blank does not name
    ``Hugo_Symbol`` among tab-separated columns). The one MAF rule: ``annotate`` keeps these lines
    and writes them back, every other reader skips them (each counts them as lines of the file,
    as row numbers do)."""
    text = head.decode("utf-8-sig", errors="replace") if isinstance(head, bytes) else head.lstrip("\ufeff")
    comments = 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith("#") or not line.strip():
            comments += 1
        else:
            return comments if "Hugo_Symbol" in line.split("\t") else None
    return None


#: Excel's delimiter hint, ``sep=,`` alone on a file's first line (Excel writes it, and reads it
#: to choose the delimiter): no header, no row.
_EXCEL_SEP = re.compile(rb"^sep=(.)\r?$")


def lines_before_header(head: bytes, fmt: str, path: str | Path) -> int:
    """How many lines come before the header of a CSV or TSV (``fmt``) whose start is ``head``:
    a MAF's comment lines (:func:`maf_comment_lines`), or Excel's ``sep=X`` line, skipped when it
    names the format's delimiter and refused, named, when it names another. The one rule for
    every reader (each counts these lines in row numbers)."""
    if fmt == "tsv" and (comments := maf_comment_lines(head)):
        return comments
    first = _LINE_BREAK.split(head.removeprefix(codecs.BOM_UTF8), 1)[0]
    hint = _EXCEL_SEP.match(first)
    if hint is None:
        return 0
    named = hint.group(1).decode("latin-1")
    if named == ("\t" if fmt == "tsv" else ","):
        return 1
    shown = "a tab" if named == "\t" else repr(named)
    raise InputError(
        f"the first line, {first.decode('utf-8', errors='replace').strip()!r}, is Excel's hint that the "
        f"values are separated by {shown}, which oncoclass does not read as {fmt.upper()}.",
        path=path,
        row=1,
        hint="Save it again as CSV with commas (in Excel: CSV UTF-8 (comma delimited)) or as "
        "tab-separated text.",
    )


def refuse_semicolons(header: str, path: str | Path) -> None:
    """A CSV header separated by semicolons (a spreadsheet's CSV where a comma is the decimal
    mark) reads as one column: said as such, with what to do, rather than as missing columns."""
    if ";" in header and "," not in header and "\t" not in header and len(header.split(";")) > 1:
        raise InputError(
            "the header is separated by semicolons (;), not commas: a spreadsheet's CSV for a "
            "locale whose decimal mark is a comma.",
            path=path,
            row=1,
            hint="Save it again as CSV with commas (in Excel: CSV UTF-8 (comma delimited)) or as "
            "tab-separated text.",
        )


def guess_format(path: Path, data: bytes) -> str:
    if data[:4] == b"PAR1":
        return "parquet"
    if maf_comment_lines(data[:65536]):  # a MAF with comment lines: its first line is one
        return "tsv"
    hint = _EXCEL_SEP.match(_LINE_BREAK.split(data[:64].removeprefix(codecs.BOM_UTF8), 1)[0])
    if hint is not None:  # Excel's sep= line names the delimiter
        return "tsv" if hint.group(1) == b"\t" else "csv"
    suffixes = [s.lower() for s in path.suffixes]
    for fmt, names in (("tsv", (".tsv", ".tab")), ("jsonl", (".jsonl", ".ndjson", ".json"))):
        if any(s in names for s in suffixes):
            return fmt
    stripped = data.lstrip()[:1]
    if stripped in (b"{", b"["):
        return "jsonl"
    # The first line that holds anything: blank lines before the header (a lone tab, spaces) are
    # skipped by every reader, so they say nothing of the delimiter.
    lines = (line.removeprefix(codecs.BOM_UTF8) for line in _LINE_BREAK.split(data[:65536]))
    first_line = next((line for line in lines if line.strip(b" \t")), b"")
    if first_line.count(b"\t") > first_line.count(b","):
        return "tsv"
    return "csv"


def refuse_duplicate_names(names: list[Any], path: str | Path) -> None:
    """A header naming one column twice is refused, by every reader: pandas would rename the
    second (``gene.1``) or keep one of them without a word, and which one the user meant cannot be
    known (nor could ``annotate`` give both back unchanged)."""
    seen: set[str] = set()
    for name in map(str, names):
        if name in seen:
            raise InputError(
                f"the column {name!r} appears twice in the header; which one is meant cannot be known.",
                path=path,
                hint="Rename one of them.",
            )
        seen.add(name)


def header_line(data: bytes, skip: int = 0, *, whole: bool = False) -> bytes | None:
    """The header line of a CSV, TSV or MAF whose start is ``data`` (after ``skip`` comment
    lines), without its line end, however long (a wide sample matrix's runs past any fixed cut,
    and a name cut in two could read as a repeat); a lone CR ends a line too, as the readers take
    it. None when ``data`` ends before the line does, unless it is the ``whole`` file."""
    start = 0
    for _ in range(skip):  # searched in place: a slice of data would copy the file
        found = _LINE_END.search(data, start)
        if found is None:
            return b"" if whole else None
        start = found.end()
    end = _LINE_BREAK.search(data, start)
    if end is None:
        return data[start:] if whole else None
    return data[start : end.start()]


def header_of(path: Path, skip: int, name: str = "") -> bytes | None:
    """The header line of a CSV, TSV or MAF (however long, up to :data:`HEADER_CAP`), read a
    mebibyte at a time (decompressed, when ``path`` is compressed); None for a file that has
    none. Past the cap it is refused (:func:`header_too_long`, ``name`` being the name the user
    gave), unread further: the one place a streamed header is bounded (the Dask engine's client,
    ``annotate``). Each block's new bytes are scanned once
    (the line ends of ``skip`` comment lines, then the header's end), and the blocks are joined
    once: a long line is neither copied nor scanned again per block."""
    chunks: list[bytes] = []
    size, left = 0, skip
    begin: int | None = 0 if skip == 0 else None  # where the header begins in the file
    after_cr = False  # the last comment line ended at a CR closing a block: its LF may follow
    with open_stream(path) as handle:
        while block := handle.read(1 << 20):
            offset, at = size, 0
            chunks.append(block)
            size += len(block)
            if after_cr and block[:1] == b"\n":  # a CRLF cut between two blocks: one line end
                at = 1
                if begin == offset:
                    begin = offset + 1
            after_cr = False
            while begin is None and (found := _LINE_END.search(block, at)) is not None:
                at, left = found.end(), left - 1
                after_cr = found.group() == b"\r" and at == len(block)
                if left == 0:
                    begin = offset + at
            if begin is not None and (end := _LINE_BREAK.search(block, max(at, begin - offset))) is not None:
                return b"".join(chunks)[begin : offset + end.start()]
            if size > HEADER_CAP:
                raise header_too_long(name or str(path), HEADER_CAP)  # by the name the user gave
    if begin is None:
        return None
    line = b"".join(chunks)[begin:]
    return line if line.removeprefix(codecs.BOM_UTF8).strip() else None


def header_cells(first: bytes | str, *, tab: bool) -> list[str]:
    """The header's names as written (a CSV's as RFC 4180 reads them: a quoted name may hold a
    comma); empty when a CSV header cannot be read (pandas then says why)."""
    line = first.decode("utf-8-sig", errors="replace") if isinstance(first, bytes) else first.lstrip("\ufeff")
    if tab:
        return line.split("\t")
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def without_padding(names: list[str]) -> list[str]:
    """``names`` without the empty names that end them: a spreadsheet saved as CSV pads a header
    (and its rows) with empty columns, which hold nothing and name nothing. Read past, never
    taken for a column named twice; pandas names each ``Unnamed: N``, a column no rule reads."""
    end = len(names)
    while end and not names[end - 1].strip():
        end -= 1
    return names[:end]


def check_header(first: bytes | str, path: str | Path, *, tab: bool) -> None:
    """The header's rules, by every reader of a CSV, TSV or MAF: no column named twice (pandas
    would rename the second, ``sample.1``, without a word), and a CSV's not separated by
    semicolons. ``tab``: a TSV or MAF, unquoted."""
    if not tab:
        line = first.decode("utf-8-sig", errors="replace") if isinstance(first, bytes) else first
        refuse_semicolons(line.lstrip("\ufeff"), path)
    refuse_duplicate_names(without_padding(header_cells(first, tab=tab)), path)


def read_frame(
    path: str | Path, fmt: str | None = None, data: bytes | None = None, starts: list[int] | None = None
) -> pd.DataFrame:
    """The file's rows as read, under its own column names. ``starts`` (a CSV, TSV or MAF): each
    row's first line in the file is appended to it, by the rule that checks their widths."""
    path = Path(path)
    data = read_bytes(path) if data is None else data
    fmt = fmt or guess_format(path, data)
    try:
        if fmt == "parquet":
            _check_parquet_size(data, path)
            frame = pd.read_parquet(io.BytesIO(data))  # typed columns: checked by canonicalize
            refuse_duplicate_names(list(frame.columns), path)
            return frame
        if fmt == "jsonl":
            return _read_jsonl(decode(data, path), path)
        check_text(data, path)
        sep = "\t" if fmt == "tsv" else ","
        quoting = 3 if fmt == "tsv" else 0  # TSV exports are unquoted; CSV follows RFC 4180
        # A MAF's comment lines (#version 2.4) are skipped, and counted in every row number.
        skip = lines_before_header(data[:65536], fmt, path)
        refuse_cut_short(data, path, delimiter=sep, quoted=fmt != "tsv", skip=skip)
        refuse_ragged_rows(data, path, delimiter=sep, quoted=fmt != "tsv", skip=skip, starts=starts)
        first = header_line(data, skip, whole=True) or b""
        if len(first) > HEADER_CAP:  # refused as the Dask engine refuses it (it reads no further)
            raise header_too_long(path, HEADER_CAP)
        check_header(first, path, tab=fmt == "tsv")
        # Parsed from the bytes (checked above to be UTF-8 text), not from a decoded copy: a
        # StringIO would hold the table again, four bytes a character.
        frame = pd.read_csv(
            io.BytesIO(for_pandas(data, sep)), sep=sep, dtype=str, keep_default_na=False, quoting=quoting,
            encoding="utf-8-sig", engine="c", skiprows=skip,
        )  # fmt: skip
        frame.attrs["comment_lines"] = skip
        return frame
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty.", path=path) from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"cannot be parsed as {fmt.upper()} ({exc}).", path=path) from exc
    except (ValueError, OSError, NotImplementedError, TypeError) as exc:
        raise InputError(f"cannot be read as {fmt} ({exc}).", path=path) from exc


def _check_parquet_size(data: bytes, path: Path) -> None:
    """Refuse a Parquet file whose columns decode past the table cap (dictionary and run-length
    pages can make a small file decode to a huge table); read from its footer, before decoding."""
    import pyarrow.parquet as pq

    limit = get_settings().max_table_bytes

    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if decoded > limit:
        raise InputError(
            f"the Parquet table decodes to {decoded} bytes, past the {limit}-byte limit.",
            path=path,
            hint="Raise ONCOCLASS_MAX_TABLE_BYTES if the file is genuine.",
        )


def _refuse_one_object(text: str, path: Path) -> None:
    """A file whose first line is no record may be one JSON object written over several lines (a
    metadata.json, a model card): valid JSON, but no table; said so, not "row 1: invalid JSON"."""
    try:
        whole = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return
    if isinstance(whole, dict):
        raise InputError(
            "this is one JSON object, not a table of records.",
            path=path,
            hint="Give a table: CSV, TSV, JSON Lines (one record object per line), a JSON array of "
            "records, or Parquet.",
        )


def _read_jsonl(text: str, path: Path) -> pd.DataFrame:
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg}).", path=path, row=exc.lineno) from exc
        except RecursionError as exc:
            raise InputError("the JSON is nested too deeply.", path=path) from exc
        if not isinstance(records, list):
            raise InputError("a JSON file must hold an array of objects, or one object per line.", path=path)
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise InputError(
                    f"element {number} of the JSON array is {type(record).__name__}, not an object.",
                    path=path,
                    hint='Each record must be an object such as {"id": "1", "gene": "BRAF", ...}.',
                )
    else:
        records = []
        lines: list[int] = []  # each record's line: blank lines before it move it on
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                if not records:
                    _refuse_one_object(text, path)
                raise InputError(f"invalid JSON ({exc.msg}).", path=path, row=number) from exc
            except RecursionError as exc:
                raise InputError("the JSON is nested too deeply.", path=path, row=number) from exc
            if not isinstance(record, dict):
                raise InputError("each line must be a JSON object.", path=path, row=number)
            records.append(record)
            lines.append(number)
    if not records:
        raise InputError("the file holds no records.", path=path)
    # Built column by column as objects, so each value keeps the type JSON gave it (a missing
    # field is None, 1 stays 1, 1.0 stays a float) for the canonical table's type check.
    names = list(dict.fromkeys(key for record in records for key in record))
    frame = pd.DataFrame({name: [r.get(name) for r in records] for name in names}, dtype=object)
    if not text.lstrip().startswith("["):
        frame.attrs["lines"] = lines  # JSON Lines: a record is named by its line
    return frame


def map_columns(frame: pd.DataFrame, columns: dict[str, str] | None, path: str | Path) -> pd.DataFrame:
    columns = dict(columns or {})
    unknown = [k for k in columns if k not in (*CANONICAL_COLUMNS, *CONTEXT_FIELDS, LABEL)]
    if unknown:
        raise InputError(
            f"cannot map unknown canonical column(s) {', '.join(unknown)}.",
            hint=f"Map onto {', '.join((*CANONICAL_COLUMNS, *CONTEXT_FIELDS, LABEL))}.",
        )
    absent = [v for v in columns.values() if v not in frame.columns]
    if absent:
        raise InputError(
            f"mapped column(s) {', '.join(absent)} not found; the file has "
            f"{', '.join(map(str, frame.columns))}.",
            path=path,
        )
    lowered = names_by_case(list(frame.columns), path)
    renames: dict[Any, str] = {}
    for canonical in (*CANONICAL_COLUMNS, *CONTEXT_FIELDS, LABEL):
        if canonical in columns:
            renames[columns[canonical]] = canonical
            continue
        for synonym in COLUMN_ALIASES[canonical]:
            if synonym in lowered and lowered[synonym] not in renames:
                renames[lowered[synonym]] = canonical
                break
    # A column already named as a canonical one that another name won (``gene`` beside
    # ``Hugo_Symbol``, which is read first) keeps its values under ``input_gene``, as an input
    # column whose name ours use always is, rather than standing beside it as a second ``gene``.
    taken = set(renames.values())
    for column in frame.columns:
        if column in taken and column not in renames:
            renames[column] = f"input_{column}"
    return frame.rename(columns=renames)


def names_by_case(names: list[Any], path: str | Path) -> dict[str, Any]:
    """A table's column names by their lower case (names are matched whatever their case, by
    every reader), refusing two recognised names that differ only in case: ``Gene`` and ``gene``
    would be one column."""
    lowered: dict[str, Any] = {}
    recognised = {synonym for names in COLUMN_ALIASES.values() for synonym in names}
    for column in names:
        name = str(column).strip().lower()
        if name in lowered and name in recognised:
            raise InputError(
                f"the columns {lowered[name]!r} and {column!r} differ only in case, and both would be "
                "read as one column; which one is meant cannot be known.",
                path=path,
                hint="Rename one of them.",
            )
        lowered.setdefault(name, column)
    return lowered


def load_generic(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    fmt: str | None = None,
    data: bytes | None = None,
    keep: tuple[str, ...] = (),
) -> pd.DataFrame:
    data = read_bytes(path) if data is None else data
    fmt = fmt or guess_format(Path(path), data)
    starts: list[int] = []
    as_read = read_frame(path, fmt, data, starts=starts)
    frame = map_columns(as_read, columns, path)
    # A CSV/TSV row is named by the line it begins on (RowWidths' count: its header, a MAF's
    # comment lines, blank lines and quoted values holding line breaks before it all move it on),
    # as the Dask engine names it; a JSON record or Parquet row counts from 1.
    offset = 2 + as_read.attrs.get("comment_lines", 0) if fmt in ("csv", "tsv") else 1
    row_of = None
    if fmt in ("csv", "tsv") and len(starts) == len(as_read):  # one start per row pandas read
        row_of = starts.__getitem__
    elif "lines" in as_read.attrs:  # JSON Lines: each record's line, past blank lines
        row_of = as_read.attrs["lines"].__getitem__
    table = canonicalize(frame, source=path, row_offset=offset, keep=keep, as_read=as_read, row_of=row_of)
    table.attrs["source"] = str(path)
    table.attrs.setdefault("notes", [])
    table.attrs["notes"] += _change_notes(
        as_read, columns, path, row_of or (lambda position: position + offset)
    )
    return table


def _change_notes(
    as_read: pd.DataFrame, columns: dict[str, str] | None, path: str | Path, row_of: Callable[[int], int]
) -> list[str]:
    """A note when the protein-change columns the variation is read from (the first of them,
    ``HGVSp_Short`` before ``Protein_Change``…) name other changes in some rows
    (:func:`oncoclass.data.table.change_disagreements`, which ``annotate`` notes per row)."""
    lowered = names_by_case(list(as_read.columns), path)
    if (columns and VARIATION in columns) or any(name in lowered for name in VARIATION_NAMES):
        return []  # the variation is the table's own column, or the one --columns names
    present = [lowered[name] for name in PROTEIN_CHANGE_COLUMNS if name in lowered]
    if len(present) < 2:
        return []
    notes = change_disagreements({column: as_text(as_read[column]) for column in present}, as_read.index)
    differ = np.flatnonzero((notes != "").to_numpy())
    if not len(differ):
        return []
    first = int(differ[0])
    return [
        f"{len(differ)} row(s) whose protein-change columns name different changes; the first, "
        f"row {row_of(first)}: {notes.iloc[first]}."
    ]
