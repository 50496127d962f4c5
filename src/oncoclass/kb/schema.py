"""The store's tables. Changes to them are Alembic migrations (``migrations/versions``), never
ad-hoc ``CREATE TABLE``: a store made by an older oncoclass is upgraded when it is opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, Text, UniqueConstraint
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


class User(Base):
    """A member of the curation team. The token is shown once; only its argon2 hash is kept, found
    by ``key_id`` (the token's public first part) so a request verifies one hash, not every user's."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(Text, unique=True)
    token_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewItem(Base):
    """A statement in the review queue: its fields, the model's proposal when it was queued (or
    last refreshed), and the label curators settled on. ``version`` grows with every decision: a
    decision names the version it was made on, and a stale one is refused, never applied."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_status_probability", "status", "probability"),
        Index("ix_review_status_gene", "status", "gene"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The ID the item had in the file or request it came from.
    external_id: Mapped[str] = mapped_column(Text, default="")
    #: A digest of the item's fields as queued: the same statement is queued once.
    content_hash: Mapped[str] = mapped_column(Text, unique=True)
    gene: Mapped[str] = mapped_column(Text)
    variation: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    disease: Mapped[str] = mapped_column(Text, default="")
    drugs: Mapped[str] = mapped_column(Text, default="")
    #: What the model reads beside the text: the input's context with disease and drugs joined in.
    context: Mapped[str] = mapped_column(Text, default="")
    citation: Mapped[str] = mapped_column(Text, default="")
    #: ``open`` until a curator accepts or corrects it, then ``reviewed``.
    status: Mapped[str] = mapped_column(Text, default="open")
    label: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    model_id: Mapped[str] = mapped_column(Text, default="")
    prediction: Mapped[str] = mapped_column(Text, default="")
    probability: Mapped[float] = mapped_column(Float, default=0.0)
    #: Top probability minus the second: small means the model hesitates between two labels.
    margin: Mapped[float] = mapped_column(Float, default=0.0)
    probabilities: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    explanation: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    added_by: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """One curator's action on one item; decisions are only ever added (the item's history)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Fields the curator corrected besides the label (JSON ``{field: new value}``).
    changes: Mapped[str] = mapped_column(Text, default="{}")
    #: What the model proposed when the decision was made: agreement is measured against it.
    proposed: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[str] = mapped_column(Text, default="")
    #: The item's version this decision created.
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewSetting(Base):
    """The team's settings for the queue, chosen by an admin (``order``: how the next item is
    picked when a curator does not ask for another order)."""

    __tablename__ = "review_settings"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
