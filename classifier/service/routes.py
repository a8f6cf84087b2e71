"""The service's endpoints: ``POST /label``, ``POST /filter``, ``GET /health``, ``GET /model``.

``/label`` takes one document (``{"id", "text"|"html", ...}``) or an array
of them and answers the record(s) ``storyfilter label`` writes; ``/filter``
answers the records that carry a topic, as ``storyfilter filter`` does;
``/health`` and ``/model`` say what is served. Records are made by the
CLI's own code, so they are the CLI's byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from http import HTTPStatus

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.requests import ClientDisconnect

from ..model.model import Model
from ..run.tasks import ChunkRecords, TopicSelector
from .batcher import Labeller, off_the_loop_if_large
from .bodies import request_documents
from .dependencies import authorize, known_query
from .errors import RequestError

# A request of more documents than a batch holds is given up when its client has gone (checked this often, s).
CLIENT_CHECK = 0.5

router = APIRouter()
# Where a request's fate the access log cannot tell goes (the server's log, on stderr).
_LOG = logging.getLogger("uvicorn.error")


async def _unless_client_leaves(request: Request, work: Awaitable, watch: bool):
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


def _array_items(records: ChunkRecords) -> bytes:
    """The records as items of a JSON array (commas between them, none around)."""
    return b",".join(records.lines.splitlines())


async def _next_part(parts: AsyncIterator[ChunkRecords]) -> ChunkRecords | None:
    return await anext(parts, None)


async def _whole(request: Request, pieces: AsyncIterator[bytes]) -> bytes:
    """An answer's pieces joined, given up (ClientDisconnect) when its client leaves between two of them."""
    held = []
    try:
        async for piece in pieces:
            held.append(piece)
            if await request.is_disconnected():
                raise ClientDisconnect()
    finally:
        await pieces.aclose()  # type: ignore[attr-defined]
    return b"".join(held)


async def _array_answer(request: Request, documents: list, segments: bool, select=None) -> Response:
    """The records as a JSON array, sent a batch's share at a time as each is labelled.

    No answer holds every record at once (but one to an HTTP/1.0 client, which has no chunks: it gets the
    answer whole), and no single call on the loop encodes more than one batch's share. A failure before the first share
    is a 500; a failure after it cuts the answer short (the status is sent).
    """
    labeller: Labeller = request.app.state.labeller
    parts = labeller.stream(documents, segments, select)
    try:
        first = await _unless_client_leaves(request, _next_part(parts), watch=len(documents) > labeller.batch_size)
    except BaseException:
        await parts.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        complete, why = False, "the client went away"
        try:
            yield b"["
            part, separator = first, b""
            while part is not None:
                if part.lines:
                    yield separator + await off_the_loop_if_large(len(part.lines), _array_items, part)
                    separator = b","
                part = await _next_part(parts)
            yield b"]"
            complete = True
        finally:
            await parts.aclose()  # the client went away, or the answer is done: nothing more is labelled
            if not complete:  # its 200 was logged as the answer began: say that it was cut short
                if getattr(request.app.state, "stopped", False):  # not the client: the server's time to stop ran out
                    why = "the server stopped before it was sent whole (its time for the requests in hand ran out)"
                client = request.client
                _LOG.info(
                    "%s: %s: the answer to %s %s was cut short",
                    f"{client.host}:{client.port}" if client else "-",
                    why,
                    request.method,
                    request.url.path,
                )

    if request.scope.get("http_version") == "1.0":  # no chunks in HTTP/1.0: the answer whole, with its length
        return Response(await _whole(request, body()), media_type="application/json")
    return StreamingResponse(body(), media_type="application/json")


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
        "content": {
            "application/json": {"schema": {"oneOf": [_DOCUMENT_SCHEMA, {"type": "array", "items": _DOCUMENT_SCHEMA}]}}
        },
    }
}
_ERRORS = {
    status: {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"example": {"error": {"type": "...", "message": "..."}}}},
    }
    for status in (400, 401, 408, 413, 415, 500, 503)
}


@router.post(
    "/label",
    dependencies=[Depends(authorize), Depends(known_query)],
    openapi_extra=_LABEL_BODY,
    responses={**_ERRORS, 422: {"description": "The one document sent could not be labelled: its error record."}},
)
async def label(
    request: Request, segments: bool = Query(True, description="Include each segment (false: as --no-segments).")
) -> Response:
    """Label one document (answer: its record) or an array of them (answer: their records, in order).

    Each record is what `storyfilter label` writes; a document of an
    array that cannot be labelled gets its error record in place; a
    single document that cannot be labelled answers 422 with its error record.
    """
    documents, single = await request_documents(request)
    if not single:
        return await _array_answer(request, documents, segments)
    records = await _records(request, documents, segments)
    status = 200
    if records.failed:  # a page over the limits (an HTML page's blocks are counted as it is read) is 413
        status = 413 if "TooLargeError" in records.errors_by_type else 422
    return Response(records.lines.rstrip(b"\n"), status_code=status, media_type="application/json")


@router.post(
    "/filter", dependencies=[Depends(authorize), Depends(known_query)], openapi_extra=_LABEL_BODY, responses=_ERRORS
)
async def filter_(
    request: Request,
    topic: list[str] = Query(..., description="Keep documents whose story carries this topic (repeatable)."),
    min_score: float | None = Query(
        None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,  # NaN passes neither bound's test: refused as what it is
        description="Keep when a topic's probability is at least this; else by the tag thresholds.",
    ),
    segments: bool = Query(True, description="Include each segment (false: as --no-segments)."),
) -> Response:
    """The records of the documents (one or an array) whose story carries any of the topics, as `storyfilter filter` writes them.

    Error records are kept too, so that no failure goes unseen. The answer is always an array.
    """
    served: Model = request.app.state.model
    if not all(topic):  # `?topic=`: named as the query parameter it is, not as Model.filter's argument
        raise RequestError(400, "topic= is empty: give a topic's name (repeat topic= for several)")
    select = TopicSelector(frozenset(served.check_topics(topic)), min_score)
    documents, _ = await request_documents(request)
    return await _array_answer(request, documents, segments, select)


@router.get("/health", responses={503: {"description": "This worker can no longer label."}})
async def health(request: Request) -> Response:
    """Whether the service is up, the model it serves, and how many documents wait to be labelled (in this worker).

    503 with status "failing" when this worker's labelling has stopped (a fault of ours).
    """
    labeller: Labeller = request.app.state.labeller
    state = {
        "status": "ok" if labeller.healthy else "failing",
        "model": request.app.state.model.model_id,
        "waiting": labeller.waiting,
        "held": labeller.held,
    }
    return Response(json.dumps(state), status_code=200 if labeller.healthy else 503, media_type="application/json")


# HEAD answers as GET does, left out of the API's description (an operation of its own there would
# need its own name, and says nothing GET does not).
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)


@router.get("/model", dependencies=[Depends(authorize)], responses=_ERRORS)
async def model_card(request: Request) -> dict:
    """The model card of the model served: its data, validation figures, thresholds and library versions."""
    return request.app.state.model.card
