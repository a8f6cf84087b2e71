"""Running the service under uvicorn: its guarded protocol, its workers, and how it stops.

:func:`run_server` serves the app with :class:`~classifier.service.connections.GuardedProtocol`
(the service's limits travel to each worker on :class:`ServeConfig`),
either in this process (one worker) or in uvicorn's worker processes.
SIGTERM or SIGINT stops it the same way whatever the number of workers:
new connections are refused at once (one worker closes its socket; with
several, the supervisor shuts the shared socket, which uvicorn would keep
open until every worker has finished), the requests in hand are answered
(``timeout_graceful_shutdown`` at most), and :func:`run_server` returns.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from .connections import GuardedProtocol
from .options import ServeOptions

_LOG = logging.getLogger("uvicorn.error")
# Seconds the requests in hand get to be answered once the server is asked to stop.
GRACEFUL_SHUTDOWN = 30


class ServeConfig(uvicorn.Config):
    """uvicorn's configuration, carrying the service's options to the protocol of each worker process."""

    def __init__(self, app: Any, guards: ServeOptions, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.guards = guards


class Outcome(Enum):
    """How a run of the server ended."""

    STOPPED = "stopped"  # by a signal, after it served
    NOT_STARTED = "not started"  # its start-up failed
    WORKER_FAILED = "worker failed"  # a worker restarted after a crash could not start, and the others were stopped


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, which stops accepting connections as soon as it is told to stop,
    and notes when it stopped because a worker could not start again (uvicorn then stops them all)."""

    worker_failed = False

    def handle_hup(self) -> None:
        """SIGHUP: the token file and the model are read and checked again here, and every worker is replaced by one
        that serves them (a worker started otherwise, after a crash, serves what was last checked, or refuses)."""
        from ..errors import StoryfilterError
        from ..model.model import load_model
        from .options import OPTIONS_VARIABLE, read_token

        options: ServeOptions = self.config.guards
        try:
            token = read_token(options.token_file) if options.token_file else None
            checked = options.checked(token, load_model(options.model).card.get("sha256"))
        except StoryfilterError as error:
            _LOG.error(
                "SIGHUP: the workers were not replaced, as the service cannot serve what it would read: %s", error
            )
            return
        self.config.guards = checked
        os.environ[OPTIONS_VARIABLE] = checked.to_environment()  # what each new worker reads
        super().handle_hup()

    def keep_subprocess_alive(self) -> None:
        stopping = self.should_exit.is_set()
        super().keep_subprocess_alive()
        if not stopping and self.should_exit.is_set():  # set there only for a worker that failed to start
            self.worker_failed = True

    def handle_int(self) -> None:
        self._stop_listening()
        super().handle_int()

    def handle_term(self) -> None:
        self._stop_listening()
        super().handle_term()

    def _stop_listening(self) -> None:
        # The workers share this socket and are still answering: shutting it (not closing this process's
        # copy of it) makes the kernel refuse new connections at once, and those not yet accepted too.
        for listening in self.sockets:
            try:
                listening.shutdown(socket.SHUT_RD)
            except OSError:  # not listening any more
                pass


@contextmanager
def _signals_absorbed() -> Iterator[None]:
    """Let a stop signal end the server and nothing else.

    uvicorn handles SIGINT and SIGTERM while it serves and sends the signal
    again once it has stopped, to the handlers that were there before it:
    these, which do nothing, so that one worker ends as several do.
    """
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda number, frame: None)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class CutAtShutdown(logging.Filter):
    """Leaves out uvicorn's traceback of a request cancelled because the server's time to stop ran out.

    A documented way for a request to end, not a fault: uvicorn's line
    before it says that tasks were cancelled, and the service's own line
    says which answer was cut short.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, asyncio.CancelledError) and "graceful shutdown" in str(error))


def _timed_logging() -> dict:
    """uvicorn's logging, each line led by its time (ISO 8601, UTC offset): a log is read against others."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = "%(asctime)s " + formatter["fmt"]
        formatter["datefmt"] = "%Y-%m-%dT%H:%M:%S%z"
    config.setdefault("filters", {})["cut_at_shutdown"] = {"()": f"{__name__}.CutAtShutdown"}
    config["handlers"]["default"].setdefault("filters", []).append("cut_at_shutdown")
    return config


def run_server(app: Any, options: ServeOptions, *, host: str, port: int, workers: int, access_log: bool) -> Outcome:
    """Serve ``app`` (an ASGI app, or with several workers the import string of its factory) until stopped.

    Returns how it ended: stopped when asked, its start-up failed, or a
    worker restarted after a crash could not start (its log says why).
    """
    config = ServeConfig(
        app,
        options,
        host=host,
        port=port,
        http=GuardedProtocol,
        workers=workers,
        factory=isinstance(app, str),
        access_log=access_log,
        timeout_keep_alive=options.keep_alive,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        log_config=_timed_logging(),
    )
    if workers > 1:
        supervisor = _Supervisor(config, sockets=[config.bind_socket()])
        supervisor.run()
        return Outcome.WORKER_FAILED if supervisor.worker_failed else Outcome.STOPPED
    server = uvicorn.Server(config)
    with _signals_absorbed():
        server.run()
    return Outcome.STOPPED if server.started else Outcome.NOT_STARTED
