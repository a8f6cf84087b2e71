"""Dependencies the routes share: the bearer token check, and the query parameters the route takes, once each."""

from __future__ import annotations

import hmac
from typing import Any, get_args, get_origin

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import RequestError

_bearer = HTTPBearer(auto_error=False, description="The token of --token-file, when the service was started with one.")


async def authorize(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    token: str | None = request.app.state.token
    if token is None:
        return
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise RequestError(
            401, "send the service's token as 'Authorization: Bearer TOKEN'", {"WWW-Authenticate": "Bearer"}
        )


async def known_query(request: Request) -> None:
    """Refuse (400) a query parameter the route does not take: a typo (``segment=false``) would be ignored; and one
    given twice that takes one value (``min_score=0.5&min_score=0.9``): the last would silently win."""
    route = request.scope.get("route")
    parameters = route.dependant.query_params if route is not None else []
    known = {parameter.alias for parameter in parameters}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        names = ", ".join(repr(name) for name in unknown)
        raise RequestError(400, f"unknown query parameter {names} (this endpoint takes: {takes})")
    single = {parameter.alias for parameter in parameters if not _takes_many(parameter.field_info.annotation)}
    twice = sorted(name for name in single if len(request.query_params.getlist(name)) > 1)
    if twice:
        names = ", ".join(repr(name) for name in twice)
        raise RequestError(400, f"query parameter {names} given more than once: it takes one value")


def _takes_many(annotation: Any) -> bool:
    """Whether a query parameter's type takes several values: a list, or a list or None (``list[str] | None``)."""
    return get_origin(annotation) is list or any(get_origin(arg) is list for arg in get_args(annotation))
