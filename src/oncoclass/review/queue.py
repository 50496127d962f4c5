"""The review queue: statements queued with the model's proposal, decisions kept with their
history, and what the decisions teach the next model.

Every decision names the item ``version`` it was made on. The item is updated only where its
version still matches (one ``UPDATE … WHERE version = :seen``, atomic on SQLite and PostgreSQL
alike), so of two curators deciding on the same version one wins and the other gets a
:class:`~oncoclass.errors.ConflictError` holding the item as it now is: no update is ever lost.
Decisions are only added, never changed, so an item's history is complete.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from sqlalchemy import and_, bindparam, func, insert, select, update

from oncoclass.data.table import (
    CONTEXT,
    GENE,
    ID,
    LABEL,
    TEXT,
    VARIATION,
    gene_problem,
    joined_context,
    row_problems,
    split_context,
    stored_table,
    text_problem,
    variation_problem,
)
from oncoclass.data.vocab import class_meanings
from oncoclass.errors import ConfigError, ConflictError, InputError, NotFound
from oncoclass.kb.load import digest
from oncoclass.kb.schema import Decision, ReviewItem, ReviewSetting, User
from oncoclass.kb.store import Store, store_errors
from oncoclass.progress import Progress
from oncoclass.review.users import Curator
from oncoclass.settings import get_settings

#: How the next item is chosen: least confident first (what a decision teaches the model most),
#: smallest margin between the two likeliest labels, oldest first, or by gene.
Order = Literal["uncertain", "margin", "date", "gene"]
ORDERS: tuple[str, ...] = get_args(Order)
Action = Literal["accept", "correct", "skip", "comment"]
ACTIONS: tuple[str, ...] = get_args(Action)
#: The fields of an item a curator may correct besides its label.
EDITABLE: tuple[str, ...] = ("gene", "variation", "text", "disease", "drugs")
_LIMITS = {
    "gene": 100,
    "variation": 300,
    "disease": 1000,
    "drugs": 1000,
    "text": 0,  # the settings' max_text_chars, read when checked
    "label": 200,
    "comment": 10_000,
}
#: What a model's proposal sets on an item.
_PROPOSAL_FIELDS = ("model_id", "prediction", "probability", "margin", "probabilities", "explanation")
#: Items predicted per call to the model when queueing or refreshing.
_CHUNK = 500


#: The result types below are also the service's response schemas (``routes/review.py`` names
#: them as response models): a field's docstring is its description in the OpenAPI schema, so
#: the library and the service cannot drift apart.
_SCHEMA = {"use_attribute_docstrings": True}

Status = Literal["open", "reviewed"]


@dataclass(frozen=True)
class QueueResult:
    __pydantic_config__ = _SCHEMA

    added: int
    already_queued: int
    """Statements already in the queue, not queued again."""
    model_id: str
    notes: list[str] = field(default_factory=list)
    """What was not taken from the input, and why."""


@dataclass
class ItemView:
    """An item as a curator sees it."""

    __pydantic_config__ = _SCHEMA

    id: int
    external_id: str
    """The id the item was sent with."""
    version: int
    """Send it back with a decision; it grows with each decision."""
    status: Status
    gene: str
    variation: str
    text: str
    disease: str
    drugs: str
    context: str
    """What the model reads beside the text (the input's context, disease and drugs joined)."""
    citation: str
    label: str
    """The curators' label; empty until one is accepted or corrected."""
    model_id: str
    prediction: str
    """The model's proposed label."""
    probability: float
    margin: float
    """The proposal's probability minus the second label's."""
    probabilities: dict[str, float]
    meanings: dict[str, str] | None
    """What each label means, for Kaggle's and CIViC's labels (null when none has a meaning)."""
    explanation: dict[str, Any]
    created_at: str
    updated_at: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """The store's evidence on the variant, closest first."""
    remaining: int | None = None
    """Open items this curator has not skipped, this one included (``next`` only)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DecisionView:
    __pydantic_config__ = _SCHEMA

    version: int
    curator: str
    action: str
    label: str
    comment: str
    changes: dict[str, str]
    proposed: str
    """The model's proposal when the decision was made."""
    model_id: str
    created_at: str


@dataclass
class ReviewStats:
    __pydantic_config__ = _SCHEMA

    pending: int
    reviewed: int
    decisions: int
    agreement: float | None
    """Of the accept and correct decisions, the share whose label is the model's proposal."""
    by_day: list[dict[str, Any]]
    by_curator: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(UTC)


def _check_order(order: str) -> str:
    if order not in ORDERS:
        raise ConfigError(f"order must be one of {', '.join(ORDERS)}, not {order!r}.")
    return order


# --- proposals -----------------------------------------------------------------------------------


def _model_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Items as the canonical table the model reads."""
    return pd.DataFrame(
        {
            ID: [str(r["id"]) for r in rows],
            GENE: [r["gene"] for r in rows],
            VARIATION: [r["variation"] for r in rows],
            TEXT: [r["text"] for r in rows],
            CONTEXT: [r["context"] for r in rows],
        },
        dtype=object,
    )


def proposals(bundle: Any, store: Store | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model's proposal for each item: top label, its probability, the margin to the second
    label and every class's probability; with the store's evidence attached as in prediction."""
    from oncoclass.jobs.predict import probabilities
    from oncoclass.kb.retrieve import attach

    out: list[dict[str, Any]] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        proba = probabilities(bundle, attach(_model_table(chunk), store))
        ordered = np.sort(proba, axis=1)
        for row, p, s in zip(chunk, proba, ordered, strict=True):
            top = int(np.argmax(p))
            second = float(s[-2]) if len(s) > 1 else 0.0
            out.append(
                {
                    "id": row["id"],
                    "model_id": bundle.model_id,
                    "prediction": bundle.labels[top],
                    "probability": float(p[top]),
                    "margin": float(p[top]) - second,
                    "probabilities": json.dumps(
                        {label: round(float(v), 6) for label, v in zip(bundle.labels, p, strict=True)}
                    ),
                    "explanation": "{}",  # computed when first viewed: see view()
                }
            )
    return out


def _items_of(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a canonical table as queue items (disease and drugs split from the context)."""
    citations = (table.attrs.get("groups") or {}).get("citation") or [""] * len(table)
    items = []
    for i, row in enumerate(table.itertuples(index=False)):
        context = str(getattr(row, CONTEXT))
        parts = split_context(context)
        gene, variation, text = str(getattr(row, GENE)), str(getattr(row, VARIATION)), str(getattr(row, TEXT))
        items.append(
            {
                "external_id": str(getattr(row, ID)),
                "content_hash": digest(gene, variation, text, context),
                "gene": gene,
                "variation": variation,
                "text": text,
                "disease": parts["disease"],
                "drugs": parts["drugs"],
                "context": context,
                "citation": str(citations[i] or ""),
            }
        )
    return items


def queue_table(
    store: Store, bundle: Any, table: pd.DataFrame, *, added_by: str, progress: Progress = None
) -> QueueResult:
    """Queue the rows of a canonical table with ``bundle``'s proposals, in one transaction. A
    statement already queued (the same gene, variation, text and context) is not queued again."""
    items = _items_of(table)
    notes: list[str] = []
    if LABEL in table.columns and (table[LABEL] != "").any():
        notes.append(
            "the input's labels were not queued as decisions: curators decide in the queue "
            "(import labelled tables with `oncoclass kb import`)."
        )
    unique: dict[str, dict[str, Any]] = {}
    for item in items:
        unique.setdefault(item["content_hash"], item)
    with store_errors(store, "queueing items"), store.engine.connect() as connection:
        seen: set[str] = set()
        hashes = list(unique)
        for start in range(0, len(hashes), 1000):
            part = hashes[start : start + 1000]
            seen.update(
                connection.execute(
                    select(ReviewItem.content_hash).where(ReviewItem.content_hash.in_(part))
                ).scalars()
            )
    new = [item for key, item in unique.items() if key not in seen]
    if progress is not None:
        progress.start(len(new), "queueing")
    now = _now()
    rows = [{**item, "id": i} for i, item in enumerate(new)]
    proposed = proposals(bundle, store, rows)
    records = []
    for row, proposal in zip(rows, proposed, strict=True):
        record = {k: v for k, v in row.items() if k != "id"}
        record.update({k: v for k, v in proposal.items() if k != "id"})
        record.update(status="open", label="", version=1, added_by=added_by, created_at=now, updated_at=now)
        records.append(record)
    with store_errors(store, "queueing items"), store.engine.begin() as connection:
        for start in range(0, len(records), 1000):
            connection.execute(insert(ReviewItem), records[start : start + 1000])
            if progress is not None:
                progress(len(records[start : start + 1000]))
    return QueueResult(
        added=len(records), already_queued=len(items) - len(records), model_id=bundle.model_id, notes=notes
    )


def refresh(store: Store, bundle: Any, *, progress: Progress = None) -> int:
    """Replace the proposals of every open item with ``bundle``'s (after a retrained model);
    decided items keep the proposal their decisions were made on. Returns how many changed."""
    with store_errors(store, "reading the open queue"), store.engine.connect() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(
                select(
                    ReviewItem.id, ReviewItem.gene, ReviewItem.variation, ReviewItem.text, ReviewItem.context
                ).where(ReviewItem.status == "open")
            )
        ]
    if progress is not None:
        progress.start(len(rows), "refreshing the queue")
    proposed = proposals(bundle, store, rows)
    # The version is left alone: a new proposal is not a decision, and a curator looking at the
    # item may still decide on it. Explanations are cleared, to be computed by the new model.
    statement = (
        update(ReviewItem)
        .where(and_(ReviewItem.id == bindparam("item_id"), ReviewItem.status == "open"))
        .values({name: bindparam(name) for name in (*_PROPOSAL_FIELDS, "updated_at")})
    )
    now = _now()
    with store_errors(store, "refreshing the queue"), store.engine.begin() as connection:
        for start in range(0, len(proposed), 1000):
            part = proposed[start : start + 1000]
            connection.execute(
                statement,
                [
                    {"item_id": p["id"], "updated_at": now, **{k: p[k] for k in _PROPOSAL_FIELDS}}
                    for p in part
                ],
            )
            if progress is not None:
                progress(len(part))
    return len(proposed)


# --- reading -------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """A stored time as ISO 8601 in UTC (SQLite hands times back without their zone)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _view(row: Any, *, remaining: int | None = None) -> ItemView:
    probabilities = json.loads(row.probabilities or "{}")
    return ItemView(
        id=row.id,
        external_id=row.external_id,
        version=row.version,
        status=row.status,
        gene=row.gene,
        variation=row.variation,
        text=row.text,
        disease=row.disease,
        drugs=row.drugs,
        context=row.context,
        citation=row.citation,
        label=row.label,
        model_id=row.model_id,
        prediction=row.prediction,
        probability=row.probability,
        margin=row.margin,
        probabilities=probabilities,
        meanings=class_meanings(list(probabilities)) or None,
        explanation=json.loads(row.explanation or "{}"),
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
        remaining=remaining,
    )


_ITEMS = ReviewItem.__table__


def _row(connection: Any, item_id: int) -> Any:
    row = connection.execute(select(_ITEMS).where(_ITEMS.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"no review item {item_id}.")
    return row


def get_item(store: Store, item_id: int) -> ItemView:
    with store_errors(store, "reading an item"), store.engine.connect() as connection:
        return _view(_row(connection, item_id))


def _skipped_by(curator: Curator) -> Any:
    return select(Decision.item_id).where(and_(Decision.user_id == curator.id, Decision.action == "skip"))


def _order_by(order: str) -> tuple[Any, ...]:
    return {
        "uncertain": (ReviewItem.probability, ReviewItem.id),
        "margin": (ReviewItem.margin, ReviewItem.id),
        "date": (ReviewItem.created_at, ReviewItem.id),
        "gene": (ReviewItem.gene, ReviewItem.id),
    }[_check_order(order)]


#: The order of the queue until an admin chooses another.
DEFAULT_ORDER = "uncertain"


def team_order(store: Store) -> str:
    """The order an admin chose for the team's queue (:data:`DEFAULT_ORDER` until one does)."""
    with store_errors(store, "reading the queue's settings"), store.engine.connect() as connection:
        value = connection.execute(select(ReviewSetting.value).where(ReviewSetting.key == "order")).scalar()
    return value if value in ORDERS else DEFAULT_ORDER


def set_team_order(store: Store, order: str) -> str:
    """Choose the team's queue order (the service lets only admins call it)."""
    _check_order(order)
    with store_errors(store, "saving the queue's settings"), store.engine.begin() as connection:
        done = connection.execute(
            update(ReviewSetting).where(ReviewSetting.key == "order").values(value=order)
        ).rowcount
        if not done:
            connection.execute(insert(ReviewSetting).values(key="order", value=order))
    return order


def next_item(store: Store, curator: Curator, *, order: str | None = None) -> ItemView | None:
    """The next open item for ``curator`` in ``order`` (the team's order when None); items they
    skipped are passed over. None when nothing is left for them."""
    keys = _order_by(order or team_order(store))
    where = and_(ReviewItem.status == "open", ReviewItem.id.not_in(_skipped_by(curator)))
    with store_errors(store, "reading the queue"), store.engine.connect() as connection:
        row = connection.execute(select(_ITEMS).where(where).order_by(*keys).limit(1)).first()
        if row is None:
            return None
        remaining = connection.execute(select(func.count()).select_from(_ITEMS).where(where)).scalar_one()
    return _view(row, remaining=int(remaining))


def next_batch(store: Store, *, order: str, size: int) -> list[int]:
    """The IDs of the next ``size`` open items in ``order`` (what a team reviews next)."""
    query = select(ReviewItem.id).where(ReviewItem.status == "open").order_by(*_order_by(order)).limit(size)
    with store_errors(store, "reading the queue"), store.engine.connect() as connection:
        return list(connection.execute(query).scalars())


def history(store: Store, item_id: int) -> list[DecisionView]:
    """Every decision on the item, oldest first."""
    query = (
        select(Decision.__table__, User.name.label("curator"))
        .join(User, User.id == Decision.user_id)
        .where(Decision.item_id == item_id)
        .order_by(Decision.id)
    )
    with store_errors(store, "reading an item's history"), store.engine.connect() as connection:
        _row(connection, item_id)
        rows = connection.execute(query).all()
    return [
        DecisionView(
            version=d.version,
            curator=d.curator,
            action=d.action,
            label=d.label,
            comment=d.comment,
            changes=json.loads(d.changes or "{}"),
            proposed=d.proposed,
            model_id=d.model_id,
            created_at=_iso(d.created_at),
        )
        for d in rows
    ]


# --- deciding ------------------------------------------------------------------------------------


def _checked(action: str, label: str, comment: str, changes: dict[str, str]) -> None:
    if action not in ACTIONS:
        raise ConfigError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}.")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ConfigError(f"only {', '.join(EDITABLE)} can be corrected, not {', '.join(unknown)}.")
    if changes and action != "correct":
        raise ConfigError("fields can be changed only with the action correct.")
    for name, value in {"label": label, "comment": comment, **changes}.items():
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be text.")
        limit = _LIMITS[name] or get_settings().max_text_chars
        if len(value) > limit:
            raise ConfigError(f"{name} is over {limit:,} characters.")
    for name, rule in (("gene", gene_problem), ("variation", variation_problem)):
        if name in changes and not changes[name].strip():
            raise ConfigError(f"{name} cannot be blank.")
        # The row rule, as for a queued item or a file's row: a formula or a control character
        # here would be written by `kb export --reviewed` and by every output of a model trained on it.
        if name in changes and (problem := rule(changes[name])):
            raise ConfigError(f"changes.{name}: {problem}.", field=f"changes.{name}")
    # Free text is exported too (`kb export --reviewed`): no formula, no NUL.
    texts = {"label": label.strip(), "comment": comment.strip()} | {
        f"changes.{k}": v.strip() for k, v in changes.items() if k not in ("gene", "variation")
    }
    for name, value in texts.items():
        if problem := text_problem(value):
            raise ConfigError(f"{name}: {problem}.", field=name)
    if action == "correct" and not label.strip():
        raise ConfigError("a correction needs a label.", hint="Send the right label (accept agrees).")
    if action == "comment" and not comment.strip():
        raise ConfigError("a comment needs its text.")
    if action in ("accept", "skip") and label:
        raise ConfigError(f"{action} takes no label; a different label is a correction.")


def _check_label(label: str, row: Any) -> None:
    """A correction's label is one of the classes of the model that proposed the item: the
    labels training can learn and the export's readers know (a free-typed label would be a class
    of its own, or a formula written to a spreadsheet)."""
    classes = list(json.loads(row.probabilities or "{}"))
    if classes and label not in classes:
        raise ConfigError(
            f"label: {label[:60]!r} is not one of the model's classes; allowed: {', '.join(classes)}.",
            field="label",
            hint="Send one of them as the label (accept takes the model's proposal).",
        )


def decide(
    store: Store,
    item_id: int,
    curator: Curator,
    *,
    action: str,
    version: int,
    label: str = "",
    comment: str = "",
    changes: dict[str, str] | None = None,
) -> ItemView:
    """Record ``curator``'s decision on the item as it was at ``version`` and return the item as it
    now is. Accept takes the model's proposal as the label; correct sets the label (and any of
    :data:`EDITABLE`); skip passes the item over for this curator; comment only adds to the history.
    A stale ``version`` raises ConflictError with the current item; nothing is changed then."""
    changes = {k: v.strip() if k != "text" else v for k, v in (changes or {}).items()}
    _checked(action, label, comment, changes)
    label = label.strip()
    now = _now()
    with store_errors(store, "recording a decision"), store.engine.begin() as connection:
        row = _row(connection, item_id)
        if action == "correct":
            _check_label(label, row)
        values: dict[str, Any] = {"version": row.version + 1, "updated_at": now}
        if action == "accept":
            values.update(status="reviewed", label=row.prediction)
        elif action == "correct":
            values.update(status="reviewed", label=label, **changes)
            if "disease" in changes or "drugs" in changes:
                free = split_context(row.context)["context"]
                values["context"] = joined_context(
                    free,
                    disease=changes.get("disease", row.disease),
                    drugs=changes.get("drugs", row.drugs),
                )
        done = connection.execute(
            update(ReviewItem)
            .where(and_(ReviewItem.id == item_id, ReviewItem.version == version))
            .values(**values)
        ).rowcount
        if done == 1:
            connection.execute(
                insert(Decision).values(
                    item_id=item_id,
                    user_id=curator.id,
                    action=action,
                    label=values.get("label", ""),
                    comment=comment.strip(),
                    changes=json.dumps(changes),
                    proposed=row.prediction,
                    model_id=row.model_id,
                    version=values["version"],
                    created_at=now,
                )
            )
    if done != 1:
        current = get_item(store, item_id)
        raise ConflictError(
            f"item {item_id} changed since version {version}; it is now at version {current.version}.",
            current=current.to_dict(),
            hint="Read the item again and decide on its current version.",
        )
    return get_item(store, item_id)


def explained(store: Store, bundle: Any, view: ItemView) -> ItemView:
    """``view`` with its explanation (computed by ``bundle`` and kept, the first time an item is
    viewed) and the store's evidence on the variant."""
    from oncoclass.explain import explain
    from oncoclass.kb.search import Query, search

    if not view.explanation:
        result = explain(
            bundle,
            gene=view.gene,
            variation=view.variation,
            text=view.text,
            context=split_context(view.context)["context"],
            disease=view.disease,
            drugs=view.drugs,
            top=8,
            top_sentences=3,
            store=store,
        )
        view.explanation = compact_explanation(result.to_dict(), view.text)
        with store_errors(store, "keeping an explanation"), store.engine.begin() as connection:
            connection.execute(
                update(ReviewItem)
                .where(and_(ReviewItem.id == view.id, ReviewItem.explanation == "{}"))
                .values(explanation=json.dumps(view.explanation))
            )
    query = Query(gene=view.gene, variation=view.variation, disease=view.disease)
    view.evidence = [
        {k: v for k, v in hit.to_dict().items() if k != "score"} for hit in search(store, query, limit=5)
    ]
    return view


def compact_explanation(result: dict[str, Any], text: str) -> dict[str, Any]:
    """What the review page shows of an explanation: the predicted class's strongest reasons, its
    decisive sentences, and the words of the text that pushed toward it (to highlight)."""
    top = result["classes"][0] if result.get("classes") else {}
    lowered = text.lower()
    words = [
        c["feature"]
        for c in top.get("toward", [])
        if c["source"] == "text" and c["contribution"] > 0 and c["feature"].lower() in lowered
    ]
    return {
        "model_id": result.get("model_id", ""),
        "method": result.get("method", ""),
        "note": result.get("note", ""),
        "text_source": result.get("text_source", ""),
        "predicted": result.get("predicted", ""),
        "toward": top.get("toward", []),
        "against": top.get("against", []),
        "sentences": top.get("sentences", []),
        "words": words,
    }


# --- what the decisions give back ----------------------------------------------------------------


def review_stats(store: Store) -> ReviewStats:
    """Pending and reviewed counts, how often curators kept the model's proposal (overall and by
    day), and decisions per curator."""
    with store_errors(store, "counting the queue"), store.engine.connect() as connection:
        counts = dict(
            connection.execute(select(ReviewItem.status, func.count()).group_by(ReviewItem.status)).all()
        )
        rows = connection.execute(
            select(Decision.action, Decision.label, Decision.proposed, Decision.created_at, User.name)
            .join(User, User.id == Decision.user_id)
            .order_by(Decision.id)
        ).all()
    days: dict[str, Counter[str]] = defaultdict(Counter)
    people: dict[str, Counter[str]] = defaultdict(Counter)
    agreed = decided = 0
    for action, label, proposed, created, name in rows:
        people[name][action] += 1
        day = days[created.date().isoformat()]
        day["decisions"] += 1
        if action in ("accept", "correct"):
            same = int(label == proposed)
            agreed, decided = agreed + same, decided + 1
            day["agreed"] += same
            day["decided"] += 1
    return ReviewStats(
        pending=int(counts.get("open", 0)),
        reviewed=int(counts.get("reviewed", 0)),
        decisions=len(rows),
        agreement=agreed / decided if decided else None,
        by_day=[
            {
                "day": d,
                "decisions": c["decisions"],
                "decided": c["decided"],
                "agreement": c["agreed"] / c["decided"] if c["decided"] else None,
            }
            for d, c in sorted(days.items())
        ],
        by_curator=[
            {"curator": name, "decisions": sum(c.values()), **{a: c[a] for a in ACTIONS}}
            for name, c in sorted(people.items())
        ],
    )


def queue_labels(store: Store) -> set[str]:
    """The labels of the queue: those its proposals were over and those curators gave."""
    with store_errors(store, "reading the queue's labels"), store.engine.connect() as connection:
        proposed = connection.execute(select(ReviewItem.probabilities).distinct()).scalars().all()
        given = connection.execute(
            select(ReviewItem.label).where(ReviewItem.label != "").distinct()
        ).scalars()
        labels = set(given)
    for probabilities in proposed:
        labels.update(json.loads(probabilities or "{}"))
    return labels


def reviewed_table(store: Store) -> pd.DataFrame:
    """The reviewed items as a canonical labelled table (IDs ``review:<n>``), what training adds,
    with each item's citation as its group."""
    query = (
        select(
            ReviewItem.citation,
            ReviewItem.id,
            ReviewItem.gene,
            ReviewItem.variation,
            ReviewItem.text,
            ReviewItem.context,
            ReviewItem.label,
        )
        .where(ReviewItem.status == "reviewed")
        .order_by(ReviewItem.id)
    )
    with store_errors(store, "reading the reviewed items"), store.engine.connect() as connection:
        rows = connection.execute(query).all()
    ids = [f"review:{r.id}" for r in rows]
    return stored_table(rows, ids=ids, text="text", context=[r.context for r in rows])


#: The reviewed export's columns: CIViC's evidence export names, then the review's own.
REVIEWED_COLUMNS: tuple[str, ...] = (
    "evidence_id",
    "gene",
    "variant",
    "disease",
    "drugs",
    "evidence_type",
    "clinical_significance",
    "evidence_statement",
    "citation_id",
    "label",
    "model_prediction",
    "model_probability",
    "model_id",
    "curator",
    "reviewed_at",
    "decisions",
)


def _refuse_unwritable(rows: list[Any]) -> None:
    """The row rule over the items an export writes: an item decided before decisions were held
    to it may name a gene or variation a spreadsheet would run as a formula (or holding a NUL the
    export could not be read back with); it is named, and nothing is written."""
    table = pd.DataFrame(
        {ID: [str(r.id) for r in rows], GENE: [r.gene for r in rows], VARIATION: [r.variation for r in rows]},
        dtype=object,
    )
    problems = row_problems(table)
    # A label decided before corrections were held to the model's classes may be any text.
    labels = pd.Series([text_problem(str(r.label or "")) for r in rows], index=problems.index)
    problems = problems.where(problems != "", labels.map(lambda p: f"its label is {p}" if p else ""))
    bad = problems[problems != ""]
    if len(bad):
        first = int(bad.index[0])
        more = f" (and {len(bad) - 1} more items)" if len(bad) > 1 else ""
        raise InputError(
            f"review item {rows[first].id}: {bad.iloc[0]}{more}; nothing was exported.",
            hint="Correct the item's gene or variation in the review queue, then export again.",
        )


def reviewed_export(store: Store) -> pd.DataFrame:
    """The decisions as a CIViC-style evidence table: one row per reviewed item, its label split into
    ``evidence_type`` and ``clinical_significance`` where it is CIViC's ``Type: Significance``, the
    last curator to decide and when, and the model's proposal beside the curators' label."""
    last = (
        select(Decision.item_id, func.max(Decision.id).label("last"))
        .where(Decision.action.in_(("accept", "correct")))
        .group_by(Decision.item_id)
        .subquery()
    )
    count = select(Decision.item_id, func.count().label("n")).group_by(Decision.item_id).subquery()
    query = (
        select(_ITEMS, User.name.label("curator"), Decision.created_at.label("decided_at"), count.c.n)
        .join(last, last.c.item_id == ReviewItem.id)
        .join(Decision, Decision.id == last.c.last)
        .join(User, User.id == Decision.user_id)
        .join(count, count.c.item_id == ReviewItem.id)
        .where(ReviewItem.status == "reviewed")
        .order_by(ReviewItem.id)
    )
    with store_errors(store, "exporting the reviewed items"), store.engine.connect() as connection:
        rows = connection.execute(query).all()
    _refuse_unwritable(rows)
    records = []
    for item in rows:
        kind, _, significance = item.label.partition(": ") if ": " in item.label else ("", "", "")
        records.append(
            (
                f"review:{item.id}",
                item.gene,
                item.variation,
                item.disease,
                item.drugs,
                kind,
                significance,
                item.text,
                item.citation,
                item.label,
                item.prediction,
                round(item.probability, 4),
                item.model_id,
                item.curator,
                _iso(item.decided_at),
                int(item.n),
            )
        )
    return pd.DataFrame(records, columns=list(REVIEWED_COLUMNS), dtype=object)


def queue_records(store: Store, bundle: Any, records: list[dict[str, Any]], *, added_by: str) -> QueueResult:
    """Queue records in the ``/predict`` shape (``id``, ``gene``, ``variation``, ``text``,
    ``disease``, ``drugs``, ``context``), checked by the same row rule as a file's rows."""
    from oncoclass.data.table import records_to_table

    if not records:
        raise InputError("no items to queue.")
    return queue_table(store, bundle, records_to_table(records), added_by=added_by)
