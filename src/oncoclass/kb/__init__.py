"""The evidence store: what the literature already says about variants, kept in a database (an
embedded SQLite file by default, PostgreSQL for a team), imported from CIViC, the cancer hotspots
table, Kaggle and the user's own labelled tables, searched by variant and cited by predictions.

Modules: :mod:`~oncoclass.kb.schema` (tables), :mod:`~oncoclass.kb.store` (opening a store by URL,
migrations), :mod:`~oncoclass.kb.sources` (reading each source into items), :mod:`~oncoclass.kb.load`
(import, stats, export), :mod:`~oncoclass.kb.search` (tiered retrieval) and
:mod:`~oncoclass.kb.retrieve` (evidence attached to a table for a model).
"""
