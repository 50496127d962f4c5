"""The canonical table every loader produces and every recipe consumes.

Columns: ``id``, ``gene``, ``variation``, ``text`` (may be empty), ``context`` (other free-text
inputs a curator has before deciding, such as CIViC's disease and drugs; may be empty) and, when
labelled, ``label``. Everything is a string so that IDs like ``007`` and labels like ``1`` survive.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass.data.vocab import is_kaggle_label_set
from oncoclass.errors import InputError
from oncoclass.settings import get_settings
from oncoclass.variation import protein_change

ID, GENE, VARIATION, TEXT, CONTEXT, LABEL = "id", "gene", "variation", "text", "context", "label"
CANONICAL_COLUMNS: tuple[str, ...] = (ID, GENE, VARIATION, TEXT, CONTEXT)
#: Separate fields a curator has before deciding; the table joins them into ``context``
#: ("disease: Melanoma. drugs: Vemurafenib"), whichever loader or edge they came from.
CONTEXT_FIELDS: tuple[str, ...] = ("disease", "drugs")
REQUIRED_COLUMNS: tuple[str, ...] = (ID, GENE, VARIATION)
#: Where a protein change is read from, in order, whatever the case: a table's own names, MAF
#: (``HGVSp_Short``, ``HGVSp``), Oncotator and older MAFs (``Protein_Change``,
#: ``amino_acid_change``) and ANNOVAR (``AAChange``). The one list: ``predict``/``train``/``kb
#: import`` (:func:`oncoclass.data.tables.map_columns`) and ``annotate`` read the same names.
PROTEIN_CHANGE_COLUMNS: tuple[str, ...] = (
    "hgvsp_short", "hgvsp", "protein_change", "amino_acid_change", "aachange",
)  # fmt: skip
#: A table's own names for the variation, which it reads before the protein-change columns
#: (``annotate`` reads them after: a MAF's ``Variant`` may be a genomic change).
VARIATION_NAMES: tuple[str, ...] = ("variation", "variant")
#: Where a gene is read from, in order, whatever the case: a symbol first (MAF's ``Hugo_Symbol``,
#: VEP's ``SYMBOL``), ``gene`` last, because VEP's ``Gene`` holds Ensembl IDs (ENSG00000157764)
#: where the models and the store know genes by symbol. The one list: ``predict``/``train``/``kb
#: import`` (:func:`oncoclass.data.tables.map_columns`) and ``annotate`` read the same names.
GENE_COLUMNS: tuple[str, ...] = ("hugo_symbol", "symbol", "gene_symbol", "gene")
#: An Ensembl gene ID (ENSG00000157764, with or without its version): not a gene symbol.
ENSEMBL_GENE = re.compile(r"^ENSG\d{11}(?:\.\d+)?$", re.I)
#: Every canonical column's accepted names (lower case; a file's names are matched whatever their
#: case). ``id`` is optional: a table without one is numbered.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "identifier", "row_id"),
    "gene": GENE_COLUMNS,
    "variation": (*VARIATION_NAMES, *PROTEIN_CHANGE_COLUMNS),
    "text": ("text", "statement", "abstract"),
    "context": ("context",),
    "disease": ("disease", "disease_name", "cancer_type", "tumor_type"),
    "drugs": ("drugs", "drug", "therapies", "therapy"),
    "label": ("label", "class", "y"),
}
#: Added by :func:`oncoclass.kb.retrieve.attach` from the evidence store (empty without one): the
#: retrieved items as ``tier|source|label`` lines, the closest items' statements, the cited items'
#: ``source:source_id`` keys and their citations (``;``-separated, in the
#: same order), and where the row's text came from.
EVIDENCE, EVIDENCE_TEXT = "evidence", "evidence_text"
EVIDENCE_IDS, EVIDENCE_CITATIONS, TEXT_SOURCE = "evidence_ids", "evidence_citations", "text_source"
EVIDENCE_COLUMNS: tuple[str, ...] = (EVIDENCE, EVIDENCE_TEXT, EVIDENCE_IDS, EVIDENCE_CITATIONS, TEXT_SOURCE)
#: What a predictions file holds beside ``ID`` and one probability column per class.
PREDICTION, PREDICTION_SET = "prediction", "prediction_set"
#: Every column of a predictions file that is not a class probability: a label may not be named
#: like one (its probability column would be overwritten, or ``ID`` inserted twice).
OUTPUT_COLUMNS: tuple[str, ...] = ("ID", PREDICTION, PREDICTION_SET, TEXT_SOURCE, EVIDENCE_IDS)


def without_evidence(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with empty evidence columns where none were attached: what a model reads for
    rows no store was asked about. ``text_source`` is then ``given`` or ``none``."""
    if EVIDENCE in table.columns:
        return table
    texts = table[TEXT].fillna("").astype(str) if TEXT in table.columns else pd.Series("", index=table.index)
    return table.assign(
        **{EVIDENCE: "", EVIDENCE_TEXT: "", EVIDENCE_IDS: "", EVIDENCE_CITATIONS: "",
           TEXT_SOURCE: np.where(texts.str.strip() != "", "given", "none")}
    )  # fmt: skip


def check_text_length(length: int, *, path: str | Path, row: int | None) -> None:
    if length > (limit := get_settings().max_text_chars):
        raise InputError(
            f"a text of {length:,} characters, past the limit of {limit:,}.",
            path=path,
            row=row,
            hint="Split the document, or raise ONCOCLASS_MAX_TEXT_CHARS if it is genuine.",
        )


#: Values of a label column that mean "no label", whatever the file's format wrote for it.
MISSING_LABELS = frozenset({"", "nan", "null", "none", "na", "n/a"})


def _describe(value: object) -> str:
    kinds = {bool: "true/false", float: "a number with decimals", dict: "an object", list: "a list"}
    kind = next((name for t, name in kinds.items() if isinstance(value, t)), None)
    if kind is None:
        kind = "a list" if hasattr(value, "__len__") and not isinstance(value, str) else type(value).__name__
    shown = repr(value)
    return f"{kind} ({shown[:60]}{'…' if len(shown) > 60 else ''})"


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def check_types(
    frame: pd.DataFrame, *, source: str | Path, row_offset: int, row_of: Callable[[int], int] | None = None
) -> None:
    """Refuse a canonical column whose values are not text (or, for ``id`` and ``label``, whole
    numbers): lists, objects, timestamps, true/false or numbers with decimals from JSON or Parquet
    would otherwise become strings like ``"['W802*' 'X']"`` or labels ``1.0``. A row is named by
    ``row_of`` its position, when given (a JSON Lines record's line), else by ``row_offset``."""
    for column in (*CANONICAL_COLUMNS, *CONTEXT_FIELDS, LABEL):
        if column not in frame.columns:
            continue
        series = frame[column]
        if isinstance(series.dtype, pd.StringDtype) or (
            pd.api.types.is_integer_dtype(series.dtype) and column in (ID, LABEL)
        ):
            continue  # CSV/TSV text, or whole numbers where they are allowed
        numbers_ok = column in (ID, LABEL)
        for position, value in enumerate(series.tolist()):
            if _is_missing(value) or isinstance(value, str):
                continue
            if numbers_ok and isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
                continue
            allowed = "text or whole numbers" if numbers_ok else "text"
            raise InputError(
                f"column {column!r} holds {_describe(value)}; it must hold {allowed}.",
                path=source,
                row=row_of(position) if row_of is not None else position + row_offset,
                hint=f"Convert the {column} column to text, or map another column with --columns.",
            )


def cell_text(value: object, *, collapse: bool = False) -> str:
    """One value as stripped text, "" for a missing one (None, NaN): the one rule for a field read
    from a file or a record (CIViC's citations, the store's items). ``collapse``: runs of white
    space inside it become one space; a value that is not text (a number from Parquet or JSON) is
    always written so."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if collapse or not isinstance(value, str):
        return " ".join(str(value).split())
    return value.strip()


def as_text(series: pd.Series) -> pd.Series:
    """Strings, stripped, with missing values as empty strings."""
    if isinstance(series.dtype, pd.StringDtype):  # already text (CSV/TSV): no per-cell objects
        return series.fillna("").str.strip()
    return series.astype("object").where(series.notna(), "").astype(str).str.strip()


#: What a protein-change column holds where a variant has none (MAF's ".", VEP's "-", "p.?").
NO_CHANGE = ("", ".", "NA", "nan", "p.?", "-")


def change_disagreements(columns: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """Per row, "" or what says that the row's protein-change columns (``columns``, in the order
    they are read: ``HGVSp_Short``, ``HGVSp``, ``Protein_Change``…, each as text) name different
    changes: the first that holds one is read, and a MAF whose ``Protein_Change`` says V600E where
    its ``HGVSp_Short`` says V600K would otherwise have the other dropped without a word. Changes
    are compared as read (``p.Val600Glu`` is ``V600E``). The one rule for ``annotate`` (a note per
    row) and ``predict`` (a note for the file); ``index``: the rows'."""
    names = list(columns)
    notes = pd.Series("", index=index, dtype=object)
    if len(names) < 2:
        return notes
    cache: dict[str, str] = {}
    read = pd.Series("", index=index, dtype=object)
    read_from = pd.Series("", index=index, dtype=object)
    for name in names:
        values = columns[name].where(~columns[name].isin(NO_CHANGE), "")
        normal = values.map(lambda v: cache.setdefault(v, protein_change(v)) if v else "")
        differs = ((read != "") & (normal != "") & (normal != read) & (notes == "")).to_numpy()
        if differs.any():
            notes[differs] = [
                f"{name} reads {_quoted(other)}, {first} {_quoted(change)}: {first}'s is read"
                for other, first, change in zip(
                    normal[differs], read_from[differs], read[differs], strict=True
                )
            ]
        unset = ((read == "") & (normal != "")).to_numpy()
        read[unset], read_from[unset] = normal[unset], name
    return notes


def _quoted(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def _labelled(name: str, values: pd.Series) -> pd.Series:
    return values.where(values == "", name + ": " + values)


def join_context(parts: list[pd.Series]) -> pd.Series:
    """Each row's non-empty parts joined with ". " (``context``, then ``disease: …``, then
    ``drugs: …``): a row's context never depends on the other rows it is read with."""
    columns = [p.reset_index(drop=True).tolist() for p in parts]
    joined = [". ".join(value for value in row if value) for row in zip(*columns, strict=True)]
    return pd.Series(joined, index=parts[0].index, dtype=parts[0].dtype)


def split_context(context: str) -> dict[str, str]:
    """One row's context split back into what :func:`join_context` joined: the free ``context`` and
    each of :data:`CONTEXT_FIELDS` (``disease``, ``drugs``), empty where absent. Joining the parts
    again gives the same string."""
    parts: dict[str, list[str]] = {"context": [], **{name: [] for name in CONTEXT_FIELDS}}
    for piece in context.split(". ") if context else []:
        name = next((n for n in CONTEXT_FIELDS if piece.startswith(n + ": ") and not parts[n]), None)
        if name is None:
            # The free context comes first; after a field has begun, a piece is the rest of that
            # field's value, which itself held ". ".
            last = next((n for n in reversed(CONTEXT_FIELDS) if parts[n]), "context")
            parts[last].append(piece)
        else:
            parts[name].append(piece[len(name) + 2 :])
    return {name: ". ".join(values) for name, values in parts.items()}


def joined_context(context: str, **fields: str) -> str:
    """The model's context for one row from its parts, by :func:`join_context`'s rule."""
    named = [_labelled(n, pd.Series([fields.get(n, "")])).iloc[0] for n in CONTEXT_FIELDS]
    return join_context([pd.Series([context]), *(pd.Series([v]) for v in named)]).iloc[0]


#: A label that is a whole number written with a zero fraction (7.0, 12.00), its number the group.
_WHOLE_FLOAT = re.compile(r"^([+-]?\d+)\.0+$")


def text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns of ``frame`` (and ``label`` when present) as stripped text, absent
    columns empty; missing label spellings ("NaN", "null"…) become empty."""
    out = pd.DataFrame(index=range(len(frame)))
    for column in (*CANONICAL_COLUMNS, LABEL):
        if column in frame.columns:
            out[column] = as_text(frame[column].reset_index(drop=True))
        elif column != LABEL:
            out[column] = ""
    fields = [c for c in CONTEXT_FIELDS if c in frame.columns]
    if fields:
        out[CONTEXT] = join_context(
            [out[CONTEXT]] + [_labelled(name, as_text(frame[name].reset_index(drop=True))) for name in fields]
        )
    # One spelling of a protein change, whatever the input wrote: p.Val600Glu, p.(V600E), V600E.
    out[VARIATION] = out[VARIATION].map(protein_change)
    # A symbol written all in lower case (braf) is a slip of case: HGNC symbols are upper case
    # but for their orf and similar parts (C11orf30, kept as written), so only those are raised.
    lower = out[GENE].str.islower() & (out[GENE] != "")
    if lower.any():
        out.loc[lower, GENE] = out.loc[lower, GENE].str.upper()
    if LABEL in out.columns:  # "NaN", "null", blank…: no label, counted where rows are left out
        out.loc[out[LABEL].str.lower().isin(MISSING_LABELS), LABEL] = ""
        # A whole number written as a float (7.0: a spreadsheet's number column, pandas' float
        # column) is the class written 7, not a class of its own beside it.
        out[LABEL] = out[LABEL].str.replace(_WHOLE_FLOAT, r"\1", regex=True)
    return out


ENSEMBL_PROBLEM = (
    "a gene given as an Ensembl ID (ENSG…), not a gene symbol (name a symbol column with "
    "--columns gene=COLUMN, such as VEP's SYMBOL)"
)


NOT_A_SYMBOL = "a gene that does not begin with a letter or digit (a formula or a path, not a gene symbol)"
#: The longest gene a row may name: HGNC symbols run to a few tens of characters (the real data's
#: longest is 9); a longer one is a value from another column, and every output would repeat it.
MAX_GENE_CHARS = 100
_SYMBOL_START = re.compile(r"[^\W_]")
#: A control character (NUL, tab, line break, escape…): in a gene or a variation it is no part of
#: a name or a change but damage or an injection (a terminal escape, a line break that splits an
#: output's row), and every output would repeat it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_PROBLEM = "holding a control character (NUL, tab, line break, escape…)"


def gene_problem(gene: str) -> str:
    """Why ``gene`` is not a gene symbol ("" when it is): the one gene rule, which the row rule
    and ``annotate`` (which notes such a row and goes on) apply.

    A symbol begins with a letter or digit. One that begins with "=", "+", "-" or "@" is a
    spreadsheet formula (it would run when a curator opens an output in Excel), one that begins
    with "." or "/" a path: neither names a gene, and every output would repeat it. An Ensembl ID
    would be predicted as an unknown gene, with nothing said: evidence and vocabularies are keyed
    by symbol."""
    if not gene:
        return "empty gene"
    if not _SYMBOL_START.match(gene):
        return NOT_A_SYMBOL
    if _CONTROL.search(gene):
        return f"a gene {CONTROL_PROBLEM}, not a gene symbol"
    if ENSEMBL_GENE.match(gene):
        return ENSEMBL_PROBLEM
    if len(gene) > MAX_GENE_CHARS:
        return f"a gene past the limit of {MAX_GENE_CHARS} characters (not a gene symbol)"
    return ""


#: What a cell may not begin with: a spreadsheet runs it as a formula when a curator opens the file.
FORMULA_START = "=+@"
#: A control character a free text may not hold: its line breaks and tabs are text (CSV quotes them).
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(value: str) -> str:
    """Why a free-text value an export writes (a label, a statement, a disease, a comment) cannot
    be written ("" when it can): one that begins as a spreadsheet formula, or holds a control
    character other than a tab or a line break (a NUL makes the export unreadable)."""
    if value[:1] and value[0] in FORMULA_START:
        return "text that begins as a spreadsheet formula (=, + or @)"
    if _TEXT_CONTROL.search(value):
        return f"text {CONTROL_PROBLEM.replace(', tab, line break', '')}"
    return ""


def label_problem(label: str) -> str:
    """Why ``label`` cannot be learned ("" when it can): the one label rule. A label becomes an
    output's column name and cells (predict, explain, annotate), so one that begins as a
    spreadsheet formula would run when a curator opens the file, a control character (a tab or a
    line break too: a column name is one line) would split the header, and a label named like one of
    predict's own columns (:data:`OUTPUT_COLUMNS`, any case) would overwrite it."""
    if label[:1] and label[0] in FORMULA_START:
        return f"label {_quoted(label)} begins as a spreadsheet formula (=, + or @)"
    if _CONTROL.search(label):
        return f"label {_quoted(label)} holds a control character (tab, line break…)"
    if label.casefold() in {name.casefold() for name in OUTPUT_COLUMNS}:
        return f"label {_quoted(label)} is the name of a column predict writes"
    return ""


#: The longest variation a row may name: CIViC's longest compound profiles are a few hundred
#: characters; a 50 MB "variation" is a broken file, and every output would repeat it.
MAX_VARIATION_CHARS = 1000


def variation_problem(variation: str) -> str:
    """Why ``variation`` cannot be read ("" when it can): one that begins as a spreadsheet formula
    does ("=", "+", "@"), runs past :data:`MAX_VARIATION_CHARS` or holds a control character.
    HGVS's unchanged protein, ``p.=`` or ``p.(=)``, is read with its ``p.`` kept
    (:func:`oncoclass.variation.protein_change`), so it never reaches this rule as a formula."""
    if not variation:
        return "empty variation"
    if variation[0] in FORMULA_START:
        return "a variation that begins as a spreadsheet formula (=, + or @), not a variant"
    if len(variation) > MAX_VARIATION_CHARS:
        return f"a variation past the limit of {MAX_VARIATION_CHARS:,} characters"
    if _CONTROL.search(variation):
        return f"a variation {CONTROL_PROBLEM}, not a variant"
    return ""


#: A row that is no row of data but the file's shape: :func:`shape_problems`.
REPEATED_HEADER = "repeats the header (files joined together?)"
EMPTY_ROW = "an empty row (only separators)"
SHAPE_PROBLEMS = (REPEATED_HEADER, EMPTY_ROW)


_UNNAMED = re.compile(r"^Unnamed: \d+$")


def shape_problems(as_read: pd.DataFrame) -> pd.Series:
    """Per row of a table as read (under the file's own column names): "" or why it is no row of
    data. A row equal to the header is a second file's header where files were joined (it would
    be predicted as gene "gene", or filed in the store); a row of empty values only (a line of
    separators, an empty record) would otherwise be dropped or numbered without a word. Only rows
    whose first value is the first name or empty are looked at further: a cohort has none."""
    problems = pd.Series("", index=as_read.index, dtype=object)
    if as_read.empty or not len(as_read.columns):
        return problems
    # pandas names an empty header cell (a spreadsheet's padding column) "Unnamed: N".
    names = [_UNNAMED.sub("", str(name).strip().lstrip("\ufeff")) for name in as_read.columns]
    # A second file's byte-order mark is read into the first value of its header.
    first = as_text(as_read.iloc[:, 0]).str.lstrip("\ufeff").to_numpy()
    candidates = np.flatnonzero((first == names[0]) | (first == ""))
    if not len(candidates):
        return problems
    rows = as_read.iloc[candidates]
    repeats, empty = first[candidates] == names[0], first[candidates] == ""
    for position, name in enumerate(names[1:], start=1):
        values = as_text(rows.iloc[:, position]).to_numpy()
        repeats &= values == name
        empty &= values == ""
    problems.iloc[candidates[repeats]] = REPEATED_HEADER
    problems.iloc[candidates[empty]] = EMPTY_ROW
    return problems


def row_problems(table: pd.DataFrame, as_read: pd.DataFrame | None = None) -> pd.Series:
    """Why each row of a canonical table cannot be used ("" when it can): the one row rule. The
    file loaders raise on the first problem, the batch engine writes each to its reject file, and
    the service and explain refuse the record. ``as_read``: the same rows under the file's own
    column names, whose :func:`shape_problems` come first (a repeated header, an empty row)."""
    problems = pd.Series("", index=table.index, dtype=object)
    if as_read is not None:
        problems[:] = shape_problems(as_read).to_numpy()
    problems[(problems == "") & (table[ID] == "")] = f"empty {ID}"
    # The gene and variation rules say "empty" too; each is applied once per distinct value (a
    # cohort repeats its genes and recurrent changes: a million rows are a few thousand values).
    for column, rule in ((GENE, gene_problem), (VARIATION, variation_problem)):
        values = table[column].astype(str)
        unset = problems == ""
        problems[unset] = values[unset].map({v: rule(v) for v in values[unset].unique()})
    if TEXT in table.columns:
        limit = get_settings().max_text_chars
        problems[(problems == "") & (table[TEXT].str.len() > limit)] = (
            f"a text past the limit of {limit:,} characters"
        )
    return problems


def first_duplicate(ids: Iterable[object]) -> int | None:
    """The position of the first id that repeats an earlier one (None when each is unique): the
    one rule for duplicate ids, in a file's rows and in the service's batch of records."""
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    duplicated = np.flatnonzero(series.duplicated().to_numpy())
    return int(duplicated[0]) if len(duplicated) else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def records_to_table(records: list[dict[str, object]], *, source: str = "request") -> pd.DataFrame:
    """Records ``{gene, variation, text?, context?, disease?, drugs?, id?}`` (the service, explain)
    as a canonical table, checked by the same rules as a file's rows; a record without an ``id`` is
    numbered."""
    frame = pd.DataFrame(
        {
            ID: [r.get(ID) if not _blank(r.get(ID)) else str(i + 1) for i, r in enumerate(records)],
            **{c: [r.get(c) for r in records] for c in (GENE, VARIATION, TEXT, CONTEXT, *CONTEXT_FIELDS)},
        },
        dtype=object,
    )
    check_types(frame, source=source, row_offset=1)
    table = text_columns(frame)
    problems = row_problems(table)
    bad = problems[problems != ""]
    if len(bad):
        first = int(bad.index[0])
        raise InputError(
            f"record {first + 1}: {bad.iloc[0]}.", hint="Every record needs a gene and a variation."
        )
    return table


def numbers_rows(columns: Iterable[object]) -> bool:
    """A table without IDs (a list of variants) is numbered in file order: 1, 2, 3… (both engines)."""
    names = set(columns)
    return ID not in names and GENE in names and VARIATION in names


def numbered_ids(rows: int, *, start: int = 0) -> list[str]:
    """The IDs of ``rows`` rows numbered in file order, the first being row ``start + 1``."""
    return [str(start + i + 1) for i in range(rows)]


def numbered_note(rows: int) -> str:
    return f"no id column: the {rows} rows are numbered 1 to {rows} in file order."


def check_columns(columns: Iterable[object], source: str | Path) -> None:
    """The canonical columns a table must have (after numbering and ``--columns``)."""
    names = list(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing and missing != [ID]:
        # id is optional (a table without one is numbered): it is named only when it alone lacks.
        missing = [c for c in missing if c != ID]
    if missing:
        looked = "; ".join(f"{c} as {', '.join(COLUMN_ALIASES[c])}" for c in missing)
        found = ", ".join(map(str, names)) or "no named column"
        raise InputError(
            f"missing column(s) {', '.join(missing)}; found {found}. Looked for {looked} (any case).",
            path=source,
            hint="Name the columns gene, variation[, id, text, label] or map them with --columns.",
        )


def no_data_rows(source: str | Path) -> InputError:
    """The error for an input with a header and no rows, by every command (``predict``,
    ``annotate``, ``train``…, either engine): there is nothing to predict or learn, and an output of
    no rows would look like a run that worked (a sample's MAF cut off before its first row, or the
    wrong file given)."""
    return InputError(
        "the file holds no data rows.",
        path=source,
        hint="Check that it is the file you meant: a header alone holds nothing to predict, learn "
        "from or import.",
    )


def refuse_row_problems(
    table: pd.DataFrame, problems: pd.Series, *, source: str | Path, row_of: Callable[[int], int],
    hint: str = "Every row needs an id, a gene symbol and a variation.", counted: str = "",
) -> None:  # fmt: skip
    """Refuse the first of ``table``'s rows that break the row rule (``problems``, from
    :func:`row_problems`), named by its row in the file (``row_of`` its position): the one
    message, whichever engine finds it; ``counted`` says where the others were counted, when not
    in the whole file."""
    bad = np.flatnonzero((problems != "").to_numpy())
    if not len(bad):
        return
    first = int(bad[0])
    if table[TEXT].iloc[first] and len(table[TEXT].iloc[first]) > get_settings().max_text_chars:
        check_text_length(len(table[TEXT].iloc[first]), path=source, row=row_of(first))
    same = int((problems == problems.iloc[first]).sum()) - 1
    more = f" (and {same} more rows like it{counted})" if same else ""
    remove = ": remove it" if problems.iloc[first] in SHAPE_PROBLEMS else ""
    raise InputError(f"{problems.iloc[first]}{more}{remove}.", path=source, row=row_of(first), hint=hint)


def canonicalize(
    frame: pd.DataFrame,
    *,
    source: str | Path,
    require_label: bool = False,
    row_offset: int = 2,
    keep: tuple[str, ...] = (),
    as_read: pd.DataFrame | None = None,
    row_of: Callable[[int], int] | None = None,
) -> pd.DataFrame:
    """Return ``frame`` as the canonical table, or raise :class:`InputError` naming the row.

    ``row_offset`` converts a 0-based position into the row number a user sees in their file
    (2 for a file with one header line); ``row_of``, when given, gives it instead: a row's first
    line in the file, which a blank line or a quoted value holding line breaks before it moves
    on (the line a user's editor shows, as RowWidths and the Dask engine number it).

    ``keep`` names columns of ``as_read`` (the file's rows under the file's own column names, one
    per row of ``frame``; ``*`` for all) to carry along unchanged as ``KEPT_PREFIX + name``
    columns, which ``predict`` echoes beside its output.
    """
    notes: list[str] = []
    numbered = numbers_rows(frame.columns)
    if numbered:
        frame = frame.assign(**{ID: numbered_ids(len(frame))})
        notes.append(numbered_note(len(frame)))
    check_columns(frame.columns, source)
    if frame.empty:
        raise no_data_rows(source)
    check_types(frame, source=source, row_offset=row_offset, row_of=row_of)
    out = text_columns(frame)
    at = row_of if row_of is not None else (lambda position: position + row_offset)
    refuse_row_problems(out, row_problems(out, as_read), source=source, row_of=at)
    if (first := first_duplicate(out[ID])) is not None:
        raise InputError(
            f"duplicate id {out[ID].iloc[first]!r}.",
            path=source,
            row=at(first),
            hint="IDs must be unique; fix or drop the repeated rows.",
        )
    if LABEL in out.columns:
        unlabeled = out.index[out[LABEL] == ""]
        if require_label and len(unlabeled):
            raise InputError(
                f"empty label ({len(unlabeled)} row(s) without one).",
                path=source,
                row=at(int(unlabeled[0])),
                hint="Training needs a label on every row.",
            )
        # A label is checked once per distinct value (a cohort repeats a few classes).
        rule = {v: label_problem(v) for v in out[LABEL].unique()}
        bad = np.flatnonzero(out[LABEL].map(rule).to_numpy() != "")
        if len(bad):
            first = int(bad[0])
            raise InputError(
                f"{rule[out[LABEL].iloc[first]]}.",
                path=source,
                row=at(first),
                hint="Rename the class (a label becomes a column name and cells of every output).",
            )
    elif require_label:
        raise InputError(
            "no label column, so it cannot be used for training or evaluation.",
            path=source,
            hint="Add a label column (for Kaggle files: Class), or pass a solution file.",
        )
    if keep:
        out = out.join(kept_columns(frame if as_read is None else as_read, keep, source))
    out.attrs["notes"] = notes
    # Its IDs are positions, not names: the evidence store keys such rows by their content.
    out.attrs["numbered"] = numbered
    return out


#: The prefix of a canonical table's columns that carry an input column along unchanged.
KEPT_PREFIX = "kept:"


def kept_columns(as_read: pd.DataFrame, keep: tuple[str, ...], source: str | Path) -> pd.DataFrame:
    """The columns ``keep`` names (``*``: all), as read, renamed ``kept:<name>``."""
    names = [str(c) for c in as_read.columns]
    wanted = names if "*" in keep else list(dict.fromkeys(keep))
    absent = [name for name in wanted if name not in names]
    if absent:
        raise InputError(
            f"no column(s) {', '.join(absent)} to keep; the file has {', '.join(names)}.",
            path=source,
            hint="Name columns as the file's header writes them (case matters), or * for all.",
        )
    by_name = {str(c): c for c in as_read.columns}
    picked = as_read.loc[:, [by_name[name] for name in wanted]].reset_index(drop=True)  # in keep's order
    picked.columns = [KEPT_PREFIX + str(c) for c in picked.columns]
    return picked.astype(object).where(picked.notna(), "")


def validate_table(table: pd.DataFrame, *, require_label: bool = False) -> pd.DataFrame:
    """Check a table built in code (not from a file) against the canonical contract."""
    return canonicalize(table, source="<table>", require_label=require_label, row_offset=0)


def stored_table(rows: Sequence[Any], *, ids: list[str], text: str, context: list[str]) -> pd.DataFrame:
    """The canonical labelled table of rows read from the store (evidence items, reviewed items):
    each row's ``gene``, ``variation``, ``label`` and ``citation`` attributes, its ``text``
    attribute as the text, with the given IDs and contexts. The citations are kept as the groups
    that citation-grouped folds split by."""
    table = pd.DataFrame(
        {
            ID: ids,
            GENE: [r.gene for r in rows],
            VARIATION: [r.variation for r in rows],
            TEXT: [getattr(r, text) for r in rows],
            CONTEXT: context,
            LABEL: [r.label for r in rows],
        },
        dtype=object,
    )
    table.attrs["groups"] = {"citation": [r.citation for r in rows]}
    return table


def has_labels(table: pd.DataFrame) -> bool:
    return LABEL in table.columns and bool((table[LABEL] != "").all())


def table_hash(table: pd.DataFrame) -> str:
    """A content hash of the table, order-independent, so a model records what it learned from."""
    columns = [c for c in (*CANONICAL_COLUMNS, LABEL) if c in table.columns]
    ordered = table[columns].sort_values(ID, kind="stable")
    digest = hashlib.sha256()
    for column in columns:
        digest.update(column.encode())
        for value in ordered[column]:
            digest.update(value.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
    return digest.hexdigest()


def label_columns(labels: list[str] | tuple[str, ...]) -> list[str]:
    """Output column names for class probabilities: Kaggle's ``class1``… or the label itself."""
    if is_kaggle_label_set(labels):
        return [f"class{label}" for label in labels]
    return list(labels)
