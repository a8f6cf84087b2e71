"""Limits on a document's size: refused cheaply, before it is cut into segments, with a message naming the option."""

from __future__ import annotations

import dataclasses
import io
import json
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner

from classifier import DocumentLimits, FailedDocument, LabeledDocument, TooLargeError
from classifier.cli.app import app
from classifier.errors import InputError
from classifier.limits import document_cost, segment_bound
from classifier.records import Document
from classifier.run.ordered import chunked
from classifier.segment.text import split_text

# A document of 4,000,000 one-character lines (8 MB): the probe of issue 22.
HUGE = "a\n" * 4_000_000


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one line",
        "a\nb\n\n\nc",
        "  \n\t\r\n x \r y\r\n",
        "\n" * 50,
        "a\u2028b\n\u3000\nc",
        "x\r\n" * 7,
        "a\x0cb\x85 c\u2029d\x0be",
        "p\x1cq\x1dr\x1es\u2028" * 5,
        "He paused\x85 then went on.\n",
    ],
)
def test_the_segments_counted_are_those_split_text_makes(text):
    count = len(split_text(text))
    DocumentLimits(max_segments=max(count, 1)).check_text(text)  # at the limit: accepted
    if count > 1:
        with pytest.raises(TooLargeError) as refused:
            DocumentLimits(max_segments=count - 1).check_text(text)
        assert refused.value.limit == "segments"


def test_a_4m_line_document_is_refused_without_making_its_segments():
    limits = DocumentLimits(max_segments=1_000)
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match="--max-segments"):
            limits.check_text(HUGE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # bytes: the page (8 MB) is scanned, never copied or cut up


def test_characters_over_the_limit_are_refused_by_the_length_alone():
    with pytest.raises(TooLargeError, match="--max-chars") as refused:
        DocumentLimits(max_chars=10).check_text("x" * 11)
    assert refused.value.limit == "characters"
    DocumentLimits(max_chars=10, max_segments=None).check_text("x" * 10)


def test_limits_must_be_positive_or_none():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="max_segments must be a positive whole number"):
            DocumentLimits(max_segments=bad)
    DocumentLimits(None, None).check_text(HUGE)
    taken = DocumentLimits(max_segments=np.int64(5))  # a count from numpy, as Model.threads takes one
    assert taken.max_segments == 5 and type(taken.max_segments) is int


def test_label_many_gives_a_page_over_the_limits_its_error_record_in_place(tiny_model, harbour_text):
    model = dataclasses.replace(tiny_model, limits=DocumentLimits(max_segments=1_000, max_chars=9_000_000))
    html = "<html><body>" + "<p>a</p>" * 2_000 + "</body></html>"
    items = [
        Document("huge", text=HUGE),
        Document("harbour", text=harbour_text),
        Document("blocks", html=html),
        Document("long", text="x" * 9_000_001),
    ]
    results = list(model.label_many(items))
    assert [r.id for r in results] == ["huge", "harbour", "blocks", "long"]
    assert isinstance(results[1], LabeledDocument)
    assert results[1] == tiny_model.label(harbour_text, id="harbour")  # the others change nothing
    for failed, option in zip(
        [results[0], results[2], results[3]], ["--max-segments", "--max-segments", "--max-chars"]
    ):
        assert isinstance(failed, FailedDocument) and failed.error_type == "TooLargeError"
        assert option in failed.message
    with pytest.raises(TooLargeError):
        model.label(HUGE)
    with pytest.raises(TooLargeError):
        model.label(html=html)


def test_chunks_of_long_pages_hold_about_one_page_at_the_limit():
    pages = [Document(str(n), text="line\n" * 400) for n in range(10)]
    sizes = [len(chunk) for chunk in chunked(pages, 64, 1_000, document_cost)]
    assert sizes == [2, 2, 2, 2, 2]  # 401 segments at most each
    assert [len(chunk) for chunk in chunked(pages, 4)] == [4, 4, 2]
    assert segment_bound(None, "<p>a</p><p>b") == 4 and segment_bound("a\r\nb", None) == 3


def test_the_cli_writes_an_error_record_for_a_page_over_the_limit_and_exits_1(tiny_model_path, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "huge.txt").write_text(HUGE, encoding="utf-8")
    (pages / "small.txt").write_text("A headline\n\nA paragraph of a story.\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app,
        ["label", str(pages), "-o", str(out), "--model", str(tiny_model_path), "--max-segments", "1000"],
    )
    assert result.exit_code == 1, result.output
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert rows["huge"]["error"]["type"] == "TooLargeError"
    assert "1,000" in rows["huge"]["error"]["message"] and "--max-segments" in rows["huge"]["error"]["message"]
    assert rows["small"]["segments"]
    assert "1 TooLargeError" in result.output


@pytest.mark.parametrize("name", ["big.txt", "big.html", "big.txt.gz"])
def test_a_file_that_cannot_be_within_the_character_limit_is_not_read_whole(name, tmp_path, monkeypatch):
    import gzip

    from classifier.inputs import readers

    content = b"x" * 1000 + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    reads = []
    real_read = gzip.GzipFile.read
    monkeypatch.setattr(gzip.GzipFile, "read", lambda self, size=-1: reads.append(size) or real_read(self, size))
    (refused,) = readers.read_path(path, max_chars=100)  # 1,001 bytes > 4 bytes x 100 characters
    assert isinstance(refused, FailedDocument) and refused.error_type == "TooLargeError"
    assert "--max-chars" in refused.message and "100" in refused.message
    assert all(0 < size <= 401 for size in reads)  # gzip's content read no further than the bound
    (within,) = readers.read_path(path, max_chars=300)  # 1,001 bytes might be 300 characters: read
    assert isinstance(within, Document)


def test_a_pipe_named_as_input_is_read_no_further_than_the_limit(tmp_path):
    # A pipe (or a device: /dev/zero) has no size to go by: it is read to the bound and refused there, as
    # standard input is, rather than read whole (an endless one would fill the memory).
    import os
    import threading

    from classifier.inputs import readers

    fifo = tmp_path / "stream.txt"
    os.mkfifo(fifo)
    written = []

    def feed():
        try:
            with open(fifo, "wb", buffering=0) as pipe:
                for _ in range(10_000):  # 10 MB unless the reader stops first
                    written.append(pipe.write(b"x" * 1000))
        except BrokenPipeError:
            pass

    feeder = threading.Thread(target=feed)
    feeder.start()
    (refused,) = readers.read_path(fifo, max_chars=100)
    feeder.join(timeout=30)
    assert isinstance(refused, FailedDocument) and refused.error_type == "TooLargeError"
    assert sum(written) < 1_000_000  # the reader stopped at 401 bytes; the writer, a pipe's buffer later


def test_a_large_character_limit_sets_nothing_aside_up_front(tmp_path):
    # read(4 x --max-chars) asked for that much memory before reading a byte: a MemoryError at 10**12.
    import gzip

    from classifier.inputs import readers

    path = tmp_path / "page.txt"
    path.write_text("A short page.\n", encoding="utf-8")
    (document,) = readers.read_path(path, max_chars=10**12)
    assert isinstance(document, Document) and document.text == "A short page.\n"
    packed = tmp_path / "page.txt.gz"  # gzip's reader too sets aside what it is asked for
    packed.write_bytes(gzip.compress(b"A short page.\n"))
    (document,) = readers.read_path(packed, max_chars=10**12)
    assert isinstance(document, Document) and document.text == "A short page.\n"


def test_the_cli_refuses_an_oversized_file_by_its_size(tiny_model_path, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "big.txt").write_bytes(b"word " * 400)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["label", str(pages), "-o", str(out), "--model", str(tiny_model_path), "--max-chars", "100"]
    )
    assert result.exit_code == 1
    (row,) = map(json.loads, out.read_text().splitlines())
    assert row["error"]["type"] == "TooLargeError" and "bytes" in row["error"]["message"]


class _CountingStream(io.BytesIO):
    """Standard input as the readers see it, noting the longest piece any read returned."""

    longest = 0

    def readline(self, size=-1):
        line = super().readline(size)
        self.longest = max(self.longest, len(line))
        return line


def test_a_jsonl_line_too_long_for_the_character_limit_is_read_past_without_being_held(tmp_path):
    import gzip

    from classifier.inputs import readers, stdin
    from classifier.inputs.formats import InputFormat

    long = json.dumps({"id": "long", "text": "x" * 300_000}).encode() + b"\n"
    short = json.dumps({"id": "short", "text": "A headline\n\nA story."}).encode() + b"\n"
    limit = readers.line_limit(100)  # 12 bytes a character, and room for the record's other fields
    assert len(long) > limit > len(short)
    # Standard input, the long line first (where the format is guessed from) and again later.
    stream = _CountingStream(long + short + b"\n" + long + short)
    results = list(stdin.read_stream(stream, "-", InputFormat.AUTO, max_chars=100))
    assert [(r.id, type(r).__name__) for r in results] == [
        ("standard input:1", "FailedDocument"),
        ("short", "Document"),
        ("standard input:4", "FailedDocument"),
        ("short", "Document"),
    ]
    assert all(r.error_type == "TooLargeError" and "--max-chars" in r.message for r in results[::2])
    assert results[0].extra == {"line": 1} and f"{len(long):,} bytes" in results[0].message
    assert stream.longest <= limit + 2  # never more than the limit (and a CRLF) in hand
    # A line of exactly the limit is read, with LF or CRLF.
    exact = b'{"id": "exact", "text": "' + b"x" * (limit - 27) + b'"}'
    assert len(exact) == limit
    for end in (b"\n", b"\r\n"):
        (document,) = stdin.read_stream(io.BytesIO(exact + end), "-", InputFormat.AUTO, max_chars=100)
        assert document.id == "exact"
    # A page piped in without --format, its first line too long to hold: one "not JSONL" record, as for a short one.
    page = b"<html><body>" + b"x" * (limit + 10) + b"</body>\n</html>\n"
    (refused,) = stdin.read_stream(io.BytesIO(page), "-", InputFormat.AUTO, max_chars=100)
    assert refused.error_type == "InputError" and "--format html" in refused.message
    # Files, plain and gzipped: the same records, and without a limit the line is read.
    for name, content in (
        ("pages.jsonl", short + long + short),
        ("pages.jsonl.gz", gzip.compress(short + long + short)),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        kinds = [type(r).__name__ for r in readers.read_path(path, max_chars=100)]
        assert kinds == ["Document", "FailedDocument", "Document"]
        assert [r.id for r in readers.read_path(path)] == ["short", "long", "short"]


def test_a_long_run_of_white_space_is_counted_in_one_pass():
    # Past the cheap bound the lines are counted by a regex: it must not rescan a blank run from every position.
    DocumentLimits(max_segments=1_000).check_text("\n" * 1_000 + " " * 20_000)


def test_standard_input_read_as_one_page_is_bounded_before_it_is_held():
    import io

    from classifier.inputs.formats import InputFormat
    from classifier.inputs.stdin import read_stream
    from classifier.records import Document, FailedDocument

    class Endless(io.RawIOBase):  # a pipe that never ends: reading it whole would never return
        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    for fmt in (InputFormat.TEXT, InputFormat.HTML):
        [failed] = read_stream(io.BufferedReader(Endless()), "-", fmt, max_chars=1000)
        assert isinstance(failed, FailedDocument) and failed.error_type == "TooLargeError"
        assert "standard input: more than 4,000 bytes" in failed.message
        [page] = read_stream(io.BytesIO(b"A short page."), "-", fmt, max_chars=1000)
        assert isinstance(page, Document)
