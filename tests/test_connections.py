"""Hostile but legal requests and connections (issue 22): each probe bounded, on loopback, against a real server.

A document of 4,000,000 lines, a million tiny documents, headers sent a
byte at a time or never, a 1 MB header, a client that half-closes, more
connections than a worker takes, and SIGTERM with one worker and with two.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from classifier.service.connections import LINGER

from .test_serve import running_server

HEADER_TIMEOUT = 2  # seconds, set low so that the probes of held connections end quickly


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two workers, the shipped model, default limits but a short header timeout."""
    tmp = tmp_path_factory.mktemp("connections")
    with running_server(tmp, "--workers", "2", "--header-timeout", str(HEADER_TIMEOUT)) as (url, process, log):
        yield url
        assert process.poll() is None, "the server died during the tests"
    assert "Traceback" not in log.read_text(), log.read_text()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def raw_exchange(url: str, request: bytes, half_close: bool = False, timeout: float = 20) -> bytes:
    """Send ``request`` bytes as they are and read the answer until the server closes the connection."""
    with socket.create_connection(address(url), timeout=timeout) as connection:
        connection.sendall(request)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        return read_to_close(connection)


def read_to_close(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or resets it)."""
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


def health_delays_while(url: str, work) -> list[float]:
    """Run ``work()`` while /health is asked every 0.2 s; how long each /health took."""
    delays: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            httpx.get(f"{url}/health", timeout=30)
            delays.append(time.monotonic() - started)
            time.sleep(0.2)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        work()
    finally:
        done.set()
        prober.join()
    return delays


def test_a_document_of_4m_lines_is_refused_quickly_while_health_answers(server):
    body = json.dumps({"id": "huge", "text": "a\n" * 4_000_000})
    answers = []

    def send() -> None:
        started = time.monotonic()
        response = httpx.post(f"{server}/label", content=body, headers={"Content-Type": "application/json"}, timeout=60)
        answers.append((response, time.monotonic() - started))

    delays = health_delays_while(server, send)
    ((response, seconds),) = answers
    assert response.status_code == 413 and seconds < 15
    error = response.json()["error"]
    assert error["type"] == "TooLarge" and "--max-segments" in error["message"] and "100,000" in error["message"]
    assert delays and max(delays) < 2
    assert httpx.post(f"{server}/label", json={"text": "one line"}).status_code == 200


def test_a_million_tiny_documents_are_refused_before_any_is_labelled(server):
    body = b"[" + b",".join([b'{"text":"a"}'] * 1_000_000) + b"]"  # 13 MB, under the body limit
    started = time.monotonic()
    response = httpx.post(f"{server}/label", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 413 and time.monotonic() - started < 20
    assert "--max-documents" in response.json()["error"]["message"]
    assert httpx.get(f"{server}/health").json()["waiting"] == 0


def test_connections_that_send_half_their_headers_or_nothing_are_cut_by_the_header_timeout(server):
    held = []
    for number in range(200):
        connection = socket.create_connection(address(server), timeout=40)
        if number % 2:  # half of them send the start of a request, then nothing more
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        held.append(connection)
    started = time.monotonic()
    answers = []
    for connection in held:
        answers.append(read_to_close(connection))
        connection.close()
    assert time.monotonic() - started < 40
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), {a[:40] for a in answers}
    assert status_and_json(answers[1])[1]["error"]["type"] == "Timeout"
    assert httpx.get(f"{server}/health").status_code == 200


def test_a_header_sent_a_byte_at_a_time_is_cut_within_the_header_timeout(server):
    with socket.create_connection(address(server), timeout=30) as connection:
        started = time.monotonic()
        try:
            for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                connection.sendall(bytes([byte]))
                time.sleep(0.1)
            pytest.fail("the connection was held open")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - started < HEADER_TIMEOUT + 5


@pytest.mark.parametrize(
    "request_bytes, status, words",
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n", 431, "65,536 bytes"),
        (b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(100_000)) + b"\r\n", 431, "headers"),
        (b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(101)) + b"\r\n", 431, "100 headers"),
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, "bytes"),
        (b"POST /label HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400, "not valid HTTP"),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "not valid HTTP"),
    ],
    ids=["1 MB header", "100,000 headers", "101 headers", "100 KB URL", "bad Content-Length", "not HTTP"],
)
def test_requests_the_http_layer_refuses_are_answered_in_json_and_closed(server, request_bytes, status, words):
    answer = raw_exchange(server, request_bytes)
    code, body = status_and_json(answer)
    assert code == status and words in body["error"]["message"]
    assert b"connection: close" in answer.lower()
    assert httpx.get(f"{server}/health").status_code == 200


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8_000_000 + b"\r\n\r\n", 431),
        (
            b"POST /label HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40000012\r\n\r\n"
            + b'{"text": "'
            + b"a" * 40_000_000
            + b'"}',
            413,
        ),
        # Refused while the read that starts the request is parsed, 8 MB still to come.
        (b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(101)) + b"a" * 8_000_000, 431),
        (b"NOT HTTP AT ALL\r\n\r\n" + b"a" * 8_000_000, 400),
    ],
    ids=["8 MB header", "40 MB body", "101 headers then 8 MB", "not HTTP then 8 MB"],
)
def test_a_client_still_sending_a_request_refused_gets_the_answer_not_a_reset(server, request_bytes, status):
    """Refused with megabytes of its request unread, a connection lingers (drops what comes) before closing:
    closed at once, the system resets it and the client sending gets the reset, not the answer."""
    for _ in range(3):
        assert status_and_json(raw_exchange(server, request_bytes))[0] == status


def test_a_refused_connection_lingers_at_most_a_few_seconds(server):
    """A client that goes on sending after its answer is cut off once the linger (2 s) ends."""
    with socket.create_connection(address(server), timeout=20) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000)
        assert status_and_json(read_to_close(connection))[0] == 431  # the answer, then the server's side shut
        started = time.monotonic()
        with pytest.raises(OSError):  # broken pipe or reset, once the server has closed
            while time.monotonic() - started < 30:
                connection.sendall(b"a" * 10_000)
                time.sleep(0.05)
        assert LINGER / 2 < time.monotonic() - started < LINGER + 3  # it lingered, and not for long


def test_refusals_of_the_http_layer_are_in_the_access_log(tmp_path):
    """A 431 or 408 answered before any request reaches the app is logged as uvicorn logs an answer."""
    with running_server(tmp_path, "--workers", "1", "--header-timeout", "1") as (url, _, log):
        raw_exchange(url, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        raw_exchange(url, b"GET /health HTTP/1.1\r\n")  # the rest of the headers never come: 408 after a second
        deadline = time.monotonic() + 20
        while log.read_text().count('"- - HTTP/1.1"') < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    lines = [line for line in log.read_text().splitlines() if '"- - HTTP/1.1"' in line]
    assert [line.split('"- - HTTP/1.1" ')[1][:3] for line in lines] == ["431", "408"], log.read_text()


def test_a_request_whose_client_leaves_mid_upload_is_in_the_access_log_as_499(tmp_path):
    with running_server(tmp_path, "--workers", "1") as (url, _, log):
        with socket.create_connection(address(url), timeout=20) as connection:
            connection.sendall(
                b"POST /label HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n" + b'[{"text": "' + b"a" * 1000
            )
            time.sleep(0.5)
        deadline = time.monotonic() + 20
        while '"POST /label HTTP/1.1" 499' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert '"POST /label HTTP/1.1" 499' in log.read_text(), log.read_text()
    assert "Traceback" not in log.read_text()
    # Each line of the server's log is led by its time.
    timed = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} INFO: +127\.0\.0\.1:\d+ - \"POST /label HTTP/1\.1\" 499 ?$"
    assert re.search(timed, log.read_text(), re.M), log.read_text()


def test_a_client_that_half_closes_after_its_request_gets_its_answer(server):
    body = json.dumps({"id": "half", "text": "A line of a story.\nAnother line."}).encode()
    request = (
        b"POST /label HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    code, record = status_and_json(raw_exchange(server, request, half_close=True))
    assert code == 200 and record["id"] == "half"


def test_a_client_that_pipelines_requests_and_half_closes_gets_every_answer(server):
    def request(number: int) -> bytes:
        body = json.dumps({"id": f"p{number}", "text": "A line of a story.\nAnother line."}).encode()
        return (
            b"POST /label?segments=false HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )

    answer = raw_exchange(server, b"".join(request(n) for n in range(3)), half_close=True)
    assert answer.count(b"HTTP/1.1 200 OK") == 3
    assert [b'"id": "p%d"' % n in answer for n in range(3)] == [True] * 3


def test_an_http_1_0_client_gets_its_answers_whole_with_their_length_not_in_chunks(server):
    assert status_and_json(raw_exchange(server, b"GET /health HTTP/1.0\r\n\r\n"))[0] == 200
    body = b'[{"id": "a", "text": "Hello world."}, {"id": "b", "text": "A second page."}]'
    post = b"POST /label HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    answer = raw_exchange(server, post + body)
    head, _, content = answer.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower() and b"content-length: %d" % len(content) in head.lower()
    assert [record["id"] for record in json.loads(content)] == ["a", "b"]


def test_more_connections_than_a_worker_takes_get_503_at_once(tmp_path):
    with running_server(tmp_path, "--workers", "1", "--max-connections", "5") as (url, _, _):
        held = [socket.create_connection(address(url), timeout=10) for _ in range(5)]
        try:
            code, body = status_and_json(raw_exchange(url, b"", timeout=10))
            assert code == 503 and body["error"]["type"] == "Unavailable"
            # One refused whose client keeps its socket, as a flood would: closed at once, it holds no room.
            kept = socket.create_connection(address(url), timeout=10)
            assert status_and_json(read_to_close(kept))[0] == 503
            refused = time.monotonic()
            with pytest.raises(OSError):  # closed, not lingering: a send soon meets the reset
                while time.monotonic() - refused < 10:
                    kept.sendall(b"a" * 10_000)
                    time.sleep(0.05)
            assert time.monotonic() - refused < LINGER / 2
            held.pop().close()  # a connection served ends: its room is free for the next one
            time.sleep(0.3)
            with socket.create_connection(address(url), timeout=10) as fresh:
                fresh.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert read_to_close(fresh).startswith(b"HTTP/1.1 200")
            kept.close()
        finally:
            for connection in held:
                connection.close()
        deadline = time.monotonic() + 10
        while True:  # the closed connections leave room again
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_answers_the_request_in_hand_refuses_new_ones_and_exits_0(tmp_path, workers):
    pages = [{"id": str(n), "text": "A line of a story.\nAnother line of it.\n" * 50} for n in range(400)]
    with running_server(tmp_path, "--workers", workers) as (url, process, log):
        answered = {}

        def in_hand() -> None:
            answered["status"] = httpx.post(f"{url}/label", json=pages, timeout=60).status_code

        sender = threading.Thread(target=in_hand)
        sender.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(1)  # the supervisor of two workers looks at its signals twice a second
        started = time.monotonic()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=10)
        assert time.monotonic() - started < 2  # refused, not left waiting
        sender.join()
        assert process.wait(30) == 0
    assert answered["status"] == 200
    assert "Traceback" not in log.read_text()


def test_a_body_still_arriving_when_the_server_stops_is_answered_503_not_500():
    import asyncio

    from classifier.service.bodies import read_body
    from classifier.service.errors import RequestError

    class Uploading:
        def __init__(self):
            self.headers = {"content-length": "100"}

        async def stream(self):
            yield b'{"id": "a",'
            await asyncio.Event().wait()  # the rest never comes

    async def scenario():
        reading = asyncio.create_task(read_body(Uploading(), limit=1000, timeout=60))
        await asyncio.sleep(0.05)
        reading.cancel()  # what the server does to its requests when its grace period is over
        with pytest.raises(RequestError) as refused:
            await reading
        return refused.value

    refused = asyncio.run(scenario())
    assert refused.status == 503 and "stopped before the body arrived" in refused.message
