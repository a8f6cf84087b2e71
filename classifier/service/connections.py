"""Connections that cannot be held open: uvicorn's HTTP/1.1 protocol (httptools) with the limits it lacks.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but
waits forever for a request's headers, reads headers of any size and
number with httptools, serves any number of connections, answers a broken
request in plain text and closes a connection whose client half-closes
after sending its request, before answering. :class:`GuardedProtocol` is
that protocol with, per connection:

* a header timeout: a request's line and headers must all arrive within
  ``header_timeout`` seconds of the connection opening (or of the
  request's first byte, on a kept-alive connection), else 408 and closed;
* a cap on the bytes of a request's line and headers and on the number of
  headers: past either, 431 and closed (httptools buffers at most the cap
  and one read);
* a cap on the open connections of a worker: one more is answered 503
  and closed at once;
* every answer of its own in the service's JSON (``{"error": {"type",
  "message"}}``), 400 for a request that is not HTTP/1.1 included;
* a connection closed with a request not read to its end (one refused
  here, or by the app, as a body over the limit) lingers: the answer is
  sent and the sending side shut, then what the client still sends is read
  and dropped until it closes, for at most ``LINGER`` seconds. Closed at
  once, with the client's bytes unread, the system would reset it, and a
  client still sending (a 1 MB header, a large body) would get the reset,
  not the answer;
* a client that half-closes (shuts its side after sending the request)
  still gets its answer, and the connection is closed once it is sent.

The limits come from the :class:`~classifier.service.options.ServeOptions`
on uvicorn's config (:class:`~classifier.service.server.ServeConfig`).
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .errors import ACCESS_LINE, ERROR_TYPES
from .options import ServeOptions

LINGER = 2.0  # seconds a refused connection is read (and what it sends dropped) before it is closed


class _ClosingTransport:
    """The connection's transport as its protocol and uvicorn's request cycles see it: ``close()`` lingers when a
    request is not read to its end (see :meth:`GuardedProtocol._linger`), and a lingering transport is closing."""

    def __init__(self, transport: Any, protocol: GuardedProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        if self._protocol.request_unread() and not self._protocol.stopping:
            self._protocol._linger()
        else:
            self._transport.close()

    def is_closing(self) -> bool:
        return self._protocol._lingering is not None or self._transport.is_closing()


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request refused (its answer is set first)."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header timeouts, header caps, a connection cap, JSON errors, half-closes."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        guards: ServeOptions = getattr(config, "guards", None) or ServeOptions()
        self.header_timeout = guards.header_timeout
        self.max_header_bytes = guards.max_header_bytes
        self.max_headers = guards.max_headers
        self.max_connections = guards.max_connections
        self._header_timer: Any = None
        self._reading_headers = True  # from the connection's start, and each request's first byte, to its headers' end
        self._header_bytes = 0  # bytes received while reading them (a bound on what httptools buffers)
        self._header_size = 0  # bytes of the URL and headers read
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None
        self._half_closed = False
        self._lingering: Any = None  # the timer that closes a refused connection, while it lingers
        self._received = False  # whether the client has sent anything on this connection
        self.stopping = False  # the server is shutting down: connections close at once

    # --- the connection -------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        super().connection_made(_ClosingTransport(transport, self))
        if len(self.connections) > self.max_connections:
            self._answer(503, f"this worker has {self.max_connections:,} connections open: try again shortly")
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:
        """A client that half-closes after its request still gets the answer: keep the transport open for it."""
        if self._lingering is not None:
            return None  # answered and lingering: the client is done sending, the transport closes
        if self.cycle is not None and not self.cycle.response_complete and not self._reading_headers:
            if self.cycle.more_body:  # a body not read to its end can never end now: the client left
                return None
            self._half_closed = True
            return True
        return None  # nothing to answer: the transport closes

    def shutdown(self) -> None:
        """The server stops: what uvicorn closes is closed at once, a request half-sent included (no linger)."""
        self.stopping = True
        super().shutdown()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # (starts the next pipelined request, if any)
        last = self.cycle is None or self.cycle.response_complete  # the request read last is answered too
        if self._half_closed and last and not self.pipeline and not self.transport.is_closing():
            self.transport.close()

    # --- reading a request's headers ----------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            return  # the rest of a refused request: dropped
        self._received = True  # (before parsing: a refusal while parsing this read knows a client is sending)
        super().data_received(data)
        if self._reading_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._answer(431, self._too_large)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_bytes = self._header_count = self._header_size = 0
        self._arm_header_timer()

    @property
    def _too_large(self) -> str:
        return f"the request's line and headers are over {self.max_header_bytes:,} bytes"

    def on_url(self, url: bytes) -> None:
        self._header_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_size += len(name) + len(value)
        if self._header_count > self.max_headers:
            self._refusal = (431, f"the request has over {self.max_headers} headers")
            raise _Refused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._disarm_header_timer()
        if self._header_size > self.max_header_bytes:  # all of it came in one read
            self._refusal = (431, self._too_large)
            raise _Refused()
        super().on_headers_complete()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._reading_headers and not self.transport.is_closing():
            self._answer(408, f"the request's headers did not arrive within {self.header_timeout:g} s")

    # --- answers of its own ---------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        """A request httptools cannot read (or one refused in a callback): answered in JSON and closed."""
        status, message = self._refusal or (400, "the request is not valid HTTP/1.1: " + msg.rstrip("."))
        self._answer(status, message)

    def _answer(self, status: int, message: str) -> None:
        """Write a JSON error and close the connection (no request of it reaches the app), and log it as uvicorn
        logs an answer (its access log's five fields; the method and path, never read whole here, as ``-``)."""
        self._disarm_header_timer()
        self._reading_headers = False
        if self.access_log:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else ""
            self.access_logger.info(ACCESS_LINE, client, "-", "-", "1.1", status)
        body = json.dumps({"error": {"type": ERROR_TYPES.get(status, "Error"), "message": message}}).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        if self._received and (self.cycle is None or self.cycle.response_complete):
            self._linger()  # the client was sending this request: it may still be
        else:  # nothing of a request came (a 503 as the connection opens, a 408 of an idle one), or one
            self.transport._transport.close()  # before it is still in the app, whose answer cannot follow a shut side

    # --- closing ----------------------------------------------------------------
    def request_unread(self) -> bool:
        """Whether the client may still be sending a request: its headers or its body not read to the end."""
        headers_begun = self._reading_headers and self._received
        return headers_begun or (self.cycle is not None and self.cycle.more_body)

    def _linger(self) -> None:
        """Shut the sending side after the answer and drop what comes until the client closes or ``LINGER`` ends."""
        transport = self.transport._transport
        if self._lingering is not None or transport.is_closing():
            return
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        transport.resume_reading()  # paused when a body came faster than the app read it: it is to be drained
        self._lingering = self.loop.call_later(LINGER, transport.close)
        # Answered: a lingering connection counts no more against --max-connections, nor holds up a shutdown.
        self.connections.discard(self)
