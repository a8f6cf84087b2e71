"""Errors the service answers: JSON objects of the error records' shape, with the status that fits.

``{"error": {"type", "message"}}``: 400 for a body that is not JSON or a
document without text, 401 without the bearer token (when one is set), 408
for a body that does not come, 413 over the body limit, the documents limit or
a document's limits, 415 for anything but ``application/json``, 500 (with no traceback) for a fault of ours, 501 for
what the model served cannot do.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from ..errors import ModelError, StoryfilterError

# A line of the access log, as uvicorn writes one for each answer: client, method, path, HTTP version, status.
ACCESS_LINE = '%s - "%s %s HTTP/%s" %d'


class RequestError(Exception):
    """A request the service refuses: its HTTP status and what to tell the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


# The error type that goes with each status (the phrases of http.HTTPStatus change between Python versions).
ERROR_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "Timeout",
    413: "TooLarge",
    415: "UnsupportedMediaType",
    431: "HeadersTooLarge",
    500: "InternalError",
    501: "NotImplemented",
    503: "Unavailable",
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": {"type", "message"}}``, typed by the status ("BadRequest", "Unauthorized"...).

    ASCII JSON: a message that quotes the request (a lone surrogate included) always encodes.
    """
    kind = ERROR_TYPES.get(status) or HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
    body = json.dumps({"error": {"type": kind, "message": message}})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


# The methods a 405's Allow may name.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _methods_at(request: Request) -> str:
    """The methods the app's routes serve at the request's path (``GET /health`` and ``HEAD /health`` are two)."""
    routes = request.app.router.routes
    served = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(served)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error the app meets as JSON, never with a traceback."""

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> Response:
        return error_response(error.status, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
        return error_response(400, problems)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        headers = getattr(error, "headers", None)
        if error.status_code == 405:  # every method served at the path, not only those of the route that matched
            headers = {**(headers or {}), "Allow": _methods_at(request)}
        return error_response(error.status_code, str(error.detail), headers)

    @app.exception_handler(StoryfilterError)
    async def input_error(request: Request, error: StoryfilterError) -> Response:
        # A ModelError: the model served cannot do what was asked (a topic stage it has not).
        return error_response(501 if isinstance(error, ModelError) else 400, str(error))

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, error: ClientDisconnect) -> Response:
        # No answer goes out, so the server logs none: the access log gets the request with 499, as nginx
        # logs a request whose client closed the connection before its answer.
        client = request.client
        logging.getLogger("uvicorn.access").info(
            ACCESS_LINE,
            f"{client.host}:{client.port}" if client else "",
            request.method,
            request.url.path,
            request.scope.get("http_version", "1.1"),
            499,
        )
        return error_response(400, "the client went away before the answer")  # nobody reads it: no traceback to log

    @app.exception_handler(Exception)
    async def fault(request: Request, error: Exception) -> Response:
        # The traceback goes to the server's log (the server logs what reaches it), never to the client.
        return error_response(500, "the service failed on this request; its log says why")
