"""The store's tables. Changes to them are Alembic migrations (``migrations/versions``), never
ad-hoc ``CREATE TABLE``: a store made by an older oncoclass is upgraded when it is opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Release(Base):
    """One import of one source file: what was read, when, and what it changed."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("source", "sha256", name="uq_release_source_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)


class Item(Base):
    """One piece of evidence or knowledge about a gene or variant, with its provenance.

    ``variation_key``, ``position`` and ``kind_group`` are derived from ``variation`` by the
    variation grammar when the item is imported; search matches on them, so ``p.Val600Glu`` and
    ``V600E`` find each other.
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_item_source_id"),
        Index("ix_items_variant", "gene", "variation_key"),
        Index("ix_items_position", "gene", "position"),
        Index("ix_items_kind", "gene", "kind_group"),
        Index("ix_items_citation", "citation"),
        Index("ix_items_gene_id", "gene", "id"),
        Index("ix_items_kind_id", "gene", "kind_group", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(Text)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    gene: Mapped[str] = mapped_column(Text)
    variation: Mapped[str] = mapped_column(Text, default="")
    variation_key: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(Text, default="")
    kind_group: Mapped[str] = mapped_column(Text, default="")
    disease: Mapped[str] = mapped_column(Text, default="")
    drugs: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(Text, default="")
    statement: Mapped[str] = mapped_column(Text, default="")
    citation: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(Text)


#: The fields a source provides for an item (the rest are derived or bookkeeping).
ITEM_FIELDS: tuple[str, ...] = (
    "source_id",
    "gene",
    "variation",
    "disease",
    "drugs",
    "label",
    "statement",
    "citation",
    "url",
)
