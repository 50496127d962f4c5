"""Both backends the evidence store runs on answer, and a fresh database lets a test create tables."""

from __future__ import annotations

import sqlalchemy as sa


def test_backend_round_trip(kb_url: str) -> None:
    engine = sa.create_engine(kb_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            # Fresh and empty: nothing left over from another test.
            assert sa.inspect(conn).get_table_names() == []
        table = sa.Table("probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
        with engine.begin() as conn:
            table.create(conn)
            conn.execute(table.insert().values(id=1))
            assert conn.execute(sa.select(table.c.id)).scalar_one() == 1
        with engine.begin() as conn:
            table.drop(conn)
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()
