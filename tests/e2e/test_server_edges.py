"""The real ``oncoclass serve`` process at its edges: options out of range, an empty key, stalled
connections, and a bounded schemathesis run against its own OpenAPI schema."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("oncoclass"))


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "serve", *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


@pytest.mark.parametrize(
    "args",
    [("--port", "70000"), ("--port", "0"), ("--max-batch", "0"), ("--workers", "-1"), ("--max-body", "-5")],
)
def test_numeric_options_out_of_range_are_refused(lr_model: Path, args: tuple[str, str], cli) -> None:
    result = cli(["serve", "-m", str(lr_model), *args])
    assert result.returncode == 2, result.stderr
    assert args[0] in result.stderr and "Traceback" not in result.stderr


def test_an_empty_api_key_refuses_to_start(lr_model: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("ONCOCLASS_API_KEY", "")
    result = cli(["serve", "-m", str(lr_model), "--port", "1"])
    assert result.returncode == 2 and "ONCOCLASS_API_KEY is set but empty" in result.stderr, result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_wrong_store_refuses_to_start(lr_model: Path, cli, tmp_path: Path, workers: str) -> None:
    # Checked before start-up: in the workers it failed in each, with a traceback, restarted forever.
    result = cli(["serve", "-m", str(lr_model), "--workers", workers, "--kb", tmp_path / "none.sqlite"])
    assert result.returncode == 2 and "no evidence store" in result.stderr, result.stderr
    assert "serving" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line_and_status_2(lr_model: Path, cli, workers: str) -> None:
    # uvicorn bound the port itself: "serving …" was printed, then its raw [Errno 98] and status 3.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = cli(["serve", "-m", str(lr_model), "--port", port, "--workers", workers])
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"error: --port: port {port} on 127.0.0.1 is in use. "
        "Choose another port, or stop the program that listens on it."
    )


@pytest.mark.parametrize(
    ("host", "message"),
    [("999.1.1.1", "cannot listen on '999.1.1.1'"), ("192.0.2.1", "192.0.2.1 is not an address of this")],
)
def test_a_host_it_cannot_listen_on_is_one_line_and_status_2(
    lr_model: Path, cli, host: str, message: str
) -> None:
    result = cli(["serve", "-m", str(lr_model), "--host", host, "--port", "8000"])
    assert result.returncode == 2 and result.stderr.startswith(f"error: --host: {message}"), result.stderr
    assert "serving" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # two worker processes, each loading the model (minutes on a busy machine)
def test_two_workers_serve_on_the_socket_bound_for_them(lr_model: Path, server) -> None:
    import httpx

    live = server(lr_model, "--workers", "2")
    live.start()
    try:
        live.wait_ready(timeout=300)
        assert httpx.get(live.url + "/health", timeout=10).json()["status"] == "ok"
    finally:
        live.__exit__()
    assert "serving model" in live.output and "2 worker(s)" in live.output


def test_the_executable_refuses_an_out_of_range_port(lr_model: Path) -> None:
    result = _serve("-m", str(lr_model), "--port", "70000")
    assert result.returncode == 2 and "--port" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow  # waits out the server's idle and request deadlines (~8 s)
def test_stalled_connections_are_closed(lr_model: Path, server) -> None:
    with server(lr_model, "--request-timeout", "1") as live:
        silent = socket.create_connection(("127.0.0.1", live.port))
        dripping = socket.create_connection(("127.0.0.1", live.port))
        dripping.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        started = time.monotonic()
        for sock in (silent, dripping):
            sock.settimeout(10)
            assert sock.recv(100) == b""  # closed by the server
            sock.close()
        assert time.monotonic() - started < 8
        # Nor can a client keep a connection by sending a line break between requests.
        with socket.create_connection(("127.0.0.1", live.port)) as keeper:
            keeper.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            keeper.settimeout(10)
            assert keeper.recv(4096).startswith(b"HTTP/1.1 200")
            closed_at = None
            for _ in range(12):
                time.sleep(0.5)
                try:
                    keeper.sendall(b"\r\n")
                except OSError:
                    closed_at = time.monotonic()
                    break
            if closed_at is None:  # the server closed it; reading says so (EOF or a reset)
                with contextlib.suppress(ConnectionResetError):
                    assert keeper.recv(100) == b""
        # A prompt client on a kept-alive connection is unaffected.
        import httpx

        with httpx.Client(base_url=live.url) as client:
            assert client.get("/health").status_code == 200
            time.sleep(0.3)
            assert client.get("/health").status_code == 200


@pytest.mark.slow  # a 60-second run
def test_schemathesis_finds_nothing(default_model: Path, synth_kb: Path, server, tmp_path: Path) -> None:
    """schemathesis (property-based tests from the served OpenAPI schema), for a bounded time:
    ONCOCLASS_SCHEMATHESIS_SECONDS, 60 by default as in CI."""
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists():
        pytest.skip("schemathesis is not installed (it is in the dev extra)")
    seconds = os.environ.get("ONCOCLASS_SCHEMATHESIS_SECONDS", "60")
    checks = (
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,negative_data_rejection"
    )
    # With a store, so /evidence answers with hits rather than 404, and the review routes are served;
    # with an admin's token, so they are exercised past the sign-in (on a copy: users are added).
    import shutil

    from oncoclass.kb.store import open_store
    from oncoclass.review.users import add_user

    kb = tmp_path / "kb.sqlite"
    shutil.copy(synth_kb, kb)
    with open_store(kb) as store:
        _, token = add_user(store, "fuzzer", "admin")
    with server(default_model, "--kb", str(kb), ONCOCLASS_API_KEY="s3cret") as live:
        result = subprocess.run(
            [str(exe), "run", live.url + "/openapi.json", "-H", "X-API-Key: s3cret", "-H",
             f"Authorization: Bearer {token}", "--checks", checks, "--max-time", seconds, "--seed", "1",
             "--no-color"],
            capture_output=True, text=True, timeout=int(seconds) + 300, cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # A run may end with a warning (for example that many generated cases were refused, which is
    # the point of negative testing); failures and errors are what fail it.
    summary = result.stdout[result.stdout.rfind("SUMMARY") :]
    assert "Failures:" not in summary and "Errors:" not in summary, result.stdout[-6000:]
    assert " passed" in summary
