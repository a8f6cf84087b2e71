"""Dependencies the routes share: the bearer token check."""

from __future__ import annotations

import hmac

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
