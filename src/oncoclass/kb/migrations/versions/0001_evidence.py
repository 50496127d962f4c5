"""The evidence store's first schema: releases and items.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.UniqueConstraint("source", "sha256", name="uq_release_source_sha256"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("release_id", sa.Integer(), sa.ForeignKey("releases.id"), nullable=False),
        sa.Column("gene", sa.Text(), nullable=False),
        sa.Column("variation", sa.Text(), nullable=False),
        sa.Column("variation_key", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("kind_group", sa.Text(), nullable=False),
        sa.Column("disease", sa.Text(), nullable=False),
        sa.Column("drugs", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("source", "source_id", name="uq_item_source_id"),
    )
    op.create_index("ix_items_variant", "items", ["gene", "variation_key"])
    op.create_index("ix_items_position", "items", ["gene", "position"])
    op.create_index("ix_items_kind", "items", ["gene", "kind_group"])
    op.create_index("ix_items_citation", "items", ["citation"])


def downgrade() -> None:
    op.drop_table("items")
    op.drop_table("releases")
