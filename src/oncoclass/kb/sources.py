"""Each source the store imports, read into items with their provenance.

A source is recognised from the file's content, never its name: CIViC evidence exports (every
schema version, through :mod:`oncoclass.data.civic`'s aliases), CIViC variant and gene summaries,
the cancer hotspots table (no header), the store's own export, Kaggle variants (with their text
file) and any labelled table oncoclass reads (through :func:`oncoclass.data.detect.load_table`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from oncoclass.data import civic
from oncoclass.data.civic import citation_key
from oncoclass.data.detect import detect_format, load_table
from oncoclass.data.files import decode, read_bytes
from oncoclass.data.table import CONTEXT_FIELDS, GENE, ID, LABEL, TEXT, VARIATION, cell_text
from oncoclass.errors import ConfigError, InputError
from oncoclass.kb.schema import ITEM_FIELDS

#: The columns an export needs (those of an export by an older oncoclass); they identify one.
EXPORT_ITEM_COLUMNS: tuple[str, ...] = ("source", *ITEM_FIELDS)
#: Each item's release: its name, the digest of the file it came from and when that was imported.
#: An export without them (an older oncoclass's) imports as one release of its own.
RELEASE_COLUMNS: tuple[str, ...] = ("release", "release_sha256", "imported_at")
#: The columns of ``kb export``, which ``kb import`` reads back with their sources and releases kept.
EXPORT_COLUMNS: tuple[str, ...] = (*EXPORT_ITEM_COLUMNS, *RELEASE_COLUMNS)

#: Chang et al., "Accelerating discovery of functional mutant alleles in cancer", Cancer Discovery
#: 2018 (cancerhotspots.org v2).
HOTSPOTS_CITATION = "PMID:29247016"
HOTSPOTS_URL = "https://www.cancerhotspots.org"
_HOTSPOT_WIDTH = 8
_VARIANT_SUMMARY = {"variant_id", "variant", "gene", "summary"}
_GENE_SUMMARY = {"gene_id", "name", "description"}


@dataclass
class SourceData:
    """What one file holds: its source's name, a release name, the file's digest and items (one
    dict of :data:`~oncoclass.kb.schema.ITEM_FIELDS` each, plus ``source`` for an export and, for
    an export that has them, the item's :data:`RELEASE_COLUMNS`)."""

    source: str
    release: str
    sha256: str
    items: list[dict[str, str]]
    notes: list[str]


#: The names oncoclass gives the sources it reads (``kaggle`` and ``table`` with ``:<file name>``):
#: a user's name for a table's source must be none of them, or its items would replace theirs.
BUILT_IN_SOURCES: tuple[str, ...] = ("civic", "civic-variants", "civic-genes", "hotspots", "kaggle", "table")
#: Curated releases whose IDs are the curators' own: a later release may move an item to another
#: variant (CIViC re-curates evidence: a profile corrected, a variant split), and the item is
#: still the one its ID names, so the update is taken without a word. A user's table's item
#: moved so is taken too, and said (:func:`oncoclass.kb.load.import_prepared`): there, it may be
#: a corrected typo or two rows given one ID.
RECURATED_SOURCES: frozenset[str] = frozenset({"civic", "civic-variants", "civic-genes"})


def check_source_name(name: str) -> None:
    """Refuse a user's source name that is (or, ``kaggle:…``, ``table:…``, could be) oncoclass's
    own: the store keys items by (source, ID), so a table named ``civic`` replaced CIViC's items."""
    taken = name.strip().lower()
    if taken in BUILT_IN_SOURCES or (":" in taken and taken.split(":", 1)[0] in ("kaggle", "table")):
        raise ConfigError(
            f"the source name {name!r} is one oncoclass gives its own sources "
            f"({', '.join(BUILT_IN_SOURCES[:-2])}, kaggle:<file>, table:<file>).",
            field="source",
            hint="Choose another name for your table's source (your lab's, say).",
        )


def source_name(fmt: str, path: str | Path) -> str:
    """The store's name for the source of a file read as ``fmt``: ``civic``, ``kaggle:<file name>``
    or ``table:<file name>``. The one rule, so a table loaded for training finds its own items in
    the store (and leaves them out)."""
    if fmt == "civic":  # evidence IDs are CIViC's own, the same in every export
        return fmt
    # Kaggle's IDs and a table's mean something only within their file.
    return f"{'kaggle' if fmt == 'kaggle' else 'table'}:{Path(str(path)).name}"


def _header(data: bytes) -> list[str]:
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")
    return [f.strip().lower() for f in first.split("\t")]


def detect_source(path: str | Path, data: bytes) -> str:
    """``civic``, ``civic-variants``, ``civic-genes``, ``hotspots``, ``export``, or a table format
    of :func:`oncoclass.data.detect.detect_format` (``kaggle``, ``csv``…)."""
    header = _header(data)
    if data[:4] != b"PAR1":
        if set(EXPORT_ITEM_COLUMNS) <= set(header) or set(EXPORT_ITEM_COLUMNS) <= set(header[0].split(",")):
            return "export"
        if len(header) == _HOTSPOT_WIDTH and header[1].isdigit() and header[6][:1].isalpha():
            return "hotspots"
        if civic.looks_like_civic(header):
            return "civic"
        if set(header) >= _VARIANT_SUMMARY:
            return "civic-variants"
        if set(header) >= _GENE_SUMMARY:
            return "civic-genes"
    fmt = detect_format(path, data)
    if fmt == "parquet":
        import io

        import pyarrow.parquet as pq

        try:  # the schema only: the rows are read (and size-checked) by the loader
            columns = set(pq.read_schema(io.BytesIO(data)).names)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InputError(f"cannot be read as Parquet ({exc}).", path=path) from None
        if set(EXPORT_ITEM_COLUMNS) <= columns:
            return "export"
    if fmt == "jsonl" and set(EXPORT_ITEM_COLUMNS) <= _first_record_keys(data):
        return "export"  # kb export writes JSONL too
    return fmt


def _first_record_keys(data: bytes) -> set[str]:
    """The keys of a JSON Lines file's first record (none when it is not one object): enough to
    tell an export, whose records all have the same keys; the loader checks every line."""
    import json

    first = data.lstrip().split(b"\n", 1)[0]
    try:
        record = json.loads(first)
    except (ValueError, RecursionError):
        return set()
    return {str(k).strip().lower() for k in record} if isinstance(record, dict) else set()


def _item(**fields: Any) -> dict[str, str]:
    item = {name: cell_text(fields.get(name, "")) for name in ITEM_FIELDS}
    item["gene"] = item["gene"].upper()
    return item


def _civic_evidence(path: str | Path, data: bytes, notes: list[str]) -> list[dict[str, str]]:
    raw = civic.read_rows(path, data)
    table = civic.load_civic(path, raw=raw)
    notes.extend(table.attrs.get("notes", []))  # compound molecular profiles, counted
    found = civic.columns_of(raw)

    def column(key: str) -> pd.Series:
        return raw[found[key]] if found[key] else pd.Series("", index=raw.index)

    citation, url, disease, drugs = column("citation_id"), column("url"), column("disease"), column("drugs")
    kind = column("source_type")
    items = []
    for i, row in enumerate(table.itertuples(index=False)):
        items.append(
            _item(
                source_id=row.id,
                gene=row.gene,
                variation=row.variation,
                disease=disease.iloc[i],
                drugs=drugs.iloc[i],
                label=getattr(row, "label", ""),
                statement=row.text,
                citation=citation_key(citation.iloc[i], kind.iloc[i]),
                url=url.iloc[i],
            )
        )
    return items


def _summaries(path: str | Path, data: bytes, kind: str, notes: list[str]) -> list[dict[str, str]]:
    skipped: list[int] = []
    raw = civic.read_rows(path, data, skipped=skipped)
    if skipped:
        # Real exports have such rows (a variant name holding a tab); a summary is knowledge, not
        # a label, so the rest of the file is still worth importing.
        lines = ", ".join(map(str, skipped[:10])) + (" …" if len(skipped) > 10 else "")
        notes.append(f"{path}: left out {len(skipped)} row(s) with more fields than the header "
                     f"(a value holds a tab): line(s) {lines}.")  # fmt: skip
    raw.columns = [c.strip().lower() for c in raw.columns]
    items = []
    for row in raw.to_dict("records"):
        if kind == "civic-variants":
            item = _item(source_id=row["variant_id"], gene=row["gene"], variation=row["variant"],
                         statement=row["summary"], url=row.get("variant_civic_url", ""))  # fmt: skip
        else:
            item = _item(source_id=row["gene_id"], gene=row["name"], statement=row["description"],
                         url=row.get("gene_civic_url", ""))  # fmt: skip
        if item["gene"]:
            items.append(item)
    return items


def _hotspots(path: str | Path, data: bytes) -> list[dict[str, str]]:
    items: dict[str, dict[str, str]] = {}
    for number, line in enumerate(decode(data, path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != _HOTSPOT_WIDTH:
            raise InputError(
                f"{len(fields)} tab-separated fields; the hotspots table has {_HOTSPOT_WIDTH}.",
                path=path,
                row=number,
            )
        chrom, start, ref, alt, gene, classification, change, sift = (f.strip() for f in fields)
        statement = (
            f"{gene} {change} is a recurrent mutational hotspot in cancer ({classification.replace('_', ' ')}"
            f"{', SIFT ' + sift if sift else ''}; cancer hotspots v2)."
        )
        # chrom:start ref>alt names the change; a long indel's alleles (hundreds of bases) are
        # named by a digest instead, so the key stays a key.
        alleles = (
            f"{ref}>{alt}"
            if len(ref) + len(alt) <= 40
            else hashlib.sha256(f"{ref}>{alt}".encode()).hexdigest()[:16]
        )
        key = f"{chrom}:{start}{alleles}:{gene}:{change}"
        items[key] = _item(source_id=key, gene=gene, variation=change, statement=statement,
                           citation=HOTSPOTS_CITATION, url=HOTSPOTS_URL)  # fmt: skip
    return list(items.values())


def _export(path: str | Path, data: bytes) -> list[dict[str, str]]:
    from oncoclass.data.tables import read_frame

    frame = read_frame(path, data=data)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in EXPORT_ITEM_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} of an oncoclass store export.", path=path)
    items = []
    for number, row in enumerate(frame.to_dict("records"), start=2):
        item = {**_item(**row), "source": cell_text(row["source"])}
        if not item["source"]:
            raise InputError("an item without a source.", path=path, row=number)
        item["citation"] = citation_key(item["citation"])
        release = cell_text(row.get("release", ""))
        if release:  # kept with the item: import_prepared files it under that release again
            item["release"] = release
            item["release_sha256"] = (
                cell_text(row.get("release_sha256", ""))
                or hashlib.sha256(f"{item['source']}\x1f{release}".encode()).hexdigest()
            )  # a hand-made export naming a release alone: one release per name
            item["imported_at"] = _imported_at(row.get("imported_at", ""), path, number)
        items.append(item)
    return items


def _imported_at(value: object, path: str | Path, number: int) -> str:
    """An export's ``imported_at``, checked (ISO 8601, as ``kb export`` writes it); empty is left
    to the import to fill with now."""
    text = cell_text(value)
    if text:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"imported_at {text[:40]!r} is not a date and time.",
                path=path,
                row=number,
                hint="Write it as kb export does (2024-05-01T12:00:00), or leave it empty.",
            ) from None
    return text


def table_items(table: pd.DataFrame) -> list[dict[str, str]]:
    """A canonical table's rows as items. A row's ID is its own, or, in a table numbered for want
    of an ``id`` column (``attrs["numbered"]``), one derived from its content (:func:`content_ids`):
    a position names no row, so another file's row 1 (a pipe's, ``--source``'s) would replace it.
    The one rule for the import and for retrieval, which leaves a row's own item out by it."""
    fields = {name: table[name] if name in table.columns else "" for name in CONTEXT_FIELDS}
    items = []
    for i, row in enumerate(table.to_dict("records")):
        items.append(
            _item(
                source_id=row[ID],
                gene=row[GENE],
                variation=row[VARIATION],
                statement=row.get(TEXT, ""),
                label=row.get(LABEL, ""),
                **{k: (v.iloc[i] if isinstance(v, pd.Series) else v) for k, v in fields.items()},
            )
        )
    if table.attrs.get("numbered"):
        for item, key in zip(items, content_ids(items), strict=True):
            item["source_id"] = key
    return items


def content_ids(items: list[dict[str, str]]) -> list[str]:
    """IDs for items that have none of their own: a digest of every field but the ID, so a
    different row never takes an earlier one's key, and the same file imported again gives the
    same keys (adds nothing). A row repeated whole is the n-th copy (``#2``, ``#3``…), kept, not
    dropped: a table may list one variant twice."""
    seen: dict[str, int] = {}
    ids = []
    for item in items:
        key = (
            "row:"
            + hashlib.sha256(
                "\x1f".join(item[name] for name in ITEM_FIELDS if name != "source_id").encode("utf-8")
            ).hexdigest()[:16]
        )
        seen[key] = seen.get(key, 0) + 1
        ids.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return ids


def _labelled_table(
    path: str | Path, data: bytes, fmt: str, text: str | Path | None, columns: dict[str, str] | None
) -> list[dict[str, str]]:
    return table_items(load_table(path, text=text, columns=columns, fmt=fmt, data=data))


def read_source(
    path: str | Path,
    *,
    text: str | Path | None = None,
    columns: dict[str, str] | None = None,
    source: str | None = None,
) -> SourceData:
    """Read one file (and, for Kaggle, its text file) into items. ``source`` names a user's table
    (default ``table:<file name>``); CIViC, hotspots and Kaggle name themselves."""
    if source:
        check_source_name(source)
    data = read_bytes(path)
    digest = hashlib.sha256(data)
    if text is not None:
        digest.update(read_bytes(text))
    kind = detect_source(path, data)
    notes: list[str] = []
    name = Path(str(path)).name
    if text is not None and kind != "kaggle":
        raise InputError(
            "--text belongs to a Kaggle variants file; this input carries its own text.", path=path
        )
    if kind == "civic":
        items, found = _civic_evidence(path, data, notes), "civic"
    elif kind in ("civic-variants", "civic-genes"):
        items, found = _summaries(path, data, kind, notes), kind
    elif kind == "hotspots":
        items, found = _hotspots(path, data), "hotspots"
    elif kind == "export":
        items, found = _export(path, data), "export"
    else:
        items = _labelled_table(path, data, kind, text, columns)
        found = source_name(kind, path)
    return SourceData(
        source=source or found, release=name, sha256=digest.hexdigest(), items=items, notes=notes
    )
