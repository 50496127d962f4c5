"""Importing into the store, counting it and exporting it.

An import is one transaction: it lands whole or not at all (an error or Ctrl-C rolls it back).
It is idempotent: items are keyed by (source, the source's own ID) and carry a digest of their
content, so importing the same file again adds nothing, and a newer release of a source updates
only the items that changed. Every import is recorded as a release.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from oncoclass.data.table import MAX_GENE_CHARS, MAX_VARIATION_CHARS
from oncoclass.errors import InputError, StoreError
from oncoclass.kb.schema import ITEM_FIELDS, Item, Release
from oncoclass.kb.sources import (
    EXPORT_COLUMNS,
    EXPORT_ITEM_COLUMNS,
    RECURATED_SOURCES,
    SourceData,
    read_source,
)
from oncoclass.kb.store import Store, db_reason, store_errors
from oncoclass.progress import Progress
from oncoclass.variation import kind_group, parse, variation_key

_BATCH = 5000


@dataclass(frozen=True)
class ImportResult:
    path: str
    source: str
    release: str
    items: int
    added: int
    updated: int
    unchanged: int
    already_imported: bool
    notes: list[str] = field(default_factory=list)


def derived(item: dict[str, str]) -> dict[str, object]:
    """The search keys of an item, from its variation by the one grammar."""
    parsed = parse(item["variation"]) if item["variation"] else None
    kind = parsed.kind if parsed else "gene"
    return {
        "variation_key": variation_key(item["variation"]) if item["variation"] else "",
        "position": parsed.start if parsed else None,
        "kind": kind,
        "kind_group": kind_group(kind),
    }


def digest(*values: str) -> str:
    """A record's content digest: its fields joined by a unit separator, SHA-256."""
    return hashlib.sha256("\x1f".join(values).encode("utf-8")).hexdigest()


def content_hash(item: dict[str, str]) -> str:
    return digest(*(item[name] for name in ITEM_FIELDS))


#: The longest value an item's field may hold (characters); past these a value is not what the
#: field means, and PostgreSQL cannot index it.
#: A gene's and a variation's are the row rule's (:mod:`oncoclass.data.table`), one limit each.
MAX_CHARS = {
    "source": 300, "source_id": 300, "gene": MAX_GENE_CHARS, "variation": MAX_VARIATION_CHARS, "label": 300,
    "citation": 500,
}  # fmt: skip


#: Where an exported item came from: (source, release name, release digest, imported_at or "").
Origin = tuple[str, str, str, str]


def _rows(
    data: SourceData,
    path: str | Path,
    origins: dict[tuple[str, str], Origin] | None = None,
    first_row: dict[tuple[str, str], int] | None = None,
) -> dict[tuple[str, str], dict[str, object]]:
    """The items keyed by (source, the source's ID), checked: an item needs an ID and a gene, no
    two items share a key, and no field is past its length (each refused with its row). An
    exported item's release (its source's, not the file's) goes into ``origins``, and each item's
    row into ``first_row``, same key."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    first_row = {} if first_row is None else first_row
    for number, item in enumerate(data.items, start=2):
        source = item.get("source") or data.source
        row = {name: item[name] for name in ITEM_FIELDS}
        row.update(source=source)
        for name, limit in MAX_CHARS.items():
            if len(str(row[name])) > limit:
                raise InputError(
                    f"the {name} is {len(str(row[name])):,} characters long; a store keeps at most {limit}.",
                    path=path, row=number,
                )  # fmt: skip
        for name in ("source_id", "gene"):
            if not row[name]:
                raise InputError(f"an item without a {name}.", path=path, row=number)
        key = (source, item["source_id"])
        if key in rows:
            raise InputError(
                f"{source}:{item['source_id']} is also the item of row {first_row[key]}; each item once.",
                path=path, row=number,
            )  # fmt: skip
        row.update(content_hash=content_hash(item), **derived(item))
        rows[key], first_row[key] = row, number
        if "source" in item and origins is not None:
            # An exported item: filed under the release it names, or, in an older export naming
            # none, under this file as a release of the item's own source (which stats lists).
            release, sha256 = item.get("release") or data.release, item.get("release_sha256") or data.sha256
            origins[key] = (source, release, sha256, item.get("imported_at", ""))
    return rows


@dataclass(frozen=True)
class Prepared:
    """One file read and checked for import (:func:`prepare`), not yet in any store."""

    path: str
    data: SourceData
    rows: dict[tuple[str, str], dict[str, object]]
    #: The releases an export's items came from (none for any other file: its items are its own).
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    #: Each item's row in the file, to name it when the store refuses it.
    row_of: dict[tuple[str, str], int] = field(default_factory=dict)


def prepare(
    path: str | Path,
    *,
    text: str | Path | None = None,
    columns: dict[str, str] | None = None,
    source: str | None = None,
) -> Prepared:
    """Read and check one file for import, touching no store: a bad file is refused before
    anything is written (and before a new store file is created)."""
    data = read_source(path, text=text, columns=columns, source=source)
    origins: dict[tuple[str, str], Origin] = {}
    row_of: dict[tuple[str, str], int] = {}
    return Prepared(str(path), data, _rows(data, path, origins, row_of), origins, row_of)


def import_path(
    store: Store,
    path: str | Path,
    *,
    text: str | Path | None = None,
    columns: dict[str, str] | None = None,
    source: str | None = None,
    progress: Progress = None,
) -> ImportResult:
    """Import one file into ``store``; ``progress`` (as the jobs take it) counts the items."""
    return import_prepared(store, prepare(path, text=text, columns=columns, source=source), progress=progress)


def import_prepared(store: Store, prepared: Prepared, *, progress: Progress = None) -> ImportResult:
    """Write a :func:`prepare`d file into ``store``, in one transaction."""
    path, data, rows = prepared.path, prepared.data, prepared.rows
    if progress is not None:
        progress.start(len(rows), f"importing {Path(str(path)).name}")

    def advance(n: int) -> None:
        if progress is not None:
            progress(n)

    moved: list[str] = []  # a table's items whose ID now names another variant (said, not refused)
    common = {"path": str(path), "source": data.source, "release": data.release, "notes": data.notes}
    file_origin: Origin = (data.source, data.release, data.sha256, "")
    try:
        with store.engine.begin() as connection:
            # The file's own release, and for an export each release its items came from.
            releases: dict[tuple[str, str], tuple[int, bool]] = {}

            def release_of(origin: Origin) -> tuple[int, bool]:
                source, name, sha256, imported_at = origin
                if (source, sha256) not in releases:
                    seen = connection.execute(
                        select(Release.id).where(Release.source == source, Release.sha256 == sha256)
                    ).first()
                    # A release seen before is compared item by item all the same: a later import
                    # may have changed what it holds, and importing it again puts it back.
                    releases[(source, sha256)] = (
                        (seen[0], True)
                        if seen is not None
                        else (
                            connection.execute(
                                insert(Release).values(
                                    source=source,
                                    name=name,
                                    sha256=sha256,
                                    imported_at=_when(imported_at),
                                    added=0,
                                    updated=0,
                                    unchanged=0,
                                )
                            ).inserted_primary_key[0],
                            False,
                        )
                    )
                return releases[(source, sha256)]

            if not rows or len(prepared.origins) < len(rows):
                # Only when some item is the file's own: an export whose items all name their
                # release adds no release of its own, so importing it into its store adds nothing.
                release_of(file_origin)
            sources = sorted({key[0] for key in rows})
            existing = {
                (s, sid): (item_id, digest, gene, variation, key)
                for s, sid, item_id, digest, gene, variation, key in connection.execute(
                    select(
                        Item.source, Item.source_id, Item.id, Item.content_hash, Item.gene,
                        Item.variation, Item.variation_key,
                    ).where(Item.source.in_(sources))
                )
            }  # fmt: skip
            new, changed, unchanged = [], [], 0
            counts: dict[int, list[int]] = {}  # per release: added, updated, unchanged
            for key, row in rows.items():
                origin = prepared.origins.get(key)
                release_id = release_of(origin or file_origin)[0]
                row["release_id"] = release_id
                tally = counts.setdefault(release_id, [0, 0, 0])
                if key not in existing:
                    new.append(row)
                    tally[0] += 1
                elif existing[key][1] != row["content_hash"]:
                    if key[0] not in RECURATED_SOURCES and (
                        note := _moved(prepared, key, existing[key][2:], row)
                    ):
                        moved.append(note)
                    changed.append({**row, "_id": existing[key][0]})
                    tally[1] += 1
                else:
                    unchanged += 1
                    tally[2] += 1
            advance(unchanged)
            for start in range(0, len(new), _BATCH):
                connection.execute(insert(Item), new[start : start + _BATCH])
                advance(len(new[start : start + _BATCH]))
            if changed:
                statement = update(Item).where(Item.id == bindparam("_id"))
                for start in range(0, len(changed), _BATCH):
                    batch = changed[start : start + _BATCH]
                    connection.execute(statement, [{k: v for k, v in row.items()} for row in batch])
                    advance(len(batch))
            for release_id, seen in releases.values():
                if not seen:  # a release's counts are those of its first import
                    added, updated, same = counts.get(release_id, [0, 0, 0])
                    connection.execute(
                        update(Release)
                        .where(Release.id == release_id)
                        .values(added=added, updated=updated, unchanged=same)
                    )
    except SQLAlchemyError as exc:
        reason = db_reason(exc)
        raise StoreError(
            f"the import of {path} into {store.shown} failed ({reason}); nothing was changed."
        ) from None
    if moved:
        common["notes"] = [
            *data.notes,
            f"{path}: {len(moved)} item(s) now name another gene or variant than the store held, and "
            f"were updated as the file says (an ID names one item: a corrected typo moves it; two "
            f"different rows need IDs of their own): {'; '.join(moved[:5])}{' …' if len(moved) > 5 else ''}.",
        ]
    again = all(seen for _, seen in releases.values()) and not new and not changed
    return ImportResult(**common, items=len(rows), added=len(new), updated=len(changed),
                        unchanged=unchanged, already_imported=again)  # fmt: skip


def _moved(
    prepared: Prepared, key: tuple[str, str], stored: tuple[str, str, str], row: dict[str, object]
) -> str:
    """What is said of an update that makes a user's stored item name another gene or variant
    ("" when it names the same: compared by the grammar's key, so ``p.Val600Glu`` is ``V600E``).
    Taken, as a corrected typo must be, and said, since two different rows sharing an ID would be
    the same move (the store keeps one item per ID)."""
    gene, variation, variation_key = stored

    def named(g: object, v: object, k: object) -> tuple[str, str]:
        return str(g).upper(), str(k) or str(v).strip().lower()

    if named(gene, variation, variation_key) == named(row["gene"], row["variation"], row["variation_key"]):
        return ""
    source, source_id = key
    where = prepared.row_of.get(key)
    return (
        f"{source}:{source_id}{f' (row {where})' if where else ''} was {gene} {variation or '(gene)'}, "
        f"now {row['gene']} {row['variation'] or '(gene)'}"
    )


def _when(imported_at: str) -> datetime:
    """When a release was imported: an export's own time (checked by the reader), else now."""
    if not imported_at:
        return datetime.now(UTC)
    when = datetime.fromisoformat(imported_at)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SourceStats:
    source: str
    items: int
    labelled: int
    genes: int
    releases: list[str]


@dataclass(frozen=True)
class StoreStats:
    url: str
    items: int
    genes: int
    variants: int
    sources: list[SourceStats]


def stats(store: Store) -> StoreStats:
    with store_errors(store, "counting"), store.engine.connect() as connection:
        per_source = connection.execute(
            select(
                Item.source,
                func.count(),
                func.count().filter(Item.label != ""),
                func.count(func.distinct(Item.gene)),
            ).group_by(Item.source).order_by(Item.source)
        ).all()  # fmt: skip
        releases: dict[str, list[str]] = {}
        for source, name, when in connection.execute(
            select(Release.source, Release.name, Release.imported_at).order_by(Release.id)
        ):
            releases.setdefault(source, []).append(f"{name} ({when:%Y-%m-%d %H:%M})")
        totals = connection.execute(select(func.count(), func.count(func.distinct(Item.gene)))).one()
        variants = connection.execute(
            select(func.count()).select_from(
                select(Item.gene, Item.variation_key).where(Item.variation_key != "").distinct().subquery()
            )
        ).scalar_one()
    return StoreStats(
        url=store.shown,
        items=int(totals[0]),
        genes=int(totals[1]),
        variants=int(variants),
        sources=[
            SourceStats(s, int(n), int(lab), int(g), releases.get(s, [])) for s, n, lab, g in per_source
        ],
    )


def export_frame(store: Store) -> pd.DataFrame:
    """Every item with its provenance, its release included, in
    :data:`~oncoclass.kb.sources.EXPORT_COLUMNS` order: ``kb import`` of it files each item under
    its release again."""
    columns = [getattr(Item, name) for name in EXPORT_ITEM_COLUMNS]
    query = (
        select(*columns, Release.name, Release.sha256, Release.imported_at)
        .join(Release, Item.release_id == Release.id)
        .order_by(Item.source, Item.id)
    )
    with store_errors(store, "the export"), store.engine.connect() as connection:
        rows = [(*r[:-1], _iso(r[-1])) for r in connection.execute(query)]
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS), dtype=object)


def _iso(when: datetime | None) -> str:
    """A release's time as text, the same in every format an export is written in (SQLite gives
    it back without its zone, which is UTC: the import stored it so)."""
    if when is None:
        return ""
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).isoformat()


def labelled_items(store: Store, labels: set[str]) -> pd.DataFrame:
    """The store's curated items whose label is one of ``labels``, as a canonical labelled table
    (IDs ``source:source_id``; the statement is the text; disease and drugs the context) with each
    item's citation as its group, so training never retrieves a row's own paper."""
    from oncoclass.data.table import CONTEXT, GENE, ID, LABEL, TEXT, VARIATION, joined_context, stored_table

    if not labels:
        return pd.DataFrame(columns=[ID, GENE, VARIATION, TEXT, CONTEXT, LABEL], dtype=object)
    query = (
        select(Item.source, Item.source_id, Item.gene, Item.variation, Item.statement, Item.disease,
               Item.drugs, Item.label, Item.citation)
        .where(Item.label.in_(sorted(labels)))
        .order_by(Item.source, Item.id)
    )  # fmt: skip
    with store_errors(store, "reading the curated items"), store.engine.connect() as connection:
        rows = connection.execute(query).all()
    ids = [f"{r.source}:{r.source_id}" for r in rows]
    context = [joined_context("", disease=r.disease, drugs=r.drugs) for r in rows]
    return stored_table(rows, ids=ids, text="statement", context=context)
