"""Request bodies: read within their limits, inflated if gzipped, parsed, and turned into documents.

The endpoints read their bodies themselves rather than through FastAPI's
models, so that the limits (size, time, what gzip inflates to) hold before
anything large is held in memory.
"""

from __future__ import annotations

import asyncio
import json
import re
import zlib
from typing import Any

from fastapi import Request

from ..errors import TooLargeError
from ..inputs.objects import document_from_record
from ..limits import DocumentLimits
from ..records import Document, FailedDocument, LabeledDocument, is_error_record, is_label_record
from .batcher import off_the_loop_if_large
from .errors import RequestError
from .options import ServeOptions


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request's body, refused with 413 as soon as it is known to pass ``limit`` bytes, 408 after ``timeout`` s."""
    declared = request.headers.get("content-length")
    # Connection: close: the rest of a body refused is not to be read as the next request.
    too_large = RequestError(
        413, f"the body is over the limit of {limit:,} bytes: send fewer documents per request", {"Connection": "close"}
    )
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
    except asyncio.CancelledError:
        # Nothing of ours cancels a body being read: the server is stopping, and its grace period is over.
        stopped = "the server stopped before the body arrived: send it again"
        raise RequestError(503, stopped, {"Connection": "close"}) from None
    return b"".join(chunks)


def check_json(request: Request) -> bool:
    """Whether the JSON body comes gzipped (415 unless it is JSON, ``application/json`` or ``application/*+json``, plain or gzipped)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        shown = media_type or "none"
        raise RequestError(415, f"send the documents as JSON with Content-Type: application/json (got {shown})")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):  # x-gzip: gzip's old name (RFC 9110 8.4.1.3)
        raise RequestError(415, f"Content-Encoding {encoding} is not read: send the body as it is or gzipped")
    return encoding != "identity"


# Most gzip members a body may hold (`cat a.gz b.gz` makes two; block-gzip tools one per 64 KB of text), and the
# piece of the body zlib is handed at a time: what is left after a member is then never copied whole.
MAX_GZIP_MEMBERS = 10_000
_PIECE = 1 << 16


def gunzip(body: bytes, limit: int) -> bytes:
    """A gzipped body (of one gzip member or several, as ``cat a.gz b.gz`` makes), refused (413) once it inflates
    past ``limit`` bytes: the limit is on what is read. Its time grows with the body's size, however many members."""
    view, at, size = memoryview(body), 0, 0
    parts: list[bytes] = []
    try:
        for _ in range(MAX_GZIP_MEMBERS):
            inflate, pending = zlib.decompressobj(wbits=31), b""
            while not inflate.eof:
                if not pending:
                    if at >= len(view):
                        raise RequestError(400, "the gzipped body is cut short")
                    pending, at = view[at : at + _PIECE], min(at + _PIECE, len(view))
                parts.append(inflate.decompress(pending, limit - size + 1))
                size += len(parts[-1])
                if size > limit:
                    raise RequestError(
                        413, f"the body inflates to over the limit of {limit:,} bytes: send fewer documents per request"
                    )
                pending = inflate.unconsumed_tail
            at -= len(inflate.unused_data) + len(pending)  # the bytes after this member, handed back
            if at >= len(view):
                return b"".join(parts)
            if bytes(view[at : at + 2]) != b"\x1f\x8b":  # not another member
                left = len(view) - at
                raise RequestError(400, f"the gzipped body is followed by {left:,} byte(s) that are not gzip")
    except zlib.error as error:
        raise RequestError(400, f"the body is not gzip: {error}") from None
    raise RequestError(400, f"the gzipped body holds over {MAX_GZIP_MEMBERS:,} gzip members: send one")


def _not_json(literal: str) -> float:
    raise ValueError(f"{literal} is not a JSON number")


def _finite(literal: str) -> float:
    number = float(literal)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{literal[:20]} is too large a number for a record")
    return number


def _whole(literal: str) -> int:
    if len(literal) > _MOST_DIGITS:  # Python refuses it too, with advice for the server's operator
        raise ValueError(f"{literal[:20]}... has over {_MOST_DIGITS:,} digits: too long a number for a record")
    return int(literal)


# The most digits of a whole number read (Python's own limit on converting text to int).
_MOST_DIGITS = 4300


def parse(body: bytes) -> Any:
    try:  # Python's json reads NaN and Infinity, which JSON has not: records could not be written
        # Decoded strictly first: json.loads lets UTF-8's encoded surrogates (ED A0 80) through as characters.
        text = body.decode(json.detect_encoding(body))
        return json.loads(text, parse_constant=_not_json, parse_float=_finite, parse_int=_whole)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise RequestError(400, f"the body is not valid JSON: {error}") from None


def documents_of(
    payload: Any, max_documents: int | None = None, limits: DocumentLimits | None = None
) -> tuple[list[Document | LabeledDocument], bool]:
    """The documents of a request's JSON (one object or an array), and whether it was one.

    Documents are read as lines of a JSONL file are (other fields carried
    through; records written by ``label`` taken as labelled), and one
    without an id is called ``record N`` after its place, as
    :meth:`~classifier.model.model.Model.label_many` calls it.

    Raises
    ------
    RequestError
        400, naming the first document that is not one (not an object, no
        text or html, not strings, a label record with bad fields).
        Error records written by ``label`` are taken, and stay error records.
        413 for more than ``max_documents``, before any document is read, or
        for the first document over ``limits`` (its characters, and the
        segments of plain text; an HTML page's blocks are counted as it is
        parsed, when it is labelled).
    """
    single = isinstance(payload, dict)
    if not single and not isinstance(payload, list):
        raise RequestError(400, "the body must be a JSON object (one document) or an array of them")
    if max_documents is not None and not single and len(payload) > max_documents:
        raise RequestError(
            413,
            f"the request holds {len(payload):,} documents, over the limit of {max_documents:,} a request "
            "(the service's --max-documents): send them in several requests",
        )
    documents = []
    for number, item in enumerate([payload] if single else payload):
        if not isinstance(item, dict):
            raise RequestError(400, f"record {number}: each document must be a JSON object")
        document = document_from_record(item, f"record {number}")
        if isinstance(document, FailedDocument) and (is_label_record(item) or not is_error_record(item)):
            raise RequestError(400, document.message)
        if limits is not None and isinstance(document, Document):
            _check_size(
                document, limits, f"record {number}" + (f" (id {document.id!r})" if item.get("id") is not None else "")
            )
        documents.append(document)
    return documents, single


def _check_size(document: Document, limits: DocumentLimits, where: str) -> None:
    """413 for a document over the limits, naming it (``where``: its place, and its id if it has one) and the limit
    (the service's own options)."""
    try:
        if document.html is not None:
            limits.check_chars(len(document.html))
        else:
            limits.check_text(document.text)
    except TooLargeError as error:
        raise RequestError(413, f"{where}: {error}") from None


def _documents_in(
    body: bytes, gzipped: bool, options: ServeOptions
) -> tuple[list[Document | FailedDocument | LabeledDocument], bool]:
    payload = parse(gunzip(body, options.max_body) if gzipped else body)
    return documents_of(payload, options.max_documents, options.limits)


async def request_documents(request: Request) -> tuple[list[Document | FailedDocument | LabeledDocument], bool]:
    gzipped = check_json(request)
    options: ServeOptions = request.app.state.options
    body = await read_body(request, options.max_body, options.body_timeout)
    # A gzipped body is judged by what it inflates to (up to 20 times its size is usual for pages).
    size = len(body) * (20 if gzipped else 1)
    return await off_the_loop_if_large(size, _documents_in, body, gzipped, options)
