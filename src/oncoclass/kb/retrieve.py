"""The store's evidence attached to a table, for a model to read and a prediction to cite.

Each row gets :data:`~oncoclass.data.table.EVIDENCE_COLUMNS`: the retrieved items as
``tier|source|label`` lines (features, :class:`oncoclass.features.evidence.EvidenceFeatures`), the
closest items' statements (kept for a reader; no recipe reads them as text since their TF-IDF made
the text-free member worse), the cited items' keys and citations,
and ``text_source``: ``given`` (the row's own text), ``retrieved`` (no text; the store holds
evidence on its variant or residue, which the prediction read and cites) or ``none``.

No leakage: a row never retrieves its own item (same source and ID, or the same statement); in
training and evaluation it also never retrieves anything from its own paper.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from oncoclass.data.table import (
    CONTEXT,
    EVIDENCE,
    EVIDENCE_CITATIONS,
    EVIDENCE_COLUMNS,
    EVIDENCE_IDS,
    EVIDENCE_TEXT,
    GENE,
    ID,
    TEXT,
    TEXT_SOURCE,
    VARIATION,
    without_evidence,
)
from oncoclass.features.evidence import CLOSE_TIERS, KINDS_LINE

if TYPE_CHECKING:
    # The store's modules (SQLAlchemy: ~0.3 s to import) load when a store is used: `train` and
    # `predict` without one never import them.
    from oncoclass.kb.search import Hit, Query
    from oncoclass.kb.store import Store

#: Items a row's features count (closest tiers first).
FEATURE_HITS = 60
#: Statements kept in ``evidence_text``, and items a prediction cites.
TEXT_HITS, CITED = 3, 5


def text_source(text: str, cited: str) -> str:
    """Where a row's text came from: its own (``given``), the store's items it cites
    (``retrieved``), or neither (``none``); the one rule."""
    if text.strip():
        return "given"
    return "retrieved" if cited else "none"


def row_evidence(hits: list[Hit]) -> tuple[str, str, str, str]:
    """``(evidence lines, retrieved text, cited keys, their citations)`` of one row's hits. A row
    cites only the items on its variant and residue, the tiers a model reads
    (:data:`~oncoclass.features.evidence.CLOSE_TIERS`): what the gene's other changes say is
    shown by search and explain, not claimed as the prediction's evidence. An item about a
    variant's absence (``NOT KRAS G12C``: :data:`~oncoclass.kb.search.ABSENCE`) is none of the
    row's evidence: not a line, a statement or a citation."""
    from oncoclass.kb.search import ABSENCE

    hits = [h for h in hits if h.tier != ABSENCE]
    lines = "\n".join(f"{h.tier}|{h.source}|{h.label or '-'}" for h in hits)
    text = " ".join(h.statement for h in [h for h in hits if h.statement][:TEXT_HITS])
    cited = [h for h in hits if h.tier in CLOSE_TIERS][:CITED]
    return lines, text, ";".join(h.key for h in cited), ";".join(h.citation for h in cited)


def _kind_lines(counts: Counter[str] | None, query: Query, rows: list[Any]) -> str:
    """``kinds|group|n`` lines: the labelled items the store holds on the query's gene by kind of
    change (:func:`~oncoclass.kb.search.labelled_kinds`), less those of them the query must not
    see (its own item, its paper's) among the ``rows`` read for it: all of a pooled gene's, a
    large gene's newest per tier (where one paper's items barely move the counts)."""
    if not counts:
        return ""
    from oncoclass.kb.search import excluded
    from oncoclass.variation import negates, variation_key

    left = Counter(counts)
    gene, key = query.gene.strip().upper(), variation_key(query.variation) if query.variation else ""
    for row in rows:
        if (
            row.label
            and row.gene.upper() == gene
            and excluded(query, row, key)
            and not negates(row.variation)
        ):
            left[row.kind_group] -= 1
    return "\n".join(f"{KINDS_LINE}|{group}|{n}" for group, n in sorted(left.items()) if n > 0)


def attach(table: pd.DataFrame, store: Store | None, *, leave_out_citations: bool = False) -> pd.DataFrame:
    """``table`` with the evidence columns (empty without a store). ``leave_out_citations``: also
    leave out every item from a row's own paper (training and evaluation)."""
    if store is None or table.empty:
        return without_evidence(table.drop(columns=[c for c in EVIDENCE_COLUMNS if c in table.columns]))
    from oncoclass.kb.search import Query, candidates, fusion_genes, labelled_kinds, pooled, rank, tier_rows
    from oncoclass.kb.sources import citation_key, source_name, table_items
    from oncoclass.kb.store import store_errors

    out = table.copy()
    n = len(out)
    texts = out[TEXT].fillna("").astype(str).tolist() if TEXT in out.columns else [""] * n
    own = source_name(str(table.attrs.get("format", "")), str(table.attrs.get("source", "")))
    # The IDs the store keeps this table's rows under (a numbered table's: from their content).
    own_ids = [i["source_id"] for i in table_items(out)] if table.attrs.get("numbered") else out[ID]
    citations = table.attrs.get("groups", {}).get("citation") if leave_out_citations else None
    # A fusion's evidence may be filed under either partner: both are pooled.
    pairs = list(zip(out[GENE].astype(str), out[VARIATION].astype(str), strict=True))
    pool = candidates(store, {filed for gene, variation in pairs for filed in fusion_genes(gene, variation)})
    kinds = labelled_kinds(store, {gene for gene, _ in pairs})
    contexts = out[CONTEXT].fillna("").astype(str).tolist() if CONTEXT in out.columns else [""] * n
    lines, retrieved, cited, cited_citations = [], [], [], []
    for i, (row_id, gene, variation) in enumerate(zip(own_ids, out[GENE], out[VARIATION], strict=True)):
        query = Query(
            gene=str(gene),
            variation=str(variation),
            # Ranked by the context only, never the row's text: the retrieved text stands in for a
            # missing text, so in training it must be what a text-less row would get.
            disease=contexts[i],
            exclude=frozenset({(own, str(row_id))}),
            exclude_citations=frozenset({citation_key(citations[i])} - {""}) if citations else frozenset(),
            exclude_statement=texts[i],
            own_id=str(row_id),
        )
        key = str(gene).strip().upper()
        rows = pooled(pool, key, str(variation))
        if rows is None:  # a gene too large to hold whole: its tiers, read for this row
            with store_errors(store, "reading evidence"), store.engine.connect() as connection:
                rows = tier_rows(connection, key, str(variation))
        evidence = row_evidence(rank(query, rows, limit=FEATURE_HITS))
        lines.append("\n".join(filter(None, [evidence[0], _kind_lines(kinds.get(key), query, rows)])))
        retrieved.append(evidence[1])
        cited.append(evidence[2])
        cited_citations.append(evidence[3])
    out[EVIDENCE], out[EVIDENCE_TEXT], out[EVIDENCE_IDS] = lines, retrieved, cited
    out[EVIDENCE_CITATIONS] = cited_citations
    out[TEXT_SOURCE] = [text_source(t, c) for t, c in zip(texts, cited, strict=True)]
    return out


#: ``table`` as a model reads it: with empty evidence columns when none were attached.
ensure = without_evidence


def with_store(
    table: pd.DataFrame, kb: str | None, *, training: bool = False
) -> tuple[pd.DataFrame, dict[str, object] | None]:
    """``table`` with the evidence the store ``kb`` (a path or URL; None: no store) holds for each
    row, and a summary of the store for a model's metadata. In training and evaluation a row never
    sees its own paper's evidence; otherwise only its own item is left out."""
    if kb is None:
        return attach(table, None), None
    from oncoclass.kb.load import stats
    from oncoclass.kb.store import open_store

    with open_store(kb, create=False) as store:
        summary = stats(store)
        table = attach(table, store, leave_out_citations=training)
    return table, {
        "store": summary.url,
        "items": summary.items,
        "sources": {s.source: {"items": s.items, "releases": s.releases} for s in summary.sources},
    }


def similar_labelled(store: Store, query: Query, *, limit: int = 5) -> list[Hit]:
    """The labelled items closest to a variant: what a curator would compare a prediction with
    (an item about the variant's absence is not)."""
    from oncoclass.kb.search import ABSENCE, search

    return [hit for hit in search(store, query, limit=200) if hit.label and hit.tier != ABSENCE][:limit]
