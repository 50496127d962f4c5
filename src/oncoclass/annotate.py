"""Annotate sequencing results: a MAF or a table of variants in, the same file out with columns
added (as OncoKB's MafAnnotator does), every input row and value kept.

The protein change of a row comes from the first column that has one: ``HGVSp_Short``, ``HGVSp``,
``Protein_Change``, then VEP's ``Amino_acids`` + ``Protein_position``; it is normalised by the one
rule every input goes through (:func:`oncoclass.variation.protein_change`). A row without one is
classified from its consequence where that says enough (a nonsense or frameshift change is a
truncating mutation of its gene) and otherwise kept with the reason in ``oncoclass_note``: a row is
never dropped. The same variant in many samples is predicted once.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass.data.files import STDIN, decode, read_bytes, read_start
from oncoclass.data.table import EVIDENCE_CITATIONS, EVIDENCE_IDS, TEXT_SOURCE, as_text, records_to_table
from oncoclass.data.tables import guess_format, output_format, read_frame, write_frame
from oncoclass.errors import InputError, OutputError
from oncoclass.kb.retrieve import attach
from oncoclass.kb.store import Store
from oncoclass.output import atomic_write, is_stdout
from oncoclass.persist import Bundle
from oncoclass.variation import parse, protein_change

PREFIX = "oncoclass_"
#: Where a row's gene and protein change are read from, first found first (MAF, VEP, tables).
GENE_COLUMNS: tuple[str, ...] = ("Hugo_Symbol", "gene", "Gene", "SYMBOL", "gene_symbol")
PROTEIN_COLUMNS: tuple[str, ...] = (
    "HGVSp_Short",
    "HGVSp",
    "Protein_Change",
    "protein_change",
    "variation",
    "hgvsp",
)
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


@dataclass
class Sheet:
    """An input as it will be written back: its comment lines (a MAF's ``#version``), its rows
    with every value as read, and its format."""

    frame: pd.DataFrame
    comments: list[str]
    fmt: str  # "vcf", "maf" or a table format
    path: str


@dataclass(frozen=True)
class AnnotateResult:
    out: Path | None
    rows: int
    variants: int
    predicted: int
    not_predicted: dict[str, int]
    model_id: str
    notes: list[str] = field(default_factory=list)


def _is_maf(text_head: str) -> bool:
    for line in text_head.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        return "Hugo_Symbol" in line.split("\t")
    return False


TRANSCRIPTS = ("canonical", "first")


def read_sheet(path: str | Path, *, transcript: str = "canonical") -> Sheet:
    """A VCF (plain, bgzipped or BCF; VEP's ``CSQ`` or snpEff's ``ANN``), a MAF (comment lines
    kept, plain or gzipped) or any table oncoclass reads. ``transcript`` chooses a VCF record's
    consequence: ``canonical`` (VEP's CANONICAL=YES, else the first), or ``first``."""
    if transcript not in TRANSCRIPTS:
        raise InputError(f"transcript must be one of {', '.join(TRANSCRIPTS)}, not {transcript!r}.")
    # A VCF is told from its first bytes and handed to htslib by name, never read whole here (it
    # may be far larger than a table); standard input can be read only once, so it is read whole.
    piped = str(path) == STDIN
    start = read_bytes(path) if piped else read_start(path)
    if start[:16].startswith(b"##fileformat=VCF") or start[:3] == b"BCF":
        if piped:
            raise InputError(
                "a VCF cannot be read from standard input.", path=path, hint="Give its file name."
            )
        from oncoclass.data.vcf import read_vcf

        return Sheet(read_vcf(path, transcript=transcript), [], "vcf", str(path))
    data = start if piped else read_bytes(path)
    if data[:4] != b"PAR1" and _is_maf(_head(data)):
        text = decode(data, path)
        lines = text.split("\n")
        comments = []
        while lines and lines[0].startswith("#"):
            comments.append(lines.pop(0).rstrip("\r"))
        _refuse_duplicate_names(lines[0].rstrip("\r").split("\t") if lines else [], path)
        try:
            frame = pd.read_csv(io.StringIO("\n".join(lines)), sep="\t", dtype=str, keep_default_na=False,
                                quoting=csv.QUOTE_NONE, engine="c")  # fmt: skip
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"cannot be parsed as a MAF ({exc}).", path=path) from exc
        return Sheet(frame, comments, "maf", str(path))
    fmt = guess_format(Path(str(path)), data)
    if fmt in ("csv", "tsv"):  # pandas would rename a repeated column ("sample.1") without a word
        first = _head(data).split("\n", 1)[0]
        header = next(csv.reader([first.lstrip("\ufeff").rstrip("\r")],
                                 delimiter="\t" if fmt == "tsv" else ","), [])  # fmt: skip
        _refuse_duplicate_names(header, path)
    frame = read_frame(path, fmt, data)
    return Sheet(frame, [], fmt, str(path))


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


def _refuse_duplicate_names(names: list[str], path: str | Path) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(
                f"the column {name!r} appears twice in the header; the annotated file could not give "
                "both back unchanged.",
                path=path,
                hint="Rename one of them.",
            )
        seen.add(name)


def variants_of(sheet: Sheet, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Per row: ``gene``, ``protein_change`` (normalised; empty when none), ``variation`` (what the
    model reads: the change, or ``Truncating Mutations`` from the consequence) and ``note``."""
    columns = columns or {}
    frame = sheet.frame
    gene_col = _first(frame, GENE_COLUMNS, columns.get("gene"))
    if gene_col is None or gene_col not in frame.columns:
        raise InputError(
            f"no gene column (looked for {', '.join(GENE_COLUMNS)}).",
            path=sheet.path,
            hint="Name yours with --columns gene=COLUMN,variation=COLUMN.",
        )
    protein_cols = (
        [columns["variation"]]
        if "variation" in columns
        else [c for c in PROTEIN_COLUMNS if c in frame.columns]
    )
    missing = [c for c in protein_cols if c not in frame.columns]
    if missing:
        raise InputError(f"no column {missing[0]!r}.", path=sheet.path)
    consequence_col = _first(frame, CONSEQUENCE_COLUMNS, columns.get("consequence"))
    n = len(frame)
    genes = as_text(frame[gene_col])
    change = pd.Series([""] * n, index=frame.index, dtype=object)
    for column in protein_cols:
        values = as_text(frame[column])
        change = change.where(
            change != "", values.where(~values.isin(["", ".", "NA", "nan", "p.?", "-"]), "")
        )
    if {"Amino_acids", "Protein_position"} <= set(frame.columns):
        vep = [
            _vep_change(a, p)
            for a, p in zip(as_text(frame["Amino_acids"]), as_text(frame["Protein_position"]), strict=True)
        ]
        change = change.where(change != "", pd.Series(vep, index=frame.index))
    # ENSP…:p.Val600Glu (VEP, snpEff) names the protein first; VEP writes "=" as %3D.
    change = change.map(lambda v: protein_change(v.split(":", 1)[-1].replace("%3D", "=")) if v else "")
    consequence = (
        # VEP and snpEff list a change's consequences most severe first: stop_gained&splice_region…
        as_text(frame[consequence_col]).map(lambda v: v.split("&")[0])
        if consequence_col
        else pd.Series("", index=frame.index)
    )
    variation, notes = [], []
    for gene, value, kind in zip(genes, change, consequence, strict=True):
        note = ""
        if not gene or gene in (".", "Unknown"):
            read, note = "", "no gene"
        elif value and (kind in ("Silent", "synonymous_variant") or parse(value).kind == "synonymous"):
            read, note = "", "silent: the protein is unchanged"
        elif value:
            read = value
        elif kind in TRUNCATING:
            read, note = "Truncating Mutations", f"no protein change; read as truncating from {kind}"
        elif kind in UNCHANGED:
            read, note = "", f"no protein change ({kind})"
        else:
            read, note = "", f"no protein change{f' ({kind})' if kind else ''}"
        variation.append(read)
        notes.append(note)
    return pd.DataFrame(
        {
            "gene": genes.to_numpy(),
            "protein_change": change.to_numpy(),
            "variation": variation,
            "note": notes,
        },
        dtype=object,
    )


def annotate(
    bundle: Bundle,
    sheet: Sheet,
    *,
    columns: dict[str, str] | None = None,
    store: Store | None = None,
    probabilities: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The sheet's frame with ``oncoclass_`` columns added, and a summary of what was done."""
    taken = [c for c in sheet.frame.columns if str(c).startswith(PREFIX)]
    if taken:
        raise InputError(
            f"already has oncoclass columns ({', '.join(map(str, taken[:3]))}).",
            path=sheet.path,
            hint="Annotate the original file, or drop those columns first.",
        )
    rows = variants_of(sheet, columns)
    wanted = rows[rows["variation"] != ""]
    unique = wanted[["gene", "variation"]].drop_duplicates().reset_index(drop=True)
    labels = bundle.labels
    meanings = bundle.meanings
    out = sheet.frame.copy()
    n = len(out)
    top, name, prob = [""] * n, [""] * n, [""] * n
    proba_rows = np.full((n, len(labels)), np.nan)
    source, evidence = [""] * n, [""] * n
    if len(unique):
        from oncoclass.api import probabilities as predict_proba

        table = records_to_table(
            [
                {"id": str(i), "gene": g, "variation": v, "text": ""}
                for i, (g, v) in enumerate(unique.itertuples(index=False))
            ]
        )
        table = attach(table, store)
        proba = predict_proba(bundle, table)
        index = {(g, v): i for i, (g, v) in enumerate(unique.itertuples(index=False))}
        for row, (gene, variation) in enumerate(zip(rows["gene"], rows["variation"], strict=True)):
            if not variation:
                continue
            i = index[(gene, variation)]
            best = int(np.argmax(proba[i]))
            top[row], prob[row] = labels[best], f"{proba[i][best]:.4f}"
            name[row] = meanings.get(labels[best], "")
            proba_rows[row] = proba[i]
            source[row] = table[TEXT_SOURCE].iloc[i]
            keys = [k for k in table[EVIDENCE_IDS].iloc[i].split(";") if k]
            cites = table[EVIDENCE_CITATIONS].iloc[i].split(";")
            evidence[row] = "; ".join(
                f"{k} ({c})" if c else k for k, c in zip(keys, cites + [""] * len(keys), strict=False)
            )
    out[PREFIX + "prediction"] = top
    out[PREFIX + "class_name"] = name
    out[PREFIX + "probability"] = prob
    out[PREFIX + "protein_change"] = rows["protein_change"].to_numpy()
    out[PREFIX + "note"] = rows["note"].to_numpy()
    out[PREFIX + "model"] = bundle.model_id
    if probabilities:
        for j, label in enumerate(labels):
            out[f"{PREFIX}p_{label}"] = ["" if np.isnan(p) else f"{p:.4f}" for p in proba_rows[:, j]]
    if store is not None:
        out[PREFIX + "text_source"] = source
        out[PREFIX + "evidence"] = evidence
    reasons = rows.loc[rows["variation"] == "", "note"].map(lambda note: note.split(" (")[0])
    summary = {
        "rows": n,
        "variants": len(unique),
        "predicted": int((rows["variation"] != "").sum()),
        "not_predicted": {str(k): int(v) for k, v in reasons.value_counts().items()},
    }
    return out, summary


_NAMED_FORMATS = (".csv", ".tsv", ".tab", ".parquet", ".jsonl", ".ndjson")


def write_sheet(frame: pd.DataFrame, sheet: Sheet, out: str | Path) -> Path | None:
    """Write the annotated sheet in the input's format (a MAF stays a MAF, comment lines first),
    unless ``out``'s name asks for CSV, TSV, Parquet or JSONL; ``-`` writes to standard output."""
    name = "" if is_stdout(out) else Path(str(out)).name.lower()
    compressed = name.endswith(".gz")  # annotated.maf.gz: gzipped, as the input may have been
    plain = name[:-3] if compressed else name
    fmt = output_format(plain) if Path(plain).suffix in _NAMED_FORMATS else sheet.fmt
    if compressed and fmt == "parquet":
        raise OutputError("Parquet is compressed already; drop the .gz.", path=out)

    if fmt == "vcf":
        from oncoclass.data.vcf import write_vcf

        if is_stdout(out):
            raise OutputError("a VCF cannot go to standard output.", path=out, hint="Give a file name.")
        return write_vcf(frame, sheet.path, Path(out), prefix=PREFIX)

    def write(handle: Any) -> None:
        if fmt == "maf":
            for line in sheet.comments:
                handle.write(line + "\n")
            frame.to_csv(handle, sep="\t", index=False, quoting=csv.QUOTE_NONE, lineterminator="\n")
        else:
            write_frame(frame, handle, fmt, exact=True)

    if is_stdout(out):
        if fmt == "parquet":
            raise OutputError("Parquet cannot go to standard output.", path=out, hint="Give a file name.")
        write(sys.stdout)
        sys.stdout.flush()
        return None
    path = Path(out)

    def write_gzipped(handle: Any) -> None:
        with (
            gzip.GzipFile(fileobj=handle, mode="wb") as packed,
            io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
        ):
            write(text)

    try:
        if compressed and fmt != "vcf":
            atomic_write(path, write_gzipped, binary=True)
        else:
            atomic_write(path, write, binary=fmt == "parquet")
    except csv.Error:
        raise OutputError(
            "a value holds a tab or a line break, which a tab-separated file cannot carry.",
            path=path,
            hint="Write .csv or .parquet instead.",
        ) from None
    return path
