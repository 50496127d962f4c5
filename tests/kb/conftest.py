"""Fixtures for the evidence store's tests: each test gets a fresh, empty database on each backend the
store supports, an embedded SQLite file and a real PostgreSQL server (Debian's, set up by
``make postgres``). Without a server the PostgreSQL cases skip, unless ``ONCOCLASS_REQUIRE_POSTGRES=1``
(CI) makes that a failure."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

# The tests import the tiny source files of sources_data.py; with pytest's importlib mode a test
# folder is not on the path by itself.
sys.path.insert(0, str(Path(__file__).parent))

# The role and database `make postgres` creates; another server can be named with ONCOCLASS_TEST_PG_URL.
DEFAULT_PG_URL = "postgresql+psycopg://oncoclass:oncoclass@localhost:5432/oncoclass_test"


def _admin_engine(url: URL) -> sa.Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction; a short timeout keeps a missing server
    # from stalling the session.
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The maintenance database's URL, checked once per session."""
    url = make_url(os.environ.get("ONCOCLASS_TEST_PG_URL", DEFAULT_PG_URL))
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        shown = url.render_as_string(hide_password=True)
        if os.environ.get("ONCOCLASS_REQUIRE_POSTGRES"):
            pytest.fail(
                f"PostgreSQL is required (ONCOCLASS_REQUIRE_POSTGRES) but {shown} is unreachable: {exc}"
            )
        pytest.skip(f"no PostgreSQL server at {shown}: `make postgres` starts one (CI always does)")
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture
def _pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    # Requested lazily (only for the postgresql id) so SQLite cases never touch the server. A
    # database per test, not a schema or a rollback, so each test may commit, run migrations and
    # see exactly what it created.
    server = make_url(request.getfixturevalue("pg_server_url"))
    name = f"oncoclass_t_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(server)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        # FORCE ends connections a test's engine still holds (PostgreSQL 13+).
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def kb_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty database on each backend, one test each."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/kb.sqlite"
    return request.getfixturevalue("_pg_database")


@pytest.fixture(scope="session")
def kb_model(tmp_path_factory: pytest.TempPathFactory, synth_files: dict[str, Path], synth_kb: Path) -> Path:
    """The default recipe trained on the synthetic corpus with the store built from that corpus:
    each training row must not retrieve its own item."""
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig

    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    out = tmp_path_factory.mktemp("kbmodels") / "default"
    return train(TrainConfig(input=spec, kb=str(synth_kb)), out_dir=out).path
