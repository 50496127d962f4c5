"""The HTTP service: a FastAPI app over one loaded model.

Routes parse and validate the request, call one library function (:func:`api.predict_records`,
:func:`explain.explain`) and return its data. Everything the page and the docs need is served from
the package: hospital networks are offline, so nothing may come from a CDN.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from oncoclass import __version__
from oncoclass.api import predict_records
from oncoclass.errors import OncoclassError
from oncoclass.explain import explain
from oncoclass.persist import Bundle

log = logging.getLogger("oncoclass.service")

API_KEY_ENV = "ONCOCLASS_API_KEY"
#: Routes anyone may call: the page, its assets, the docs and the health check.
_OPEN_PREFIXES = ("/static/", "/docs", "/openapi.json")
_OPEN_PATHS = {"/", "/health"}


@dataclass(frozen=True)
class ServiceSettings:
    max_batch: int = 256
    max_body_bytes: int = 2_000_000
    max_text_chars: int = 1_000_000
    api_key: str | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceSettings:
        key = os.environ.get(API_KEY_ENV) or None
        return cls(api_key=key, **overrides)


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    gene: str = Field(min_length=1, max_length=100, examples=["BRAF"])
    variation: str = Field(min_length=1, max_length=300, examples=["V600E"])
    text: str = Field(default="", description="The literature about the variant (plain text).")
    context: str = Field(default="", description="Other free text: disease, drugs (CIViC-style models).")
    id: str | None = Field(default=None, max_length=200, description="Your identifier, echoed back.")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variants: list[VariantIn] = Field(min_length=1)


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


class BatchOut(BaseModel):
    predictions: list[PredictionOut]
    model_id: str


def _error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if hint:
        body["hint"] = hint
    return JSONResponse(status_code=status, content=body)


class _TooLarge(Exception):
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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status = {"code": 500, "sent": False}

        async def tracked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
            await send(message)

        async def respond(response: JSONResponse) -> None:
            await response(scope, receive, tracked_send)

        limit = self.settings.max_body_bytes
        key = self.settings.api_key
        if key and path not in _OPEN_PATHS and not path.startswith(_OPEN_PREFIXES):
            given = headers.get("x-api-key", "")
            if not hmac.compare_digest(given.encode(), key.encode()):
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
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _TooLarge:
            if not status["sent"]:
                await respond(_error(413, f"request body over the limit of {limit} bytes."))
        self._log(method, path, status["code"], started)

    def _log(self, method: str, path: str, code: int, started: float) -> None:
        # Never the body: input text stays out of the logs.
        log.info(
            "model=%s %s %s -> %d in %.1f ms",
            self.model_id,
            method,
            path,
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


_ENV_MODEL, _ENV_MAX_BATCH, _ENV_MAX_BODY = (
    "ONCOCLASS_SERVE_MODEL", "ONCOCLASS_SERVE_MAX_BATCH", "ONCOCLASS_SERVE_MAX_BODY",
)  # fmt: skip


def worker_environment(model: Any, settings: ServiceSettings) -> dict[str, str]:
    """What :func:`app_from_env` needs, for server worker processes started by uvicorn."""
    return {
        _ENV_MODEL: str(model),
        _ENV_MAX_BATCH: str(settings.max_batch),
        _ENV_MAX_BODY: str(settings.max_body_bytes),
    }


def app_from_env() -> FastAPI:
    """App factory for each worker process of ``oncoclass serve --workers N``."""
    from oncoclass.persist import load_bundle

    configure_logging()
    settings = ServiceSettings.from_env(
        max_batch=int(os.environ[_ENV_MAX_BATCH]), max_body_bytes=int(os.environ[_ENV_MAX_BODY])
    )
    return create_app(load_bundle(os.environ[_ENV_MODEL]), settings)


def create_app(bundle: Bundle, settings: ServiceSettings | None = None) -> FastAPI:
    """The app for one model, loaded once by the caller; ``settings`` bound what a request may cost."""
    settings = settings or ServiceSettings()
    # One prediction before the first request: what a model loads lazily (the embedding's
    # word-piece table, derived once per machine if not cached; value lookups) is then paid at
    # start-up, not by the first caller.
    predict_records(bundle, [{"gene": "BRAF", "variation": "V600E", "text": "warm-up", "context": ""}])
    app = FastAPI(
        title="oncoclass",
        version=__version__,
        description="Classify cancer gene variants from the literature, with calibrated probabilities "
        "and the evidence behind them.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.bundle = bundle
    app.state.settings = settings
    app.add_middleware(Guard, settings=settings, model_id=bundle.model_id)
    try:
        import swagger_ui_bundle

        # Before /static, which would otherwise claim these paths.
        app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    except ImportError:  # the docs page is a convenience; the API works without it
        swagger_ui_bundle = None
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

    @app.exception_handler(OncoclassError)
    async def oncoclass_error(request: Request, exc: OncoclassError) -> JSONResponse:
        return _error(422, exc.message, exc.hint)

    def check_text(variants: list[VariantIn]) -> JSONResponse | None:
        for v in variants:
            if len(v.text) > settings.max_text_chars:
                return _error(
                    413, f"text of {v.gene} {v.variation} is over {settings.max_text_chars} characters."
                )
        return None

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(os.path.join(_web_dir(), "index.html"), media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if swagger_ui_bundle is None:
            return HTMLResponse(
                "<p>Interactive docs need the swagger-ui-bundle package; "
                "the schema is at <a href='/openapi.json'>/openapi.json</a>.</p>"
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="oncoclass API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model_id": bundle.model_id, "oncoclass_version": __version__}

    @app.get("/model")
    def model() -> dict[str, Any]:
        return {"metadata": bundle.metadata, "model_card": bundle.card}

    batcher = MicroBatcher(lambda records: predict_records(bundle, records))

    @app.post("/predict", response_model=PredictionOut)
    async def predict_one(variant: VariantIn) -> Any:
        refused = check_text([variant])
        if refused:
            return refused
        return await batcher.submit(variant.model_dump())

    @app.post("/predict/batch", response_model=BatchOut)
    async def predict_batch(batch: BatchIn) -> Any:
        if len(batch.variants) > settings.max_batch:
            return _error(
                413,
                f"{len(batch.variants)} variants in one batch; the limit is {settings.max_batch}.",
                hint="Split the batch, or use `oncoclass predict` for files.",
            )
        refused = check_text(batch.variants)
        if refused:
            return refused
        records = await asyncio.gather(*(batcher.submit(v.model_dump()) for v in batch.variants))
        return {"predictions": list(records), "model_id": bundle.model_id}

    @app.post("/explain")
    def explain_one(request: ExplainIn) -> Any:
        refused = check_text([request])
        if refused:
            return refused
        result = explain(
            bundle,
            gene=request.gene,
            variation=request.variation,
            text=request.text,
            context=request.context,
            classes=request.classes or None,
            top=request.top,
            top_sentences=request.top_sentences,
        ).to_dict()
        result["oncoclass_version"] = __version__
        return result

    return app
