"""The HTTP service: a real server on a free loopback port, a real HTTP client (its batcher alone: test_batcher.py).

The records over HTTP are compared with what ``storyfilter label`` and
``storyfilter filter`` write for the same documents.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from typer.testing import CliRunner

from classifier import load_model
from classifier.cli.app import app
from classifier.service.app import create_app
from classifier.service.options import ServeOptions

from .conftest import EXAMPLES, corpus_pages, shared_path, write_jsonl

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 256 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(tmp_path: Path, *options: str):
    """``storyfilter serve`` in a subprocess on a free port; its base URL once /health answers."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    command = [sys.executable, "-m", "classifier", "serve", "--port", str(port), *options]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"the server stopped: {log.read_text()}"
            assert time.monotonic() < deadline, f"the server did not answer: {log.read_text()}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two workers, the shipped model, a token and a small body limit."""
    tmp = tmp_path_factory.mktemp("serve")
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    with running_server(tmp, "--workers", "2", "--token-file", str(token_file), "--max-body", "256K") as (
        url,
        process,
        log,
    ):
        yield url
        assert process.poll() is None, "the server died during the tests"
    assert "Traceback" not in log.read_text(), log.read_text()


def cli_records(*args: str) -> list[dict]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def post(url: str, path: str, body, **kwargs) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=60, **kwargs)


# --- the same records as the CLI -----------------------------------------------------


def test_the_example_page_gets_the_record_the_cli_writes(server):
    path = shared_path("examples", "amara.txt")
    response = post(server, "/label", {"id": "amara", "text": path.read_text(encoding="utf-8")})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    [expected] = cli_records("label", str(path))
    assert response.json() == expected
    labels = json.loads(shared_path("examples", "amara.expected.json").read_text(encoding="utf-8"))
    assert [(s["text"], s["label"]) for s in response.json()["segments"]] == [
        (s["text"], s["label"]) for s in labels["segments"]
    ]


def test_our_example_page_as_text_and_as_html_gets_the_cli_records(server, tmp_path):
    for name in ("harbour.txt", "harbour.html"):
        path = EXAMPLES / name
        field = "html" if name.endswith(".html") else "text"
        response = post(server, "/label", {"id": "harbour", field: path.read_text(encoding="utf-8")})
        [expected] = cli_records("label", str(path))
        assert response.status_code == 200
        assert response.json() == expected


def test_a_gzipped_body_gets_the_same_records(server):
    documents = corpus_pages(100)  # over the body limit of this server, gzipped well under it
    body = json.dumps(documents).encode()
    assert len(body) > MAX_BODY
    response = httpx.post(
        f"{server}/label?segments=false",
        content=gzip.compress(body),
        timeout=60,
        headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413  # the limit is on what is read, not on what was sent
    half = json.dumps(documents[:8]).encode()
    assert len(half) < MAX_BODY
    zipped = httpx.post(
        f"{server}/label",
        content=gzip.compress(half),
        timeout=60,
        headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert zipped.status_code == 200 and zipped.json() == post(server, "/label", documents[:8]).json()
    # gzip's old name, and JSON under a media type of its own, are read as such.
    alike = httpx.post(
        f"{server}/label",
        content=gzip.compress(half),
        timeout=60,
        headers={**AUTH, "Content-Type": "application/vnd.pages+json", "Content-Encoding": "x-gzip"},
    )
    assert alike.status_code == 200 and alike.json() == zipped.json()


def test_a_batch_gets_the_cli_records_in_order_with_extra_fields_and_without_segments(server, tmp_path):
    documents = [
        *corpus_pages(5),
        {"id": "as-html", "html": (EXAMPLES / "harbour.html").read_text(encoding="utf-8"), "source": "crawler-7"},
        {"text": (EXAMPLES / "harbour.txt").read_text(encoding="utf-8"), "meta": {"lang": "en", "rank": [1, 2]}},
    ]
    source = write_jsonl(tmp_path / "batch.jsonl", documents)
    response = post(server, "/label", documents)
    assert response.status_code == 200
    records = response.json()
    expected = cli_records("label", str(source))
    assert [r["id"] for r in records] == [*[r["id"] for r in expected][:5], "as-html", "record 6"]
    for record, cli in zip(records, expected):
        cli.pop("id")
        record.pop("id")
        assert record == cli
    short = post(server, "/label?segments=false", documents).json()
    assert all("segments" not in r for r in short)
    assert [r["story"] for r in short] == [r["story"] for r in records]
    assert post(server, "/label", []).json() == []


def test_filter_answers_the_records_the_cli_filter_writes(server, tmp_path):
    documents = corpus_pages(40)
    source = write_jsonl(tmp_path / "pages.jsonl", documents)
    for query, options in (
        ("topic=politics", ["--topic", "politics"]),
        ("topic=politics&topic=politics&min_score=0.05", ["--topic", "politics", "--min-score", "0.05"]),
    ):
        response = post(server, f"/filter?{query}", documents)
        assert response.status_code == 200
        expected = cli_records("filter", str(source), *options)
        assert response.json() == expected
        assert 0 < len(expected) < len(documents)  # the test means something: some kept, some not


def test_records_written_by_label_are_filtered_without_labelling_again(server):
    records = post(server, "/label", corpus_pages(10)).json()
    kept = post(server, "/filter?topic=militia&min_score=0", records).json()
    assert kept == records


# --- errors: each a status and a JSON body; the server stays up ----------------------


def assert_error(response: httpx.Response, status: int, words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"type", "message"}
    assert words in error["message"], error["message"]
    assert "Traceback" not in response.text
    return error


ERROR_CASES = {
    "malformed JSON": (
        lambda url: httpx.post(
            f"{url}/label", content=b'{"id": "a", "text": ', headers={**AUTH, "Content-Type": "application/json"}
        ),
        400,
        "not valid JSON",
    ),
    "not UTF-8": (
        lambda url: httpx.post(
            f"{url}/label", content=b'{"text": "\xff\xfe"}', headers={**AUTH, "Content-Type": "application/json"}
        ),
        400,
        "not valid JSON",
    ),
    "UTF-8 of a surrogate": (  # what Python's json alone lets through as a character
        lambda url: httpx.post(
            f"{url}/label",
            content=b'{"text": "a \xed\xa0\x80 b"}',
            headers={**AUTH, "Content-Type": "application/json"},
        ),
        400,
        "can't decode byte 0xed",
    ),
    "a document without text": (
        lambda url: post(url, "/label", {"id": "x", "title": "no text"}),
        400,
        "needs a 'text' or 'html'",
    ),
    "a batch with one bad document": (
        lambda url: post(url, "/label", [{"text": "fine"}, {"text": 12}]),
        400,
        "record 1: 'text' must be a string",
    ),
    "an item that is not an object": (
        lambda url: post(url, "/label", [{"text": "fine"}, "just a string"]),
        400,
        "record 1",
    ),
    "a body neither object nor array": (
        lambda url: post(url, "/label", 42),
        400,
        "a JSON object (one document) or an array",
    ),
    "NaN, which JSON has not": (
        lambda url: httpx.post(
            f"{url}/label", content=b'{"text": "a", "score": NaN}', headers={**AUTH, "Content-Type": "application/json"}
        ),
        400,
        "NaN is not a JSON number",
    ),
    "a number too large for a record": (
        lambda url: httpx.post(
            f"{url}/label", content=b'{"text": "a", "n": 1e999}', headers={**AUTH, "Content-Type": "application/json"}
        ),
        400,
        "too large",
    ),
    "a bad label record that also has an error": (
        lambda url: post(
            url, "/filter?topic=militia", [{"model": "m", "story": 5, "error": {"type": "X", "message": "m"}}]
        ),
        400,
        "'story' must be a string",
    ),
    "a label record with a number too large": (
        lambda url: post(url, "/filter?topic=militia", [{"model": "m", "story": "s", "topics": {"militia": 10**400}}]),
        400,
        "numbers",
    ),
    "a body that is not gzip": (
        lambda url: httpx.post(
            f"{url}/label",
            content=b'{"text": "a"}',
            headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        ),
        400,
        "not gzip",
    ),
    "a gzipped body cut short": (
        lambda url: httpx.post(
            f"{url}/label",
            content=gzip.compress(b'{"text": "a page"}')[:-12],
            headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        ),
        400,
        "cut short",
    ),
    "a gzipped body inflating over the limit": (
        lambda url: httpx.post(
            f"{url}/label",
            content=gzip.compress(b'{"text": "' + b"a" * (4 * MAX_BODY) + b'"}'),
            headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        ),
        413,
        "inflates",
    ),
    "an encoding not read": (
        lambda url: httpx.post(
            f"{url}/label",
            content=b'{"text": "a"}',
            headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "br"},
        ),
        415,
        "Content-Encoding br",
    ),
    "text/plain": (
        lambda url: httpx.post(
            f"{url}/label", content=b'{"text": "a"}', headers={**AUTH, "Content-Type": "text/plain"}
        ),
        415,
        "application/json",
    ),
    "no content type": (
        lambda url: httpx.post(f"{url}/label", content=b'{"text": "a"}', headers=AUTH),
        415,
        "application/json",
    ),
    "a body over the limit": (
        lambda url: post(url, "/label", {"text": "word " * (MAX_BODY // 5 + 10)}),
        413,
        "over the limit",
    ),
    "a chunked body over the limit": (
        lambda url: httpx.post(
            f"{url}/label",
            content=iter([b'{"text": "', b"x" * MAX_BODY, b'"}']),
            headers={**AUTH, "Content-Type": "application/json"},
        ),
        413,
        "over the limit",
    ),
    "an unknown topic": (lambda url: post(url, "/filter?topic=sport", [{"text": "a"}]), 400, "unknown topic"),
    "an empty topic": (lambda url: post(url, "/filter?topic=", [{"text": "a"}]), 400, "topic= is empty"),
    "no topic": (lambda url: post(url, "/filter", [{"text": "a"}]), 400, "topic"),
    "a min_score over 1": (
        lambda url: post(url, "/filter?topic=militia&min_score=1.5", [{"text": "a"}]),
        400,
        "min_score",
    ),
    "a number of 5,000 digits": (
        lambda url: httpx.post(
            f"{url}/label",
            content=b'{"text": "a", "n": ' + b"9" * 5000 + b"}",
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=60,
        ),
        400,
        "over 4,300 digits",
    ),
    "a min_score of nan": (
        lambda url: post(url, "/filter?topic=militia&min_score=nan", [{"text": "a"}]),
        400,
        "min_score: Input should be a finite number",
    ),
    "segments not a boolean": (lambda url: post(url, "/label?segments=perhaps", {"text": "a"}), 400, "segments"),
    "a query parameter misspelt": (
        lambda url: post(url, "/label?segment=false", {"text": "a"}),
        400,
        "unknown query parameter 'segment' (this endpoint takes: segments)",
    ),
    "a query parameter filter does not take": (
        lambda url: post(url, "/filter?topic=militia&min-score=0.5", [{"text": "a"}]),
        400,
        "unknown query parameter 'min-score' (this endpoint takes: min_score, segments, topic)",
    ),
    "a query parameter given twice": (
        lambda url: post(url, "/filter?topic=militia&min_score=0.5&topic=politics&min_score=0.9", [{"text": "a"}]),
        400,
        "query parameter 'min_score' given more than once",
    ),
    "no token": (lambda url: httpx.post(f"{url}/label", json={"text": "a"}), 401, "Bearer"),
    "a wrong token": (
        lambda url: httpx.post(f"{url}/label", json={"text": "a"}, headers={"Authorization": "Bearer nope"}),
        401,
        "Bearer",
    ),
    "another scheme": (
        lambda url: httpx.post(f"{url}/label", json={"text": "a"}, headers={"Authorization": f"Basic {TOKEN}"}),
        401,
        "Bearer",
    ),
    "the model card without a token": (lambda url: httpx.get(f"{url}/model"), 401, "Bearer"),
    "an unknown path": (lambda url: httpx.get(f"{url}/nowhere"), 404, "Not Found"),
    "a path with a slash after it": (lambda url: post(url, "/label/", {"text": "a"}), 404, "Not Found"),
    "the wrong method": (lambda url: httpx.get(f"{url}/label", headers=AUTH), 405, "Method Not Allowed"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_each_error_answers_its_status_with_a_json_body_and_the_server_stays_up(server, case):
    send, status, words = ERROR_CASES[case]
    error = assert_error(send(server), status, words)
    if status == 401:
        assert send(server).headers["www-authenticate"] == "Bearer"
    assert (
        error["type"]
        == {
            400: "BadRequest",
            401: "Unauthorized",
            404: "NotFound",
            405: "MethodNotAllowed",
            413: "TooLarge",
            415: "UnsupportedMediaType",
        }[status]
    )
    health = httpx.get(f"{server}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_error_records_pass_through_as_the_cli_passes_them(server, tmp_path):
    documents = [
        {"id": "e", "error": {"type": "WorkerError", "message": "the worker died"}, "feed": 3},
        *corpus_pages(6),
    ]
    source = write_jsonl(tmp_path / "with-errors.jsonl", documents)
    for path, options in (
        ("/filter?topic=politics", ["filter", str(source), "--topic", "politics"]),
        ("/label", ["label", str(source)]),
    ):
        response = post(server, path, documents)
        assert response.status_code == 200
        assert response.json() == cli_records(*options)
        assert response.json()[0] == documents[0]
    single = post(server, "/label", documents[0])
    assert single.status_code == 422 and single.json() == documents[0]


def test_health_model_and_docs_answer(server):
    health = httpx.get(f"{server}/health").json()
    assert health == {"status": "ok", "model": load_model().model_id, "waiting": 0, "held": 0}
    assert httpx.head(f"{server}/health").status_code == 200  # as load balancers ask
    assert httpx.post(f"{server}/health").headers["allow"] == "GET, HEAD"  # both, though two routes serve them
    card = httpx.get(f"{server}/model", headers=AUTH).json()
    assert card == load_model().card
    schema = httpx.get(f"{server}/openapi.json").json()
    assert {"/label", "/filter", "/health", "/model"} <= set(schema["paths"])
    assert "requestBody" in schema["paths"]["/label"]["post"]
    operations = [op["operationId"] for methods in schema["paths"].values() for op in methods.values()]
    assert len(operations) == len(set(operations))  # OpenAPI asks each to be named once (HEAD /health had GET's)
    assert httpx.get(f"{server}/docs").status_code == 200


# --- concurrency ---------------------------------------------------------------------


def test_concurrent_clients_each_get_their_own_records(server, tmp_path):
    documents = corpus_pages(48)
    expected = {r["id"]: r for r in cli_records("label", str(write_jsonl(tmp_path / "pages.jsonl", documents)))}
    answers, failures = {}, []

    def client(number: int) -> None:
        with httpx.Client(headers=AUTH, timeout=60) as session:
            for document in documents[number::8]:
                response = session.post(f"{server}/label", json=document)
                if response.status_code != 200:
                    failures.append(response.text)
                answers[document["id"]] = response.json()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert answers == expected


def test_health_answers_while_a_large_batch_is_labelled(tmp_path):
    documents = [{**page, "id": f"{page['id']}-{n}"} for n in range(4) for page in corpus_pages(100)]
    with running_server(tmp_path, "--workers", "1") as (url, _, _):
        finished = {}

        def label_all() -> None:
            response = httpx.post(f"{url}/label", json=documents, timeout=120)
            finished["at"] = time.monotonic()
            finished["status"] = response.status_code
            finished["count"] = len(response.json())

        worker = threading.Thread(target=label_all)
        worker.start()
        answered_during = 0
        while worker.is_alive():
            response = httpx.get(f"{url}/health", timeout=30)
            if worker.is_alive():
                answered_during += response.status_code == 200
            time.sleep(0.05)
        worker.join()
    assert finished == {"at": finished["at"], "status": 200, "count": len(documents)}
    assert answered_during >= 2  # the loop kept answering while the pages were labelled


def test_the_server_stops_cleanly_on_sigterm(tmp_path):
    with running_server(tmp_path, "--workers", "2") as (url, process, log):
        assert httpx.post(f"{url}/label", json={"text": "one line"}).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert "Traceback" not in log.read_text()


# --- the serve command's checks before it starts --------------------------------------


def test_serve_refuses_what_it_cannot_serve_before_starting(tmp_path):
    runner = CliRunner()
    for workers in ("1", "2"):  # checked here, or in a process of its own
        missing = runner.invoke(app, ["serve", "--model", str(tmp_path / "none.model"), "--workers", workers])
        assert missing.exit_code == 3 and "model file not found" in missing.output
    empty = tmp_path / "token"
    empty.write_text("  \n")
    result = runner.invoke(app, ["serve", "--token-file", str(empty)])
    assert result.exit_code == 2 and "is empty" in result.output
    for token in ("two\nlines", "tökén", "with space"):
        empty.write_text(token)
        result = runner.invoke(app, ["serve", "--token-file", str(empty)])
        assert result.exit_code == 2 and "one line of letters" in result.output
    for size in ("lots", "inf", "0"):
        result = runner.invoke(app, ["serve", "--max-body", size])
        assert result.exit_code == 2 and "--max-body" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = runner.invoke(app, ["serve", "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 2 and "cannot serve on 127.0.0.1" in result.output


# --- in process: what a real model does not do on demand --------------------------------


def in_process(app, scenario):
    """Run ``scenario(client)`` against the app in this process, its start-up and shut-down included."""

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://storyfilter") as client:
                return await scenario(client)

    return asyncio.run(main())


def test_a_single_document_that_cannot_be_labelled_answers_422_with_its_error_record():
    text_only = dataclasses.replace(load_model(), html_classifier=None)

    async def scenario(client):
        single = await client.post("/label", json={"id": "p", "html": "<p>a page</p>", "site": "x"})
        batch = await client.post("/label", json=[{"id": "p", "html": "<p>a</p>"}, {"id": "q", "text": "a line"}])
        return single, batch

    single, batch = in_process(create_app(ServeOptions(), model=text_only), scenario)
    assert single.status_code == 422
    assert single.json()["id"] == "p" and single.json()["error"]["type"] == "ModelError"
    assert single.json()["site"] == "x"
    assert batch.status_code == 200
    assert ["error" in r for r in batch.json()] == [True, False]


class BrokenModel:
    """Fails on every chunk, as a bug of ours would."""

    model_id = "broken@1"
    card: ClassVar[dict] = {}

    def label_chunk(self, chunk):
        raise RuntimeError("a bug with a long story\n  File secret.py, line 1")


def test_a_fault_of_ours_is_a_500_with_no_traceback_and_the_service_goes_on():
    async def scenario(client):
        return await client.post("/label", json={"text": "a page"}), await client.get("/health")

    response, health = in_process(create_app(ServeOptions(), model=BrokenModel()), scenario)
    assert response.status_code == 500
    assert response.json() == {
        "error": {"type": "InternalError", "message": "the service failed on this request; its log says why"}
    }
    assert health.status_code == 200


# --- the labeller ----------------------------------------------------------------------


def test_a_stopped_labeller_fails_its_requests_and_health_says_so():
    served = create_app(ServeOptions(), model=load_model())

    async def scenario(client):
        served.state.labeller._runner.cancel()  # as a fault of ours would end it
        await asyncio.sleep(0)
        return await client.get("/health"), await client.post("/label", json={"text": "a page"})

    health, label = in_process(served, scenario)
    assert health.status_code == 503 and health.json()["status"] == "failing"
    assert label.status_code == 500 and "Traceback" not in label.text


def asgi_call(app, headers: list[tuple[bytes, bytes]], chunks: list[bytes], stall: bool = False) -> list[dict]:
    """POST /label straight to the ASGI app: the body in ``chunks`` (then nothing more, with ``stall``); what it sent."""
    sent: list[dict] = []

    async def main():
        async with app.router.lifespan_context(app):
            pending = list(chunks)

            async def receive():
                if pending:
                    chunk = pending.pop(0)
                    return {"type": "http.request", "body": chunk, "more_body": stall or bool(pending)}
                await asyncio.sleep(3600)  # the rest never comes

            async def send(message):
                sent.append(message)

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/label",
                "raw_path": b"/label",
                "root_path": "",
                "query_string": b"",
                "headers": [(b"content-type", b"application/json"), *headers],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80),
                "state": {},
            }
            await asyncio.wait_for(app(scope, receive, send), 10)

    asyncio.run(main())
    return sent


def test_a_body_that_does_not_arrive_in_time_is_refused_with_408_and_the_connection_closed():
    sent = asgi_call(
        create_app(ServeOptions(body_timeout=0.2), model=load_model()),
        [(b"content-length", b"100")],
        [b'{"text": "a'],
        stall=True,
    )
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["type"] == "Timeout"


@pytest.mark.parametrize("length, status", [("\u00b2".encode(), 400), (b"9" * 5000, 413), (b"-1", 400)])
def test_a_content_length_that_is_not_a_plain_number_is_refused(length, status):
    # uvicorn refuses these itself; another ASGI server may pass them on.
    sent = asgi_call(create_app(ServeOptions(), model=load_model()), [(b"content-length", length)], [b'{"text": "a"}'])
    assert sent[0]["status"] == status


def test_a_large_request_whose_client_goes_away_is_not_labelled_to_the_end(tmp_path):
    documents = [{"id": f"d{n}", "text": page["text"]} for n, page in enumerate(corpus_pages(200) * 15)]
    with running_server(tmp_path, "--workers", "1", "--max-documents", "5000") as (url, _, log):
        with httpx.stream("POST", f"{url}/label", json=documents, timeout=30) as response:
            assert response.status_code == 200
            assert next(response.iter_bytes()).startswith(b"[")  # the answer comes a batch at a time
        # The answer was not read to its end: leaving closed the connection, as a client that goes away does.
        gone = time.monotonic()
        while sum(httpx.get(f"{url}/health").json()[key] for key in ("waiting", "held")) > 0:
            assert time.monotonic() - gone < 10, "the documents of a client that left are still being labelled"
            time.sleep(0.1)
        dropped_after = time.monotonic() - gone
        assert httpx.post(f"{url}/label", json={"text": "one line"}).status_code == 200
    # Labelling the 3,000 pages takes several seconds; the rest was dropped soon after the client left.
    assert dropped_after < 3
    assert "Traceback" not in log.read_text()
    assert "the client went away: the answer to POST /label was cut short" in log.read_text()


def test_a_token_file_may_have_a_bom_and_a_line_end(tmp_path):
    from classifier.service.options import read_token

    path = tmp_path / "token"
    path.write_bytes(b"\xef\xbb\xbf" + TOKEN.encode() + b"\r\n")
    assert read_token(str(path)) == TOKEN


def test_options_travel_to_the_workers_in_the_environment(monkeypatch):
    options = ServeOptions(model="m.model", token_file="t", max_body=1024, batch_size=8, gather=0.0, body_timeout=5.0)
    monkeypatch.setenv("STORYFILTER_SERVE_OPTIONS", options.to_environment())
    assert ServeOptions.from_environment() == options
    assert TOKEN not in os.environ["STORYFILTER_SERVE_OPTIONS"]


def test_the_docs_page_loads_nothing_from_the_internet():
    async def scenario(client):
        page = await client.get("/docs")
        script = await client.get("/docs-assets/swagger-ui-bundle.js")
        style = await client.get("/docs-assets/swagger-ui.css")
        redoc = await client.get("/redoc")
        return page, script, style, redoc

    page, script, style, redoc = in_process(create_app(ServeOptions(), model=load_model()), scenario)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert not re.search(r"https?://", page.text)  # every script, style sheet and icon from this server
    assert script.status_code == 200 and len(script.content) > 100_000
    assert style.status_code == 200 and redoc.status_code == 404


def test_serve_leaves_its_model_out_of_the_garbage_collectors_full_passes(tiny_model):
    gc.unfreeze()

    async def scenario(client):
        return gc.get_freeze_count(), (await client.get("/health")).status_code

    try:
        frozen, status = in_process(create_app(ServeOptions(), model=tiny_model, freeze=True), scenario)
        gc.unfreeze()
        embedded, _ = in_process(create_app(ServeOptions(), model=tiny_model), scenario)
    finally:
        gc.unfreeze()
    assert status == 200
    assert frozen > 10_000  # the model's objects and the modules', not a handful
    assert embedded == 0  # an app in a program of one's own leaves its heap alone


def test_a_worker_starts_only_with_the_model_and_token_serve_checked(tmp_path, tiny_model):
    from classifier.errors import InputError
    from classifier.service.options import token_digest

    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    served = ServeOptions(
        token_file=str(token), model_sha256=tiny_model.card.get("sha256"), token_digest=token_digest(TOKEN)
    )

    async def scenario(client):
        return (await client.get("/model", headers={"Authorization": f"Bearer {TOKEN}"})).status_code

    assert in_process(create_app(served, model=tiny_model), scenario) == 200
    token.write_text("a-rotated-token\n")  # as a worker restarted after a crash would read it
    with pytest.raises(InputError, match=r"the token file .* changed since serve started"):
        in_process(create_app(served, model=tiny_model), scenario)
    token.write_text(TOKEN + "\n")
    other = dataclasses.replace(served, model_sha256="0" * 64)  # another model file at the same path
    with pytest.raises(InputError, match=r"the model file .* changed since serve started"):
        in_process(create_app(other, model=tiny_model), scenario)


def test_a_gzipped_body_of_several_members_is_read_whole_and_trailing_bytes_are_named():
    import gzip
    import random

    from classifier.service.bodies import gunzip
    from classifier.service.errors import RequestError

    two = gzip.compress(b'[{"id": "a", "text": "one"}, ') + gzip.compress(b'{"id": "b", "text": "two"}]')
    assert json.loads(gunzip(two, 1000)) == [{"id": "a", "text": "one"}, {"id": "b", "text": "two"}]
    with pytest.raises(RequestError, match=r"followed by 1 byte\(s\) that are not gzip"):
        gunzip(gzip.compress(b"[]") + b"\n", 1000)
    with pytest.raises(RequestError, match="inflates to over the limit of 6,000 bytes"):  # over all members
        gunzip(gzip.compress(b"x" * 4000) + gzip.compress(b"y" * 4000), 6000)
    empty = gzip.compress(b"", mtime=0)  # members that inflate to nothing never reach the limit: counted instead
    assert gunzip(empty * 10_000, 1000) == b""
    with pytest.raises(RequestError, match="over 10,000 gzip members"):
        gunzip(empty * 10_001, 1000)
    large = random.Random(1).randbytes(300_000).hex().encode()  # members that cross the pieces zlib is handed
    assert gunzip(gzip.compress(large[:250_000]) + gzip.compress(large[250_000:]), 10**6) == large


def test_the_log_leaves_out_only_the_traceback_of_a_request_cut_when_the_time_to_stop_ran_out():
    import asyncio
    import logging

    from classifier.service.server import CutAtShutdown

    def record(error: BaseException) -> logging.LogRecord:
        return logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (), (type(error), error, None)
        )

    cut = CutAtShutdown()
    assert not cut.filter(record(asyncio.CancelledError("Task cancelled, timeout graceful shutdown exceeded")))
    assert cut.filter(record(asyncio.CancelledError()))  # any other cancellation, and any fault, is logged
    assert cut.filter(record(RuntimeError("graceful shutdown")))


def test_a_document_over_the_limits_is_named_by_its_place_and_its_id():
    from classifier import DocumentLimits
    from classifier.service.bodies import documents_of
    from classifier.service.errors import RequestError

    limits = DocumentLimits(max_segments=3)
    page = "one\ntwo\nthree\nfour"
    with pytest.raises(RequestError) as refused:
        documents_of([{"id": "a", "text": "one"}, {"id": "page-17", "text": page}], None, limits)
    assert refused.value.status == 413 and "record 1 (id 'page-17')" in refused.value.message
    for nameless in ({"text": page}, {"id": None, "text": page}):
        with pytest.raises(RequestError) as refused:
            documents_of([nameless], None, limits)
        assert "record 0:" in refused.value.message


def test_a_query_parameter_of_a_list_type_or_none_is_repeatable():
    from classifier.service.dependencies import _takes_many

    assert _takes_many(list[str]) and _takes_many(list[str] | None)
    assert not _takes_many(bool) and not _takes_many(float | None)
