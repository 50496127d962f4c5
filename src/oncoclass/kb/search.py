"""Tiered retrieval: what the store knows about a variant, best evidence first.

Tiers, from the closest: the same variant (after normalising its notation, so ``V600E``,
``p.V600E`` and ``p.Val600Glu`` match), the same residue, the same kind of change in the gene
(every truncating change together), then anything on the gene. Within a tier, items are ranked by
BM25 relevance to the query text (the row's text or disease) when there is one, else labelled
evidence first and the newest first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select

from oncoclass.errors import ConfigError
from oncoclass.kb.schema import Item
from oncoclass.kb.store import Store, store_errors
from oncoclass.variation import kind_group, negates, parse, partner_gene, variation_key

TIERS: tuple[str, ...] = ("variant", "position", "kind", "gene")
#: The tier, after every other, of an item whose profile negates a variant (``NOT KRAS G12C``,
#: :func:`oncoclass.variation.negates`): evidence about the variant's absence, shown by search but
#: never counted as the gene's evidence (:func:`oncoclass.kb.retrieve.row_evidence` leaves it out).
ABSENCE = "absence"
_RANKED: tuple[str, ...] = (*TIERS, ABSENCE)
#: Kinds too vague for "the same kind of change" to mean anything.
_VAGUE_KINDS = frozenset({"other", "gene"})
_COLUMNS = (
    Item.id, Item.source, Item.source_id, Item.gene, Item.variation, Item.variation_key, Item.position,
    Item.kind_group, Item.disease, Item.drugs, Item.label, Item.statement, Item.citation, Item.url,
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Hit:
    tier: str
    score: float
    gene: str
    variation: str
    disease: str
    drugs: str
    label: str
    statement: str
    citation: str
    url: str
    source: str
    source_id: str

    @property
    def key(self) -> str:
        """``source:source_id``, how predictions cite an item."""
        return f"{self.source}:{self.source_id}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Query:
    """A variant to find evidence for. ``exclude`` holds ``(source, source_id)`` pairs and
    ``exclude_citations`` citations that must not be returned (a row's own evidence, and in
    training everything from its paper); ``exclude_statement`` a text whose copies are left out."""

    gene: str
    variation: str = ""
    text: str = ""
    disease: str = ""
    exclude: frozenset[tuple[str, str]] = frozenset()
    exclude_citations: frozenset[str] = frozenset()
    exclude_statement: str = ""
    #: The row's own ID: an item of any source with this ID *and* the same gene and change is the
    #: row itself (imported under another name, from a copy of the file, or with --source).
    own_id: str = ""

    def __post_init__(self) -> None:
        if not self.gene.strip():
            raise ConfigError("a search needs a gene.")


@lru_cache(maxsize=1 << 17)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


@lru_cache(maxsize=1 << 17)
def _counts(text: str) -> tuple[Counter[str], int]:
    # Cached: retrieving for a whole table ranks the same gene's items for many rows.
    words = _words(text)
    return Counter(words), len(words)


def _bm25(query: str, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    terms = set(_words(query))
    if not terms or not documents:
        return [0.0] * len(documents)
    counted = [_counts(doc) for doc in documents]
    average = sum(length for _, length in counted) / len(counted) or 1.0
    df = Counter(t for counts, _ in counted for t in terms if t in counts)
    n = len(documents)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms if df[t]}
    scores = []
    for counts, length in counted:
        norm = k1 * (1 - b + b * length / average)
        scores.append(sum(w * counts[t] * (k1 + 1) / (counts[t] + norm) for t, w in idf.items() if counts[t]))
    return scores


def fusion_genes(gene: str, variation: str) -> tuple[str, ...]:
    """The genes whose items can rank for ``variation`` of ``gene``: the gene, and for a fusion
    (``EWSR1::FLI1``, ``EML4-ALK Fusion``) both partners too. CIViC files a fusion under either
    partner (EWSR1-FLI1 under EWSR1, EML4-ALK under ALK; its current schema under the 3' gene), so
    a query names whichever gene its own source chose. A partner is read as the gene HGNC names
    now (:func:`oncoclass.variation.partner_gene`: ``BCR-ABL``'s ABL is ABL1)."""
    parsed = parse(variation) if variation else None
    partners = parsed.partners if parsed is not None and parsed.kind == "fusion" else ()
    return tuple(dict.fromkeys([gene.strip().upper(), *map(partner_gene, partners)]))


def tier_of(query_key: str, query_position: int | None, query_group: str, row: object) -> str:
    if query_key and row.variation_key == query_key:  # type: ignore[attr-defined]
        return "variant"
    if query_position is not None and row.position == query_position:  # type: ignore[attr-defined]
        return "position"
    if query_group not in _VAGUE_KINDS and row.kind_group == query_group:  # type: ignore[attr-defined]
        return "kind"
    return "gene"


def excluded(query: Query, row: object, key: str) -> bool:
    """Whether ``query`` must never see ``row`` (``key``: the query's variation key): the row's own
    item, under any source's name, an item of its paper, or a copy of its statement."""
    if (row.source, row.source_id) in query.exclude or (  # type: ignore[attr-defined]
        row.citation and row.citation in query.exclude_citations  # type: ignore[attr-defined]
    ):
        return True
    statement = query.exclude_statement.strip()
    if statement and row.statement.strip() == statement:  # type: ignore[attr-defined]
        return True
    return bool(query.own_id and row.source_id == query.own_id and key and row.variation_key == key)  # type: ignore[attr-defined]


def rank(query: Query, rows: Iterable[object], *, limit: int) -> list[Hit]:
    """Tier, filter and order candidate rows for ``query``: those of the query's gene, and those
    of another gene (a fusion's partner, :func:`fusion_genes`) with the query's very change."""
    parsed = parse(query.variation) if query.variation else None
    key = variation_key(query.variation) if query.variation else ""
    position = parsed.start if parsed else None
    group = kind_group(parsed.kind) if parsed else "gene"
    gene = query.gene.strip().upper()
    kept: list[tuple[int, object]] = []
    for row in rows:
        if row.gene.upper() != gene and not (key and row.variation_key == key):  # type: ignore[attr-defined]
            continue  # a fusion partner's item counts only when it is the same fusion
        if excluded(query, row, key):
            continue
        tier = ABSENCE if negates(row.variation) else tier_of(key, position, group, row)  # type: ignore[attr-defined]
        kept.append((_RANKED.index(tier), row))
    relevance = _bm25(" ".join((query.text, query.disease)), [r.statement + " " + r.disease for _, r in kept])  # type: ignore[attr-defined]
    top = max(relevance, default=0.0) or 1.0
    order = sorted(
        range(len(kept)),
        key=lambda i: (kept[i][0], -relevance[i], kept[i][1].label == "", -kept[i][1].id),  # type: ignore[attr-defined]
    )
    hits = []
    for i in order[:limit]:
        tier, row = kept[i]
        hits.append(
            Hit(
                tier=_RANKED[tier],
                score=round(len(TIERS) - tier + relevance[i] / top * 0.999, 4),
                gene=row.gene,
                variation=row.variation,
                disease=row.disease,
                drugs=row.drugs,  # type: ignore[attr-defined]
                label=row.label,
                statement=row.statement,
                citation=row.citation,
                url=row.url,  # type: ignore[attr-defined]
                source=row.source,
                source_id=row.source_id,  # type: ignore[attr-defined]
            )
        )
    return hits


#: The most items a tier is read with for one variant (the newest first): enough to rank a tier
#: by relevance, bounded so that a gene with a million items still answers in milliseconds.
TIER_READ = 500
#: Genes with at most this many items are read whole when a table is retrieved for at once.
POOL_LIMIT = 2000


def tier_rows(connection: Any, gene: str, variation: str) -> list[Any]:
    """The store's items that can rank for ``variation`` of ``gene``: each tier read with its own
    indexed query, the newest :data:`TIER_READ` of each."""
    parsed = parse(variation) if variation else None
    tiers = []
    if parsed is not None:
        tiers.append(Item.variation_key == variation_key(variation))
        if parsed.start is not None:
            tiers.append(Item.position == parsed.start)
        if kind_group(parsed.kind) not in _VAGUE_KINDS:
            tiers.append(Item.kind_group == kind_group(parsed.kind))
    tiers.append(None)  # the gene
    # A fusion's partner genes are read for the same fusion only (rank keeps nothing else of theirs).
    reads = [(gene, condition) for condition in tiers] + [
        (partner, tiers[0]) for partner in fusion_genes(gene, variation)[1:]
    ]
    rows: dict[int, Any] = {}
    for filed, condition in reads:
        where = [Item.gene == filed] + ([condition] if condition is not None else [])
        statement = select(*_COLUMNS).where(*where).order_by(Item.id.desc()).limit(TIER_READ)
        for row in connection.execute(statement):
            rows.setdefault(row.id, row)
    return list(rows.values())


def pooled(pool: dict[str, list[Any] | None], gene: str, variation: str) -> list[Any] | None:
    """The rows of :func:`candidates`' ``pool`` that can rank for ``variation`` of ``gene`` (its
    fusion partners' included); None when one of those genes was too large to pool, so its tiers
    must be read (:func:`tier_rows`)."""
    rows: list[Any] = []
    for filed in fusion_genes(gene, variation):
        found = pool.get(filed, [])
        if found is None:
            return None
        rows.extend(found)
    return rows


def candidates(store: Store, genes: Iterable[str]) -> dict[str, list[Any] | None]:
    """Every item on each of ``genes`` (for ranking many rows of a table at once); None for a
    gene with more than :data:`POOL_LIMIT` items, whose rows are read tier by tier instead."""
    wanted = sorted({g.strip().upper() for g in genes if g.strip()})
    out: dict[str, list[Any] | None] = {g: [] for g in wanted}
    with store_errors(store, "reading evidence"), store.engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            counts = connection.execute(
                select(Item.gene, func.count()).where(Item.gene.in_(chunk)).group_by(Item.gene)
            ).all()
            small = [g for g, n in counts if n <= POOL_LIMIT]
            out.update({g: None for g, n in counts if n > POOL_LIMIT})
            for row in connection.execute(select(*_COLUMNS).where(Item.gene.in_(small))):
                out[row.gene].append(row)  # type: ignore[union-attr]
    return out


def labelled_kinds(store: Store, genes: Iterable[str]) -> dict[str, Counter[str]]:
    """How many labelled items (curated evidence, not hotspots or summaries) the store holds on
    each of ``genes``, by kind of change (``kind_group``): one grouped, indexed query per 500
    genes, whatever their size, so a gene as studied as BRAF is counted whole (retrieval reads at
    most :data:`TIER_READ` items a tier). An item about a variant's absence (``NOT KRAS G12C``,
    :data:`ABSENCE`) is not the gene's evidence: not counted."""
    wanted = sorted({g.strip().upper() for g in genes if g.strip()})
    out: dict[str, Counter[str]] = {g: Counter() for g in wanted}
    with store_errors(store, "reading evidence"), store.engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            statement = (
                select(Item.gene, Item.kind_group, Item.variation, func.count())
                .where(Item.gene.in_(wanted[start : start + 500]), Item.label != "")
                .group_by(Item.gene, Item.kind_group, Item.variation)
            )
            for gene, group, variation, n in connection.execute(statement):
                if not negates(variation):
                    out[gene][group] += n
    return out


def search(store: Store, query: Query, *, limit: int = 10) -> list[Hit]:
    """The ``limit`` best hits for one variant."""
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, not {limit}.")
    with store_errors(store, "a search"), store.engine.connect() as connection:
        rows = tier_rows(connection, query.gene.strip().upper(), query.variation)
    return rank(query, rows, limit=limit)
