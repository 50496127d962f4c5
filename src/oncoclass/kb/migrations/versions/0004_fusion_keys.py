"""Fusion items keyed by their partners' genes: a partner written under a symbol HGNC has since
replaced (``BCR-ABL``'s ABL) is keyed as the current one (ABL1), so CIViC's 2018 ``BCR-ABL`` and
its current ``BCR::ABL1`` are one variant to search. Only fusion items' keys change; they are
derived again by the grammar's one rule (:func:`oncoclass.variation.variation_key`).

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
    sa.column("kind", sa.Text),
)


def _rekey(key: object) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_ITEMS.c.id, _ITEMS.c.variation, _ITEMS.c.variation_key).where(_ITEMS.c.kind == "fusion")
    ).all()
    for item_id, variation, old in rows:
        new = key(variation) if variation else ""  # type: ignore[operator]
        if new != old:
            connection.execute(sa.update(_ITEMS).where(_ITEMS.c.id == item_id).values(variation_key=new))


def upgrade() -> None:
    from oncoclass.variation import variation_key

    _rekey(variation_key)


def downgrade() -> None:
    from oncoclass.variation import parse, variation_key

    def as_written(variation: str) -> str:  # the partners as written, as before 0004
        parsed = parse(variation)
        return "-".join(parsed.partners) + " fusion" if parsed.partners else variation_key(variation)

    _rekey(as_written)
