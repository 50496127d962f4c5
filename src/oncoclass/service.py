"""The HTTP service: a FastAPI app over one loaded model.

Routes parse and validate the request, call one library function (:func:`api.predict_records`,
:func:`explain.explain`) and return its data. Everything the page and the docs need is served from
the package: hospital networks are offline, so nothing may come from a CDN.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from oncoclass import __version__
from oncoclass.data.table import first_duplicate, gene_problem, variation_problem
from oncoclass.errors import AuthError, ConfigError, ConflictError, InputError, OncoclassError, TooLarge
from oncoclass.explain import explain
from oncoclass.jobs.predict import predict_records
from oncoclass.kb.search import Query as KbQuery
from oncoclass.kb.search import search
from oncoclass.kb.store import open_store
from oncoclass.persist import Bundle
from oncoclass.routes.deps import StoreDep
from oncoclass.settings import get_settings
from oncoclass.variation import protein_change

log = logging.getLogger("oncoclass.service")

API_KEY_ENV = "ONCOCLASS_API_KEY"
#: Routes anyone may call: the page, its assets, the docs and the health check. The review routes
#: do not take the shared key either: each needs a curator's own token (routes/deps.py).
_OPEN_PREFIXES = ("/static/", "/docs", "/openapi.json", "/review/")
_OPEN_PATHS = {"/", "/health", "/review"}
#: The pages (HTML), which get the page's Content-Security-Policy.
_PAGES = {"/": "index.html", "/review": "review.html", "/review/dashboard": "dashboard.html"}


@dataclass(frozen=True)
class ServiceSettings:
    """The one settings object of the service; the CLI fills it from options and the environment."""

    max_batch: int = 256
    max_body_bytes: int = 2_000_000
    #: The same limit as a file's text (ONCOCLASS_MAX_TEXT_CHARS); the body limit comes first.
    max_text_chars: int = field(default_factory=lambda: get_settings().max_text_chars)
    api_key: str | None = None
    #: Seconds a client has to send a whole request (headers and body), and that an idle
    #: keep-alive connection is kept: a stalled or slow-drip client is disconnected.
    request_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    #: The evidence store predictions retrieve from and /evidence searches (a path or URL).
    kb: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_body_bytes", "max_text_chars"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}.")
        for name in ("request_timeout", "keep_alive_timeout"):
            if not 0 < getattr(self, name) <= 3600:
                raise ConfigError(f"{name} must be between 0 and 3600 seconds, not {getattr(self, name)}.")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError(
                f"{API_KEY_ENV} is set but empty, which would start an open server.",
                hint="Set it to a secret, or unset it to serve without a key.",
            )

    def check_request(self, variants: list[Any], *, what: str, hint: str | None = None) -> None:
        """The one rule for what a request of records may hold, for every route that takes them:
        at most ``max_batch`` records (``what`` names them), each text within ``max_text_chars``."""
        if len(variants) > self.max_batch:
            raise TooLarge(f"{len(variants)} {what}; the limit is {self.max_batch}.", hint=hint)
        for v in variants:
            if len(v.text) > self.max_text_chars:
                raise TooLarge(f"text of {v.gene} {v.variation} is over {self.max_text_chars} characters.")

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceSettings:
        key = get_settings().api_key
        return cls(api_key=None if key is None else key.get_secret_value(), **overrides)


#: Content-Security-Policy by kind of response. Everything is served from this origin; only the
#: Swagger page needs inline script (FastAPI's docs page starts Swagger UI with one).
_CSP_PAGE = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_CSP_DOCS = _CSP_PAGE + "; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
_CSP_API = "default-src 'none'; frame-ancestors 'none'"


def _headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    ]


# Built once: every response carries one of these three lists.
_HEADERS_DOCS, _HEADERS_PAGE, _HEADERS_API = _headers(_CSP_DOCS), _headers(_CSP_PAGE), _headers(_CSP_API)


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    if path == "/docs":
        return _HEADERS_DOCS
    return _HEADERS_PAGE if path in _PAGES or path.startswith("/static/") else _HEADERS_API


def log_safe(text: str, limit: int = 300) -> str:
    """``text`` with every control, format or non-printable character escaped (``\\n``, ``\\x1b``),
    so a request cannot write forged lines or terminal escapes into the log; cut to ``limit``."""
    out = "".join(
        c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii") for c in text
    )
    return out if len(out) <= limit else out[:limit] + "…"


def _whole_characters(value: Any) -> Any:
    """``value`` unchanged, unless a string in it (or in a list of them) holds a lone UTF-16
    surrogate: JSON lets ``"\\ud800"`` through as one, which is no character, and no text of it
    can be written out (a 500 once the model or an output encoded it)."""
    for text in value if isinstance(value, list) else (value,):
        if isinstance(text, str):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise PydanticCustomError(
                    "string_unicode",
                    "holds a lone surrogate ({escape}) at character {at}, which is not a character: send "
                    "text as UTF-8 (an escape \\ud800-\\udbff is followed by its \\udc00-\\udfff)",
                    {"escape": f"\\u{ord(text[exc.start]):04x}", "at": exc.start + 1},
                ) from None
    return value


class RequestModel(BaseModel):
    """The base of every request body, so each rule below holds for every field of every route.

    Request models are strict: JSON's types are kept (``false`` is not the integer 0, ``1`` is not
    the string "1"), and unknown fields are refused, so a client's mistake is a 422, not a guess.
    A string with a lone surrogate is refused, naming its field, whatever the field's other checks."""

    model_config = ConfigDict(extra="forbid", strict=True)

    _characters = field_validator("*", mode="before")(_whole_characters)


# Values are validated as sent (the schema's lengths are the lengths checked); the library strips
# the whitespace around gene and variation.
class VariantIn(RequestModel):
    gene: str = Field(min_length=1, max_length=100, pattern=r"\S", examples=["BRAF"])
    variation: str = Field(min_length=1, max_length=300, pattern=r"\S", examples=["V600E"])
    text: str = Field(default="", description="The literature about the variant (plain text).")
    context: str = Field(default="", description="Other free text for CIViC-style models.")
    disease: str = Field(default="", max_length=1000, description="The disease, e.g. Melanoma.")
    drugs: str = Field(default="", max_length=1000, description="The drugs, e.g. Vemurafenib.")
    id: str | None = Field(default=None, max_length=200, description="Your identifier, echoed back.")

    @field_validator("gene", "variation")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # The schema's pattern (\S) and Python's notion of whitespace differ on a few control
        # characters; a value that strips to nothing is refused here, per record.
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class BatchIn(RequestModel):
    variants: list[VariantIn] = Field(min_length=1)

    @field_validator("variants")
    @classmethod
    def _unique_ids(cls, variants: list[VariantIn]) -> list[VariantIn]:
        # As in a file: two results with one id could not be told apart. Records without an id
        # are answered with none, so only the ids given are compared.
        given = [(i, v.id) for i, v in enumerate(variants) if v.id is not None]
        if (at := first_duplicate([id for _, id in given])) is not None:
            id = given[at][1]
            first = next(i for i, other in given if other == id)
            raise PydanticCustomError(
                "duplicate_id",
                "duplicate id {id} (records {first} and {second}): ids must be unique",
                {"id": repr(id), "first": first + 1, "second": given[at][0] + 1},
            )
        return variants


class ExplainIn(VariantIn):
    classes: list[str] = Field(default_factory=list, description="Classes to explain besides the top one.")
    top: int = Field(default=10, ge=1, le=100)
    top_sentences: int = Field(default=5, ge=0, le=50)


class PredictionOut(BaseModel):
    id: str | None
    gene: str
    variation: str
    probabilities: dict[str, float]
    top_class: str
    top_probability: float
    meanings: dict[str, str] | None
    model_id: str
    oncoclass_version: str
    text_source: str = Field(
        description="given (the variant's own text), retrieved (no text; the store's evidence) or none."
    )
    evidence_ids: list[str] = Field(
        description="The store's items the prediction drew on (source:source_id)."
    )


class HitOut(BaseModel):
    """One item of evidence the store holds, with where it comes from."""

    tier: str = Field(description="variant, position (same residue), kind (same kind of change) or gene.")
    score: float
    gene: str
    variation: str
    disease: str
    drugs: str
    label: str = Field(description="The curated label, where the source has one.")
    statement: str
    citation: str
    url: str
    source: str
    source_id: str


class ErrorOut(BaseModel):
    """Every refusal: what is wrong, and where it helps, what to do."""

    error: str
    hint: str | None = None
    details: list[str] | None = None


#: The refusals every route may give, documented once for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or wrong X-API-Key (when the service has a key)."},
    413: {"model": ErrorOut, "description": "Body, batch or text over the service's limits."},
    422: {"model": ErrorOut, "description": "A field is missing or invalid, or the body is not JSON."},
}


class BatchOut(BaseModel):
    predictions: list[PredictionOut]
    model_id: str


def _row_rule(rule: Any) -> Any:
    """A query parameter checked by the row rule a record's field is (``rule``: gene_problem or
    variation_problem), on the value as a record's is read: stripped, a protein change in HGVS
    read as such. An empty variation (a search by gene alone) is left to the parameter's own default."""

    def check(value: str) -> str:
        read = protein_change(value.strip())
        if read and (problem := rule(read)):
            raise PydanticCustomError("row_rule", "{problem}", {"problem": problem})
        return value

    return AfterValidator(check)


def _single_query_values(request: Request) -> None:
    """Refuse a query parameter given twice: FastAPI keeps the last value (``?gene=JAK2&gene=BRAF``
    searched BRAF without a word). No route takes a list in its query."""
    seen: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in seen:
            shown = ", ".join(log_safe(v, 100) for v in (seen[name], value))
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": f"given twice ({shown}): give it once", "type": "repeated"}]
            )
        seen[name] = value


def _error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if hint:
        body["hint"] = hint
    return JSONResponse(status_code=status, content=body)


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class Guard:
    """ASGI middleware: API key, body size bound and a request log line without the body.

    Written against raw ASGI so an oversized body is refused as it streams in: the server never
    holds more than the limit in memory, whatever Content-Length claims.
    """

    def __init__(self, app: Any, *, settings: ServiceSettings, model_id: str) -> None:
        self.app = app
        self.settings = settings
        self.model_id = model_id

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path, method = scope["path"], scope["method"]
        # Header values stay bytes: the key is compared byte for byte, whatever its encoding.
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        status = {"code": 500, "sent": False}
        head = method == "HEAD"
        if head:  # HEAD is GET without the body, on every GET route
            scope = {**scope, "method": "GET"}
        extra_headers = security_headers(path)

        async def tracked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message = {**message, "headers": [*message.get("headers", []), *extra_headers]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        async def respond(response: JSONResponse) -> None:
            await response(scope, receive, tracked_send)

        limit = self.settings.max_body_bytes
        key = self.settings.api_key
        if key and path not in _OPEN_PATHS and not path.startswith(_OPEN_PREFIXES):
            given = headers.get("x-api-key", b"")
            if not hmac.compare_digest(given, key.encode("utf-8")):
                await respond(
                    _error(401, "missing or wrong API key.", hint="Send it in the X-API-Key header.")
                )
                self._log(method, path, status["code"], started)
                return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await respond(_error(413, f"request body over the limit of {limit} bytes."))
            self._log(method, path, status["code"], started)
            return
        # The whole body is read here, before the app, counting as it streams in: a chunked body
        # (no Content-Length) past the limit is refused with 413 the moment it crosses it, and the
        # server never holds more than the limit.
        try:
            body = await self._read_body(receive, limit)
        except _TooLarge:
            await respond(_error(413, f"request body over the limit of {limit} bytes."))
            self._log(method, path, status["code"], started)
            return
        except _Disconnected:
            self._log(method, path, 499, started)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the client to disconnect

        await self.app(scope, replay, tracked_send)
        self._log(method, path, status["code"], started)

    @staticmethod
    async def _read_body(receive: Any, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    def _log(self, method: str, path: str, code: int, started: float) -> None:
        # Never the body: input text stays out of the logs.
        log.info(
            "model=%s %s %s -> %d in %.1f ms",
            self.model_id,
            log_safe(method, 20),
            log_safe(path),
            code,
            1000 * (time.perf_counter() - started),
        )


class MicroBatcher:
    """Predict concurrent requests together: one model call for all that arrived meanwhile.

    A single-row predict is mostly fixed cost (feature pipeline, pandas, LightGBM set-up), so
    eight rows cost little more than one. The worker takes every request waiting in the queue
    (never waits for more, so an idle service adds no latency), runs one predict in a thread, and
    answers each request. If a batch fails, its requests are retried one by one, so one bad
    record cannot fail its neighbours.
    """

    def __init__(self, predict: Any, *, max_batch: int = 64) -> None:
        self.predict = predict
        self.max_batch = max_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None

    def _ensure_worker(self) -> asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Any]]]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:  # a new event loop (tests) gets its own worker
            self._loop, self._queue = loop, asyncio.Queue()
            self._task = loop.create_task(self._work(self._queue))
        return self._queue

    async def submit(self, record: dict[str, Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._ensure_worker().put_nowait((record, future))
        return await future

    async def _work(self, queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            records = [record for record, _ in batch]
            try:
                results = await asyncio.to_thread(self.predict, records)
            except Exception:
                results = None
            for i, (record, future) in enumerate(batch):
                if future.done():
                    continue
                if results is not None:
                    future.set_result(results[i])
                    continue
                try:
                    future.set_result((await asyncio.to_thread(self.predict, [record]))[0])
                except Exception as exc:
                    future.set_exception(exc)


_ENV_REQUEST_TIMEOUT = "ONCOCLASS_SERVE_REQUEST_TIMEOUT"


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a request deadline. uvicorn closes idle keep-alive connections
    but has no deadline for the request itself: a client that connects and sends nothing, or sends
    its headers or body a byte at a time, would hold a connection for ever. Here each complete
    request must arrive within ``ONCOCLASS_SERVE_REQUEST_TIMEOUT`` seconds (the CLI sets it from
    :attr:`ServiceSettings.request_timeout`), or the connection is closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = float(os.environ.get(_ENV_REQUEST_TIMEOUT, "30"))
        self.deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self.deadline is None:
            self.deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expire(self) -> None:
        self.deadline = None
        if self.transport is not None and not self.transport.is_closing():
            log.info("closed a connection that sent no complete request in %.0f s", self.request_timeout)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # Bytes between requests (a lone CRLF every few seconds) start no message, and uvicorn
        # cancels its keep-alive timer on any bytes: the deadline covers them too.
        if self.cycle is None or self.cycle.response_complete:
            self._arm()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for the server to accept on. Bound before anything says
    it is serving, so a port in use or an address not of this machine is one ConfigError naming
    ``host`` or ``port`` (uvicorn, binding itself, logs the OS error and exits with its own status).
    Bound as uvicorn binds (SO_REUSEADDR; IPv6 for an address with a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except socket.gaierror as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host!r}: not an address or a name this machine resolves ({exc.strerror}).",
            field="host",
            hint="Give an address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).",
        ) from None
    except OSError as exc:
        sock.close()
        raise _bind_error(host, port, exc) from None
    sock.set_inheritable(True)  # the workers of --workers N accept on it too
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> ConfigError:
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"port {port} on {host} is in use.",
            field="port",
            hint="Choose another port, or stop the program that listens on it.",
        )
    if exc.errno == errno.EACCES:
        return ConfigError(
            f"not permitted to listen on port {port} on {host}.",
            field="port",
            hint="Ports below 1024 need privileges: choose one from 1024 to 65535.",
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(
            f"{host} is not an address of this machine.",
            field="host",
            hint="Listen on 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its own.",
        )
    return ConfigError(f"cannot listen on {host} port {port}: {exc.strerror or exc}.", field="host")


def _web_dir() -> str:
    return str(resources.files("oncoclass") / "web")


def configure_logging() -> None:
    """One request-log handler on stderr for the ``oncoclass`` loggers, whatever root has."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("oncoclass")
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


_ENV_MODEL, _ENV_MAX_BATCH, _ENV_MAX_BODY, _ENV_KB = (
    "ONCOCLASS_SERVE_MODEL", "ONCOCLASS_SERVE_MAX_BATCH", "ONCOCLASS_SERVE_MAX_BODY", "ONCOCLASS_SERVE_KB",
)  # fmt: skip


def worker_environment(model: Any, settings: ServiceSettings) -> dict[str, str]:
    """What :func:`app_from_env` needs, for server worker processes started by uvicorn."""
    return {
        _ENV_MODEL: str(model),
        _ENV_MAX_BATCH: str(settings.max_batch),
        _ENV_MAX_BODY: str(settings.max_body_bytes),
        _ENV_REQUEST_TIMEOUT: str(settings.request_timeout),
        **({_ENV_KB: settings.kb} if settings.kb else {}),
    }


def app_from_env() -> FastAPI:
    """App factory for each worker process of ``oncoclass serve --workers N``."""
    from oncoclass.persist import load_bundle

    configure_logging()
    settings = ServiceSettings.from_env(
        max_batch=int(os.environ[_ENV_MAX_BATCH]),
        max_body_bytes=int(os.environ[_ENV_MAX_BODY]),
        kb=os.environ.get(_ENV_KB),
    )
    return create_app(load_bundle(os.environ[_ENV_MODEL]), settings)


_UPLOAD_TYPES = ("text/plain", "text/tab-separated-values", "text/csv", "application/octet-stream")
_ANNOTATED_TYPES = {
    "maf": "text/tab-separated-values", "tsv": "text/tab-separated-values", "csv": "text/csv",
    "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet", "vcf": "text/plain",
}  # fmt: skip
_SUFFIX = {"maf": ".maf", "vcf": ".vcf"}


def _annotate_upload(
    bundle: Bundle, body: bytes, store: Any, probabilities: bool, kb: str | None = None
) -> Response:
    """The upload goes through the same readers and writers as a file given to the CLI (they need
    a path: htslib reads VCFs by name), in a private temporary folder removed afterwards. The
    summary (``X-Oncoclass-Summary``) and the notes (``X-Oncoclass-Notes``, a JSON array) are the
    CLI's, from the same :class:`oncoclass.annotate.AnnotateResult`."""
    import tempfile
    from pathlib import Path

    from oncoclass import annotate as annotation
    from oncoclass.jobs.predict import store_notes

    with tempfile.TemporaryDirectory(prefix="oncoclass-annotate-") as folder:
        source = Path(folder) / "upload"
        source.write_bytes(body)
        try:
            with annotation.open_sheet(source) as sheet:
                out = Path(folder) / ("annotated" + _SUFFIX.get(sheet.fmt, "." + sheet.fmt))
                summary = annotation.annotate_file(
                    bundle, sheet, out, store=store, probabilities=probabilities
                )
        except InputError as exc:  # the server's temporary path means nothing to the client
            raise InputError(exc.message.replace(str(source), "the upload"), hint=exc.hint) from None
        content = out.read_bytes()
    notes = store_notes(bundle, kb, server=True)
    result = annotation.result_of(sheet, summary, out, model_id=bundle.model_id, notes=notes)
    skipped = result.skipped()
    line = f"{result.counted()}, {result.variants} distinct variants, {result.predicted} predicted" + (
        f", not predicted: {skipped}" if skipped else ""
    )
    # ASCII JSON: a header carries Latin-1 only, and a note may quote a file's own words.
    said = json.dumps([note.replace(str(source), "the upload") for note in result.notes])
    return Response(
        content,
        media_type=_ANNOTATED_TYPES.get(sheet.fmt, "application/octet-stream"),
        headers={
            "Content-Disposition": f'attachment; filename="{out.name}"',
            "X-Oncoclass-Summary": line,
            "X-Oncoclass-Notes": said,
        },
    )


def create_app(bundle: Bundle, settings: ServiceSettings | None = None) -> FastAPI:
    """The app for one model, loaded once by the caller; ``settings`` bound what a request may cost."""
    settings = settings or ServiceSettings()
    # The store is opened once, and a missing or unreachable one stops start-up.
    store = open_store(settings.kb, create=False) if settings.kb else None
    # One prediction before the first request: what a model loads lazily (the embedding's
    # word-piece table, derived once per machine if not cached; value lookups) is then paid at
    # start-up, not by the first caller.
    predict_records(
        bundle, [{"gene": "BRAF", "variation": "V600E", "text": "warm-up", "context": ""}], store=store
    )
    app = FastAPI(
        title="oncoclass",
        version=__version__,
        description="Classify cancer gene variants from the literature, with calibrated probabilities "
        "and the evidence behind them.",
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
        dependencies=[Depends(_single_query_values)],
    )
    app.state.bundle = bundle
    app.state.settings = settings
    app.state.store = store
    app.add_middleware(Guard, settings=settings, model_id=bundle.model_id)
    try:
        # Swagger UI 5 (it renders the OpenAPI 3.1 schema FastAPI writes), shipped inside the
        # fastapi-offline wheel: served from the package, never from a CDN.
        swagger_dir = str(resources.files("fastapi_offline") / "static")
        # Before /static, which would otherwise claim these paths.
        app.mount("/static/swagger", StaticFiles(directory=swagger_dir), name="swagger")
    except ModuleNotFoundError:  # the docs page is a convenience; the API works without it
        swagger_dir = None
    app.mount("/static", StaticFiles(directory=_web_dir()), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse(
            status_code=422, content={"error": "invalid request: " + "; ".join(problems), "details": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body it cannot parse with a bare 400; to a client that is one more
        # invalid request, so it gets the documented 422 and the usual error shape, with the
        # parser's reason: bytes that are not UTF-8, or JSON nested past Python's recursion limit.
        if exc.status_code != 400:
            return JSONResponse(
                status_code=exc.status_code, content={"error": str(exc.detail)}, headers=exc.headers
            )
        if isinstance(exc.__cause__, RecursionError):
            detail = "the body's JSON is nested too deeply to read (arrays or objects inside one another)."
            hint = "Send the request in the documented shape: a batch is one list of flat records."
            return _error(422, detail, hint)
        return _error(422, "the body is not valid UTF-8 JSON.")

    @app.exception_handler(OncoclassError)
    async def oncoclass_error(request: Request, exc: OncoclassError) -> JSONResponse:
        # The error's kind says its status (errors.py): 401 no token, 403 a role's limit, 404 no such
        # record, 409 a stale version (with the record as it now is), 422 anything else.
        response = _error(exc.http_status, exc.message, exc.hint)
        if isinstance(exc, ConflictError):
            response = JSONResponse(
                status_code=409, content={"error": exc.message, "hint": exc.hint, "current": exc.current}
            )
        if isinstance(exc, AuthError):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def page_route(path: str, name: str) -> None:
        def page() -> FileResponse:
            return FileResponse(os.path.join(_web_dir(), name), media_type="text/html")

        app.get(path, include_in_schema=False)(page)

    page_route("/", _PAGES["/"])
    if store is not None:  # the review pages and routes need the store that holds the queue
        from oncoclass.routes import review

        for path in ("/review", "/review/dashboard"):
            page_route(path, _PAGES[path])
        app.include_router(review.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if swagger_dir is None:
            return HTMLResponse(
                "<p>Interactive docs need the fastapi-offline package; "
                "the schema is at <a href='/openapi.json'>/openapi.json</a>.</p>"
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="oncoclass API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon.png",
        )

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model_id": bundle.model_id, "oncoclass_version": __version__}

    @app.get("/model")
    def model() -> dict[str, Any]:
        return {"metadata": bundle.metadata, "model_card": bundle.card}

    batcher = MicroBatcher(lambda records: predict_records(bundle, records, store=store))

    @app.get("/evidence", response_model=list[HitOut], responses={404: {"model": ErrorOut}})
    def evidence(
        gene: Annotated[
            str,
            Query(min_length=1, max_length=100, pattern=r"\S", examples=["BRAF"]),
            _row_rule(gene_problem),
        ],
        variation: Annotated[
            str, Query(max_length=300, examples=["V600E"]), _row_rule(variation_problem)
        ] = "",
        disease: Annotated[str, Query(max_length=1000)] = "",
        # Bounded so that the whole URL, each character percent-encoded as up to 12 bytes, stays
        # under what the HTTP parser accepts (about 64 KB): a longer one is refused before the app.
        text: Annotated[str, Query(max_length=1000)] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        *,
        kb: StoreDep,
    ) -> Any:
        """What the evidence store holds on a variant, closest first: the same variant (any
        notation), the same residue, the same kind of change in the gene, then the gene (404 when
        the server has no store)."""
        query = KbQuery(gene=gene, variation=variation, text=text, disease=disease)
        return [hit.to_dict() for hit in search(kb, query, limit=limit)]

    @app.post("/predict", response_model=PredictionOut)
    async def predict_one(variant: VariantIn) -> Any:
        settings.check_request([variant], what="variants")
        return await batcher.submit(variant.model_dump())

    @app.post("/predict/batch", response_model=BatchOut)
    async def predict_batch(batch: BatchIn) -> Any:
        settings.check_request(
            batch.variants,
            what="variants in one batch",
            hint="Split the batch, or use `oncoclass predict` for files.",
        )
        records = await asyncio.gather(*(batcher.submit(v.model_dump()) for v in batch.variants))
        return {"predictions": list(records), "model_id": bundle.model_id}

    @app.post(
        "/annotate",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A MAF, VCF (plain or gzipped) or table of gene and protein change, as sent.",
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _UPLOAD_TYPES},
            }
        },
        responses={
            200: {
                "description": "The same file, with oncoclass_ columns (or INFO fields) added.",
                "content": {t: {} for t in sorted(set(_ANNOTATED_TYPES.values()))},
                "headers": {
                    "X-Oncoclass-Summary": {
                        "description": "What was predicted, and why other rows were not (as the CLI says).",
                        "schema": {"type": "string"},
                    },
                    "X-Oncoclass-Notes": {
                        "description": "The notes the CLI prints, as a JSON array of strings.",
                        "schema": {"type": "string"},
                    },
                },
            }
        },
    )
    async def annotate_file(request: Request, probabilities: bool = False) -> Response:
        """Annotate an uploaded file, as `oncoclass annotate` does; the body limit applies."""
        body = await request.body()
        return await run_in_threadpool(_annotate_upload, bundle, body, store, probabilities, settings.kb)

    @app.post("/explain")
    def explain_one(request: ExplainIn) -> Any:
        settings.check_request([request], what="variants")
        result = explain(
            bundle,
            gene=request.gene,
            variation=request.variation,
            text=request.text,
            context=request.context,
            disease=request.disease,
            drugs=request.drugs,
            classes=request.classes or None,
            top=request.top,
            top_sentences=request.top_sentences,
            store=store,
        ).to_dict()
        result["oncoclass_version"] = __version__
        return result

    return app
