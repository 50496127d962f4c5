"""Which loader a path needs, decided from its content rather than trusted from its name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from oncoclass.data import civic, kaggle, tables
from oncoclass.data.files import read_bytes
from oncoclass.errors import InputError

FORMATS = ("auto", "kaggle", "civic", *tables.FORMATS)

#: How a VCF's name ends (plain, bgzipped, binary).
VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
#: A VCF's header line: its eight fixed columns, then FORMAT and the samples' when it has any.
_VCF_COLUMNS = [b"#CHROM", b"POS", b"ID", b"REF", b"ALT", b"QUAL", b"FILTER", b"INFO"]


def _vcf_header_line(head: bytes) -> bool:
    """Whether a line of ``head`` is a VCF's ``#CHROM`` line (not a table that only begins like
    one, with columns of its own after INFO)."""
    for line in head.splitlines():
        fields = line.removeprefix(b"\xef\xbb\xbf").split(b"\t")
        if fields[:8] == _VCF_COLUMNS and (len(fields) == 8 or fields[8] == b"FORMAT"):
            return True
    return False


def is_vcf(path: str | Path, head: bytes) -> bool:
    """Whether a file whose start (decompressed) is ``head`` is a VCF or BCF: the one VCF rule, by
    ``annotate`` (which reads one) and every table command (which points to ``annotate``). A VCF
    that lost its first line (``##fileformat``), as a file cut from one or saved from a
    spreadsheet does, is refused: read as a table it would have no gene column, and htslib does not
    read it as a VCF. A UTF-8 byte-order mark (a Windows editor's) is not part of the first line."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if head.startswith(b"##fileformat=VCF") or head[:3] == b"BCF":
        return True
    columns = _vcf_header_line(head)
    if columns or str(path).lower().endswith(VCF_SUFFIXES):
        lacks = "its first line (##fileformat=VCFv4.x)" + ("" if columns else " and its #CHROM header line")
        raise InputError(
            f"a VCF without {lacks}: it cannot be read as a VCF, nor as a table of genes and changes.",
            path=path,
            hint="Give the VCF as the variant caller or VEP wrote it, its header lines included.",
        )
    return False


def detect_format(path: str | Path, data: bytes | None = None) -> str:
    """One of ``kaggle``, ``civic``, ``csv``, ``tsv``, ``jsonl``, ``parquet``."""
    path = Path(path)
    data = read_bytes(path) if data is None else data
    if data[:4] == b"PAR1":
        return "parquet"
    if is_vcf(path, data[:65536]):
        raise InputError(
            "this is a VCF; this command reads tables (CSV, TSV, MAF, Kaggle's and CIViC's files).",
            path=path,
            hint="Annotate a VCF with `oncoclass annotate`, which writes it back with predictions.",
        )
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")
    kind = kaggle.header_kind(first)
    if kind == "variants":
        return "kaggle"
    if kind == "text":
        raise InputError(
            # Worded for every command that reads one: train's --input, kb import's PATH…
            "this is a Kaggle text file (ID||Text); give it with --text beside the matching variants file.",
            path=path,
        )
    if kind == "solution":
        raise InputError(
            "this is a Kaggle solution file (ID,class1..): the labels of a variants file, not "
            "variants; the commands that score or learn from labels (train, evaluate, report, "
            "score) take it with --labels beside that variants file.",
            path=path,
        )
    if "\t" in first and civic.looks_like_civic(first.split("\t")):
        return "civic"
    return tables.guess_format(path, data)


def load_table(
    path: str | Path,
    *,
    text: str | Path | None = None,
    labels: str | Path | None = None,
    columns: dict[str, str] | None = None,
    fmt: str = "auto",
    reduce_text: kaggle.ReduceText | None = None,
    data: bytes | None = None,
    target: str = "significance",
    keep: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Load any supported input as the canonical table (see :mod:`oncoclass.data.table`). The
    input is read once (``data``, when the caller already holds its bytes): it may be a pipe.

    ``reduce_text`` shrinks Kaggle's long documents while they stream in (see
    :func:`oncoclass.data.kaggle.load_kaggle`); other formats carry short texts and ignore it.
    ``target`` chooses a CIViC export's label (:data:`oncoclass.data.civic.TARGETS`); other
    formats have one label column (``--columns label=…`` names it).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    data = read_bytes(path) if data is None else data
    if fmt == "auto":
        fmt = detect_format(path, data)
    if fmt != "kaggle" and (text is not None or labels is not None):
        raise InputError(
            "--text and --labels belong to Kaggle variants files; this input is "
            f"{fmt.upper()}, which carries its own text and labels.",
            path=path,
        )
    if columns and fmt in ("kaggle", "civic"):
        # Their columns are known by name; a mapping would be dropped without a word.
        what = "a Kaggle variants file" if fmt == "kaggle" else "a CIViC export"
        raise InputError(
            f"--columns maps a table's own column names; this input is {what}, whose columns "
            "oncoclass reads by name.",
            path=path,
            hint="Leave out --columns, or pass --format csv (or tsv) to read it as a plain table.",
        )
    if target != "significance" and fmt != "civic":
        civic.check_target(target)
        raise InputError(
            f"a target ({target}) is chosen among a CIViC export's curated fields; this input is "
            f"{fmt.upper()}.",
            path=path,
            hint="For another table, name its label column with --columns label=COLUMN.",
        )
    if fmt == "kaggle":
        table = kaggle.load_kaggle(
            path, text=text, labels=labels, reduce_text=reduce_text, data=data, keep=keep
        )
    elif fmt == "civic":
        table = civic.load_civic(path, data, target=target, keep=keep)
    else:
        table = tables.load_generic(path, columns=columns, fmt=fmt, data=data, keep=keep)
    table.attrs["format"] = fmt  # the evidence store names a row's own item by its source
    return table
