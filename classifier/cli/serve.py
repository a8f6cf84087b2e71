"""``storyfilter serve``: the model over HTTP, checked before uvicorn starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_SEGMENTS
from ..run.ordered import DEFAULT_CHUNK
from ..service.options import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_DOCUMENTS
from .exits import EXIT_UNFINISHED, EXIT_USAGE, exit_codes, fail
from .options import MaxCharsOption, MaxSegmentsOption, ModelOption, WorkersOption

_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def _byte_size(value: str) -> int:
    """``16M``, ``512K``, ``1000000`` as a number of bytes."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
    number = text[: len(text) - len(unit)]
    try:
        size = int(float(number) * _SIZE_UNITS[unit])
    except (ValueError, OverflowError):
        raise InputError(f"--max-body: not a size: {value!r} (say e.g. 16M, 512K or a number of bytes)") from None
    if size < 1:
        raise InputError(f"--max-body must be at least one byte, not {value!r}")
    return size


def _check_port_free(host: str, port: int) -> None:
    """Fail now, in one line, rather than in a worker's log, when the address cannot be served on."""
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as error:
        raise InputError(
            f"cannot serve on {host}:{port}: {error.strerror or error} (choose another --port or --host)"
        ) from None


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface (set --token-file then).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8080,
    model: ModelOption = None,
    workers: WorkersOption = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="Require 'Authorization: Bearer TOKEN' with the token in this file."),
    ] = None,
    max_body: Annotated[str, typer.Option("--max-body", help="Largest request body; larger ones get 413.")] = "16M",
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Most documents labelled together in a worker.")
    ] = DEFAULT_CHUNK,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request to standard output.")
    ] = True,
    max_documents: Annotated[
        int, typer.Option("--max-documents", min=1, help="Most documents in one request; more get 413.")
    ] = DEFAULT_MAX_DOCUMENTS,
    max_segments: MaxSegmentsOption = DEFAULT_MAX_SEGMENTS,
    max_chars: MaxCharsOption = DEFAULT_MAX_CHARS,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout", min=0.1, help="Seconds a request's line and headers may take to arrive; then 408."
        ),
    ] = DEFAULT_HEADER_TIMEOUT,
    max_connections: Annotated[
        int,
        typer.Option("--max-connections", min=1, help="Open connections per worker; one more gets 503 at once."),
    ] = DEFAULT_MAX_CONNECTIONS,
) -> None:
    """Serve the model over HTTP: POST /label and /filter take JSON documents and answer the records label and filter write.

    GET /health and /model say what is served; /docs has the API. Each
    worker process loads the model once. Ctrl-C (or SIGTERM) stops it once
    the requests in hand are answered (new connections are refused at
    once), with exit 0.
    """
    with exit_codes():
        from ..modelfile import read_ahead

        read_ahead(model)  # in a thread, while the service's modules import (classifier/modelfile.py)
        try:
            from ..service.app import create_app
            from ..service.options import OPTIONS_VARIABLE, ServeOptions, read_token
            from ..service.server import Outcome, run_server
        except ImportError as error:
            raise InputError(
                f"serve needs the serve extra ({error.name} is missing): pip install 'storyfilter[serve]'"
            ) from None
        from ..model.model import load_model
        from ..run.workers import available_cores

        options = ServeOptions(
            model=str(model) if model else None,
            token_file=str(token_file) if token_file else None,
            max_body=_byte_size(max_body),
            batch_size=batch_size,
            max_documents=max_documents,
            max_segments=max_segments,
            max_chars=max_chars,
            header_timeout=header_timeout,
            max_connections=max_connections,
        )
        token = read_token(options.token_file) if options.token_file else None
        _check_port_free(host, port)
        count = workers or available_cores()
        # A model that does not load stops here, in one line, not in each worker's log. One worker
        # is this process, with this model; else the workers load their own and this copy goes.
        loaded = load_model(options.model)
        model_id = loaded.model_id
        if count > 1:  # the workers load their own: the same as this one, or they do not start
            options = options.checked(token, loaded.card.get("sha256"))
            loaded = None
    address = f"http://{f'[{host}]' if ':' in host and not host.startswith('[') else host}:{port}"
    if port == 0:  # bound below, by uvicorn, whose line names it
        address = f"a port of {host} the system chooses (uvicorn's 'running on' line names it)"
    typer.echo(f"storyfilter: serving {model_id} on {address} with {count} worker(s); API at /docs", err=True)
    if token_file is None and not _is_loopback(host):
        typer.echo(
            f"storyfilter: warning: {host} is reachable from other machines and no --token-file is set: anyone who reaches it can use it",
            err=True,
        )
    server = dict(host=host, port=port, workers=count, access_log=access_log)
    if loaded is not None:  # one worker: this process, with the model it has loaded
        ended = run_server(create_app(options, model=loaded, freeze=True), options, **server)
    else:
        os.environ[OPTIONS_VARIABLE] = options.to_environment()
        ended = run_server("classifier.service.app:app_from_environment", options, **server)
    if ended is Outcome.NOT_STARTED:
        raise fail("the server did not start: its log above says why", EXIT_USAGE)
    if ended is Outcome.WORKER_FAILED:
        raise fail(
            "a worker could not start (again, after it stopped), so the service stopped: its log above says why",
            EXIT_UNFINISHED,
        )
