"""The HTTP service behind ``storyfilter serve``: the same model and records as the CLI, over JSON.

``POST /label`` takes one document (``{"id", "text"|"html", ...}``) or an
array of them and answers the record(s) ``storyfilter label`` writes;
``POST /filter?topic=T`` answers the records that carry a topic, as
``storyfilter filter`` does; ``GET /health`` and ``GET /model`` say what is
served. Errors are JSON objects of the error records' shape,
``{"error": {"type", "message"}}``, with the status that fits: 400 for a
body that is not JSON or a document without text, 401 without the bearer
token (when one is set), 413 over the body limit, 415 for anything but
``application/json``, 500 (with no traceback) for a fault of ours.

Each uvicorn worker process loads the model once, at start-up, and labels
on one thread beside its event loop (:class:`Labeller`), so that the loop
keeps answering while pages are labelled. The documents of requests that
arrive together are labelled together: a model labels a chunk of pages
several times faster per page than pages one at a time.

The app needs the ``serve`` extra (FastAPI, uvicorn). ``create_app`` builds
it for any ASGI server; ``app_from_environment`` is the factory the
``serve`` command hands to uvicorn's workers (its options travel in the
environment, as workers are separate processes).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import operator
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from . import __version__
from .batch import ChunkRecords, TopicSelector, records_of_results
from .bundle import DEFAULT_CHUNK, Model, load_model
from .documents import Document, FailedDocument, LabeledDocument
from .errors import InputError, StoryfilterError
from .io import document_from_record

DEFAULT_MAX_BODY = 16 * 2**20  # bytes: a batch of some hundred pages, or a few huge HTML ones
# Bodies up to this size are parsed on the event loop (a few ms at most); larger ones in a thread.
PARSE_ON_LOOP = 2**20
# Most time a batch waits for the clients just answered to send their next request (s).
DEFAULT_GATHER = 0.005
# How the `serve` command hands its options to uvicorn's worker processes.
OPTIONS_VARIABLE = "STORYFILTER_SERVE_OPTIONS"

log = logging.getLogger("storyfilter.serve")


@dataclass(frozen=True)
class ServeOptions:
    """What the service serves and how: the model, the token file, the body limit, the batch size.

    Paths, not contents, so that the options can travel to worker processes
    in the environment without the token in it.
    """

    model: Optional[str] = None
    token_file: Optional[str] = None
    max_body: int = DEFAULT_MAX_BODY
    batch_size: int = DEFAULT_CHUNK
    gather: float = DEFAULT_GATHER

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> "ServeOptions":
        return cls(**json.loads(os.environ.get(OPTIONS_VARIABLE, "{}")))


def read_token(path: str) -> str:
    """The bearer token in a file (surrounding whitespace dropped).

    Raises
    ------
    InputError
        When the file cannot be read or holds no token.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the token file {path}: {getattr(error, 'strerror', None) or error}") from None
    if not token:
        raise InputError(f"the token file {path} is empty: write the token clients must send in it")
    return token


class RequestError(Exception):
    """A request the service refuses: its HTTP status and what to tell the client."""

    def __init__(self, status: int, message: str, headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


# The error type that goes with each status (the phrases of http.HTTPStatus change between Python versions).
ERROR_TYPES = {
    400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed",
    413: "TooLarge", 415: "UnsupportedMediaType", 500: "InternalError",
}


def error_response(status: int, message: str, headers: Optional[dict[str, str]] = None) -> JSONResponse:
    """``{"error": {"type", "message"}}``, typed by the status ("BadRequest", "Unauthorized"...)."""
    kind = ERROR_TYPES.get(status) or HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


# --- labelling beside the event loop ------------------------------------------------


@dataclass(eq=False)
class _Job:
    """One request's documents, handed to batches a piece at a time; done when every piece is back."""

    documents: list
    segments: bool
    select: Optional[Callable[[LabeledDocument], bool]]
    done: asyncio.Future
    taken: int = 0
    parts: list[ChunkRecords] = field(default_factory=list)


@dataclass(frozen=True)
class _Piece:
    job: _Job
    documents: list


def _label_pieces(model: Model, pieces: list[_Piece]) -> list[ChunkRecords | Exception]:
    """Label the pieces' documents as one chunk and turn each piece's share into its records.

    The model already turns a document that fails into its error record; an
    exception here is a fault of ours, and goes to every request of the batch.
    """
    try:
        results = model._label_chunk([document for piece in pieces for document in piece.documents])
        outcomes: list[ChunkRecords | Exception] = []
        start = 0
        for piece in pieces:
            end = start + len(piece.documents)
            outcomes.append(records_of_results(results[start:end], piece.job.segments, piece.job.select))
            start = end
        return outcomes
    except Exception as error:  # noqa: BLE001 - answered as a 500 to the requests of this batch
        log.exception("labelling a batch failed")
        return [error] * len(pieces)


def _one_native_thread() -> None:
    """The labelling thread's native libraries (OpenMP, BLAS) run on it alone.

    Worker processes are the parallelism; OpenMP threads of their own would
    fight them and the event loop for the cores (and spin while they wait).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


class Labeller:
    """Labels the documents of concurrent requests together, on one thread beside the event loop.

    A batch is labelled while the requests that arrive meanwhile wait; they
    make up the next batch. Before it starts, the clients whose answers have
    just gone out are given up to ``gather`` seconds to send their next
    request, so that a batch holds every client's page, not only those that
    happened to be waiting: the model's fixed cost per call (a few ms) is then
    shared. A lone client is never kept waiting: its request is all there
    was to wait for. Batches hold up to ``batch_size`` documents; a request
    of more is labelled a batch at a time, taking turns with the others, so
    that one large request does not hold up the small ones behind it.
    """

    def __init__(self, model: Model, batch_size: int = DEFAULT_CHUNK, gather: float = DEFAULT_GATHER) -> None:
        self.model = model
        self.batch_size = batch_size
        self.gather = gather
        self._jobs: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storyfilter-label", initializer=_one_native_thread)
        self._runner: Optional[asyncio.Task] = None

    @property
    def waiting(self) -> int:
        """Documents waiting for a batch."""
        return sum(len(job.documents) - job.taken for job in self._jobs)

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="storyfilter-labeller")

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def records(
        self, documents: list, segments: bool = True, select: Optional[Callable[[LabeledDocument], bool]] = None
    ) -> ChunkRecords:
        """The records of ``documents``, in order, as ``label`` (or with ``select``, ``filter``) writes them."""
        if not documents:
            return records_of_results([], segments, select)
        job = _Job(list(documents), segments, select, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._arrived.set()
        return await job.done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        expected = 1  # requests a batch may count on: those answered last time come back, those waiting stay
        while True:
            await self._gathered(expected)
            pieces = self._next_batch()
            if not pieces:
                continue
            outcomes = await loop.run_in_executor(self._thread, _label_pieces, self.model, pieces)
            answered = set()
            for piece, outcome in zip(pieces, outcomes):
                self._finish(piece, outcome)
                if piece.job.done.done():
                    answered.add(piece.job)
            expected = max(1, len(answered) + len(self._jobs))

    async def _gathered(self, expected: int) -> None:
        """Wait for a request, then up to ``gather`` s more until ``expected`` wait or a batch is full."""
        while not self._jobs:
            self._arrived.clear()
            await self._arrived.wait()
        deadline = asyncio.get_running_loop().time() + self.gather
        while len(self._jobs) < expected and self.waiting < self.batch_size:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                return

    def _next_batch(self) -> list[_Piece]:
        """Up to ``batch_size`` documents, a piece of each waiting request in turn."""
        pieces: list[_Piece] = []
        room = self.batch_size
        while self._jobs and room > 0:
            job = self._jobs.popleft()
            if job.done.done():  # failed already, or its client went away
                continue
            piece = job.documents[job.taken : job.taken + room]
            job.taken += len(piece)
            room -= len(piece)
            pieces.append(_Piece(job, piece))
            if job.taken < len(job.documents):
                self._jobs.append(job)  # its next piece comes after the others' turn
        return pieces

    @staticmethod
    def _finish(piece: _Piece, outcome: ChunkRecords | Exception) -> None:
        job = piece.job
        if job.done.done():
            return
        if isinstance(outcome, Exception):
            job.done.set_exception(outcome)
            return
        job.parts.append(outcome)
        if sum(part.documents for part in job.parts) == len(job.documents):
            job.done.set_result(functools.reduce(operator.add, job.parts))


# --- requests ------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    too_large = RequestError(413, f"the body is over the limit of {limit:,} bytes: send fewer documents per request")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():  # a chunked body has no length to check first
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _check_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise RequestError(415, f"send the documents as JSON with Content-Type: application/json (got {shown})")


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise RequestError(400, f"the body is not valid JSON: {error}") from None


def documents_of(payload: Any) -> tuple[list[Document | LabeledDocument], bool]:
    """The documents of a request's JSON (one object or an array), and whether it was one.

    Documents are read as lines of a JSONL file are (other fields carried
    through; records written by ``label`` taken as labelled), and one
    without an id is called ``record N`` after its place, as
    :meth:`~classifier.bundle.Model.label_many` calls it.

    Raises
    ------
    RequestError
        400, naming the first document that is not one (not an object, no
        text or html, not strings, a label record with bad fields, an error
        record).
    """
    single = isinstance(payload, dict)
    if not single and not isinstance(payload, list):
        raise RequestError(400, "the body must be a JSON object (one document) or an array of them")
    documents = []
    for number, item in enumerate([payload] if single else payload):
        if not isinstance(item, dict):
            raise RequestError(400, f"record {number}: each document must be a JSON object")
        if "error" in item and "text" not in item and "html" not in item:
            raise RequestError(400, f"record {number}: is an error record; send the page's text or html")
        document = document_from_record(item, f"record {number}")
        if isinstance(document, FailedDocument):
            raise RequestError(400, document.message)
        documents.append(document)
    return documents, single


async def _documents(request: Request) -> tuple[list[Document | LabeledDocument], bool]:
    _check_json(request)
    body = await _read_body(request, request.app.state.options.max_body)
    if len(body) > PARSE_ON_LOOP:
        payload = await asyncio.get_running_loop().run_in_executor(None, _parse, body)
    else:
        payload = _parse(body)
    return documents_of(payload)


def _json_array(records: ChunkRecords) -> bytes:
    return b"[" + b",".join(records.lines.splitlines()) + b"]"


_bearer = HTTPBearer(auto_error=False, description="The token of --token-file, when the service was started with one.")


async def _authorize(request: Request, credentials: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)) -> None:
    token: Optional[str] = request.app.state.token
    if token is None:
        return
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise RequestError(401, "send the service's token as 'Authorization: Bearer TOKEN'", {"WWW-Authenticate": "Bearer"})


# What OpenAPI shows of the bodies, which the endpoints read themselves (to enforce the limits first).
_DOCUMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "text": {"type": "string", "description": "The page as plain text (or give html)."},
        "html": {"type": "string", "description": "The page as HTML (or give text)."},
    },
    "additionalProperties": True,
    "description": "A page; fields other than text and html are carried through to its record.",
}
_LABEL_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [_DOCUMENT_SCHEMA, {"type": "array", "items": _DOCUMENT_SCHEMA}]}}},
    }
}
_ERRORS = {
    status: {"description": HTTPStatus(status).phrase, "content": {"application/json": {"example": {"error": {"type": "...", "message": "..."}}}}}
    for status in (400, 401, 413, 415, 500)
}


def create_app(options: ServeOptions = ServeOptions(), model: Optional[Model] = None) -> FastAPI:
    """The service's ASGI app; it loads ``options.model`` (or uses ``model``) when it starts.

    Raises (at start-up)
    --------------------
    ModelError, InputError
        A model that cannot be loaded, a token file that cannot be read.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.model = model if model is not None else load_model(options.model)
        app.state.token = read_token(options.token_file) if options.token_file else None
        app.state.labeller = Labeller(app.state.model, options.batch_size, options.gather)
        app.state.labeller.start()
        try:
            yield
        finally:
            await app.state.labeller.stop()

    app = FastAPI(
        title="storyfilter",
        version=__version__,
        summary="Label scraped news pages as story or site chrome, return the clean story, tag it by topic.",
        lifespan=lifespan,
    )
    app.state.options = options

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> JSONResponse:
        return error_response(error.status, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
        return error_response(400, problems)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return error_response(error.status_code, str(error.detail), getattr(error, "headers", None))

    @app.exception_handler(StoryfilterError)
    async def input_error(request: Request, error: StoryfilterError) -> JSONResponse:
        return error_response(400, str(error))

    @app.exception_handler(Exception)
    async def fault(request: Request, error: Exception) -> JSONResponse:
        # The traceback goes to the server's log (the server logs what reaches it), never to the client.
        return error_response(500, "the service failed on this request; its log says why")

    @app.post("/label", dependencies=[Depends(_authorize)], openapi_extra=_LABEL_BODY, responses={**_ERRORS, 422: {"description": "The one document sent could not be labelled: its error record."}})
    async def label(request: Request, segments: bool = Query(True, description="Include each segment (false: as --no-segments).")) -> Response:
        """Label one document (answer: its record) or an array of them (answer: their records, in order).

        Each record is what `storyfilter label` writes; a document of an
        array that cannot be labelled gets its error record in place; a
        single document that cannot be labelled answers 422 with its error record.
        """
        documents, single = await _documents(request)
        records = await request.app.state.labeller.records(documents, segments)
        if single:
            return Response(records.lines.rstrip(b"\n"), status_code=422 if records.failed else 200, media_type="application/json")
        return Response(_json_array(records), media_type="application/json")

    @app.post("/filter", dependencies=[Depends(_authorize)], openapi_extra=_LABEL_BODY, responses=_ERRORS)
    async def filter_(
        request: Request,
        topic: list[str] = Query(..., description="Keep documents whose story carries this topic (repeatable)."),
        min_score: Optional[float] = Query(None, ge=0.0, le=1.0, description="Keep when a topic's probability is at least this; else by the tag thresholds."),
        segments: bool = Query(True, description="Include each segment (false: as --no-segments)."),
    ) -> Response:
        """The records of the documents (one or an array) whose story carries any of the topics, as `storyfilter filter` writes them.

        Error records are kept too, so that no failure goes unseen. The answer is always an array.
        """
        served: Model = request.app.state.model
        select = TopicSelector(frozenset(served.check_topics(topic)), min_score)
        documents, _ = await _documents(request)
        records = await request.app.state.labeller.records(documents, segments, select)
        return Response(_json_array(records), media_type="application/json")

    @app.get("/health")
    async def health(request: Request) -> dict:
        """Whether the service is up, the model it serves, and how many documents wait to be labelled (in this worker)."""
        return {"status": "ok", "model": request.app.state.model.model_id, "waiting": request.app.state.labeller.waiting}

    @app.get("/model", dependencies=[Depends(_authorize)], responses=_ERRORS)
    async def model_card(request: Request) -> dict:
        """The model card of the model served: its data, validation figures, thresholds and library versions."""
        return request.app.state.model.card

    return app


def app_from_environment() -> FastAPI:
    """The app with the options ``storyfilter serve`` put in the environment (uvicorn's factory)."""
    return create_app(ServeOptions.from_environment())
