"""Annotate sequencing results: a MAF or a table of variants in, the same file out with columns
added (as OncoKB's MafAnnotator does), every input row and value kept.

The protein change of a row comes from the first column that has one, in the order of the one alias
list (:data:`oncoclass.data.table.PROTEIN_CHANGE_COLUMNS`: ``HGVSp_Short``, ``HGVSp``,
``Protein_Change``, ``amino_acid_change``, ``AAChange``…), then VEP's ``Amino_acids`` +
``Protein_position``; it is normalised by the one rule every input goes through
(:func:`oncoclass.variation.protein_change`). A row without one is classified from its consequence
where that says enough (a nonsense or frameshift change is a truncating mutation of its gene) and
otherwise kept with the reason in ``oncoclass_note``: a row is never dropped.
The same variant in many samples is predicted once.

A MAF or table is streamed (:func:`open_sheet`, :func:`annotate_file`): read a chunk at a time in
two passes, the first tallying the distinct variants (:class:`Tally`), predicted once each
(:func:`predict_variants`), the second adding their values to each chunk (:func:`annotate_chunk`)
and writing it (:class:`Sink`), so memory holds a chunk and the distinct variants, not the file.
The Dask engine (:func:`oncoclass.batch.annotate_dask`) runs the same pieces on partitions.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass.data.detect import is_vcf
from oncoclass.data.files import (
    STDIN,
    archive_kind,
    check_rows_of,
    existing_file,
    not_utf8,
    open_checked_stream,
    open_stream,
    read_bytes,
    read_start,
    refuse_binary,
    refuse_cut_short_file,
    spool,
)
from oncoclass.data.table import (
    EVIDENCE_CITATIONS,
    EVIDENCE_IDS,
    GENE_COLUMNS,
    NO_CHANGE,
    PROTEIN_CHANGE_COLUMNS,
    TEXT_SOURCE,
    VARIATION_NAMES,
    as_text,
    change_disagreements,
    gene_problem,
    records_to_table,
    shape_problems,
    variation_problem,
)
from oncoclass.data.tables import (
    TABLE_SUFFIXES,
    TEXT_TABLES,
    check_header,
    guess_format,
    header_cells,
    header_of,
    lines_before_header,
    maf_comment_lines,
    names_by_case,
    read_frame,
    write_frame,
)
from oncoclass.errors import InputError, OutputError
from oncoclass.kb.retrieve import attach
from oncoclass.kb.store import Store
from oncoclass.output import atomic_write, is_stdout, named_format, write_stdout
from oncoclass.persist import Bundle
from oncoclass.variation import parse, protein_change

PREFIX = "oncoclass_"
#: What MAF and VEP write where a variant has no gene ("-" is VEP's empty field).
NO_GENE = frozenset({".", "-", "Unknown"})
#: The gene and the protein change: the one lists every reader uses, first found first
#: (``Hugo_Symbol``, ``SYMBOL``… ``gene``; ``HGVSp_Short``, ``Protein_Change``…).
PROTEIN_COLUMNS: tuple[str, ...] = (*PROTEIN_CHANGE_COLUMNS, *VARIATION_NAMES)
CONSEQUENCE_COLUMNS: tuple[str, ...] = ("Variant_Classification", "Consequence", "consequence")
#: Consequences that end the protein early: without a written change, a truncating mutation.
TRUNCATING = frozenset(
    {
        "Nonsense_Mutation", "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Translation_Start_Site",
        "stop_gained", "frameshift_variant", "splice_acceptor_variant", "splice_donor_variant", "start_lost",
    }
)  # fmt: skip
#: Consequences that leave the protein as it is: nothing to classify.
UNCHANGED = frozenset(
    {
        "Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA", "lincRNA", "Splice_Region",
        "synonymous_variant", "intron_variant", "3_prime_UTR_variant", "5_prime_UTR_variant",
        "upstream_gene_variant", "downstream_gene_variant", "intergenic_variant",
    }
)  # fmt: skip


#: Raw text per chunk of a streamed input: a chunk's rows are held as strings, several times
#: their size in the file, so a few MiB keeps a chunk to tens of MB whatever the row width.
CHUNK_BYTES = 4 << 20
#: Bounds on rows per chunk: pandas' per-call cost stays small, and a file of very short rows
#: still comes in chunks.
CHUNK_ROWS = (1_000, 50_000)


@dataclass
class Sheet:
    """An input as it will be written back: its comment lines (a MAF's ``#version``), its rows
    with every value as read, and its format.

    A MAF, CSV or TSV file (plain or gzipped) is *streamed*: ``frame`` holds only its header
    (no rows) and :meth:`chunks` reads the file again, ``chunk_rows`` rows at a time, each time
    it is called. Anything else (a VCF, Parquet, JSONL, a zip or 7z archive) is read whole into
    ``frame``, and :meth:`chunks` gives that one frame."""

    frame: pd.DataFrame
    comments: list[str]
    fmt: str  # "vcf", "maf" or a table format
    path: str
    source: Path | None = None  # the file streamed; None when ``frame`` holds every row
    chunk_rows: int | None = None  # rows per chunk when streamed; None reads it in one piece
    compression: str | None = None  # "gzip" when the streamed file is gzipped
    #: Whether a whole pass over the chunks has checked every record's width and the end (the
    #: second of annotate's two passes need not check them again).
    checked: bool = False
    #: How its lines end (a file saved on Windows: CRLF), so it comes back ending them so.
    newline: str = "\n"
    #: The places of the header's empty names (a spreadsheet's padding columns), which pandas
    #: names ``Unnamed: N``: written back empty, as the header was.
    unnamed: tuple[int, ...] = ()

    @property
    def streamed(self) -> bool:
        return self.source is not None

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The rows in order, a chunk at a time (one chunk when read whole)."""
        if self.source is None:
            yield self.frame
            return
        yield from _delimited(
            self.source, self.fmt, self.path, skip=len(self.comments), rows=self.chunk_rows,
            check_end=self.compression is not None and not self.checked, check_widths=not self.checked,
        )  # fmt: skip
        self.checked = True

    def whole(self) -> pd.DataFrame:
        """Every row in one frame (a streamed sheet is read in full)."""
        if self.source is None:
            return self.frame
        return pd.concat(list(self.chunks()), ignore_index=True)


@dataclass(frozen=True)
class AnnotateResult:
    """What an annotation did, as every edge reports it (the CLI's summary and notes, the
    service's headers): :func:`result_of` builds it from a sheet and its summary."""

    out: Path | None
    rows: int
    variants: int
    predicted: int
    not_predicted: dict[str, int]
    model_id: str
    notes: list[str] = field(default_factory=list)
    #: A VCF's records (its rows are its ALT alleles, a multi-allelic record several); None otherwise.
    records: int | None = None

    def counted(self) -> str:
        """``N rows``, or for a VCF ``N alleles in M records``."""
        if self.records is None:
            return f"{self.rows} rows"
        return f"{self.rows} alleles in {self.records} records"

    def skipped(self) -> str:
        """Why rows were not predicted, with how many: ``3 no gene, 1 silent``; "" when none."""
        return ", ".join(f"{n} {reason}" for reason, n in self.not_predicted.items())


#: A sheet with a header and no rows (a sample with no mutations: a header-only MAF, a VCF without
#: records) is annotated, not refused: a pipeline annotating a file per sample must not fail on
#: it. It is written back whole (comment lines, header, the added columns) and this is said, so a
#: file cut off before its first row is still noticed. ``predict`` and ``train`` refuse it.
NO_ROWS_NOTE = (
    "the file held no rows (0 rows): it is written back with its header and the oncoclass "
    "columns, nothing predicted; check that it is the file you meant if it should have rows."
)


def result_of(
    sheet: Sheet, summary: dict[str, Any], out: str | Path, *, model_id: str, notes: list[str] | None = None
) -> AnnotateResult:
    """The :class:`AnnotateResult` of ``sheet`` annotated into ``out`` (``summary``: what
    :func:`annotate_file` or the Dask engine returned), with the sheet's own notes (a VCF's
    undeclared keys…) before ``notes`` (the caller's: a store the model learned from, absent)."""
    return AnnotateResult(
        out=None if is_stdout(out) else Path(out),
        rows=summary["rows"],
        variants=summary["variants"],
        predicted=summary["predicted"],
        not_predicted=dict(summary["not_predicted"]),
        model_id=model_id,
        notes=[
            *sheet.frame.attrs.get("notes", []),
            *([f"{sheet.path}: {NO_ROWS_NOTE}"] if not summary["rows"] else []),
            *(notes or []),
        ],
        records=sheet.frame.attrs.get("records", summary["rows"]) if sheet.fmt == "vcf" else None,
    )


def _is_maf(text_head: str) -> bool:
    return maf_comment_lines(text_head) is not None


TRANSCRIPTS = ("canonical", "first")


def read_sheet(path: str | Path, *, transcript: str = "canonical") -> Sheet:
    """A VCF (plain, bgzipped or BCF; VEP's ``CSQ`` or snpEff's ``ANN``), a MAF (comment lines
    kept, plain or gzipped) or any table oncoclass reads, every row in ``frame``. ``transcript``
    chooses a VCF record's consequence: ``canonical`` (VEP's CANONICAL=YES, else the first), or
    ``first``. :func:`open_sheet` is the same reader, streamed."""
    with open_sheet(path, transcript=transcript, chunk_rows=None) as sheet:
        frame = sheet.whole()
    return Sheet(frame, sheet.comments, sheet.fmt, sheet.path)


@contextmanager
def open_sheet(
    path: str | Path, *, transcript: str = "canonical", chunk_rows: int | None = 0
) -> Iterator[Sheet]:
    """The input, to be read by :meth:`Sheet.chunks` while the block runs. A MAF, CSV or TSV (plain
    or gzipped) is streamed ``chunk_rows`` rows at a time (0: as many as fit in
    :data:`CHUNK_BYTES` of its text; None: in one piece); see :class:`Sheet`. Standard input and
    pipes, which can be read only once, are first copied to a temporary file (removed at the
    end), so they stream too; a VCF is refused from them (htslib reads a VCF by its name, which
    an error message would then give as the temporary file's)."""
    if transcript not in TRANSCRIPTS:
        raise InputError(f"transcript must be one of {', '.join(TRANSCRIPTS)}, not {transcript!r}.")
    given = existing_file(path)
    with ExitStack() as stack:
        source = given
        piped = str(given) == STDIN or not given.is_file()
        if piped:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="oncoclass-annotate-"))
            source = Path(folder) / "input"
            spool(given, source)
        yield _open(source, str(path), transcript=transcript, piped=piped, chunk_rows=chunk_rows)


def _open(source: Path, path: str, *, transcript: str, piped: bool, chunk_rows: int | None) -> Sheet:
    """The sheet of ``source`` (a regular file), ``path`` being the name the user gave."""
    start = read_start(source, 65536)
    if is_vcf(path, start):
        if piped:
            raise InputError(
                "a VCF cannot be read from standard input or a pipe.", path=path, hint="Give its file name."
            )
        from oncoclass.data.vcf import read_vcf

        return Sheet(read_vcf(source, transcript=transcript), [], "vcf", path)
    with source.open("rb") as raw:
        kind = archive_kind(raw.read(8))
    head = _head(start)
    fmt = "maf" if start[:4] != b"PAR1" and _is_maf(head) else guess_format(Path(path), start)
    if fmt not in ("maf", "csv", "tsv"):
        # Parquet and JSONL are read whole, as every command reads them.
        frame = read_frame(source, fmt, read_bytes(source))
        return Sheet(frame, [], fmt, path)
    refuse_binary(start, path)
    lines = head.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    comments: list[str] = []
    delimiter = "," if fmt == "csv" else "\t"
    # The lines before its header (a MAF's comment lines, Excel's sep= line), as every reader
    # skips them: kept, and written back.
    comments = lines[: lines_before_header(start, "tsv" if fmt == "maf" else fmt, path)]
    lines = lines[len(comments) :]
    if len(lines) <= 1 and len(start) >= 65536:
        # The header runs past the head read (a wide sample matrix): read whole, as every reader
        # reads it; a name cut in two would read as a repeat, and the rows' width would be unknown.
        # Past HEADER_CAP it is refused unread further, as every reader refuses it (header_of).
        header = header_of(source, len(comments), path) or b""
        lines = [header.decode("utf-8-sig", errors="replace")]
    check_header(lines[0] if lines else "", path, tab=fmt != "csv")  # the one rule on a header
    # A plain file is checked here, from its last byte. A compressed one (a complete archive of a
    # file cut short) is checked as its rows are read (Sheet.chunks), so it is not decompressed
    # twice; a cut archive stream fails as it is decompressed.
    if kind is None:
        refuse_cut_short_file(source, path, delimiter=delimiter, quoted=fmt == "csv", skip=len(comments))
    if chunk_rows == 0:
        # As many rows as fit in CHUNK_BYTES of text, judged from the rows of the file's start.
        sample = [line for line in lines[1:-1] if line] or lines[:1]  # no whole row: the header's width
        width = max(1, sum(len(line) + 1 for line in sample) // max(1, len(sample)))
        chunk_rows = min(max(CHUNK_BYTES // width, CHUNK_ROWS[0]), CHUNK_ROWS[1])
    first = head.find("\n")
    newline = "\r\n" if first > 0 and head[first - 1] == "\r" else "\n"
    unnamed = tuple(
        i for i, name in enumerate(header_cells(lines[0] if lines else "", tab=fmt != "csv")) if not name
    )
    sheet = Sheet(
        pd.DataFrame(), comments, fmt, path, source, chunk_rows, kind, newline=newline, unnamed=unnamed
    )
    header = next(_delimited(source, fmt, path, skip=len(comments), rows=None, header_only=True))
    sheet.frame = header
    return sheet


def _delimited(
    source: Path, fmt: str, path: str, *, skip: int, rows: int | None, header_only: bool = False,
    check_end: bool = False, check_widths: bool = True,
) -> Iterator[pd.DataFrame]:  # fmt: skip
    """A MAF, CSV or TSV file's rows, every value as the text it was (``dtype=str``, no NA
    guessing), ``rows`` at a time (None: all at once), after ``skip`` comment lines. The same
    parser options whether streamed or whole, so both give the same values. ``check_end``: a file
    cut short is refused when its end is read (a compressed file, not checked when opened)."""
    tab = fmt in ("maf", "tsv")
    options: dict[str, Any] = {
        "sep": "\t" if tab else ",", "dtype": str, "keep_default_na": False, "encoding": "utf-8-sig",
        # MAFs and TSVs are unquoted (a quote is part of a value); CSV follows RFC 4180.
        "quoting": csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL, "engine": "c", "skiprows": skip,
    }  # fmt: skip
    if header_only:
        options["nrows"] = 0
    what = "a MAF" if fmt == "maf" else fmt.upper()
    try:
        # Every record is checked to have the header's fields as it is read (RowWidths); the end
        # is checked here only for a compressed file (a plain one was checked when opened).
        opened = (
            open_stream(source)
            if header_only
            else open_checked_stream(
                source,
                path,
                delimiter=options["sep"],
                quoted=not tab,
                skip=skip,
                cut_short=check_end,
                widths=check_widths,
            )
        )
        with opened as stream:
            if rows is None:
                yield pd.read_csv(stream, **options)
                return
            with pd.read_csv(stream, chunksize=rows, **options) as reader:
                yield from reader
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty.", path=path) from exc
    except pd.errors.ParserError as exc:
        # The file's own rule names the row pandas does not (a quote never closed, a row of the
        # wrong width): read through again, only once the reader has failed.
        check_rows_of(source, path, delimiter=options["sep"], quoted=not tab, skip=skip)
        raise InputError(f"cannot be parsed as {what} ({exc}).", path=path) from exc
    except UnicodeDecodeError as exc:
        raise not_utf8(source, path) or InputError(
            f"is not valid UTF-8 ({exc.reason}).",
            path=path,
            hint="Save the file as UTF-8 (for example with iconv -t UTF-8).",
        ) from exc
    except ValueError as exc:
        raise InputError(f"cannot be read as {what} ({exc}).", path=path) from exc


def _head(data: bytes) -> str:
    return data[:65536].decode("utf-8", errors="replace")


def _first(frame: pd.DataFrame, names: tuple[str, ...], mapped: str | None) -> str | None:
    if mapped is not None:
        return mapped
    return next((n for n in names if n in frame.columns), None)


def _vep_change(amino_acids: str, position: str) -> str:
    """VEP's ``Amino_acids`` (``V/E``) and ``Protein_position`` (``600`` or ``600/766``) as ``V600E``."""
    start = position.split("/")[0].split("-")[0]
    if not start.isdigit() or not amino_acids:
        return ""
    ref, _, alt = amino_acids.partition("/")
    if len(ref) != 1 or len(alt) > 1:
        return ""
    return f"{ref}{start}{alt or '='}"


def variants_of(sheet: Sheet, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Per row of the whole sheet: see :func:`variants_in`."""
    return variants_in(sheet.whole(), sheet.path, columns, vcf=sheet.fmt == "vcf")


#: Why a VCF record whose ALT is ``.`` (no alternate allele: a reference call) is not predicted:
#: there is no change to classify, and its ``Number=A`` fields have no allele to hold a value.
NO_ALT = "no alternate allele (ALT is .): nothing changed to classify"


def variants_in(
    frame: pd.DataFrame, path: str, columns: dict[str, str] | None = None, *, vcf: bool = False
) -> pd.DataFrame:
    """Per row of ``frame`` (a sheet's rows, or a chunk of them): ``gene``, ``protein_change``
    (normalised; empty when none), ``variation`` (what the model reads: the change, or
    ``Truncating Mutations`` from the consequence) and ``note``. ``vcf``: the rows are a VCF's
    (:func:`oncoclass.data.vcf.read_vcf`), where a record without ALT is noted, never predicted."""
    columns = columns or {}
    absent = [(key, name) for key, name in columns.items() if name not in frame.columns]
    if absent:  # a column the caller named: said so, not as a gene column looked for and missed
        key, name = absent[0]
        shown = ", ".join(map(str, frame.columns[:20])) + ("…" if len(frame.columns) > 20 else "")
        raise InputError(
            f"the {key} column {name!r} is not in the header; it has {shown}.",
            path=path,
            hint="Name a column as the header writes it (case matters).",
        )
    by_name = names_by_case(list(frame.columns), path)
    gene_col = columns.get("gene") or next((by_name[c] for c in GENE_COLUMNS if c in by_name), None)
    if gene_col is None or gene_col not in frame.columns:
        raise InputError(
            f"no gene column (looked for {', '.join(GENE_COLUMNS)}, whatever the case).",
            path=path,
            hint="Name yours with --columns gene=COLUMN,variation=COLUMN.",
        )
    protein_cols = (
        [columns["variation"]]
        if "variation" in columns
        else [by_name[c] for c in PROTEIN_COLUMNS if c in by_name]
    )
    missing = [c for c in protein_cols if c not in frame.columns]
    if missing:
        raise InputError(f"no column {missing[0]!r}.", path=path)
    consequence_col = _first(frame, CONSEQUENCE_COLUMNS, columns.get("consequence"))
    n = len(frame)
    genes = as_text(frame[gene_col])
    change = pd.Series([""] * n, index=frame.index, dtype=object)
    texts = {column: as_text(frame[column]) for column in protein_cols}
    for values in texts.values():
        change = change.where(change != "", values.where(~values.isin(NO_CHANGE), ""))
    disagree = change_disagreements(texts, frame.index)
    if {"Amino_acids", "Protein_position"} <= set(frame.columns):
        vep = [
            _vep_change(a, p)
            for a, p in zip(as_text(frame["Amino_acids"]), as_text(frame["Protein_position"]), strict=True)
        ]
        change = change.where(change != "", pd.Series(vep, index=frame.index))
    # VEP writes "=" as %3D; a protein's name before the change (ENSP…:p.Val600Glu) is dropped by
    # protein_change. Normalised once per distinct value: a cohort repeats its recurrent changes.
    normal = {v: protein_change(v.replace("%3D", "=")) if v else "" for v in change.unique()}
    change = change.map(normal)
    consequence = (
        # VEP and snpEff list a change's consequences most severe first: stop_gained&splice_region…
        as_text(frame[consequence_col]).map(lambda v: v.split("&")[0])
        if consequence_col
        else pd.Series("", index=frame.index)
    )
    no_alt = (
        as_text(frame["ALT"]).isin(["", "."]).to_numpy()
        if vcf and "ALT" in frame.columns
        else np.zeros(n, dtype=bool)
    )
    # A repeated header or an empty row (the row rule's), noted on the row rather than refused.
    shapes = pd.Series("", index=frame.index) if vcf else shape_problems(frame)
    variation, notes, changes = [], [], []
    for gene, value, kind, alt_less, other, shape in zip(
        genes, change, consequence, no_alt, disagree, shapes, strict=True
    ):
        note, shown = "", value
        if alt_less:
            read, note = "", NO_ALT
        elif shape:
            read, note, shown = "", shape, ""
        elif not gene or gene in NO_GENE:
            read, note = "", "no gene"
        elif problem := gene_problem(gene):
            read, note = "", problem  # the row rule's, noted here rather than refused
        elif value and (problem := variation_problem(value)):
            read, note, shown = "", problem, ""  # never repeated into a column of ours
        elif value and (kind in ("Silent", "synonymous_variant") or parse(value).kind == "synonymous"):
            read, note = "", "silent: the protein is unchanged"
        elif value and parse(value).kind == "other":
            # Not a protein change the parser knows (a free phrase, a genomic change): the model
            # would answer from the gene alone, as if it had read the change.
            read, note, shown = "", f"not a protein change that can be read ({_shown(value)})", ""
        elif value:
            read, note = value, other  # what another protein-change column says, if it differs
        elif kind in TRUNCATING:
            read, note = "Truncating Mutations", f"no protein change; read as truncating from {kind}"
        elif kind in UNCHANGED:
            read, note = "", f"no protein change ({kind})"
        else:
            read, note = "", f"no protein change{f' ({kind})' if kind else ''}"
        variation.append(read)
        notes.append(note)
        changes.append(shown)
    return pd.DataFrame(
        {
            "gene": genes.to_numpy(),
            "protein_change": changes,
            "variation": variation,
            "note": notes,
        },
        dtype=object,
    )


def _shown(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def refuse_annotated(columns: list[Any], path: str) -> None:
    """An input that already has oncoclass columns would come back with them twice."""
    taken = [c for c in columns if str(c).startswith(PREFIX)]
    if taken:
        raise InputError(
            f"already has oncoclass columns ({', '.join(map(str, taken[:3]))}).",
            path=path,
            hint="Annotate the original file, or drop those columns first.",
        )


@dataclass
class Tally:
    """What the first pass over a sheet learns: its rows, its distinct (gene, variation) pairs in
    the order they first appear, how many rows are predicted and why the others are not. Tallies
    of consecutive chunks (or Dask partitions) :meth:`merge` into the tally of the whole."""

    rows: int = 0
    variants: dict[tuple[str, str], int] = field(default_factory=dict)
    predicted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, rows: pd.DataFrame) -> None:
        """Count one chunk's rows (:func:`variants_in`)."""
        self.rows += len(rows)
        wanted = rows["variation"] != ""
        self.predicted += int(wanted.sum())
        for pair in zip(rows["gene"][wanted], rows["variation"][wanted], strict=True):
            self.variants.setdefault(pair, len(self.variants))
        self.reasons.update(note.split(" (")[0] for note in rows.loc[~wanted, "note"])

    def merge(self, other: Tally) -> None:
        """Add the tally of the chunk that follows this one."""
        self.rows += other.rows
        self.predicted += other.predicted
        for pair in other.variants:
            self.variants.setdefault(pair, len(self.variants))
        self.reasons.update(other.reasons)

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "variants": len(self.variants),
            "predicted": self.predicted,
            "not_predicted": dict(self.reasons.most_common()),
        }


#: Distinct variants predicted per call of the model: its features for a cohort's many distinct
#: variants are never all in memory at once; only their probabilities are kept.
PREDICT_BATCH = 5_000


@dataclass
class Lookup:
    """Each distinct variant's added values, as text, one row per variant in the tally's order;
    the last row is all empty, for rows that are not predicted."""

    names: list[str]  # the added columns that come from the prediction, in their order
    values: np.ndarray  # (variants + 1) x len(names), object
    index: dict[tuple[str, str], int]
    model_id: str


def predict_variants(
    bundle: Bundle, tally: Tally, *, store: Store | None = None, probabilities: bool = False
) -> Lookup:
    """Predict each distinct variant of ``tally`` once (in batches of :data:`PREDICT_BATCH`)."""
    from oncoclass.jobs.predict import cited
    from oncoclass.jobs.predict import probabilities as predict_proba

    labels = bundle.labels
    meanings = bundle.meanings
    names = [PREFIX + "prediction", PREFIX + "class_name", PREFIX + "probability"]
    if probabilities:
        names += [f"{PREFIX}p_{label}" for label in labels]
    if store is not None:
        names += [PREFIX + "text_source", PREFIX + "evidence"]
    pairs = list(tally.variants)
    values = np.full((len(pairs) + 1, len(names)), "", dtype=object)
    for begin in range(0, len(pairs), PREDICT_BATCH):
        batch = pairs[begin : begin + PREDICT_BATCH]
        table = records_to_table(
            [{"id": str(begin + i), "gene": g, "variation": v, "text": ""} for i, (g, v) in enumerate(batch)]
        )
        table = cited(bundle, attach(table, store))
        proba = predict_proba(bundle, table)
        best = proba.argmax(axis=1)
        rows = values[begin : begin + len(batch)]
        rows[:, 0] = [labels[b] for b in best]
        rows[:, 1] = [meanings.get(labels[b], "") for b in best]
        rows[:, 2] = [f"{p:.4f}" for p in proba[np.arange(len(batch)), best]]
        column = 3
        if probabilities:
            for j in range(len(labels)):
                rows[:, column + j] = [f"{p:.4f}" for p in proba[:, j]]
            column += len(labels)
        if store is not None:
            rows[:, column] = table[TEXT_SOURCE].to_numpy()
            rows[:, column + 1] = [
                _evidence(ids, cites)
                for ids, cites in zip(table[EVIDENCE_IDS], table[EVIDENCE_CITATIONS], strict=True)
            ]
    return Lookup(names, values, dict(tally.variants), bundle.model_id)


def _evidence(ids: str, citations: str) -> str:
    """``source:id (citation)`` for each piece of evidence, ``; ``-separated."""
    keys = [k for k in ids.split(";") if k]
    cites = citations.split(";")
    return "; ".join(f"{k} ({c})" if c else k for k, c in zip(keys, cites + [""] * len(keys), strict=False))


def annotate_chunk(frame: pd.DataFrame, rows: pd.DataFrame, lookup: Lookup) -> pd.DataFrame:
    """``frame`` (a chunk of a sheet; ``rows`` its :func:`variants_in`) with the ``oncoclass_``
    columns added: the same for a row wherever it falls, whichever the chunk or the engine."""
    missing = len(lookup.values) - 1
    where = np.fromiter(
        (
            lookup.index[(g, v)] if v else missing
            for g, v in zip(rows["gene"], rows["variation"], strict=True)
        ),
        dtype=np.int64,
        count=len(rows),
    )
    chosen = lookup.values[where]
    added: dict[str, Any] = {name: chosen[:, j] for j, name in enumerate(lookup.names[:3])}
    added[PREFIX + "protein_change"] = rows["protein_change"].to_numpy()
    added[PREFIX + "note"] = rows["note"].to_numpy()
    added[PREFIX + "model"] = np.full(len(rows), lookup.model_id, dtype=object)
    for j, name in enumerate(lookup.names[3:], start=3):
        added[name] = chosen[:, j]
    return pd.concat([frame, pd.DataFrame(added, index=frame.index, dtype=object)], axis=1)


def annotate(
    bundle: Bundle,
    sheet: Sheet,
    *,
    columns: dict[str, str] | None = None,
    store: Store | None = None,
    probabilities: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The whole sheet's frame with ``oncoclass_`` columns added, and a summary of what was done
    (:func:`annotate_file` does the same a chunk at a time, writing as it goes)."""
    frame = sheet.whole()
    refuse_annotated(list(frame.columns), sheet.path)
    rows = variants_in(frame, sheet.path, columns, vcf=sheet.fmt == "vcf")
    tally = Tally()
    tally.add(rows)
    lookup = predict_variants(bundle, tally, store=store, probabilities=probabilities)
    return annotate_chunk(frame, rows, lookup), tally.summary()


def annotate_file(
    bundle: Bundle,
    sheet: Sheet,
    out: str | Path,
    *,
    columns: dict[str, str] | None = None,
    store: Store | None = None,
    probabilities: bool = False,
) -> dict[str, Any]:
    """Annotate ``sheet`` into ``out`` in two passes over its chunks: the first finds the distinct
    variants (predicted once each), the second adds the columns and writes each chunk as it is
    annotated. Memory holds a chunk and the distinct variants, never the file; the output is
    written to a temporary file renamed into place at the end (standard output is written as
    it goes). Returns the summary."""
    refuse_annotated(list(sheet.frame.columns), sheet.path)
    tally = Tally()
    for chunk in sheet.chunks():
        tally.add(variants_in(chunk, sheet.path, columns, vcf=sheet.fmt == "vcf"))
    lookup = predict_variants(bundle, tally, store=store, probabilities=probabilities)
    annotated = (
        annotate_chunk(chunk, variants_in(chunk, sheet.path, columns, vcf=sheet.fmt == "vcf"), lookup)
        for chunk in sheet.chunks()
    )
    write_chunks(annotated, sheet, out)
    return tally.summary()


#: The endings that ask for the input's own format back, beside the tables' (TABLE_SUFFIXES): a
#: MAF (often named .txt, as cBioPortal's), a VCF (bgzipped with .gz, or BCF), a table as .txt.
_OWN_SUFFIXES = {
    "maf": {".maf": "maf", ".txt": "maf"},
    "vcf": {".vcf": "vcf", ".bcf": "bcf"},  # BCF is compressed already: no .bcf.gz
    "csv": {".txt": "csv"},
    "tsv": {".txt": "tsv"},
}


def output_of(sheet: Sheet, out: str | Path) -> tuple[str, bool]:
    """The format ``out`` is written in (the input's, unless its name asks for CSV, TSV, Parquet
    or JSONL) and whether it is gzipped (a name ending in ``.gz``; a VCF's is bgzipped by htslib
    from its name). An ending oncoclass cannot write from this input is refused, by the one rule
    for output names (:func:`oncoclass.output.named_format`)."""
    fmt, gzipped = named_format(
        out, {**TABLE_SUFFIXES, **_OWN_SUFFIXES.get(sheet.fmt, {})}, default=sheet.fmt,
        gzips=(*TEXT_TABLES, "maf", "vcf"),
    )  # fmt: skip
    fmt = "vcf" if fmt == "bcf" else fmt  # htslib writes either, by the name
    if is_stdout(out) and fmt in ("vcf", "parquet"):
        what = "a VCF" if fmt == "vcf" else "Parquet"
        raise OutputError(f"{what} cannot go to standard output.", path=out, hint="Give a file name.")
    return fmt, gzipped and fmt != "vcf"


class Sink:
    """An annotated sheet written a piece at a time into an open handle (binary for Parquet, text
    otherwise): a MAF's comment lines and the header first, then the rows of each chunk. With
    ``header=False`` only rows are written: a part that another sink copies in (:meth:`copy`)."""

    def __init__(
        self, handle: Any, fmt: str, comments: list[str], *, header: bool = True, newline: str = "\n",
        unnamed: tuple[int, ...] = (),
    ) -> None:  # fmt: skip
        self.handle, self.fmt, self.comments, self.header = handle, fmt, comments, header
        self.newline, self.unnamed = newline, unnamed
        self.parquet: Any = None

    def write(self, chunk: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.handle, table.schema)
            self.parquet.write_table(table.cast(self.parquet.schema))
            return
        if self.header:  # the lines before the header, when the output is the input's format
            for line in self.comments:
                self.handle.write(line + self.newline)
        # A MAF's rows are unquoted TSV, as write_frame writes TSV.
        fmt = "tsv" if self.fmt == "maf" else self.fmt
        if self.header and self.unnamed:  # the header as it was: pandas' Unnamed: N empty again
            names = ["" if i in self.unnamed else name for i, name in enumerate(chunk.columns)]
            chunk = chunk.set_axis(names, axis=1)
        write_frame(chunk, self.handle, fmt, exact=True, header=self.header, newline=self.newline)
        self.header = False

    def copy(self, part: Path) -> None:
        """Append a part written by a header-less sink of the same format."""
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            self.write(pq.read_table(part).to_pandas())
            return
        with part.open(encoding="utf-8", newline="") as piece:
            shutil.copyfileobj(piece, self.handle, 1 << 20)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()


def write_sheet(frame: pd.DataFrame, sheet: Sheet, out: str | Path) -> Path | None:
    """Write the annotated sheet in the input's format (a MAF stays a MAF, comment lines first),
    unless ``out``'s name asks for CSV, TSV, Parquet or JSONL; ``-`` writes to standard output."""
    return write_chunks([frame], sheet, out)


def write_chunks(chunks: Iterable[pd.DataFrame], sheet: Sheet, out: str | Path) -> Path | None:
    """:func:`write_sheet` for an annotated sheet that comes a chunk at a time."""
    fmt, _ = output_of(sheet, out)
    if fmt == "vcf":
        from oncoclass.data.vcf import write_vcf

        # A VCF is read whole (its one chunk): htslib writes its records back from the source.
        return write_vcf(pd.concat(list(chunks)), sheet.path, Path(out), prefix=PREFIX)

    def write(sink: Sink) -> None:
        for chunk in chunks:
            sink.write(chunk)

    return write_output(write, sheet, out)


def write_output(write: Callable[[Sink], None], sheet: Sheet, out: str | Path) -> Path | None:
    """Open ``out`` for the annotated sheet (gzipped when its name ends in ``.gz``), let ``write``
    fill a :class:`Sink` on it, and rename it into place when complete: an error midway leaves
    no output. ``-`` writes to standard output as it goes."""
    fmt, compressed = output_of(sheet, out)

    def fill(handle: Any) -> None:
        comments = sheet.comments if fmt == sheet.fmt else []  # a MAF's lines make no CSV's
        sink = Sink(handle, fmt, comments, newline=sheet.newline, unnamed=sheet.unnamed)
        write(sink)
        sink.close()

    if is_stdout(out):
        write_stdout(fill)
        return None
    path = Path(out)

    try:
        atomic_write(path, fill, binary=fmt == "parquet", gzipped=compressed)
    except csv.Error:
        raise OutputError(
            "a value holds a tab or a line break, which a tab-separated file cannot carry.",
            path=path,
            hint="Write .csv or .parquet instead.",
        ) from None
    return path
