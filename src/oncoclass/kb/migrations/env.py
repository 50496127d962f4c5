"""Alembic's environment for the store: always run from :func:`oncoclass.kb.store.upgrade` with
an open connection, so there is no ``alembic.ini`` and no URL in a file."""

from __future__ import annotations

from alembic import context

from oncoclass.kb.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
