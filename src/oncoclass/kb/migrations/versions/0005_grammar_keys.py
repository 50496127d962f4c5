"""Every item's search keys derived again by the grammar: the variation's key, residue, kind
and kind group (:func:`oncoclass.kb.load.derived`, the rule an import uses). The grammar learned
notations since stores were first written (Oncotator's ``p.WQ288fs`` and ``p.SG140del``,
three-letter HGVS such as ``p.Gln16ArgfsTer28``, a lost start ``p.M1?``), so an item imported
before keeps the keys of the grammar that imported it, and search would not match it with the
same change written as HGVS. Only rows whose keys change are written.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
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


def upgrade() -> None:
    from oncoclass.kb.load import derived

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_ITEMS.c.id, _ITEMS.c.variation, *(_ITEMS.c[name] for name in _KEYS))
    ).all()
    changed = []
    for item_id, variation, *old in rows:
        new = derived({"variation": variation or ""})
        if [new[name] for name in _KEYS] != old:
            changed.append({"item_id": item_id, **{name: new[name] for name in _KEYS}})
    if changed:
        statement = (
            sa.update(_ITEMS)
            .where(_ITEMS.c.id == sa.bindparam("item_id"))
            .values({name: sa.bindparam(name) for name in _KEYS})
        )
        connection.execute(statement, changed)


def downgrade() -> None:
    # The keys of a newer grammar are keys an older oncoclass searches by as well (its own
    # imports key the same changes the same way, or not at all): nothing to undo.
    pass
