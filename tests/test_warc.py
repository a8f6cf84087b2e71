"""WARC input: the HTML responses of a crawl labelled as the same pages given as HTML files."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from classifier.cli.app import app
from classifier.inputs.discovery import count_documents, iter_documents
from classifier.inputs.warc import SkippedRecords, count_pages, read_warc
from classifier.records import Document, FailedDocument

from .conftest import EXAMPLES, ROOT, html_page, tiny_documents

runner = CliRunner()
DATE = "2026-03-01T12:00:00Z"
RUSSIAN_URI = "https://example.org/ru/mali"


def russian_page() -> str:
    """A page of our own corpus in Russian, as HTML (declared UTF-8 in its <meta>)."""
    with open(ROOT / "training" / "corpus" / "multilingual-test.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("language") == "ru" and "html" in record:
                return record["html"]
    raise AssertionError("no Russian HTML page in the corpus")


def pages() -> dict[str, str]:
    """The crawl's HTML pages by URI: our corpus pages laid out as HTML, harbour.html, a Russian page."""
    found = {f"https://example.org/news/{n}": html_page(d) for n, d in enumerate(tiny_documents()[:4])}
    found["https://example.org/harbour"] = (EXAMPLES / "harbour.html").read_text(encoding="utf-8")
    found[RUSSIAN_URI] = russian_page()
    return found


def response(writer: WARCWriter, uri: str, body: bytes, content_type: str, status: str = "200 OK"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    return writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": DATE}
    )


def write_crawl(path: Path, gz: bool) -> Path:
    """A WARC as a crawler writes it: warcinfo, requests, HTML responses, an image, a revisit, metadata.

    The Russian page is sent in windows-1251 with its charset only in the
    HTTP header (its <meta> declaration removed).
    """
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gz)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "storyfilter tests"}))
        for uri, html in pages().items():
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
            writer.write_record(
                writer.create_warc_record(uri, "request", payload=io.BytesIO(b""), http_headers=request)
            )
            if uri == RUSSIAN_URI:
                body = html.replace('<meta charset="utf-8">', "").encode("windows-1251")
                writer.write_record(response(writer, uri, body, "text/html; charset=windows-1251"))
            else:
                writer.write_record(response(writer, uri, html.encode("utf-8"), "text/html; charset=utf-8"))
        writer.write_record(response(writer, "https://example.org/logo.png", b"\x89PNG\r\n\x1a\n" * 8, "image/png"))
        writer.write_record(
            writer.create_revisit_record(
                "https://example.org/harbour", "sha1:AAAA", "https://example.org/harbour", DATE
            )
        )
        writer.write_record(
            writer.create_warc_record(
                "https://example.org/harbour",
                "metadata",
                payload=io.BytesIO(b"outlinks: https://example.org/\r\n"),
                warc_content_type="application/warc-fields",
            )
        )
    return path


def html_files(directory: Path) -> Path:
    """The same pages as HTML files (UTF-8), one per URI, in the crawl's order."""
    directory.mkdir()
    for number, html in enumerate(pages().values()):
        (directory / f"{number:02d}.html").write_text(html, encoding="utf-8")
    return directory


def label(*args: str):
    return runner.invoke(app, ["label", *args])


def records(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize("suffix", [".warc", ".warc.gz"])
def test_a_crawl_gives_the_stories_of_the_same_pages_as_html_files(suffix, tmp_path, tiny_model_path):
    crawl = write_crawl(tmp_path / f"crawl{suffix}", gz=suffix.endswith(".gz"))
    result = label(str(crawl), "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    from_warc = records(result.stdout_bytes)
    from_files = records(label(str(html_files(tmp_path / "files")), "--model", str(tiny_model_path)).stdout_bytes)
    assert [r["id"] for r in from_warc] == list(pages())
    assert [r["url"] for r in from_warc] == list(pages()) and {r["date"] for r in from_warc} == {DATE}
    for warc_record, file_record in zip(from_warc, from_files, strict=True):
        for field in ("title", "text", "segments", "story", "topics", "tags", "language"):
            assert warc_record[field] == file_record[field], (warc_record["id"], field)
    assert any(r["story"] for r in from_warc)
    russian = from_warc[-1]
    assert "Мали" in russian["title"] and "Мали" in russian["text"]
    assert "6 request, 1 metadata, 1 not HTML, 1 revisit, 1 warcinfo" in result.stderr
    assert "10 WARC records skipped" in result.stderr


def test_charset_of_the_http_header_goes_first(tmp_path):
    crawl = write_crawl(tmp_path / "crawl.warc", gz=False)
    with open(crawl, "rb") as handle:
        [russian] = [d for d in read_warc(handle, "crawl.warc") if d.id == RUSSIAN_URI]
    assert russian.html == russian_page().replace('<meta charset="utf-8">', "")


def test_a_uri_that_repeats_takes_its_record_id(tmp_path):
    path = tmp_path / "twice.warc"
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=False)
        for _ in range(2):
            writer.write_record(response(writer, "https://example.org/a", b"<p>A page.</p>", "application/xhtml+xml"))
    with open(path, "rb") as handle:
        first, second = read_warc(handle, str(path))
    assert first.id == "https://example.org/a"
    assert second.id.startswith("https://example.org/a urn:uuid:") and second.extra["url"] == "https://example.org/a"


def test_responses_that_are_not_pages_are_skipped_and_counted(tmp_path):
    path = tmp_path / "mixed.warc"
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=False)
        writer.write_record(response(writer, "https://example.org/moved", b"<p>Moved</p>", "text/html", "301 Moved"))
        writer.write_record(response(writer, "https://example.org/data", b"{}", "application/json"))
        writer.write_record(response(writer, "https://example.org/page", b"<p>A page</p>", "TEXT/HTML"))
    skipped = SkippedRecords()
    with open(path, "rb") as handle:
        [page] = read_warc(handle, str(path), skipped)
    assert page.id == "https://example.org/page" and isinstance(page, Document)
    assert skipped == {"not 2xx": 1, "not HTML": 1}
    assert skipped.describe() == "2 WARC records skipped (1 not 2xx, 1 not HTML)"


@pytest.mark.parametrize("gz", [False, True])
def test_a_cut_warc_keeps_the_pages_before_the_cut_then_one_error_record(gz, tmp_path):
    whole = write_crawl(tmp_path / ("whole.warc.gz" if gz else "whole.warc"), gz=gz).read_bytes()
    with open(tmp_path / "whole.warc", "rb") if not gz else gzip.open(tmp_path / "whole.warc.gz") as handle:
        complete = [d.id for d in read_warc(handle, "whole")]
    cut = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    documents = list(iter_documents([str(cut)]))
    *kept, last = documents
    assert kept and all(isinstance(d, Document) for d in kept)
    assert [d.id for d in kept] == complete[: len(kept)] and len(kept) < len(complete)
    assert isinstance(last, FailedDocument) and last.error_type == "InputError"
    assert last.id == f"{cut}:{last.extra['record']}" and "cannot read WARC record" in last.message


@pytest.mark.parametrize("gz", [False, True])
def test_the_progress_total_of_a_cut_warc_is_its_records_wherever_the_cut(gz, tmp_path):
    whole = write_crawl(tmp_path / "whole.warc", gz=gz).read_bytes()
    for cut in range(0, len(whole) + 1, max(1, len(whole) // 400)):  # in headers, in bodies, between records
        given = list(read_warc(io.BytesIO(whole[:cut]), "cut"))
        assert count_pages(io.BytesIO(whole[:cut])) == len(given), cut


def test_a_corrupt_gzip_member_ends_in_an_error_record(tmp_path):
    data = bytearray(write_crawl(tmp_path / "crawl.warc.gz", gz=True).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(bytes(data))
    *kept, last = iter_documents([str(path)])
    assert kept and all(isinstance(d, Document) for d in kept)
    assert isinstance(last, FailedDocument) and "cannot read WARC record" in last.message


def test_an_empty_gzipped_warc_is_an_error_record_and_counted(tmp_path):
    """A crawler stopped before its first record leaves a .warc.gz of no byte: it went by unseen."""
    (tmp_path / "stopped.warc.gz").write_bytes(b"")
    (tmp_path / "none.warc").write_bytes(b"")
    [failed] = iter_documents([str(tmp_path)])
    assert isinstance(failed, FailedDocument) and failed.id == "stopped"
    assert "not a valid gzip file (it is empty: cut short?)" in failed.message
    assert count_documents([str(tmp_path)]) == 1


@pytest.mark.parametrize("notes", ["just some notes\n", "hello world, not a warc\n", "\nMy notes on the harbour.\n"])
def test_a_file_that_is_not_a_warc_is_one_error_record(tmp_path, notes):
    # warcio reads the second as the header of an ARC record, the third as a WARC record without headers.
    path = tmp_path / "notes.warc"
    path.write_text(notes, encoding="utf-8")
    [failed] = iter_documents([str(path)])
    assert isinstance(failed, FailedDocument) and failed.id == f"{path}:1"
    assert count_documents([str(path)]) == 1


def test_workers_resume_and_progress_work_on_a_crawl(tmp_path, tiny_model_path):
    crawl = write_crawl(tmp_path / "crawl.warc.gz", gz=True)
    assert count_documents([str(crawl)]) == len(pages())
    common = ("--model", str(tiny_model_path), "--chunk-size", "2")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert label(str(crawl), "-o", str(one), *common, "--workers", "1").exit_code == 0
    assert label(str(crawl), "-o", str(two), *common, "--workers", "2").exit_code == 0
    assert one.read_bytes() == two.read_bytes()
    lines = one.read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:3]) + lines[3][:50])
    result = label(str(crawl), "-o", str(cut), *common, "--resume")
    assert result.exit_code == 0 and "3 already done" in result.stderr
    assert cut.read_bytes() == one.read_bytes()


def test_a_crawl_on_dask_writes_the_same_file(tmp_path, tiny_model_path):
    distributed = pytest.importorskip("distributed")
    crawl = write_crawl(tmp_path / "crawl.warc", gz=False)
    common = ("--model", str(tiny_model_path), "--chunk-size", "2")
    local = tmp_path / "local.jsonl"
    assert label(str(crawl), "-o", str(local), *common, "--workers", "1").exit_code == 0
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        on_dask = tmp_path / "dask.jsonl"
        result = label(str(crawl), "-o", str(on_dask), *common, "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 0 and on_dask.read_bytes() == local.read_bytes()


def test_a_crawl_on_standard_input_with_format_warc(tmp_path, tiny_model_path):
    crawl = write_crawl(tmp_path / "crawl.warc.gz", gz=True)
    result = runner.invoke(
        app, ["label", "-", "--format", "warc", "--model", str(tiny_model_path)], input=crawl.read_bytes()
    )
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in records(result.stdout_bytes)] == list(pages())


@pytest.mark.parametrize("gz", [False, True])
def test_a_page_too_large_for_the_character_limit_gets_its_error_record_and_the_next_is_read(gz, tmp_path):
    from classifier.inputs.readers import read_path

    path = tmp_path / ("big.warc.gz" if gz else "big.warc")
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gz)
        writer.write_record(response(writer, "https://example.org/big", b"<p>" + b"x" * 5_000 + b"</p>", "text/html"))
        writer.write_record(response(writer, "https://example.org/small", b"<p>A page.</p>", "text/html"))
    big, small = read_path(path, max_chars=1_000)  # 4,000 bytes at most
    assert big.id == "https://example.org/big" and big.error_type == "TooLargeError"
    assert "--max-chars" in big.message and big.extra["url"] == "https://example.org/big"
    assert small.id == "https://example.org/small" and "A page." in small.html
    assert [d.id for d in read_path(path)] == ["https://example.org/big", "https://example.org/small"]
    assert not hasattr(next(iter(read_path(path))), "error_type")  # no limit: read


def test_a_warc_cut_inside_a_records_headers_says_so_in_a_users_words(tmp_path):
    whole = write_crawl(tmp_path / "whole.warc", gz=False).read_bytes()
    second = whole.index(b"WARC/1.0", 10)
    messages = set()
    for end in range(second + 31, second + 110, 7):  # cut at many places inside the next record's headers
        (tmp_path / "cut.warc").write_bytes(whole[:end])
        *_, last = iter_documents([str(tmp_path / "cut.warc")])
        assert isinstance(last, FailedDocument) and "cannot read WARC record" in last.message
        messages.add(last.message)
    assert not any("AttributeError" in message or "NoneType" in message for message in messages), messages
    assert any("headers are cut short or damaged" in message for message in messages)


def test_a_warc_cut_anywhere_but_between_records_ends_in_an_error_record(tmp_path):
    """Every cut inside a record (its headers above all: one without its Content-Length passed for an empty record)."""
    whole = write_crawl(tmp_path / "whole.warc", gz=False).read_bytes()
    starts = [at for at in range(len(whole)) if whole.startswith(b"WARC/1.0\r\n", at)]
    second_headers = range(starts[1] + 1, whole.index(b"\r\n\r\n", starts[1]) + 2)
    silent = []
    for end in sorted({*second_headers, *range(1, len(whole), 37)}):
        if not whole[end : next((s for s in starts if s >= end), len(whole))].strip():
            continue  # between two whole records (or in the blank lines after one): nothing is lost
        *_, last = read_warc(io.BufferedReader(io.BytesIO(whole[:end])), "cut") or [None]
        if not isinstance(last, FailedDocument):
            silent.append(end)
    assert not silent, f"cuts that lost pages without an error record: {silent[:10]}"


PAGE = b"<html><head><title>T</title></head><body><p>The soldiers arrived in the town on Monday.</p></body></html>"


def coded_response(writer: WARCWriter, uri: str, body: bytes, headers: list[tuple[str, str]]):
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
    return writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http)


def chunked(body: bytes) -> bytes:
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


def test_http_codings_are_read_however_the_server_wrote_them(tmp_path):
    brotli = pytest.importorskip("brotli")
    path = tmp_path / "codings.warc"
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=False)
        for uri, body, headers in (
            ("br", brotli.compress(PAGE), [("Content-Encoding", "br")]),
            ("x-gzip", gzip.compress(PAGE), [("Content-Encoding", "x-gzip")]),
            ("gzip-chunked", chunked(gzip.compress(PAGE)), [("Transfer-Encoding", "gzip, chunked")]),
            ("Chunked", chunked(PAGE), [("Transfer-Encoding", "Chunked")]),
            ("zstd", b"\x28\xb5\x2f\xfd" + bytes(40), [("Content-Encoding", "zstd")]),
            ("plain", PAGE, []),
        ):
            writer.write_record(coded_response(writer, f"https://example.org/{uri}", body, headers))
    with open(path, "rb") as handle:
        read = {d.id.rsplit("/", 1)[1]: d for d in read_warc(handle, str(path))}
    assert [name for name, d in read.items() if isinstance(d, Document) and d.html == PAGE.decode()] == [
        "br",
        "x-gzip",
        "gzip-chunked",
        "Chunked",
        "plain",
    ]
    failed = read["zstd"]
    assert isinstance(failed, FailedDocument) and "Content-Encoding is zstd" in failed.message
    assert failed.extra["url"] == "https://example.org/zstd"


def raw_record(uri: bytes | None, block: bytes) -> bytes:
    """A WARC response record written byte by byte (warcio's writer always gives a target URI)."""
    head = b"WARC/1.0\r\nWARC-Type: response\r\n" + (b"WARC-Target-URI: " + uri + b"\r\n" if uri else b"")
    head += b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-%012d>\r\n" % len(block)
    head += b"WARC-Date: 2026-03-01T12:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(block) + block + b"\r\n\r\n"


def test_a_response_without_target_uri_or_http_is_skipped_and_the_rest_is_read(tmp_path):
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGE
    path = tmp_path / "odd.warc"
    path.write_bytes(
        raw_record(None, http)
        + raw_record(b"https://example.org/raw", PAGE)
        + raw_record(b"https://example.org/ok", http)
    )
    skipped = SkippedRecords()
    with open(path, "rb") as handle:
        [page] = read_warc(handle, str(path), skipped)
    assert page.id == "https://example.org/ok" and page.html == PAGE.decode()
    assert skipped == {"no target URI": 1, "not HTTP": 1}


@pytest.mark.parametrize("gz", [False, True])
def test_a_warc_that_opens_with_blank_lines_is_read_whole(gz, tmp_path):
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGE
    data = (
        b"\r\n\n\r\n"
        + raw_record(b"https://example.org/a", http)
        + b"\r\n"
        + raw_record(b"https://example.org/b", http)
    )
    path = tmp_path / ("blank.warc.gz" if gz else "blank.warc")
    path.write_bytes(gzip.compress(data) if gz else data)
    with open(path, "rb") as handle:
        read = list(read_warc(handle, str(path)))
    assert [d.id for d in read] == ["https://example.org/a", "https://example.org/b"]
    assert all(isinstance(d, Document) for d in read)
    with open(path, "rb") as handle:
        assert count_pages(handle) == 2


def test_warcio_s_own_warnings_stay_off_standard_error(tmp_path):
    # A target URI with a space: warcio replaces it with %20 and warns through logging, which Python's last-resort
    # handler printed on standard error (no logging set up, as in the command line) among the run's progress.
    import subprocess
    import sys

    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGE
    path = tmp_path / "spaced.warc"
    path.write_bytes(raw_record(b"https://example.org/a page", http))
    program = (
        "import sys\n"
        "from classifier.inputs.warc import read_warc\n"
        "with open(sys.argv[1], 'rb') as handle:\n"
        "    print([page.id for page in read_warc(handle, 'spaced.warc')])\n"
    )
    done = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['https://example.org/a%20page']"
    assert "Replacing spaces" not in done.stderr
