"""Every item's search keys derived again by today's grammar: the variation's key, residue, kind
and kind group (:func:`oncoclass.kb.load.derived`, the rule an import uses). Since stores were
first written the grammar keys a fusion by its partners' genes (``BCR-ABL``'s ABL is ABL1, so
CIViC's 2018 ``BCR-ABL`` and its current ``BCR::ABL1`` are one variant) and reads notations it
did not (Oncotator's ``p.WQ288fs`` and ``p.SG140del``, three-letter HGVS such as
``p.Gln16ArgfsTer28``, a lost start ``p.M1?``): an item imported before kept the keys of the
grammar that imported it, and search would not match it with the same change written as HGVS.
Only rows whose keys change are written.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ITEMS = sa.table(
    "items",
    sa.column("id", sa.Integer),
    sa.column("variation", sa.Text),
    sa.column("variation_key", sa.Text),
    sa.column("position", sa.Integer),
    sa.column("kind", sa.Text),
    sa.column("kind_group", sa.Text),
)
_KEYS = ("variation_key", "position", "kind", "kind_group")


def _rekey(keys: object, *, fusions_only: bool = False) -> None:
    """Write ``keys(variation)`` (a dict of :data:`_KEYS`) where it differs from what is stored."""
    connection = op.get_bind()
    query = sa.select(_ITEMS.c.id, _ITEMS.c.variation, *(_ITEMS.c[name] for name in _KEYS))
    if fusions_only:
        query = query.where(_ITEMS.c.kind == "fusion")
    changed = []
    for item_id, variation, *old in connection.execute(query).all():
        new = keys(variation or "")  # type: ignore[operator]
        if [new[name] for name in _KEYS] != old:
            changed.append({"item_id": item_id, **{name: new[name] for name in _KEYS}})
    if changed:
        statement = (
            sa.update(_ITEMS)
            .where(_ITEMS.c.id == sa.bindparam("item_id"))
            .values({name: sa.bindparam(name) for name in _KEYS})
        )
        connection.execute(statement, changed)


def upgrade() -> None:
    from oncoclass.kb.load import derived

    _rekey(lambda variation: derived({"variation": variation}))


def downgrade() -> None:
    # A fusion keyed by its partners as written, as before; the other keys a newer grammar gave
    # are keys an older oncoclass searches by as well (its own imports key those changes the same
    # way, or not at all).
    from oncoclass.kb.load import derived
    from oncoclass.variation import parse

    def as_written(variation: str) -> dict[str, object]:
        keys = derived({"variation": variation})
        partners = parse(variation).partners if variation else ()
        return {**keys, "variation_key": "-".join(partners) + " fusion"} if partners else keys

    _rekey(as_written, fusions_only=True)
