"""Opening stores by path or URL, and the schema's migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from oncoclass.errors import StoreError
from oncoclass.kb.store import current_revision, head_revision, open_store, resolve_url


def test_open_creates_the_schema_at_head_and_reopens(kb_url: str) -> None:
    with open_store(kb_url) as store:
        assert current_revision(store) == head_revision()
        assert {"items", "releases", "alembic_version"} <= set(inspect(store.engine).get_table_names())
    with open_store(kb_url, create=False) as store:  # opening again migrates nothing
        assert current_revision(store) == head_revision()


def test_a_store_from_a_newer_oncoclass_is_refused(kb_url: str) -> None:
    with open_store(kb_url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer than this oncoclass"):
        open_store(kb_url)


def test_paths_and_urls_resolve_to_one_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_url(tmp_path / "kb.sqlite") == f"sqlite:///{tmp_path / 'kb.sqlite'}"
    assert resolve_url("postgresql://u:p@h/db").startswith("postgresql+psycopg://u:p@h/db")
    assert resolve_url("postgres://u@h/db").startswith("postgresql+psycopg://")
    # sqlite:///NAME is relative to the current folder, made absolute as a plain path is.
    monkeypatch.chdir(tmp_path)
    assert resolve_url("sqlite:///kb.sqlite") == resolve_url(tmp_path / "kb.sqlite")
    assert resolve_url(f"sqlite:///{tmp_path}/kb.sqlite") == resolve_url(tmp_path / "kb.sqlite")
    monkeypatch.setenv("ONCOCLASS_KB", str(tmp_path / "env.sqlite"))
    assert resolve_url(None).endswith("env.sqlite")
    monkeypatch.delenv("ONCOCLASS_KB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'data' / 'oncoclass' / 'kb.sqlite'}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://u@h/db", "SQLite file or a PostgreSQL"),
        ("postgresql://u:secret@127.0.0.1:1/db", "cannot open"),
    ],
)
def test_unusable_stores_say_so_without_the_password(value: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        open_store(value)
    assert "secret" not in str(caught.value)


def test_reading_a_missing_store_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no evidence store"):
        open_store(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


@pytest.mark.parametrize(
    "name", ["kb?.sqlite", "a?mode=ro.sqlite", "a#b.sqlite", "a%3Fb.sqlite", "a b.sqlite", "in/x://y.sqlite"]
)
def test_a_plain_path_is_taken_literally(
    name: str, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ``name://`` at the start makes a URL: ``?``, ``#``, ``%`` or a space in a file's name
    are part of the name, not a URL's options, fragment or escapes."""
    from sources_data import HOTSPOTS, write

    from oncoclass.kb.store import is_url, store_file

    monkeypatch.chdir(tmp_path)  # relative, as a user types it
    assert not is_url(name)
    assert store_file(name) == tmp_path / name
    done = cli(["kb", "import", write(tmp_path, "h.tsv", HOTSPOTS), "--kb", name])
    assert done.returncode == 0, done.stderr
    # exactly the file named, and nothing else beside the inputs
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(["h.tsv", Path(name).name])
    assert (tmp_path / name).is_file()
    stats = cli(["kb", "stats", "--kb", str(tmp_path / name), "--json"])
    assert stats.returncode == 0 and '"items": 3' in stats.stdout


@pytest.mark.parametrize("create", [True, False], ids=["import", "read"])
def test_a_database_of_other_tables_is_refused_and_left_as_it_was(kb_url: str, create: bool) -> None:
    # A user's own database (a table named items, another named patients): neither migrated into
    # half-way ("table items already exists") nor given the store's tables beside its own.
    from sqlalchemy import create_engine

    engine = create_engine(resolve_url(kb_url))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE items (a integer)")
        connection.exec_driver_sql("CREATE TABLE patients (a integer)")
    try:
        for _ in range(2):  # and again: the first refusal left nothing behind to trip over
            with pytest.raises(
                StoreError, match="is not an oncoclass evidence store: it holds tables items, patients"
            ):
                open_store(kb_url, create=create)
        assert sorted(inspect(engine).get_table_names()) == ["items", "patients"]
    finally:
        engine.dispose()


def test_a_migration_that_fails_leaves_no_half_schema(kb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic.operations import Operations

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a migration failing after its tables were created")

    monkeypatch.setattr(Operations, "create_index", fail)  # migration 0002, after 0001's tables
    with pytest.raises(RuntimeError, match="migration failing"):
        open_store(kb_url)
    monkeypatch.undo()
    with open_store(kb_url) as store:  # the failed one left nothing behind: this one starts afresh
        assert current_revision(store) == head_revision()


def test_an_in_memory_store_is_migrated_in_its_own_database() -> None:
    # SQLite migrations run on an engine of their own; for an in-memory database that engine's
    # would be another database, and the store opened empty.
    with open_store("sqlite:///:memory:") as store:
        assert {"items", "releases", "alembic_version"} <= set(inspect(store.engine).get_table_names())
