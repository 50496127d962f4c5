"""Batch scoring of large inputs on Dask: partitions scored in parallel, on one machine or many.

Each partition is read, checked row by row, scored and written by one task, so nothing larger
than a partition is ever in memory and the client only gathers counts. Workers load the model
once and keep it (keyed by the model file's checksum) for every later partition. Rows that are
not valid (no ID, gene or variation; a text over the length limit; a CSV line with the wrong
number of fields) stop the job with a message naming them, or with ``on_bad_rows="skip"`` go to
a reject file with the reason: every input row ends up in exactly one of the two outputs.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass.annotate import (
    Lookup,
    Sheet,
    Sink,
    Tally,
    annotate_chunk,
    output_of,
    predict_variants,
    refuse_annotated,
    variants_in,
    write_output,
)
from oncoclass.config import InputSpec
from oncoclass.data.detect import detect_format
from oncoclass.data.files import (
    STDIN,
    BadRecord,
    RowWidths,
    archive_kind,
    blank_bytes,
    check_rows_of,
    cut_short_row,
    damaged_archive,
    existing_file,
    for_pandas,
    line_ends,
    not_utf8_byte,
    nul_byte,
    ragged_row,
    refuse_binary,
)  # fmt: skip
from oncoclass.data.table import (
    ID,
    check_columns,
    label_columns,
    no_data_rows,
    numbered_ids,
    numbered_note,
    numbers_rows,
    refuse_row_problems,
    row_problems,
    text_columns,
)
from oncoclass.data.tables import check_header, header_of, lines_before_header, map_columns
from oncoclass.errors import ConfigError, InputError
from oncoclass.jobs.inputs import load_input
from oncoclass.jobs.predict import (
    PREDICTION_INFO_COLUMNS,
    predict_table,
    sidecar_path,
    store_notes,
    write_sidecar,
)
from oncoclass.kb.retrieve import attach
from oncoclass.kb.store import Store, open_store, store_inputs
from oncoclass.output import atomic_write, check_output, is_stdout, make_parent, named_format
from oncoclass.persist import Bundle, load_bundle

REJECT_COLUMNS = ("ID", "reason", "raw")


@dataclass
class BatchResult:
    out: Path
    rows: int
    rejected: int
    reject_path: Path | None
    partitions: int
    model_id: str
    seconds: float
    notes: list[str] = field(default_factory=list)


# --- on the workers -------------------------------------------------------------------------

_MODELS: dict[tuple[str, str], Bundle] = {}


def _model(model_dir: str, sha: str) -> Bundle:
    """The worker's copy of the model: loaded on its first partition, reused after."""
    key = (model_dir, sha)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_bundle(model_dir)
    return _MODELS[key]


_STORES: dict[tuple[str, str], Store] = {}


def _store(url: str, job: str) -> Store:
    """The worker's connection to the evidence store: opened on its first partition of a job,
    reused for the job's later ones. Keyed by the job too, so a long-lived worker never reads a
    store through a connection opened before the file was replaced."""
    key = (url, job)
    if key not in _STORES:
        _close_stores()  # a job that failed midway left its own open
        # The client opened it first (and brought its schema up to date): this only connects.
        _STORES[key] = open_store(url, create=False)
    return _STORES[key]


def _close_stores() -> None:
    """Close the worker's store connections (the end of a job: a long-lived worker keeps none)."""
    for store in _STORES.values():
        store.close()
    _STORES.clear()


def _canonical(
    frame: pd.DataFrame, columns: dict[str, str] | None, source: str, ids: list[str] | None = None
) -> pd.DataFrame:
    """The partition as the canonical table. ``ids``: the table has no IDs and these number its
    rows as the local engine numbers them (by their place in the file)."""
    frame = map_columns(frame, columns, source)
    if ids is not None and numbers_rows(frame.columns):
        frame = frame.assign(**{ID: ids})
    check_columns(frame.columns, source)
    return text_columns(frame).set_axis(frame.index)


@dataclass
class _Part:
    """A partition of a CSV, TSV or MAF as its worker read it: the rows of the header's width,
    their IDs when the table numbers its rows, and the rows set aside (``ID``, ``reason``, ``raw``)."""

    frame: pd.DataFrame
    ids: list[str] | None
    rejects: pd.DataFrame
    #: What names a row by its line in the file: the block, where it is, and its good records.
    block: bytes = b""
    where: dict[str, Any] = field(default_factory=dict)
    good: list[int] = field(default_factory=list)

    def row_of(self, position: int) -> int:
        """The line of the file that the frame's row ``position`` begins on (found again by the
        first pass's rule, only for a message)."""
        starts: list[int] = []
        w = self.where
        RowWidths(
            w["path"], delimiter=w["sep"], quoted=w["quoted"], skip=w["skip"] if w["first"] else 0,
            width=None if w["first"] else w["width"], bad=[], starts=starts,
        ).check(self.block, final=False)  # fmt: skip
        return int(w["line"]) + starts[self.good[position]]


def score_partition(
    part: pd.DataFrame | _Part, index: int, *, model_dir: str, sha: str, columns: dict[str, str] | None,
    source: str, staging: str, fmt: str, skip_bad: bool, kb: str | None = None,
    input_format: str = "", first_row: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Check, score and write one partition; returns its counts and IDs (for the duplicate check).
    ``part``: a CSV's block as :func:`_read_block` read it (its rows of the wrong width already set
    aside), or a partition of a table read otherwise, whose rows are numbered from ``first_row``
    when it has no IDs. With ``kb`` (the store's URL) its rows get their evidence first, as the
    local engine's do."""
    bundle = _model(model_dir, sha)
    if isinstance(part, _Part):
        frame, ids, set_aside = part.frame, part.ids, part.rejects
    else:
        numbered = first_row is not None and numbers_rows(part.columns)
        frame, set_aside = part, pd.DataFrame(columns=list(REJECT_COLUMNS))
        ids = numbered_ids(len(part), start=first_row or 0) if numbered else None
    table = _canonical(frame, columns, source, ids)
    reasons = row_problems(table, frame)
    bad = reasons != ""
    if bad.any() and not skip_bad and isinstance(part, _Part):
        # Named by its row in the file, as the local engine names it (counted in this partition).
        refuse_row_problems(
            table, reasons, source=source, row_of=part.row_of, counted=" in its part of the file",
            hint="Fix the rows, or pass --on-bad-rows skip to write them to a reject file.",
        )  # fmt: skip
    if bad.any() and not skip_bad:
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{int(bad.sum())} malformed row(s) in partition {index}; the first "
            f"({table[ID].iloc[first][:60]!r}): {reasons.iloc[first]}.",
            path=source,
            hint="Fix the rows, or pass --on-bad-rows skip to write them to a reject file.",
        )
    good = table[~bad]
    if kb is not None:
        # The attributes the local engine's loader sets: a row's own item is named by them (a
        # numbered table's by its content, as the store keys it: kb.sources.table_items).
        good.attrs = {"format": input_format, "source": source, "numbered": ids is not None}
        good = attach(good, _store(kb, staging))
    out = predict_table(bundle, good)
    name = f"part-{index:06d}"
    if fmt == "parquet":
        out.to_parquet(Path(staging) / "out" / f"{name}.parquet", index=False)
    else:
        out.to_csv(Path(staging) / "out" / f"{name}.csv", index=False, header=False, float_format="%.6g")
    found = pd.DataFrame({"ID": table[ID][bad], "reason": reasons[bad], "raw": ""})
    rejects = pd.concat([set_aside, found], ignore_index=True) if len(set_aside) else found
    if len(rejects):
        rejects.to_csv(Path(staging) / "rejects" / f"{name}.csv", index=False, header=False)
    return {"rows": len(good), "rejected": len(rejects), "ids": good[ID].to_numpy()}


# --- a CSV, TSV or MAF read by the workers ---------------------------------------------------
#
# Each worker reads a block of whole lines of the file (Dask's byte ranges, cut at line ends), so
# the client never reads the file through. The rule on each row's width (RowWidths) and on its
# bytes (UTF-8, no NUL) is the one every reader applies; what it finds must be named by its row
# in the file, and a block does not know on which line it begins. So a first pass over the blocks
# (in parallel) counts each one's lines and records and finds its problems, numbered from its
# start; the client adds them up, refuses the first problem by its row in the file, and gives
# each block of the second pass (which scores it) its first line and record, and the records it
# is to set aside (--on-bad-rows skip).


@dataclass
class _Blocks:
    """A plain CSV, TSV or MAF as blocks of whole lines (delayed bytes), and how to read them."""

    blocks: list[Any]
    names: list[str]  # the columns, as pandas names them from the header
    sep: str
    quoted: bool
    skip: int  # a MAF's comment lines, before the header


@dataclass
class _Shape:
    """The first pass over one block: its size, lines and records, and its problems, their rows
    counted from the block's first line (its offsets from its first byte)."""

    size: int
    lines: int
    records: int
    width: int | None  # the header's, in the first block
    body: int  # where the first block's rows begin (past its comment lines and header)
    bad: list[BadRecord]
    not_utf8: tuple[int, int] | None = None  # (offset, row)
    nul: tuple[int, int] | None = None  # (offset, row)
    #: Its line ends of every kind, LF, CRLF and a lone CR each one (files.line_ends): a byte's
    #: row (not UTF-8, a NUL) is counted by them, as every reader counts it; a block whose bytes
    #: fail is not read by RowWidths, whose lines (``lines``) are then not known.
    line_ends: int = 0
    #: The last record when the block ends without a line break inside it and it has fewer fields
    #: than the header (row, fields): the file is cut short if this is the file's last byte.
    cut_short: tuple[int, int] | None = None
    #: The block ends inside a quoted value: a value holding a line break runs on into the next,
    #: or (in the block holding the file's end) a quote never closed.
    cuts_a_value: bool = False


def _shape_block(
    block: bytes, *, first: bool, width: int, path: str, sep: str, quoted: bool, skip: int
) -> _Shape:
    """The first pass on a block (see above). Every block is checked alike, as a piece that may
    not be the file's last: which block holds the file's end is known only once all are shaped
    (Dask's last block may be empty, its line read whole by the one before), so the checks on
    the end (cut short, a quote never closed) are made by :func:`_placed` on the last block with
    bytes."""
    ends = line_ends(block)  # a block ends after an LF (Dask cuts there): no CRLF cut in two
    if (where := block.find(b"\x00")) != -1:
        # Before UTF-8, as the local engine looks for NULs in the whole file before it decodes it.
        # Found here by its own rule (every reader's: files.line_ends), not told from a quote
        # never closed by the state RowWidths is left in: a NUL inside a quoted value is a NUL.
        nul = (where, line_ends(block[:where]) + 1)
        return _Shape(len(block), 0, 0, None, 0, [], nul=nul, line_ends=ends)
    try:
        str(block, "utf-8")  # as every reader, before the widths
    except UnicodeDecodeError as exc:
        row = line_ends(block[: exc.start]) + 1
        return _Shape(len(block), 0, 0, None, 0, [], not_utf8=(exc.start, row), line_ends=ends)
    bad: list[BadRecord] = []
    widths = RowWidths(
        path, delimiter=sep, quoted=quoted, skip=skip if first else 0, width=None if first else width, bad=bad
    )  # fmt: skip
    widths.check(block, final=False)  # keeps bad rows; a NUL was refused above; the end is _placed's
    cut = widths.cut_short() if not block.endswith((b"\n", b"\r")) else None
    shape = _Shape(
        len(block), widths.line, widths.records, widths.width, widths.body, bad, cut_short=cut, line_ends=ends
    )  # fmt: skip
    shape.cuts_a_value = widths.in_quote
    return shape


def _placed(
    shapes: list[_Shape], sep: str, path: str, *, skip_bad: bool, empty_ok: bool = False
) -> list[tuple[int, int]]:
    """Each block's first line and first record in the file, from the first pass's shapes; the
    first problem (by the order every reader checks them in) refused by its row in the file.
    ``empty_ok``: a header alone is no problem (annotate writes it back; predict refuses it)."""
    places, lines, records = [], 0, 0
    for shape in shapes:
        places.append((lines, records))
        lines, records = lines + shape.lines, records + shape.records
    offsets = np.concatenate([[0], np.cumsum([s.size for s in shapes])]).tolist()
    ends = np.concatenate([[0], np.cumsum([s.line_ends for s in shapes])]).tolist()
    # A NUL anywhere first, then bytes that are not UTF-8: the local engine looks for NULs in the
    # whole file (files.check_text) before it decodes it.
    for before, offset, shape in zip(ends, offsets, shapes, strict=False):
        if shape.nul is not None:
            raise nul_byte(int(offset) + shape.nul[0], int(before) + shape.nul[1], path)
    for before, offset, shape in zip(ends, offsets, shapes, strict=False):
        if shape.not_utf8 is not None:
            raise not_utf8_byte(int(offset) + shape.not_utf8[0], int(before) + shape.not_utf8[1], path)
    width = shapes[0].width if shapes else None
    # The file's end is in the last block with bytes (Dask's last block may be empty).
    end = next((i for i in reversed(range(len(shapes))) if shapes[i].size), None)
    if end is not None and width is not None and (cut := shapes[end].cut_short) is not None:
        raise cut_short_row(cut[1], width, path=path, row=places[end][0] + cut[0])
    if not skip_bad and width is not None:
        for (line, _), shape in zip(places, shapes, strict=True):
            if shape.bad:
                first = shape.bad[0]
                raise ragged_row(first.fields, width, path=path, row=line + first.row, delimiter=sep)
    if records == 0 and not empty_ok:
        raise no_data_rows(path)
    return places


def _read_block(
    block: bytes, *, shape: _Shape, first: bool, line: int, record: int, width: int, names: list[str],
    path: str, sep: str, quoted: bool, skip: int, numbered: bool,
) -> _Part:  # fmt: skip
    """The second pass on a block: its rows of the header's width as a frame (the header and a
    MAF's comment lines left out), and the others set aside with their row in the file."""
    kept, position = [], shape.body if first else 0
    for record_ in shape.bad:
        kept.append(block[position : record_.start])
        position = record_.end
    kept.append(block[position:])
    data = b"".join(kept)
    if data.strip(b" \t\r\n"):
        frame = pd.read_csv(
            io.BytesIO(for_pandas(data, sep)), sep=sep, dtype=str, keep_default_na=False, header=None,
            names=names, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE, encoding="utf-8-sig",
            engine="c",
        )  # fmt: skip
    else:
        frame = pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    dropped = {b.ordinal for b in shape.bad}
    good = [n for n in range(shape.records) if n not in dropped]
    if len(good) != len(frame):  # a quoted value holding line breaks across two blocks
        raise InputError(
            f"the rows from line {line + 1} on cannot be told apart in a partition "
            "(a quoted value holding a line break?).",
            path=path,
            hint="Score the file with --engine local.",
        )
    rejects = pd.DataFrame(
        {
            "ID": "",
            "reason": [
                f"wrong number of fields (row {line + b.row}: {b.fields} where the header has {width})"
                for b in shape.bad
            ],
            "raw": [block[b.start : b.end].decode("utf-8").rstrip("\r\n") for b in shape.bad],
        },
        columns=list(REJECT_COLUMNS),
    )
    where = {"path": path, "sep": sep, "quoted": quoted, "skip": skip, "first": first, "width": width}
    ids = [str(record + n + 1) for n in good] if numbered else None
    return _Part(frame, ids, rejects, block, {**where, "line": line}, good)


# --- on the client --------------------------------------------------------------------------


def _read(spec: InputSpec, partitions: int | None) -> tuple[Any, str]:
    """The input as Dask partitions (a plain CSV, TSV or MAF as :class:`_Blocks`, read by the
    workers), and its format as every command detects it."""
    import dask.dataframe as dd

    path = existing_file(spec.path)
    regular = str(path) != STDIN and path.is_file()
    head = b""
    if regular:
        with path.open("rb") as handle:
            head = handle.read(65536)
    # The format is decided by the same rule as every other command (detect_format), from the
    # file's head: Kaggle files and CIViC exports have loaders of their own. An archive's head is
    # compressed bytes: its format is detected by the local reader, from what it holds.
    packed = archive_kind(head) is not None
    fmt = (
        spec.format if spec.format != "auto" or packed else (detect_format(path, head) if regular else "auto")
    )
    whole = spec.text or spec.labels or fmt in ("kaggle", "civic", "auto")
    if whole or packed:
        # Paired Kaggle files, CIViC exports, archives and pipes are read once, whole, then partitioned.
        frame = _whole(spec, partitions)
        return frame, str(frame.attrs.get("format", fmt))
    blocksize = _blocksize(path, partitions)
    if fmt == "parquet":
        frame = dd.read_parquet(str(path))
        return (frame.repartition(npartitions=partitions) if partitions else frame), fmt
    if fmt == "jsonl":
        return dd.read_json(str(path), lines=True, blocksize=blocksize, dtype=False), fmt
    sep = "\t" if fmt == "tsv" else ","
    skip = lines_before_header(head, fmt, spec.path)  # a MAF's #version lines, Excel's sep= line
    refuse_binary(head, spec.path)
    first = header_of(path, skip, spec.path)
    while first is not None and not first.removeprefix(codecs.BOM_UTF8).strip(blank_bytes(sep.encode())):
        # Blank lines before the header (after a byte-order mark, too) are skipped, as every reader
        # skips them, and counted, as row numbers count them.
        skip += 1
        first = header_of(path, skip, spec.path)
    if first is None:
        raise InputError("the file is empty.", path=spec.path)
    check_header(first, spec.path, tab=fmt == "tsv")
    quoting = csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL
    names = list(
        pd.read_csv(io.BytesIO(first), sep=sep, dtype=str, quoting=quoting, encoding="utf-8-sig").columns
    )  # fmt: skip
    return _blocks_of(path, names, tab=fmt == "tsv", skip=skip, partitions=partitions), fmt


def _shapes_of(client: Any, source: _Blocks, path: str) -> list[_Shape]:
    """The first pass over a file's blocks, on the cluster."""
    import dask

    rule = {"path": path, "sep": source.sep, "quoted": source.quoted, "skip": source.skip}
    return list(client.gather(client.compute([
        dask.delayed(_shape_block)(b, first=i == 0, width=len(source.names), **rule)
        for i, b in enumerate(source.blocks)
    ])))  # fmt: skip


def _blocks_of(source: Path, names: list[str], *, tab: bool, skip: int, partitions: int | None) -> _Blocks:
    """A plain CSV, TSV or MAF as blocks of whole lines for the workers, the first holding the
    comment lines and the header whole (each block ends at the first line end past its size)."""
    from dask.bytes import read_bytes

    blocksize = max(_blocksize(source, partitions), (_header_start(source, skip) or 0) + 1)
    _, [blocks] = read_bytes(str(source), delimiter=b"\n", blocksize=blocksize, sample=False)
    return _Blocks(list(blocks), names, "\t" if tab else ",", not tab, skip)


def _block_tasks(
    client: Any, source: _Blocks, path: str, *, skip_bad: bool, numbered: bool
) -> list[Any] | None:
    """The second pass's tasks over a CSV's blocks, after the first pass has placed them; None
    when the blocks cut a quoted value (one holding a line break), so the file must be read whole."""
    import dask

    width = len(source.names)
    rule = {"path": path, "sep": source.sep, "quoted": source.quoted, "skip": source.skip}
    shapes = _shapes_of(client, source, path)
    if any(shape.cuts_a_value for shape in shapes):
        # A quoted value holds line breaks across a block's end, and the blocks after it would be
        # read from inside it (the first such block is the first cut: those before it were read
        # from a record's start). Such a file cannot be cut at line ends: read whole instead.
        return None
    places = _placed(shapes, source.sep, path, skip_bad=skip_bad)
    read = {"width": shapes[0].width or width, "names": source.names, "numbered": numbered, **rule}
    return [
        dask.delayed(_read_block)(b, shape=shape, first=i == 0, line=line, record=record, **read)
        for i, (b, shape, (line, record)) in enumerate(zip(source.blocks, shapes, places, strict=True))
    ]


def _whole(spec: InputSpec, partitions: int | None) -> Any:
    """The input read whole by the local engine's reader (every rule of it), then partitioned."""
    import dask.dataframe as dd

    table = load_input(spec)
    frame = dd.from_pandas(table, npartitions=max(1, partitions or os.cpu_count() or 1), sort=False)
    frame.attrs = dict(table.attrs)
    return frame


def _header_start(path: Path, skip: int) -> int | None:
    """Where the header line begins: past ``skip`` lines (a MAF's comment lines, short)."""
    with path.open("rb") as handle:
        for _ in range(skip):
            if not handle.readline(1 << 20).endswith((b"\n", b"\r")):
                return None
        return handle.tell()


def _blocksize(path: Path, partitions: int | None) -> int:
    """Bytes of a file per Dask partition: ``partitions`` even pieces, else 32 MiB each."""
    return max(4096, path.stat().st_size // partitions + 1) if partitions else 32 << 20


@contextmanager
def _unreadable_as_input_error(path: str) -> Iterator[None]:
    # Dask reads the file in the client (to infer columns) and in the workers; both may find it
    # malformed.
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # Dask's own gzip reader, in a worker, on a .gz whose bytes were cut off.
        raise damaged_archive(exc, path) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = str(exc).replace("\n", " ")
        raise InputError(
            f"cannot be read ({type(exc).__name__}: {message}).",
            path=path,
            hint="Fix the file, or pass --on-bad-rows skip to set malformed lines aside.",
        ) from exc


def _client(scheduler: str | None) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    # The cluster's own log (scheduler and nanny start-up, connections, a worker's "Compute
    # Failed" with the task's traceback) went to stderr, ~30 lines a run, burying the one message
    # the job ends with. Failures reach the client as exceptions and are reported from there.
    logging.getLogger("distributed").setLevel(logging.ERROR)

    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc}).") from exc
    cluster = LocalCluster(
        n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )  # fmt: skip
    return Client(cluster), cluster


def predict_dask(
    model_dir: str | Path, spec: InputSpec, out: str | Path, *, scheduler: str | None = None,
    partitions: int | None = None, on_bad_rows: str = "fail", reject_path: str | Path | None = None,
    progress: Any = None, kb: str | None = None,
) -> BatchResult:  # fmt: skip
    """Score ``spec`` with the model in ``model_dir`` on Dask; write Parquet parts (``out`` a folder)
    or one CSV (``out`` ending in ``.csv``), atomically. See the module docstring for bad rows.
    With ``kb`` (a path or URL) each row gets the store's evidence, as with the local engine."""
    if on_bad_rows not in ("fail", "skip"):
        raise ConfigError(f"bad rows are either fail or skip, not {on_bad_rows!r}.", field="on_bad_rows")
    started = time.perf_counter()
    bundle = load_bundle(model_dir)
    out = Path(out)
    # One CSV, or a folder of Parquet parts (a name with no ending too); the one rule for names.
    fmt, _ = named_format(out, {".csv": "csv", ".parquet": "parquet"}, default="parquet")
    skip_bad = on_bad_rows == "skip"
    rejects = Path(reject_path) if reject_path else out.with_name(out.name + ".rejects.csv")
    inputs = [*spec.paths, *store_inputs(kb)]
    check_output(out, inputs=inputs, folder=fmt == "parquet", stdout_ok=False)
    for derived in (rejects, sidecar_path(out)):  # the reject file and the sidecar are outputs too
        check_output(
            derived, inputs=[*inputs, out], stdout_ok=False, field="rejects" if derived == rejects else "out"
        )
    _check_out(out, fmt)
    kb_url = _store_url(kb)
    with _unreadable_as_input_error(spec.path):
        source, input_format = _read(spec, partitions)
    # The columns are checked here, from the file's head, before a cluster is started.
    meta = pd.DataFrame(columns=source.names) if isinstance(source, _Blocks) else source._meta
    columns = map_columns(meta, spec.columns, spec.path).columns
    numbered = numbers_rows(columns)
    check_columns([*columns, ID] if numbered else columns, spec.path)
    make_parent(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    (staging / "out").mkdir()
    (staging / "rejects").mkdir()
    client, cluster = _client(scheduler)
    try:
        import dask

        tasks = None
        if isinstance(source, _Blocks):
            with _unreadable_as_input_error(spec.path):
                tasks = _block_tasks(client, source, spec.path, skip_bad=skip_bad, numbered=numbered)
            if tasks is None:  # read whole, then partitioned, as a pipe or an archive is
                source = _whole(spec, len(source.blocks))
        if tasks is None:
            tasks = source.to_delayed()
        first_rows: list[int | None] = [None] * len(tasks)
        if numbered and not isinstance(source, _Blocks):
            # Each partition's first row number: a first pass counts their rows (a CSV's blocks
            # were counted by their own first pass).
            with _unreadable_as_input_error(spec.path):
                lengths = source.map_partitions(len).compute()
            first_rows = [int(n) for n in np.concatenate([[0], np.cumsum(lengths)[:-1]])]
        if progress is not None:
            progress.start(len(tasks), "scoring partitions")
        options = {
            "model_dir": str(Path(model_dir).resolve()), "sha": bundle.metadata["model_sha256"],
            "columns": spec.columns, "source": spec.path, "staging": str(staging), "fmt": fmt,
            "skip_bad": skip_bad, "kb": kb_url, "input_format": input_format,
        }  # fmt: skip
        scored = [
            dask.delayed(score_partition)(t, i, first_row=first_rows[i], **options)
            for i, t in enumerate(tasks)
        ]
        with _unreadable_as_input_error(spec.path):
            # When several partitions hold bad rows, the earliest's error, as the local engine names it.
            results = _in_order(client, scored, progress)
        if kb_url is not None:
            client.run(_close_stores)
        rows = sum(r["rows"] for r in results)
        rejected = sum(r["rejected"] for r in results)
        if rows + rejected == 0:  # as the local engine, and a CSV's first pass, refuse it
            raise no_data_rows(spec.path)
        ids = pd.Series(np.concatenate([r["ids"] for r in results]) if results else [], dtype=object)
        duplicated = ids[ids.duplicated()]
        if len(duplicated):
            raise InputError(
                f"{len(duplicated)} duplicate ID(s) (first: {duplicated.iloc[0]!r}).",
                path=spec.path,
                hint="IDs must be unique so each prediction can be matched to its row.",
            )
        _finish(staging, out, fmt, bundle, rows)
        reject_out = None
        if rejected:
            reject_out = rejects
            _concatenate(sorted((staging / "rejects").glob("part-*.csv")), rejects, header=REJECT_COLUMNS)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(staging, ignore_errors=True)
    return BatchResult(
        out=out, rows=rows, rejected=rejected, reject_path=reject_out, partitions=len(tasks),
        model_id=bundle.model_id, seconds=time.perf_counter() - started,
        notes=([numbered_note(rows + rejected)] if numbered else []) + store_notes(bundle, kb),
    )  # fmt: skip


def _store_url(kb: str | None) -> str | None:
    """The URL the workers open the store ``kb`` by (None: no store), checked here first.

    Each worker retrieves its own partition's evidence with the local engine's :func:`attach`,
    rather than the client retrieving per distinct variant as ``annotate_dask`` does: a row's
    evidence depends on more than its variant (its own item and statement are left out, its
    context ranks the items), so a per-variant lookup would not give the local engine's output,
    and bringing every row's text to the client would undo the partitioning. An SQLite file (by
    its absolute path, on a file system the workers share, as the input and output already are)
    or a PostgreSQL URL (with its password, which the workers need to connect; it goes only to
    the user's own scheduler and workers) can be opened by every worker. Opening it here first
    refuses a wrong ``--kb`` before a cluster starts, and brings an older schema up to date once,
    not in each worker at the same time."""
    if kb is None:
        return None
    with open_store(kb, create=False) as store:
        return store.url


def _concatenate(parts: list[Path], target: Path, *, header: tuple[str, ...] | list[str]) -> None:
    """The header, then the parts (pandas' CSV, LF-ended) as they are: the header's line ends
    with LF too (csv's writer ends it with CRLF by default), as the local engine's output does."""

    def write(handle: Any) -> None:
        csv.writer(handle, lineterminator="\n").writerow(header)
        for part in parts:
            with part.open(encoding="utf-8") as chunk:
                shutil.copyfileobj(chunk, handle)

    atomic_write(target, write)


def _check_out(out: Path, fmt: str) -> None:
    earlier = out.is_dir() and all(p.name.startswith("part-") for p in out.iterdir())
    if fmt == "parquet" and out.exists() and not earlier:
        raise InputError(
            "exists and is not an earlier Parquet output of oncoclass.",
            path=out,
            hint="Choose another path (a new folder, or a name ending in .csv for one CSV).",
        )


def _finish(staging: Path, out: Path, fmt: str, bundle: Bundle, rows: int) -> None:
    header = ["ID", *label_columns(bundle.labels), *PREDICTION_INFO_COLUMNS]
    if fmt == "csv":
        _concatenate(sorted((staging / "out").glob("part-*.csv")), out, header=header)
    else:
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging / "out", out)
    write_sidecar(out, bundle, rows=rows, engine="dask")


# --- annotate on Dask -----------------------------------------------------------------------
#
# The same two passes as ``annotate_file``, over partitions instead of chunks: the workers tally
# their partitions' distinct variants, the client predicts each distinct variant once (with the
# store, if one is given), then the workers annotate their partitions and write them as parts,
# which the client joins in order into the output.


def tally_partition(
    frame: pd.DataFrame, *, path: str, columns: dict[str, str] | None, vcf: bool = False
) -> Tally:
    """The first pass on one partition: its :class:`oncoclass.annotate.Tally`."""
    tally = Tally()
    tally.add(variants_in(frame, path, columns, vcf=vcf))
    return tally


def annotate_partition(
    frame: pd.DataFrame, index: int, *, lookup: Lookup, path: str, columns: dict[str, str] | None,
    staging: str, fmt: str, vcf: bool = False, newline: str = "\n",
) -> None:  # fmt: skip
    """The second pass on one partition: annotated and written, header-less, as a part."""
    annotated = annotate_chunk(frame, variants_in(frame, path, columns, vcf=vcf), lookup)
    part = Path(staging) / f"part-{index:06d}"
    text = {} if fmt == "parquet" else {"encoding": "utf-8", "newline": ""}
    with part.open("wb" if fmt == "parquet" else "w", **text) as handle:  # type: ignore[call-overload]
        sink = Sink(handle, fmt, [], header=False, newline=newline)
        sink.write(annotated)
        sink.close()


def _sheet_partitions(sheet: Sheet, partitions: int | None) -> Any:
    """A sheet as Dask partitions: a streamed MAF, CSV or TSV read by the workers, a byte range
    each (a gzipped one by one worker, as gzip cannot be entered midway); anything else (a zip or
    7z archive, Parquet, JSONL) read whole here and partitioned, as ``predict`` does."""
    import dask.dataframe as dd

    if sheet.source is None or sheet.compression not in (None, "gzip"):
        whole = sheet.whole()
        return dd.from_pandas(whole, npartitions=max(1, partitions or os.cpu_count() or 1), sort=False)
    tab = sheet.fmt in ("maf", "tsv")
    options: dict[str, Any] = {
        "sep": "\t" if tab else ",", "dtype": str, "keep_default_na": False, "encoding": "utf-8-sig",
        "quoting": csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL, "skiprows": len(sheet.comments),
    }  # fmt: skip
    if sheet.compression == "gzip":
        options.update(compression="gzip", blocksize=None)
    else:
        blocksize = _blocksize(sheet.source, partitions)
        # Dask reads the header from a sample; with comment lines skipped it must lie in the first block.
        options.update(blocksize=blocksize, sample=min(blocksize, 256_000))
    return dd.read_csv(str(sheet.source), **options)


def annotate_dask(
    bundle: Bundle, sheet: Sheet, out: str | Path, *, columns: dict[str, str] | None = None,
    store: Store | None = None, probabilities: bool = False, scheduler: str | None = None,
    partitions: int | None = None, progress: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Annotate ``sheet`` (:func:`oncoclass.annotate.open_sheet`) into ``out`` on Dask: the same
    file as :func:`oncoclass.annotate.annotate_file` writes, written atomically. Returns the
    summary. The workers read the input and write their parts beside ``out``: on a cluster of
    several machines both must be on a file system they share."""
    if sheet.fmt == "vcf":
        raise ConfigError(
            "--engine dask reads MAFs and tables; annotate a VCF with --engine local (htslib writes "
            "its records back from the source file)."
        )
    refuse_annotated(list(sheet.frame.columns), sheet.path)
    fmt, _ = output_of(sheet, out)
    beside = None if is_stdout(out) else Path(out).parent
    if beside is not None:
        make_parent(Path(out))
    staging = Path(tempfile.mkdtemp(prefix=".oncoclass-annotate.", dir=beside))
    client, cluster = _client(scheduler)
    try:
        import dask

        where = {"path": sheet.path, "columns": columns, "vcf": sheet.fmt == "vcf"}
        end_check = None
        tab = sheet.fmt in ("maf", "tsv")
        if sheet.source is not None and sheet.compression is None:
            # Dask's reader pads a short row with empty values, as pandas does; annotate_chunk's
            # reader checks every row as it reads, Dask's cannot. So the workers check their blocks
            # first, as predict's do (the one width, UTF-8 and NUL rules, named by row), before any
            # output is written (the file's end was checked when it was opened).
            blocks = _blocks_of(sheet.source, [str(c) for c in sheet.frame.columns], tab=tab,
                                skip=len(sheet.comments), partitions=partitions)  # fmt: skip
            shapes = _shapes_of(client, blocks, sheet.path)
            if any(shape.cuts_a_value for shape in shapes):
                # A quote open at a block's end: a value holding line breaks, or a quote never
                # closed or a bad row after it, which the blocks read from inside the value cannot
                # place. The file is read through here by the local engine's rule, which refuses
                # those by their row with its message; a file that passes holds line breaks.
                check_rows_of(
                    sheet.source, sheet.path, delimiter="\t" if tab else ",", quoted=not tab,
                    skip=len(sheet.comments), cut_short=True,
                )  # fmt: skip
                raise InputError(
                    "quoted values hold line breaks, which cannot be split among Dask's partitions.",
                    path=sheet.path,
                    hint="Annotate it with --engine local.",
                )
            _placed(shapes, blocks.sep, sheet.path, skip_bad=False, empty_ok=True)
        elif sheet.source is not None and sheet.compression == "gzip":
            # One worker reads a gzipped file (gzip cannot be entered midway): it checks the rows,
            # and the end (a file cut short, then gzipped whole), beside the tallies.
            end_check = client.compute(dask.delayed(check_rows_of)(
                sheet.source, sheet.path, delimiter="\t" if tab else ",", quoted=not tab,
                skip=len(sheet.comments), cut_short=True,
            ))  # fmt: skip
        # Dask's reader is made only now: it samples the file's head, which a quote left open in
        # it makes fail with pandas' words; the rows' own check names the row first.
        try:
            with _unreadable_as_input_error(sheet.path):
                frame = _sheet_partitions(sheet, partitions)
        except InputError:
            if end_check is not None:
                end_check.result()
            raise
        tasks = frame.to_delayed()
        if progress is not None:
            progress.start(2 * len(tasks), "annotating partitions")
        with _unreadable_as_input_error(sheet.path):
            tallies = _in_order(client, [dask.delayed(tally_partition)(t, **where) for t in tasks], progress)
            if end_check is not None:
                end_check.result()
            tally = Tally()
            for part in tallies:
                tally.merge(part)
            lookup = predict_variants(bundle, tally, store=store, probabilities=probabilities)
            [shared] = client.scatter([lookup], broadcast=True)
            _in_order(client, [
                dask.delayed(annotate_partition)(
                    t, i, lookup=shared, staging=str(staging), fmt=fmt, newline=sheet.newline, **where
                )
                for i, t in enumerate(tasks)
            ], progress)  # fmt: skip
        empty = sheet.frame.iloc[:0]
        header = annotate_chunk(
            empty, variants_in(empty, sheet.path, columns, vcf=sheet.fmt == "vcf"), lookup
        )

        def write(sink: Sink) -> None:
            if fmt in ("maf", "csv", "tsv"):
                sink.write(header)  # the comment lines and the header: the parts have none
            for i in range(len(tasks)):
                sink.copy(staging / f"part-{i:06d}")

        write_output(write, sheet, out)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(staging, ignore_errors=True)
    return tally.summary()


def _in_order(client: Any, tasks: list[Any], progress: Any) -> list[Any]:
    """Run ``tasks`` on the cluster; their results in the tasks' order. When tasks fail, the error
    raised is that of the first of them in this order (over partitions: the earliest rows of the
    file), whichever finished first: a failed task's error waits for the tasks before it only.
    (``client.gather`` raises the error of whichever failed task it meets first in a set.)"""
    from distributed import as_completed, wait

    futures = client.compute(tasks)
    place = {id(future): n for n, future in enumerate(futures)}
    for future in as_completed(futures):
        if future.status == "error":
            n = place[id(future)]
            wait(futures[:n])
            first = next(f for f in futures[: n + 1] if f.status == "error")
            client.cancel(futures[n + 1 :])
            first.result()  # raises its error
        if progress is not None:
            progress()
    return list(client.gather(futures))  # none failed
