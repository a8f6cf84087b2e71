"""Benchmark: labelling a crawl as a WARC against the same pages as JSONL.

The pages of a web-page corpus (``pages.jsonl`` and ``html/ID.html.gz``)
are written, in a temporary folder, as one gzipped WARC (a request and an
HTML response record for each page, made with warcio as a crawler would)
and as one gzipped JSONL file (``{"id", "html"}``, the HTML decoded as an
HTML file is). Each is then labelled with the CLI's own run
(:func:`classifier.run.batch.run_label`, one process, one thread, records
written to /dev/null), and the median pages per second of ``--repeats``
runs is printed for each, with their ratio. Reading the WARC includes
reading past the request records, decompressing and decoding each page;
reading the JSONL includes parsing each line.

    python bench/warc.py --data ../shared/datasets/web-pages-2026 --pages 300
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from classifier import load_model
from classifier.inputs.decoding import decode_html
from classifier.run.batch import RunOptions, run_label


def corpus_pages(data: Path, count: int) -> list[tuple[str, bytes]]:
    """The first ``count`` pages of the corpus: a URI for each and its HTML's bytes."""
    pages = []
    with open(data / "pages.jsonl", encoding="utf-8") as handle:
        for line in handle:
            page = json.loads(line)
            url = page.get("url") or ""
            uri = url if url.startswith(("http://", "https://")) else f"https://example.invalid/{page['id']}"
            pages.append((uri, gzip.decompress((data / "html" / f"{page['id']}.html.gz").read_bytes())))
            if len(pages) == count:
                break
    return pages


def write_warc(path: Path, pages: list[tuple[str, bytes]]) -> None:
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for uri, body in pages:
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.invalid")], is_http_request=True)
            writer.write_record(
                writer.create_warc_record(uri, "request", payload=io.BytesIO(b""), http_headers=request)
            )
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers)
            )


def write_jsonl(path: Path, pages: list[tuple[str, bytes]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for uri, body in pages:
            out.write(json.dumps({"id": uri, "html": decode_html(body)}, ensure_ascii=False) + "\n")


def pages_per_second(model, path: Path) -> float:
    with open(os.devnull, "w", encoding="utf-8") as sink:
        started = time.perf_counter()
        summary = run_label(model, RunOptions(inputs=[str(path)], workers=1, segments=True), sink)
        seconds = time.perf_counter() - started
    return summary.documents / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a web-page corpus (pages.jsonl, html/)")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = load_model(args.model)
    pages = corpus_pages(args.data, args.pages)
    with tempfile.TemporaryDirectory() as folder:
        warc, jsonl = Path(folder) / "crawl.warc.gz", Path(folder) / "pages.jsonl.gz"
        write_warc(warc, pages)
        write_jsonl(jsonl, pages)
        pages_per_second(model, jsonl)  # warm up: caches, the language identifier
        timings: dict[str, list[float]] = {"warc": [], "jsonl": []}
        for _ in range(args.repeats):  # interleaved, so that a busier moment hits both
            timings["warc"].append(pages_per_second(model, warc))
            timings["jsonl"].append(pages_per_second(model, jsonl))
    warc_rate, jsonl_rate = statistics.median(timings["warc"]), statistics.median(timings["jsonl"])
    print(f"{len(pages)} pages, median of {args.repeats} runs, one process, one thread")
    print(f"WARC (.warc.gz)   {warc_rate:7.1f} pages/s  (runs: {', '.join(f'{r:.1f}' for r in timings['warc'])})")
    print(f"JSONL (.jsonl.gz) {jsonl_rate:7.1f} pages/s  (runs: {', '.join(f'{r:.1f}' for r in timings['jsonl'])})")
    print(f"WARC / JSONL      {warc_rate / jsonl_rate:7.3f}")


if __name__ == "__main__":
    main()
