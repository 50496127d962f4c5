"""Kaggle MSKCC "Redefining Cancer Treatment" files: variants, ``ID||Text`` texts, solutions."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from oncoclass.data.files import decode, iter_lines, read_bytes, read_text, refuse_ragged_rows
from oncoclass.data.table import (
    GENE,
    ID,
    LABEL,
    TEXT,
    VARIATION,
    canonicalize,
    check_text_length,
)
from oncoclass.data.vocab import KAGGLE_CLASSES
from oncoclass.errors import InputError
from oncoclass.settings import get_settings

VARIANT_COLUMNS = ("ID", "Gene", "Variation")
_NULL_TEXTS = {"", "null", "NULL", "None", "nan", "NaN"}


def header_kind(first_line: str) -> str | None:
    """Which Kaggle file a header line belongs to, if any."""
    fields = [f.strip().lower() for f in first_line.split(",")]
    # Kaggle's variants files are exactly ID,Gene,Variation[,Class]; a table with more or other
    # columns (id,gene,variation,text,label…) is a generic table, whose labels are its own.
    if fields in (["id", "gene", "variation"], ["id", "gene", "variation", "class"]):
        return "variants"
    if first_line.strip().lower().replace(" ", "") in ("id,text", "id||text"):
        return "text"
    if fields and fields[0] == "id" and len(fields) > 1 and all(f.startswith("class") for f in fields[1:]):
        return "solution"
    return None


def read_variants(path: str | Path, data: bytes | None = None, *, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """``ID,Gene,Variation[,Class]`` as the canonical table (text empty, label from Class);
    ``data``: the file's bytes when the caller has already read them (an input is read once). A
    row is named by the line it begins on, as an editor shows it (:class:`RowWidths`' count, the
    one every CSV reader names rows by: blank lines, lone CRs and quoted values holding line
    breaks before it move it on)."""
    data = read_bytes(path) if data is None else data
    content = decode(data, path)
    # The csv module refuses fields over 128 KiB by default; a row's limit is the text limit.
    csv.field_size_limit(max(csv.field_size_limit(), get_settings().max_text_chars + 1))
    try:
        rows = list(csv.reader(io.StringIO(content)))
    except csv.Error as exc:
        raise InputError(f"cannot be parsed as CSV ({exc}).", path=path) from exc
    if not rows:
        raise InputError("the file is empty.", path=path)
    header = [h.strip() for h in rows[0]]
    if [h.lower() for h in header[:3]] != ["id", "gene", "variation"]:
        raise InputError(
            f"expected a header starting ID,Gene,Variation; found {','.join(header)!r}.",
            path=path,
        )
    width = len(header)
    # Every record of the header's width (a ragged one refused by its line), each one's first line.
    starts: list[int] = []
    refuse_ragged_rows(data, path, delimiter=",", quoted=True, starts=starts)
    body = [row for row in rows[1:] if len(row) == width]  # the others are blank lines, as RowWidths skips
    frame = pd.DataFrame(body, columns=[h.lower() for h in header], dtype=object)
    frame = frame.rename(columns={"class": LABEL})
    as_read = frame.set_axis(header, axis=1)  # the row rule's header and kept columns
    row_of = starts.__getitem__ if len(starts) == len(body) else None  # one start per row read
    table = canonicalize(frame, source=path, keep=keep, as_read=as_read, row_of=row_of)
    if LABEL in table.columns:
        _check_classes(table, path, row_of or (lambda position: position + 2))
    return table


def _check_classes(table: pd.DataFrame, path: str | Path, row_of: Callable[[int], int]) -> None:
    bad = table.index[~table[LABEL].isin(list(KAGGLE_CLASSES))]
    if len(bad):
        value = table[LABEL].iloc[int(bad[0])]
        raise InputError(
            f"Class {value!r} is not one of Kaggle's classes 1-9.",
            path=path,
            row=row_of(int(bad[0])),
        )


#: ``(gene, variation, text) -> kept text``.
ReduceText = Callable[[str, str, str], str]
#: ``(id, text) -> kept text``: what to keep of each document as it streams in.
Keep = Callable[[str, str], str]


def read_texts(path: str | Path, *, keep: Keep | None = None) -> dict[str, str]:
    """``ID||Text`` lines after an ``ID,Text`` header, as id -> text ('null' texts become '').

    The file is streamed line by line; ``keep`` (when given) reduces each text as it is read, so
    a corpus of long articles costs memory only for what the model will look at.
    """
    lines = iter_lines(path, max_line_chars=get_settings().max_text_chars, keep_ends=True)
    first = next(lines, None)
    first = None if first is None else first.removesuffix("\n")
    if first is None or header_kind(first) != "text":
        shown = (first or "")[:60]
        raise InputError(
            f"expected Kaggle's text format (header 'ID,Text', then 'ID||text' lines); "
            f"the first line is {shown!r}.",
            path=path,
        )
    texts: dict[str, str] = {}
    for number, line in enumerate(lines, start=2):
        # Only the last line can lack its line break: the file ends inside it.
        ended = line.endswith("\n")
        line = line[:-1] if ended else line
        if not line.strip():
            continue
        key, sep, text = line.partition("||")
        key = key.strip()
        if not sep and not ended:
            # Cut inside the ID or its '||': the one cut that shows. A cut inside the last text
            # cannot be told from a whole file without a final line break, and is not guessed
            # at; a cut before a whole document shows as its variant missing a text (load_kaggle).
            raise InputError(
                "the last line has no '||' after its ID and the file ends without a line break: "
                "it was cut short (an interrupted download or copy).",
                path=path,
                row=number,
                hint="Download or copy the file again.",
            )
        if not sep:
            raise InputError(
                "no '||' between the ID and the text.",
                path=path,
                row=number,
                hint="Each line must read ID||text.",
            )
        if not key:
            raise InputError("empty ID before '||'.", path=path, row=number)
        if text.startswith("||"):
            raise InputError(
                "a doubled '||' after the ID.",
                path=path,
                row=number,
                hint="Each line must read ID||text, with one separator.",
            )
        if key in texts:
            raise InputError(f"ID {key!r} has a second text.", path=path, row=number)
        check_text_length(len(text), path=path, row=number)
        text = text.strip()
        text = "" if text in _NULL_TEXTS else text
        texts[key] = keep(key, text) if keep is not None and text else text
    if not texts:
        raise InputError("the text file holds a header but no texts.", path=path)
    return texts


def read_solution(path: str | Path, data: bytes | None = None) -> dict[str, str]:
    """A one-hot solution file (``ID,class1..class9``) as id -> label."""
    content = read_text(path) if data is None else decode(data, path)
    frame = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)
    columns = [c.strip() for c in frame.columns]
    if not columns or columns[0].lower() != "id":
        raise InputError("expected a solution file with header ID,class1,...", path=path)
    labels: dict[str, str] = {}
    classes = [c[len("class") :] for c in columns[1:]]
    for position, row in enumerate(frame.itertuples(index=False), start=2):
        try:
            scores = [float(v) for v in row[1:]]
        except ValueError as exc:
            raise InputError(f"a class value is not a number ({exc}).", path=path, row=position) from exc
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] <= 0:
            raise InputError("no class is marked for this ID.", path=path, row=position)
        labels[str(row[0]).strip()] = classes[best]
    return labels


def load_kaggle(
    variants: str | Path,
    text: str | Path | None = None,
    labels: str | Path | None = None,
    reduce_text: ReduceText | None = None,
    data: bytes | None = None,
    keep: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Variants, optionally joined to their texts and to a solution file, as one table.

    Every variant must have a text line when a text file is given, and every text line a variant:
    a mismatch usually means the wrong pair of files, so it is an error rather than a silent drop.
    ``reduce_text(gene, variation, text)``, when given, is applied to each text as it is read
    (a model that only reads the text around the variant's mentions passes its own reduction).
    """
    table = read_variants(variants, data, keep=keep)
    notes: list[str] = []
    if text is not None:
        cut: Keep | None = None
        if reduce_text is not None:
            about = dict(zip(table[ID], zip(table[GENE], table[VARIATION], strict=True), strict=True))

            def cut(key: str, document: str) -> str:
                # An ID with no variant is reported below; its text is not needed for that.
                return reduce_text(*about[key], document) if key in about else ""

        texts = read_texts(text, keep=cut)
        ids = set(table[ID])
        missing = [i for i in table[ID] if i not in texts]
        extra = [i for i in texts if i not in ids]
        if missing:
            raise InputError(
                f"{len(missing)} variant ID(s) have no text in {text} (first: {missing[0]!r}).",
                path=variants,
                hint="Pass the text file that belongs to this variants file.",
            )
        if extra:
            raise InputError(
                f"{len(extra)} text ID(s) have no variant in {variants} (first: {extra[0]!r}).",
                path=text,
                hint="Pass the variants file that belongs to this text file.",
            )
        table[TEXT] = table[ID].map(texts)
        empty = int((table[TEXT] == "").sum())
        if empty:
            notes.append(f"{empty} row(s) have an empty or null text; they use gene and variation only.")
    if labels is not None:
        solution = read_solution(labels)
        unknown = [i for i in solution if i not in set(table[ID])]
        if unknown:
            raise InputError(
                f"{len(unknown)} solution ID(s) are not in {variants} (first: {unknown[0]!r}).",
                path=labels,
            )
        if LABEL in table.columns:
            notes.append("the solution file's labels replace the variants file's Class column.")
        table[LABEL] = table[ID].map(solution).fillna("")
        unlabelled = int((table[LABEL] == "").sum())
        if unlabelled:
            notes.append(
                f"{unlabelled} of {len(table)} rows have no label in {Path(labels).name} "
                "(Kaggle's decoys); labelled work uses the other rows."
            )
    table.attrs["notes"] = notes
    table.attrs["source"] = str(variants)
    return table
