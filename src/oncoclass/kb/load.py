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

from oncoclass.errors import InputError, StoreError
from oncoclass.kb.schema import ITEM_FIELDS, Item, Release
from oncoclass.kb.sources import EXPORT_COLUMNS, SourceData, read_source
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
MAX_CHARS = {"source": 300, "source_id": 300, "gene": 100, "variation": 1000, "label": 300, "citation": 500}


def _rows(data: SourceData, path: str | Path) -> dict[tuple[str, str], dict[str, object]]:
    """The items keyed by (source, the source's ID), checked: an item needs an ID and a gene, no
    two items share a key, and no field is past its length (each refused with its row)."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    first_row: dict[tuple[str, str], int] = {}
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
    return rows


@dataclass(frozen=True)
class Prepared:
    """One file read and checked for import (:func:`prepare`), not yet in any store."""

    path: str
    data: SourceData
    rows: dict[tuple[str, str], dict[str, object]]


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
    return Prepared(str(path), data, _rows(data, path))


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

    common = {"path": str(path), "source": data.source, "release": data.release, "notes": data.notes}
    try:
        with store.engine.begin() as connection:
            seen = connection.execute(
                select(Release.id).where(Release.source == data.source, Release.sha256 == data.sha256)
            ).first()
            # A release seen before is compared item by item all the same: a later import may have
            # changed what it holds, and importing it again puts it back.
            release_id = (
                seen[0]
                if seen is not None
                else connection.execute(
                    insert(Release).values(
                        source=data.source,
                        name=data.release,
                        sha256=data.sha256,
                        imported_at=datetime.now(UTC),
                        added=0,
                        updated=0,
                        unchanged=0,
                    )
                ).inserted_primary_key[0]
            )
            sources = sorted({key[0] for key in rows})
            existing = {
                (s, sid): (item_id, digest)
                for s, sid, item_id, digest in connection.execute(
                    select(Item.source, Item.source_id, Item.id, Item.content_hash).where(
                        Item.source.in_(sources)
                    )
                )
            }
            new, changed, unchanged = [], [], 0
            for key, row in rows.items():
                row["release_id"] = release_id
                if key not in existing:
                    new.append(row)
                elif existing[key][1] != row["content_hash"]:
                    changed.append({**row, "_id": existing[key][0]})
                else:
                    unchanged += 1
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
            if seen is None:  # a release's counts are those of its first import
                connection.execute(
                    update(Release)
                    .where(Release.id == release_id)
                    .values(added=len(new), updated=len(changed), unchanged=unchanged)
                )
    except SQLAlchemyError as exc:
        reason = db_reason(exc)
        raise StoreError(
            f"the import of {path} into {store.shown} failed ({reason}); nothing was changed."
        ) from None
    again = seen is not None and not new and not changed
    return ImportResult(**common, items=len(rows), added=len(new), updated=len(changed),
                        unchanged=unchanged, already_imported=again)  # fmt: skip


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
    """Every item with its provenance, in :data:`~oncoclass.kb.sources.EXPORT_COLUMNS` order."""
    columns = [getattr(Item, name) for name in EXPORT_COLUMNS]
    with store_errors(store, "the export"), store.engine.connect() as connection:
        rows = connection.execute(select(*columns).order_by(Item.source, Item.id)).all()
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS), dtype=object)


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
