"""Indexes on (gene, id) and (gene, kind_group, id): the gene and kind tiers read a gene's newest
items first, and without them a gene with many items is sorted whole on every search.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_gene_id", "items", ["gene", "id"])
    op.create_index("ix_items_kind_id", "items", ["gene", "kind_group", "id"])


def downgrade() -> None:
    op.drop_index("ix_items_kind_id", table_name="items")
    op.drop_index("ix_items_gene_id", table_name="items")
