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
import hmac
import json
import logging
import os
import re
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from . import __version__
from .batch import ChunkRecords, TopicSelector, records_of_results
from .bundle import DEFAULT_CHUNK, Model, load_model
from .documents import Document, FailedDocument, LabeledDocument, is_error_record, is_label_record
from .errors import InputError, ModelError, StoryfilterError
from .io import document_from_record

DEFAULT_MAX_BODY = 16 * 2**20  # bytes: a batch of some hundred pages, or a few huge HTML ones
# Bytes the event loop parses, joins or copies itself (a few ms at most); more go to a thread.
LOOP_BYTES = 2**20
# Most time a batch waits for the clients just answered to send their next request (s).
DEFAULT_GATHER = 0.005
# A body not received within this many seconds is refused (408): a client must not hold a worker's memory.
DEFAULT_BODY_TIMEOUT = 60.0
# A request of more documents than a batch holds is given up when its client has gone (checked this often, s).
CLIENT_CHECK = 0.5
# What RFC 6750 allows in a bearer token.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
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
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> "ServeOptions":
        return cls(**json.loads(os.environ.get(OPTIONS_VARIABLE, "{}")))


def read_token(path: str) -> str:
    """The bearer token in a file (a BOM and surrounding white space dropped).

    Raises
    ------
    InputError
        When the file cannot be read, holds no token, or holds what no
        client could send as one: more than one line, or characters other
        than RFC 6750's (letters, digits, ``-._~+/``, ``=`` at the end).
    """
    try:
        with open(path, encoding="utf-8-sig") as handle:
            token = handle.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the token file {path}: {getattr(error, 'strerror', None) or error}") from None
    if not token:
        raise InputError(f"the token file {path} is empty: write the token clients must send in it")
    if not TOKEN_PATTERN.fullmatch(token):
        raise InputError(f"the token in {path} must be one line of letters, digits and -._~+/ (ending in = at most), "
                         "as a bearer token is sent: e.g. `head -c 32 /dev/urandom | base64`")
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
    400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed", 408: "Timeout",
    413: "TooLarge", 415: "UnsupportedMediaType", 500: "InternalError", 501: "NotImplemented", 503: "Unavailable",
}


def error_response(status: int, message: str, headers: Optional[dict[str, str]] = None) -> Response:
    """``{"error": {"type", "message"}}``, typed by the status ("BadRequest", "Unauthorized"...).

    ASCII JSON: a message that quotes the request (a lone surrogate included) always encodes.
    """
    kind = ERROR_TYPES.get(status) or HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
    body = json.dumps({"error": {"type": kind, "message": message}})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


# --- labelling beside the event loop ------------------------------------------------


@dataclass(eq=False)
class _Job:
    """One request's documents, handed to batches a piece at a time; done when every piece is back."""

    documents: list
    segments: bool
    select: Optional[Callable[[LabeledDocument], bool]]
    done: asyncio.Future
    taken: int = 0
    labelled: int = 0
    parts: list[ChunkRecords] = field(default_factory=list)


@dataclass(frozen=True)
class _Piece:
    job: _Job
    documents: list


def _label_pieces(model: Model, pieces: list[_Piece]) -> list[ChunkRecords | Exception]:
    """Label the pieces' documents as one chunk and turn each piece's share into its records.

    The model turns a document that fails into its error record, and so
    does the writing of records; an exception here is a fault of ours. Then
    each request's piece is tried alone, so that it fails its own request only.
    """
    try:
        results = model._label_chunk([document for piece in pieces for document in piece.documents])
    except Exception as error:  # noqa: BLE001 - answered as a 500 to the request(s) it comes from
        if len(pieces) == 1:
            return [error]
        return [_label_pieces(model, [piece])[0] for piece in pieces]
    outcomes: list[ChunkRecords | Exception] = []
    start = 0
    for piece in pieces:
        end = start + len(piece.documents)
        try:
            outcomes.append(records_of_results(results[start:end], piece.job.segments, piece.job.select))
        except Exception as error:  # noqa: BLE001 - as above
            outcomes.append(error)
        start = end
    return outcomes


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
    make up the next batch. Until ``gather`` seconds after a batch's answers
    went out, the clients answered are waited for, so that a batch holds
    every client's page, not only those that happened to be waiting: the
    model's fixed cost per call (a few ms) is then shared. A request that
    comes later than that is labelled at once. Batches hold up to
    ``batch_size`` documents; a request of more is labelled a batch at a
    time, taking turns with the others, so that one large request does not
    hold up the small ones behind it.
    """

    def __init__(self, model: Model, batch_size: int = DEFAULT_CHUNK, gather: float = DEFAULT_GATHER) -> None:
        self.model = model
        self.batch_size = batch_size
        self.gather = gather
        self._jobs: deque[_Job] = deque()
        self._in_flight: list[_Piece] = []
        self._answered_at = float("-inf")
        self._arrived = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storyfilter-label", initializer=_one_native_thread)
        self._runner: Optional[asyncio.Task] = None

    @property
    def waiting(self) -> int:
        """Documents waiting for a batch."""
        return sum(len(job.documents) - job.taken for job in self._jobs if not job.done.done())

    @property
    def healthy(self) -> bool:
        """Whether batches are being labelled (False once the labelling task has stopped)."""
        return self._runner is not None and not self._runner.done()

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="storyfilter-labeller")
        self._runner.add_done_callback(self._stopped)

    def _stopped(self, runner: asyncio.Task) -> None:
        """The labelling task ended (shut-down, or a fault of ours): every request not answered gets an error."""
        if not runner.cancelled() and runner.exception() is not None:
            log.error("the labelling task stopped", exc_info=runner.exception())
        for job in [*self._jobs, *(piece.job for piece in self._in_flight)]:
            if not job.done.done():
                job.done.set_exception(RuntimeError("the labelling task has stopped"))
        self._jobs.clear()

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - a fault was logged when the task ended
                pass
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def records(
        self, documents: list, segments: bool = True, select: Optional[Callable[[LabeledDocument], bool]] = None
    ) -> ChunkRecords:
        """The records of ``documents``, in order, as ``label`` (or with ``select``, ``filter``) writes them."""
        if not documents:
            return records_of_results([], segments, select)
        if not self.healthy:
            raise RuntimeError("the labelling task has stopped")
        job = _Job(list(documents), segments, select, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._arrived.set()
        parts: list[ChunkRecords] = await job.done
        return await _off_the_loop_if_large(sum(len(part.lines) for part in parts), ChunkRecords.joined, parts)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        expected = 1  # requests a batch may count on: those answered last time come back, those waiting stay
        while True:
            await self._gathered(expected)
            try:
                self._in_flight = self._next_batch()
                if not self._in_flight:
                    continue
                outcomes = await loop.run_in_executor(self._thread, _label_pieces, self.model, self._in_flight)
                answered = set()
                for piece, outcome in zip(self._in_flight, outcomes):
                    self._finish(piece, outcome)
                    if piece.job.done.done():
                        answered.add(piece.job)
                expected = max(1, len(answered) + len(self._jobs))
                self._answered_at = loop.time()
            except Exception as error:  # noqa: BLE001 - a fault of ours: this batch's requests fail, the next are tried
                log.error("labelling a batch failed", exc_info=error)
                for piece in self._in_flight:
                    self._finish(piece, error)
            self._in_flight = []

    async def _gathered(self, expected: int) -> None:
        """Wait for a request; then, until ``gather`` s after the last answers, for ``expected`` or a full batch."""
        while not self._jobs:
            self._arrived.clear()
            await self._arrived.wait()
        deadline = self._answered_at + self.gather
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
            failure = RuntimeError(f"labelling failed: {type(outcome).__name__}: {outcome}")  # (a future refuses StopIteration)
            failure.__cause__ = outcome
            job.done.set_exception(failure)
            return
        job.parts.append(outcome)
        job.labelled += outcome.documents
        if job.labelled == len(job.documents):
            job.done.set_result(job.parts)


async def _off_the_loop_if_large(size: int, work: Callable, *args: Any) -> Any:
    """``work(*args)``, in a thread when ``size`` (bytes it handles) is large enough to hold up the loop."""
    if size > LOOP_BYTES:
        return await asyncio.get_running_loop().run_in_executor(None, work, *args)
    return work(*args)


# --- requests ------------------------------------------------------------------------


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request's body, refused with 413 as soon as it is known to pass ``limit`` bytes, 408 after ``timeout`` s."""
    declared = request.headers.get("content-length")
    # Connection: close: the rest of a body refused is not to be read as the next request.
    too_large = RequestError(413, f"the body is over the limit of {limit:,} bytes: send fewer documents per request", {"Connection": "close"})
    if declared is not None:
        if not re.fullmatch(r"[0-9]+", declared):
            raise RequestError(400, "Content-Length is not a number")
        if len(declared) > 18 or int(declared) > limit:
            raise too_large
    chunks: list[bytes] = []

    async def receive() -> None:
        size = 0
        async for chunk in request.stream():  # a chunked body has no length to check first
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)

    try:
        await asyncio.wait_for(receive(), timeout)
    except asyncio.TimeoutError:
        raise RequestError(408, f"the body did not arrive within {timeout:g} s", {"Connection": "close"}) from None
    return b"".join(chunks)


def _check_json(request: Request) -> bool:
    """Whether the JSON body comes gzipped (415 unless it is JSON, plain or gzipped)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise RequestError(415, f"send the documents as JSON with Content-Type: application/json (got {shown})")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise RequestError(415, f"Content-Encoding {encoding} is not read: send the body as it is or gzipped")
    return encoding == "gzip"


def _gunzip(body: bytes, limit: int) -> bytes:
    """A gzipped body, refused (413) once it inflates past ``limit`` bytes: the limit is on what is read."""
    inflate = zlib.decompressobj(wbits=31)
    try:
        data = inflate.decompress(body, limit + 1)
        if len(data) > limit or inflate.unconsumed_tail:
            raise RequestError(413, f"the body inflates to over the limit of {limit:,} bytes: send fewer documents per request")
        if not inflate.eof:
            raise RequestError(400, "the gzipped body is cut short")
        if inflate.unused_data:
            raise RequestError(400, "the gzipped body holds more than one gzip stream: send one")
    except zlib.error as error:
        raise RequestError(400, f"the body is not gzip: {error}") from None
    return data


def _not_json(literal: str) -> float:
    raise ValueError(f"{literal} is not a JSON number")


def _finite(literal: str) -> float:
    number = float(literal)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{literal[:20]} is too large a number for a record")
    return number


def _parse(body: bytes) -> Any:
    try:  # Python's json reads NaN and Infinity, which JSON has not: records could not be written
        return json.loads(body, parse_constant=_not_json, parse_float=_finite)
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
        text or html, not strings, a label record with bad fields).
        Error records written by ``label`` are taken, and stay error records.
    """
    single = isinstance(payload, dict)
    if not single and not isinstance(payload, list):
        raise RequestError(400, "the body must be a JSON object (one document) or an array of them")
    documents = []
    for number, item in enumerate([payload] if single else payload):
        if not isinstance(item, dict):
            raise RequestError(400, f"record {number}: each document must be a JSON object")
        document = document_from_record(item, f"record {number}")
        if isinstance(document, FailedDocument) and (is_label_record(item) or not is_error_record(item)):
            raise RequestError(400, document.message)
        documents.append(document)
    return documents, single


def _documents_in(body: bytes, gzipped: bool, limit: int) -> tuple[list[Document | FailedDocument | LabeledDocument], bool]:
    return documents_of(_parse(_gunzip(body, limit) if gzipped else body))


async def _documents(request: Request) -> tuple[list[Document | FailedDocument | LabeledDocument], bool]:
    gzipped = _check_json(request)
    options: ServeOptions = request.app.state.options
    body = await _read_body(request, options.max_body, options.body_timeout)
    # A gzipped body is judged by what it inflates to (up to 20 times its size is usual for pages).
    size = len(body) * (20 if gzipped else 1)
    return await _off_the_loop_if_large(size, _documents_in, body, gzipped, options.max_body)


async def _unless_client_leaves(request: Request, work: Awaitable[ChunkRecords], watch: bool) -> ChunkRecords:
    """The result of ``work``; with ``watch``, given up (its documents not labelled) once the client has gone."""
    if not watch:
        return await work
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CLIENT_CHECK)
            if done:
                return task.result()
            if await request.is_disconnected():
                raise ClientDisconnect()
    finally:
        if not task.done():
            task.cancel()  # the client went away, or this handler was cancelled: its documents are not labelled
        elif not task.cancelled():
            task.exception()  # retrieved: a failure no one will read is not logged as lost


async def _records(request: Request, documents: list, segments: bool, select=None) -> ChunkRecords:
    labeller: Labeller = request.app.state.labeller
    work = labeller.records(documents, segments, select)
    return await _unless_client_leaves(request, work, watch=len(documents) > labeller.batch_size)


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
    for status in (400, 401, 408, 413, 415, 500)
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
    async def refused(request: Request, error: RequestError) -> Response:
        return error_response(error.status, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
        return error_response(400, problems)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        return error_response(error.status_code, str(error.detail), getattr(error, "headers", None))

    @app.exception_handler(StoryfilterError)
    async def input_error(request: Request, error: StoryfilterError) -> Response:
        # A ModelError: the model served cannot do what was asked (a topic stage it has not).
        return error_response(501 if isinstance(error, ModelError) else 400, str(error))

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, error: ClientDisconnect) -> Response:
        return error_response(400, "the client went away before the answer")  # nobody reads it: no traceback to log

    @app.exception_handler(Exception)
    async def fault(request: Request, error: Exception) -> Response:
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
        records = await _records(request, documents, segments)
        if single:
            return Response(records.lines.rstrip(b"\n"), status_code=422 if records.failed else 200, media_type="application/json")
        return Response(await _off_the_loop_if_large(len(records.lines), _json_array, records), media_type="application/json")

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
        records = await _records(request, documents, segments, select)
        return Response(await _off_the_loop_if_large(len(records.lines), _json_array, records), media_type="application/json")

    @app.api_route("/health", methods=["GET", "HEAD"], responses={503: {"description": "This worker can no longer label."}})
    async def health(request: Request) -> Response:
        """Whether the service is up, the model it serves, and how many documents wait to be labelled (in this worker).

        503 with status "failing" when this worker's labelling has stopped (a fault of ours).
        """
        labeller: Labeller = request.app.state.labeller
        state = {"status": "ok" if labeller.healthy else "failing", "model": request.app.state.model.model_id, "waiting": labeller.waiting}
        return Response(json.dumps(state), status_code=200 if labeller.healthy else 503, media_type="application/json")

    @app.get("/model", dependencies=[Depends(_authorize)], responses=_ERRORS)
    async def model_card(request: Request) -> dict:
        """The model card of the model served: its data, validation figures, thresholds and library versions."""
        return request.app.state.model.card

    return app


def app_from_environment() -> FastAPI:
    """The app with the options ``storyfilter serve`` put in the environment (uvicorn's factory)."""
    return create_app(ServeOptions.from_environment())
