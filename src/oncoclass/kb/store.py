"""Opening the evidence store: one URL (an SQLite file or a PostgreSQL server), one engine, the
schema brought up to date by Alembic migrations on open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from oncoclass.errors import StoreError
from oncoclass.settings import get_settings

_MIGRATIONS = Path(__file__).with_name("migrations")
_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
            "postgresql+psycopg": "postgresql+psycopg"}  # fmt: skip
#: ``name://`` at the very start: a URL. Anything else is a file path, whatever it holds after
#: (``kb?.sqlite``, ``a#b``, even ``x://y`` further in).
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(value: str | Path) -> bool:
    """Whether a store given as ``value`` is a URL rather than a file path."""
    return _URL_SCHEME.match(str(value)) is not None


def data_dir() -> Path:
    """Where oncoclass keeps what the user builds (the default store): ``$XDG_DATA_HOME/oncoclass``
    or ``~/.local/share/oncoclass``."""
    return get_settings().data_folder


def default_kb() -> Path:
    return data_dir() / "kb.sqlite"


def resolve_url(value: str | Path | None) -> str:
    """The SQLAlchemy URL of a store given as a file path or a URL (``sqlite:///…``,
    ``postgresql://user:pass@host/db``); None: ``ONCOCLASS_KB``, else the default file."""
    if value is None or str(value) == "":
        value = get_settings().kb or str(default_kb())
    text = str(value)
    if not is_url(value):
        # Built, not formatted: URL.create escapes what a URL would read as syntax (``?`` starts
        # options, ``#`` a fragment, ``%`` an escape), so SQLite opens the file named, literally.
        path = Path(text).expanduser().resolve()
        return URL.create(drivername="sqlite", database=str(path)).render_as_string(hide_password=False)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        masked = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)  # never echo a password
        raise StoreError(
            f"{masked!r} is not a database URL.", hint="Give a file path or postgresql://…"
        ) from None
    driver = _SCHEMES.get(url.drivername)
    if driver is None:
        raise StoreError(
            f"the store can be an SQLite file or a PostgreSQL server, not {url.drivername!r}.",
            hint="Give a file path, sqlite:///FILE or postgresql://user:password@host/database.",
        )
    database = url.database or ""
    if driver == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
        # sqlite:///kb.sqlite is relative to the current folder: made absolute, as a plain path is,
        # so messages name the file really meant and Dask workers open the same one.
        url = url.set(database=str(Path(database).expanduser().resolve()))
    return url.set(drivername=driver).render_as_string(hide_password=False)


def store_file(value: str | Path | None) -> Path | None:
    """The file an SQLite store (``value`` as :func:`resolve_url` takes it) lives in; None for a
    PostgreSQL server."""
    url = make_url(resolve_url(value))
    return Path(url.database) if url.drivername == "sqlite" and url.database else None


def store_inputs(kb: str | Path | None) -> list[Path]:
    """What a command given ``--kb`` reads besides its input files: the store's file, which no
    ``--out`` may overwrite (``kb export --out STORE`` once replaced the store with a CSV). None
    when no store is used, or when it is a server."""
    found = store_file(kb) if kb else None
    return [found] if found is not None else []


def shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Store:
    url: str
    engine: Engine

    @property
    def shown(self) -> str:
        return shown(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_ddl_transactions(dbapi_connection: object, _record: object) -> None:
    # pysqlite begins a transaction only before a write of rows, so CREATE TABLE ran outside one
    # and a migration failing half-way left half a schema behind. SQLite's DDL is transactional:
    # with the driver's own BEGIN off, _sqlite_begin opens the migration's one transaction.
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE: the write lock at once, so a concurrent import waits rather than failing when
    # its read lock cannot be upgraded.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _migration_engine(store: Store) -> Engine:
    """The engine a migration runs on: the store's, except for SQLite, where one of its own opens
    a transaction before the DDL too. Only the migration: the store's own transactions keep
    pysqlite's deferred BEGIN, under which curators deciding at once wait for each other's write
    rather than fail on a read lock held since the transaction began."""
    if not store.url.startswith("sqlite"):
        return store.engine
    database = make_url(store.url).database or ""
    if database in ("", ":memory:") or "mode=memory" in store.url:
        # An in-memory database is one per connection: another engine's would be another database,
        # and the store's own would open empty. No one else can migrate it meanwhile.
        return store.engine
    engine = create_engine(store.url, poolclass=NullPool)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "connect", _sqlite_ddl_transactions)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def open_store(value: str | Path | None = None, *, create: bool = True) -> Store:
    """Open the store named by a path or URL: with ``create``, a new one is created (an empty file
    or database); without, it must exist. A store of an older oncoclass is upgraded, one of a newer
    refused; a database holding anything else is refused and left as it was."""
    url = resolve_url(value)
    sqlite = url.startswith("sqlite")
    if sqlite:
        path = Path(make_url(url).database or "")
        if not path.exists() and not create:
            raise StoreError(f"no evidence store at {path}.", hint="Build one with `oncoclass kb import`.")
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store at {path} ({exc.strerror or exc}).") from None
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a store file.", hint="Give the path of a file.")
    try:
        engine = create_engine(
            url, connect_args={} if sqlite else {"connect_timeout": 10}, pool_pre_ping=not sqlite
        )
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use the store at {shown(url)} ({exc}).") from None
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    store = Store(url=url, engine=engine)
    try:
        _bring_up(store, create=create)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open the evidence store at {shown(url)}: {db_reason(exc)}",
            hint="Check the path, and that the file is an SQLite database."
            if sqlite
            else "Check the URL, and that the server is running and accepts this user.",
        ) from None
    except StoreError:
        engine.dispose()
        raise
    return store


def _bring_up(store: Store, *, create: bool) -> None:
    """Check that the database is an oncoclass store (or, with ``create``, an empty one to make
    one in) before anything is written: a user's own tables are never migrated into."""
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    tables = sorted(inspect(store.engine).get_table_names())
    revision = current_revision(store) if "alembic_version" in tables else None
    known = {rev.revision for rev in script.walk_revisions()}
    ours = revision in known or (
        # A newer oncoclass's revision, beside the tables every store has.
        revision is not None and {"items", "releases"} <= set(tables)
    )
    if not ours and [t for t in tables if t != "alembic_version"]:
        where = store_file(store.url) or store.shown
        names = ", ".join(tables[:8]) + (f" and {len(tables) - 8} more" if len(tables) > 8 else "")
        held = f"tables {names}" if len(tables) > 1 else f"a table {names}"
        raise StoreError(
            f"{where} is not an oncoclass evidence store: it holds {held}; nothing in it was changed.",
            hint="Give a new file (or an empty database) or an existing store.",
        )
    if not ours and not create:
        raise StoreError(
            f"{store.shown} holds no evidence store.", hint="Build one with `oncoclass kb import`."
        )
    # A store from a *newer* oncoclass is refused rather than guessed at.
    if revision is not None and revision not in known:
        raise StoreError(
            f"the store at {store.shown} has schema {revision}, newer than this oncoclass knows.",
            hint="Upgrade oncoclass, or use another store.",
        )
    if revision != script.get_current_head():
        _upgrade(store, config)


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def store_errors(store: Store, action: str) -> Iterator[None]:
    """A database failure while reading or writing (the server gone, the file locked by another
    import) as one StoreError naming the store, not a driver's traceback with its SQL."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"{action} in the store at {store.shown} failed: {db_reason(exc)}") from None


def db_reason(exc: SQLAlchemyError) -> str:
    """The driver's own first line (not SQLAlchemy's, which quotes the SQL and its parameters)."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _upgrade(store: Store, config: Any) -> None:
    """Bring the schema to this version's head (:func:`_bring_up` has read where it stands)."""
    from alembic import command

    # One transaction (SQLite and PostgreSQL both have transactional DDL): a migration that fails
    # leaves the store as it was, not half of a schema.
    engine = _migration_engine(store)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if engine is not store.engine:
            engine.dispose()
