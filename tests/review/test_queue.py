"""The review queue on SQLite and PostgreSQL (``kb_url``): proposals, ordering, decisions with
their history, conflicts, and what the decisions give back (training rows, the export, stats)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import update

from oncoclass.data.table import LABEL
from oncoclass.errors import ConfigError, ConflictError, InputError, NotFound
from oncoclass.kb.schema import ReviewItem
from oncoclass.kb.store import open_store
from oncoclass.persist import load_bundle
from oncoclass.review.queue import (
    REVIEWED_COLUMNS,
    decide,
    explained,
    get_item,
    history,
    next_item,
    queue_records,
    refresh,
    review_stats,
    reviewed_export,
    reviewed_table,
    set_team_order,
    team_order,
)
from oncoclass.review.users import add_user

RECORDS = [
    {"id": "a", "gene": "BRAF", "variation": "V600E", "text": "BRAF V600E activates the kinase.",
     "disease": "Melanoma", "drugs": "Vemurafenib"},
    {"id": "b", "gene": "TP53", "variation": "R175H", "text": "R175H abolishes DNA binding."},
    {"id": "c", "gene": "EGFR", "variation": "p.Thr790Met", "text": "T790M confers resistance."},
]  # fmt: skip


@pytest.fixture(scope="module")
def bundle(fast_model: Path):
    return load_bundle(fast_model)


@pytest.fixture
def store(kb_url: str):
    with open_store(kb_url) as opened:
        yield opened


def test_items_are_queued_once_with_the_models_proposal(store, bundle) -> None:
    result = queue_records(store, bundle, RECORDS, added_by="ada")
    assert (result.added, result.already_queued, result.model_id) == (3, 0, bundle.model_id)
    assert queue_records(store, bundle, RECORDS, added_by="ada").added == 0
    item = get_item(store, 1)
    assert (item.external_id, item.status, item.version, item.label) == ("a", "open", 1, "")
    assert (item.disease, item.drugs) == ("Melanoma", "Vemurafenib")
    assert item.prediction == max(item.probabilities, key=item.probabilities.get)
    assert item.probability == pytest.approx(max(item.probabilities.values()), abs=1e-6)
    assert get_item(store, 3).variation == "T790M"  # the one grammar's spelling
    with pytest.raises(NotFound):
        get_item(store, 99)


def test_next_follows_the_chosen_order_and_passes_over_what_a_curator_skipped(store, bundle) -> None:
    queue_records(store, bundle, RECORDS, added_by="ada")
    ada, _ = add_user(store, "ada", "curator")
    bob, _ = add_user(store, "bob", "curator")
    items = [get_item(store, i) for i in (1, 2, 3)]
    least = min(items, key=lambda v: (v.probability, v.id))
    first = next_item(store, ada, order="uncertain")
    assert first.id == least.id and first.remaining == 3
    assert next_item(store, ada, order="gene").gene == "BRAF"
    assert next_item(store, ada, order="date").id == 1
    decide(store, first.id, ada, action="skip", version=first.version)
    assert next_item(store, ada).id != first.id and next_item(store, ada).remaining == 2
    assert next_item(store, bob).id == first.id  # a skip is the skipper's alone
    with pytest.raises(ConfigError, match="order must be one of"):
        next_item(store, ada, order="random")
    assert team_order(store) == "uncertain" and next_item(store, bob).id == first.id
    set_team_order(store, "gene")  # the admin's choice is what a curator gets by default
    assert team_order(store) == "gene" and next_item(store, bob).gene == "BRAF"
    set_team_order(store, "date")
    assert next_item(store, bob).id == 1


def test_decisions_keep_every_step_and_a_stale_version_is_refused(store, bundle) -> None:
    queue_records(store, bundle, RECORDS, added_by="ada")
    ada, _ = add_user(store, "ada", "curator")
    bob, _ = add_user(store, "bob", "curator")
    item = get_item(store, 1)
    other = next(label for label in item.probabilities if label != item.prediction)
    accepted = decide(store, 1, ada, action="accept", version=1)
    assert (accepted.status, accepted.label, accepted.version) == ("reviewed", item.prediction, 2)
    with pytest.raises(ConflictError) as conflict:
        decide(store, 1, bob, action="correct", label=other, version=1)
    assert conflict.value.current["version"] == 2 and conflict.value.current["label"] == item.prediction
    corrected = decide(store, 1, bob, action="correct", label=other, version=2,
                       changes={"disease": "Colorectal cancer"})  # fmt: skip
    assert (corrected.label, corrected.disease, corrected.version) == (other, "Colorectal cancer", 3)
    assert corrected.context == "disease: Colorectal cancer. drugs: Vemurafenib"
    decide(store, 1, ada, action="comment", comment="checked the PDF", version=3)
    steps = history(store, 1)
    assert [(s.curator, s.action, s.label, s.version) for s in steps] == [
        ("ada", "accept", item.prediction, 2), ("bob", "correct", other, 3), ("ada", "comment", "", 4),
    ]  # fmt: skip
    assert steps[1].changes == {"disease": "Colorectal cancer"} and steps[0].proposed == item.prediction


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "approve"}, "action must be one of"),
        ({"action": "correct"}, "a correction needs a label"),
        ({"action": "comment"}, "a comment needs its text"),
        ({"action": "accept", "label": "x"}, "accept takes no label"),
        ({"action": "accept", "changes": {"gene": "KRAS"}}, "only with the action correct"),
        ({"action": "correct", "label": "x", "changes": {"id": "9"}}, "only gene, variation"),
        ({"action": "correct", "label": "x", "changes": {"gene": " "}}, "gene cannot be blank"),
        ({"action": "correct", "label": "x" * 201}, "label is over 200 characters"),
        # The row rule, as for a queued item: no formula, no control character.
        ({"action": "correct", "label": "1", "changes": {"gene": "=cmd|x!A0"}}, "changes.gene: a gene that"),
        ({"action": "correct", "label": "1", "changes": {"variation": "\x00x"}}, "changes.variation: a var"),
        (
            {"action": "correct", "label": "1", "changes": {"variation": "@SUM(A1)"}},
            "changes.variation: a var",
        ),
        # A label the proposing model does not know (a typo, a formula) is refused, naming those it knows.
        ({"action": "correct", "label": "99"}, "not one of the model's classes; allowed: 1, 2"),
        (
            {"action": "correct", "label": '=HYPERLINK("http://evil")'},
            "label: text that begins as a spreadsheet",
        ),
        (
            {"action": "correct", "label": "1", "changes": {"text": "=cmd|x"}},
            "changes.text: text that begins",
        ),
        ({"action": "comment", "comment": "a\x00b"}, "comment: text holding a control character"),
    ],
)
def test_a_malformed_decision_changes_nothing(tmp_path, bundle, kwargs, message) -> None:
    with open_store(tmp_path / "kb.sqlite") as store:
        queue_records(store, bundle, RECORDS[:1], added_by="ada")
        ada, _ = add_user(store, "ada", "curator")
        with pytest.raises(ConfigError, match=message):
            decide(store, 1, ada, version=1, **kwargs)
        assert get_item(store, 1).version == 1 and history(store, 1) == []


def test_two_curators_deciding_at_once_never_lose_an_update(store, bundle) -> None:
    queue_records(store, bundle, RECORDS[:1], added_by="ada")
    curators = [add_user(store, name, "curator")[0] for name in ("ada", "bob", "cy", "dee")]
    labels = dict(zip(curators, get_item(store, 1).probabilities, strict=False))
    outcomes: list[str] = []
    barrier = threading.Barrier(len(curators))

    def attempt(curator) -> None:
        barrier.wait()
        try:
            decide(store, 1, curator, action="correct", label=labels[curator], version=1)
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(c,)) for c in curators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    steps = history(store, 1)
    assert len(steps) == 1 and get_item(store, 1).label == steps[0].label


def test_decisions_become_training_rows_an_export_and_stats(store, bundle) -> None:
    queue_records(store, bundle, RECORDS, added_by="ada")
    ada, _ = add_user(store, "ada", "curator")
    proposed = get_item(store, 2).prediction
    # Item 1 as a CIViC model proposes it: a correction's label is one of the proposing model's classes.
    civic = {"Predictive: Sensitivity/Response": 0.4, "Predictive: Resistance": 0.6}
    with store.engine.begin() as connection:
        connection.execute(
            update(ReviewItem).where(ReviewItem.id == 1).values(probabilities=json.dumps(civic))
        )
    decide(store, 1, ada, action="correct", label="Predictive: Sensitivity/Response", version=1)
    decide(store, 2, ada, action="accept", version=1)
    decide(store, 3, ada, action="skip", version=1)
    table = reviewed_table(store)
    assert list(table["id"]) == ["review:1", "review:2"]
    assert list(table[LABEL]) == ["Predictive: Sensitivity/Response", proposed]
    assert table["context"].iloc[0] == "disease: Melanoma. drugs: Vemurafenib"
    export = reviewed_export(store)
    assert tuple(export.columns) == REVIEWED_COLUMNS
    first = export.iloc[0]
    assert (first["evidence_type"], first["clinical_significance"]) == ("Predictive", "Sensitivity/Response")
    assert (first["curator"], first["variant"], first["decisions"]) == ("ada", "V600E", 1)
    stats = review_stats(store)
    assert (stats.pending, stats.reviewed, stats.decisions) == (1, 2, 3)
    assert stats.agreement == pytest.approx(0.5)
    assert stats.by_curator == [
        {"curator": "ada", "decisions": 3, "accept": 1, "correct": 1, "skip": 1, "comment": 0}
    ]
    assert stats.by_day[0]["decided"] == 2


def test_refresh_renews_open_proposals_only_and_explanations_are_kept(store, bundle) -> None:
    queue_records(store, bundle, RECORDS, added_by="ada")
    ada, _ = add_user(store, "ada", "curator")
    decide(store, 1, ada, action="correct", label="1", version=1)
    view = explained(store, bundle, get_item(store, 2))
    assert view.explanation["model_id"] == bundle.model_id and view.explanation["toward"]
    assert get_item(store, 2).explanation == view.explanation  # kept for the next viewer
    assert refresh(store, bundle) == 2
    assert get_item(store, 2).explanation == {} and get_item(store, 2).version == 1
    assert get_item(store, 1).label == "1"


def test_an_export_never_writes_an_item_the_row_rule_refuses(tmp_path, bundle) -> None:
    # An item decided before decisions were held to the row rule: its formula is named, not written.
    with open_store(tmp_path / "kb.sqlite") as store:
        queue_records(store, bundle, RECORDS[:2], added_by="ada")
        ada, _ = add_user(store, "ada", "curator")
        decide(store, 1, ada, action="accept", version=1)
        decide(store, 2, ada, action="accept", version=1)
        with store.engine.begin() as connection:
            connection.execute(update(ReviewItem).where(ReviewItem.id == 2).values(gene="=cmd|x!A0"))
        with pytest.raises(
            InputError, match=r"review item 2: a gene that does not begin .*nothing was exported"
        ):
            reviewed_export(store)
        # A label typed freely before corrections were held to the model's classes.
        with store.engine.begin() as connection:
            connection.execute(update(ReviewItem).where(ReviewItem.id == 2).values(gene="BRAF"))
            connection.execute(update(ReviewItem).where(ReviewItem.id == 1).values(label="@SUM(A1)"))
        with pytest.raises(
            InputError, match=r"review item 1: its label is text that begins as a spreadsheet"
        ):
            reviewed_export(store)
