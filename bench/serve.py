"""Benchmark: `storyfilter serve` under concurrent clients, against `storyfilter label` on the same pages.

The pages are every page of a web-page corpus rendered to text as scrapers
do (as in ``bench/scale.py``). The script starts ``storyfilter serve
--workers N`` with the shipped model on a free loopback port, then
``--clients`` threads (each with its own keep-alive connection) send the
pages for ``--seconds``, each request one page (``--batch 1``, a crawler
asking about the page it has) or an array of ``--batch`` pages. A probe
asks ``GET /health`` every half second meanwhile. It prints requests/s,
pages/s, latency percentiles, errors (any answer but 200 with the page's
record, or no answer) and the probe's latencies, then labels the same pages
(repeated to ``--cli-size`` documents) with ``storyfilter label --workers
N`` and prints the ratio of the service's pages/s to the CLI's.

The clients run on the same machine as the server: on a small machine
they take CPU the server would otherwise have (their share is printed).

    python bench/serve.py --data ../shared/datasets/web-pages-2026
    python bench/serve.py --data ../shared/datasets/web-pages-2026 --batch 16

Needs Linux (/proc) and ``pip install 'storyfilter[serve]'``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import Peaks, run_once, watch, write_input


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, workers: int, log: Path, access_log: bool) -> subprocess.Popen:
    command = [sys.executable, "-m", "classifier", "serve", "--port", str(port), "--workers", str(workers)]
    if not access_log:
        command.append("--no-access-log")
    with open(log, "wb") as errors:  # the server keeps its own copy of the file
        process = subprocess.Popen(command, stderr=errors, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped ({process.returncode}); see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                time.sleep(2)  # the other workers start as the first does; the warm-up does the rest
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    pages: int = 0
    errors: list[str] = field(default_factory=list)


def client(port: int, bodies: list[tuple[bytes, bytes, int]], start: int, stop_at: float, tally: Tally) -> None:
    """Send bodies in turn until ``stop_at``; check each answer is a 200 holding the first page's record."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    i = start
    while time.perf_counter() < stop_at:
        body, first_id, pages = bodies[i % len(bodies)]
        i += 1
        sent = time.perf_counter()
        try:
            connection.request("POST", "/label", body, headers)
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as error:
            tally.errors.append(f"{type(error).__name__}: {error}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        took = time.perf_counter() - sent
        # A cheap check of every answer (its first record's id); a full parse of one in fifty.
        if response.status != 200 or first_id not in answer[:200]:
            tally.errors.append(f"{response.status}: {answer[:200]!r}")
            continue
        if i % 50 == 0:
            records = json.loads(answer)
            records = records if isinstance(records, list) else [records]
            if len(records) != pages or any("story" not in r for r in records):
                tally.errors.append(f"wrong records: {answer[:200]!r}")
                continue
        tally.latencies.append(took)
        tally.pages += pages


def probe(port: int, stop_at: float, tally: Tally) -> None:
    while time.perf_counter() < stop_at:
        sent = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                tally.errors.append(str(response.status))
            else:
                tally.latencies.append(time.perf_counter() - sent)
        except (OSError, http.client.HTTPException) as error:
            tally.errors.append(f"{type(error).__name__}: {error}")
        time.sleep(0.5)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def model_alone(source: Path, sizes=(1, 4, 16, 64), count: int = 384) -> None:
    """ms a page the shipped model takes, on one thread, for pages labelled in batches of each size."""
    from threadpoolctl import threadpool_limits

    from classifier import load_model
    from classifier.records import Document

    model = load_model()
    with open(source, encoding="utf-8") as handle:
        pages = [Document(id=r["id"], text=r["text"]) for r in map(json.loads, handle)][:count]
    with threadpool_limits(1):
        model.label_chunk(pages[:64])  # first calls warm up
        line = []
        for size in sizes:
            started = time.perf_counter()
            for i in range(0, len(pages), size):
                model.label_chunk(pages[i : i + size])
            line.append(f"batches of {size}: {1000 * (time.perf_counter() - started) / len(pages):.1f}")
    print(f"model alone, one thread, ms a page: {'; '.join(line)}")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/web-pages-2026"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warm-up", type=float, default=3.0, help="Seconds of load before the clock starts.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1, help="Pages per request (1: a single document object).")
    parser.add_argument("--cli-size", type=int, default=10_000, help="Documents the CLI labels (the pages repeated).")
    parser.add_argument("--no-access-log", action="store_true", help="Start the server with --no-access-log.")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument(
        "--model-alone", action="store_true", help="First time the model alone on batches of 1, 4, 16 and 64 pages."
    )
    parser.add_argument(
        "--model-only", action="store_true", help="Time the model alone (as --model-alone) and stop: no server, no CLI."
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="storyfilter-serve-"))
    source = workdir / "pages.jsonl"
    write_pages(args.data, source)
    documents = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    pages_count = len(documents)
    bodies = []
    for start in range(0, len(documents), args.batch):
        group = documents[start : start + args.batch]
        payload = group[0] if args.batch == 1 else group
        bodies.append(
            (json.dumps(payload, ensure_ascii=False).encode("utf-8"), f'"id": "{group[0]["id"]}"'.encode(), len(group))
        )
    sizes = sorted(len(b) for b, _, _ in bodies)
    print(
        f"{os.cpu_count()} cores; {pages_count} pages; {len(bodies)} bodies of {args.batch} page(s), median {sizes[len(sizes) // 2] / 1024:.0f} KB"
    )

    if args.model_alone or args.model_only:
        model_alone(source)
    if args.model_only:
        return
    port = free_port()
    log = workdir / "server.log"
    server = start_server(port, args.workers, log, access_log=not args.no_access_log)
    peaks, watching = Peaks(), threading.Event()
    watcher = threading.Thread(target=watch, args=(server.pid, [], peaks, watching), daemon=True)
    watcher.start()
    try:
        warm_until = time.perf_counter() + args.warm_up
        warm = [Tally() for _ in range(args.clients)]
        threads = [
            threading.Thread(target=client, args=(port, bodies, i * 97, warm_until, t)) for i, t in enumerate(warm)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        stop_at = started + args.seconds
        tallies = [Tally() for _ in range(args.clients)]
        health = Tally()
        threads = [
            threading.Thread(target=client, args=(port, bodies, i * 97 + 13, stop_at, t)) for i, t in enumerate(tallies)
        ]
        threads.append(threading.Thread(target=probe, args=(port, stop_at, health)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        client_cpu = cpu_seconds() - cpu_before
    finally:
        server.terminate()
        server.wait(60)
        watching.set()
    latencies = [x for t in tallies for x in t.latencies]
    errors = [e for t in tallies for e in t.errors]
    pages = sum(t.pages for t in tallies)
    requests = len(latencies)
    served = pages / elapsed
    worker_mb = sorted((mb for pid, mb in peaks.by_pid.items() if pid != server.pid), reverse=True)
    print(f"serve --workers {args.workers}: {args.clients} clients for {elapsed:.1f} s")
    print(f"  requests      {requests} ok, {requests / elapsed:.1f}/s; errors {len(errors)}")
    print(f"  pages/s       {served:.1f}")
    print(
        f"  latency ms    p50 {1000 * percentile(latencies, 0.5):.0f}  p90 {1000 * percentile(latencies, 0.9):.0f}  "
        f"p99 {1000 * percentile(latencies, 0.99):.0f}  max {1000 * max(latencies, default=float('nan')):.0f}"
    )
    print(
        f"  /health       {len(health.latencies)} answered, {len(health.errors)} failed; "
        f"p50 {1000 * percentile(health.latencies, 0.5):.0f} ms, max {1000 * max(health.latencies, default=float('nan')):.0f} ms"
    )
    print(f"  clients' CPU  {client_cpu / elapsed:.2f} cores (of {os.cpu_count()})")
    print("  peak memory   " + ", ".join(f"{mb:.0f} MB" for mb in worker_mb) + " (server processes)")
    for error in errors[:5]:
        print(f"  error: {error}")
    if not args.skip_cli:
        cli_source = workdir / "cli.jsonl"
        write_input(args.data, args.cli_size, cli_source)
        run = run_once(f"{args.workers} workers", cli_source, args.cli_size, workdir / "out.jsonl", None, [])
        print(
            f"label --workers {args.workers}: {args.cli_size} documents in {run.seconds:.1f} s: {run.pages_per_second:.1f} pages/s"
        )
        print(f"serve / label pages/s: {served / run.pages_per_second:.2f}")
    print(f"(server log: {log})")


def write_pages(data: Path, path: Path) -> None:
    """The corpus's pages, once each, as a JSONL file of ``{"id", "text"}``."""
    from classifier.cache import cache_folder
    from classifier.corpus.webpages import read_web_pages

    count = sum(1 for _ in read_web_pages(data, renderers=["html-text"], cache=cache_folder()))
    write_input(data, count, path)


if __name__ == "__main__":
    main()
