"""What the service serves and how: its options (which travel to worker processes), and the bearer token.

Paths, not contents, travel in the environment to uvicorn's worker
processes, so that the token is never in it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, replace

from ..errors import InputError
from ..limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_SEGMENTS, DocumentLimits
from ..run.ordered import DEFAULT_CHUNK

DEFAULT_MAX_BODY = 16 * 2**20  # bytes: a batch of some hundred pages, or a few huge HTML ones
# Most time a batch waits for the clients just answered to send their next request (s).
DEFAULT_GATHER = 0.005
# A body not received within this many seconds is refused (408): a client must not hold a worker's memory.
DEFAULT_BODY_TIMEOUT = 60.0
# Most documents in one request (413 past it): a request of many tiny documents costs a worker in proportion
# to their number (objects, records), whatever their size; a batch of a thousand pages is plenty per request.
DEFAULT_MAX_DOCUMENTS = 1000
# Seconds a connection may take to send a request's line and headers (from its first byte, or from being opened).
DEFAULT_HEADER_TIMEOUT = 10.0
# Seconds an idle keep-alive connection is kept after its last answer (uvicorn's own default).
DEFAULT_KEEP_ALIVE = 5
# Bytes of a request's line and headers, and how many headers (nginx reads 32 KB at most by default; Apache 100 headers).
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_HEADERS = 100
# Open connections per worker; one more is answered 503 and closed at once.
DEFAULT_MAX_CONNECTIONS = 1000
# What RFC 6750 allows in a bearer token.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# How the `serve` command hands its options to uvicorn's worker processes.
OPTIONS_VARIABLE = "STORYFILTER_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """What the service serves and how: the model, the token file, the limits on bodies, documents and connections.

    Paths, not contents, so that the options can travel to worker processes
    in the environment without the token in it.
    """

    model: str | None = None
    token_file: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    batch_size: int = DEFAULT_CHUNK
    gather: float = DEFAULT_GATHER
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_documents: int = DEFAULT_MAX_DOCUMENTS
    max_segments: int = DEFAULT_MAX_SEGMENTS
    max_chars: int = DEFAULT_MAX_CHARS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keep_alive: int = DEFAULT_KEEP_ALIVE
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # What `serve` checked before its workers started: each worker (a restarted one too) must serve the same
    # model (its file's sha256) and token (a digest of it, not the token), or refuse to start.
    model_sha256: str | None = None
    token_digest: str | None = None

    def checked(self, token: str | None, model_sha256: str | None) -> ServeOptions:
        """These options, with what the workers must serve: the model of this sha256 and this token (its hash)."""
        digest = token_digest(token) if token is not None else None
        return replace(self, model_sha256=model_sha256, token_digest=digest)

    @property
    def limits(self) -> DocumentLimits:
        """The most segments and characters of one document."""
        return DocumentLimits(self.max_segments, self.max_chars)

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ServeOptions:
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
        raise InputError(
            f"the token in {path} must be one line of letters, digits and -._~+/ (ending in = at most), "
            "as a bearer token is sent: e.g. `head -c 32 /dev/urandom | base64`"
        )
    return token


def token_digest(token: str, salt: str | None = None) -> str:
    """What the workers are told of the token ``serve`` read, to check theirs against: ``SALT$DIGEST``, a slow
    salted hash (PBKDF2), so that the environment it travels in does not give a short token away to a guesser."""
    salt = salt if salt is not None else secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", token.encode("utf-8"), bytes.fromhex(salt), 200_000)
    return f"{salt}${digest.hex()}"


def _same_token(token: str, digest: str) -> bool:
    salt, _, _ = digest.partition("$")
    return hmac.compare_digest(token_digest(token, salt), digest)


def check_same_as_served(options: ServeOptions, model_sha256: str | None, token: str | None) -> None:
    """Refuse a worker's start (one restarted after a crash, say) when its model or token is not what ``serve`` checked.

    Raises
    ------
    InputError
        Naming the file that changed since ``serve`` started.
    """
    restart = "the other workers serve the one it had: restart serve to serve the new one"
    if options.model_sha256 is not None and model_sha256 != options.model_sha256:
        raise InputError(
            f"the model file {options.model or '(the shipped model)'} changed since serve started; {restart}"
        )
    if options.token_digest is not None and (token is None or not _same_token(token, options.token_digest)):
        raise InputError(f"the token file {options.token_file} changed since serve started; {restart}")
