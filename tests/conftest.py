"""Shared fixtures: tiny synthetic corpora built per session, the real data when available, trained
models and live servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import psycopg.errors
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from oncoclass.data.synth import SynthSpec, make_corpus, write_corpus

# Tests never touch the user's cache folder: what they derive (the word-piece table, ~30 s) is kept
# beside the checkout, once per clone, unless the caller chose a folder.
os.environ.setdefault(
    "ONCOCLASS_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "oncoclass-cache")
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (fifteen seconds or more each: fuzzing, schemathesis, every recipe on
    CIViC, the default recipe on all of Kaggle, a Dask cluster started by the executable)
    run with ONCOCLASS_ALL_TESTS=1 (``make test-all``; CI always sets it) or when selected with
    ``-m``; ``make test`` skips them, saying so, to answer in a few minutes."""
    if os.environ.get("ONCOCLASS_ALL_TESTS") or config.getoption("markexpr"):
        return
    skip = pytest.mark.skip(reason="slow: `make test-all` runs it (CI always does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _real_data() -> Path | None:
    value = os.environ.get("ONCOCLASS_DATA")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real data; CI (ONCOCLASS_REQUIRE_DATA=1) fails rather than skips without it."""
    path = _real_data()
    if path is None or not path.is_dir():
        if os.environ.get("ONCOCLASS_REQUIRE_DATA"):
            pytest.fail(f"ONCOCLASS_DATA must point at the shared data folder (got {path!r})")
        pytest.skip("ONCOCLASS_DATA is not set: real-data tests need the shared Kaggle/CIViC files")
    return path


@pytest.fixture(scope="session")
def kaggle_dir(real_data: Path) -> Path:
    return real_data / "kaggle-msk"


@pytest.fixture(scope="session")
def civic_file(real_data: Path) -> Path:
    return real_data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv"


@pytest.fixture(scope="session")
def small_corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_corpus(SynthSpec(rows=240, test_rows=60, doc_chars=600, seed=1))


@pytest.fixture(scope="session")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("synth")
    return write_corpus(out, SynthSpec(rows=240, test_rows=60, doc_chars=600, seed=1))


@pytest.fixture(scope="session")
def synth_zipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("synthzip")
    return write_corpus(out, SynthSpec(rows=240, test_rows=60, doc_chars=600, seed=1), zipped=True)


@pytest.fixture(scope="session")
def synth_kb(tmp_path_factory: pytest.TempPathFactory, synth_files: dict[str, Path]) -> Path:
    """An SQLite store of the small synthetic Kaggle corpus (its training variants and texts)."""
    from oncoclass.kb.load import import_path
    from oncoclass.kb.store import open_store

    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    with open_store(path) as store:
        import_path(store, synth_files["training_variants"], text=synth_files["training_text"])
    return path


def _train(tmp_path_factory: pytest.TempPathFactory, files: dict[str, Path], recipe: str) -> Path:
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig

    spec = InputSpec(path=str(files["training_variants"]), text=str(files["training_text"]))
    out = tmp_path_factory.mktemp("models") / recipe
    return train(TrainConfig(input=spec, recipe=recipe), out_dir=out).path


@pytest.fixture(scope="session")
def kb_model(tmp_path_factory: pytest.TempPathFactory, synth_files: dict[str, Path], synth_kb: Path) -> Path:
    """The default recipe trained on the synthetic corpus with the store built from that corpus:
    each training row must not retrieve its own item."""
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig

    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    out = tmp_path_factory.mktemp("kbmodels") / "default"
    return train(TrainConfig(input=spec, kb=str(synth_kb)), out_dir=out).path


@pytest.fixture(scope="session")
def default_model(tmp_path_factory: pytest.TempPathFactory, synth_files) -> Path:
    """The default recipe trained on the small synthetic corpus (a model folder)."""
    return _train(tmp_path_factory, synth_files, "default")


@pytest.fixture(scope="session")
def fast_model(tmp_path_factory: pytest.TempPathFactory, synth_files) -> Path:
    return _train(tmp_path_factory, synth_files, "fast")


@pytest.fixture(scope="session")
def lr_model(tmp_path_factory: pytest.TempPathFactory, synth_files) -> Path:
    return _train(tmp_path_factory, synth_files, "lr")


class LiveServer:
    """``oncoclass serve`` as a real process on a free loopback port."""

    def __init__(self, model: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        self.model, self.env, self.args = model, env, args
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = ""

    def start(self) -> subprocess.Popen[str]:
        exe = str(Path(sys.executable).with_name("oncoclass"))
        # The server's log goes to a file, not a pipe: a pipe nobody reads fills after a few
        # hundred request lines and the server then blocks on its next log line.
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed on exit)
        self.process = subprocess.Popen(
            [exe, "serve", "--model", str(self.model), "--port", str(self.port), *self.args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **self.env},
        )
        return self.process

    def read_output(self, timeout: float = 30) -> str:
        self.process.wait(timeout=timeout)
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self, timeout: float = 90.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.read_output()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not start in time")

    def __enter__(self) -> LiveServer:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.output = self.read_output()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _ServerFactory:
    def __call__(self, model: Path, *args: str, **env: str) -> LiveServer:
        return LiveServer(model, env, args)

    def start(self, model: Path, **env: str) -> LiveServer:
        live = LiveServer(model, env)
        live.start()
        return live


@pytest.fixture(scope="session")
def server() -> _ServerFactory:
    """``with server(model, *serve_args, **env) as live: httpx.get(live.url + ...)``;
    ``live.output`` after exit."""
    return _ServerFactory()


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``oncoclass ARGS`` in this process (``oncoclass.cli.run``): what the executable would print
    and return, without the second or two each new process spends importing the stack."""
    import contextlib
    import io

    from oncoclass.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    """``cli([...])`` runs one command in-process; a few end-to-end tests still start the real
    executable (tests/e2e/test_bad_inputs.py, test_cli.py, the server and browser tests)."""
    return run_cli


# --- databases for the store and the review queue: an SQLite file and a real PostgreSQL server
# (Debian's, set up by `make postgres`). Without a server the PostgreSQL cases skip, unless
# ONCOCLASS_REQUIRE_POSTGRES=1 (CI) makes that a failure.

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
        _drop_database(admin, name)
    finally:
        admin.dispose()


def _drop_database(admin: sa.Engine, name: str, attempts: int = 20) -> None:
    """FORCE ends connections a test's engine still holds (PostgreSQL 13+). It may not end the
    server's own autovacuum worker, which can visit a fresh database (the test role may not signal
    it: InsufficientPrivilege); that worker leaves within moments, so the drop is tried again."""
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
            return
        except sa.exc.ProgrammingError as exc:
            if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege) or attempt == attempts - 1:
                raise
            time.sleep(0.25)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def kb_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty database on each backend, one test each."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/kb.sqlite"
    return request.getfixturevalue("_pg_database")


@pytest.fixture(scope="session")
def cluster():
    """A local Dask cluster of two worker processes, shared by the batch and annotate engines'
    tests (starting one takes seconds)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c
