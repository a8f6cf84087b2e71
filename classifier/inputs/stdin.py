"""Standard input (``-``): JSONL unless ``--format`` says otherwise, gzipped or not."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from typing import IO

from ..errors import InputError
from ..limits import read_at_most
from ..records import Document, FailedDocument
from .decoding import READ_ERRORS, as_utf8_lines, decode_bytes, decode_html
from .formats import InputFormat
from .readers import (
    LongLine,
    bounded_lines,
    byte_limit,
    json_line,
    line_limit,
    read_json,
    read_jsonl,
    too_large,
)
from .warc import SkippedRecords, read_warc


def _ungzipped(stream: IO[bytes]) -> IO[bytes]:
    """``stream``, decompressed as it is read when its first bytes are gzip's (a ``.gz`` file piped in)."""
    peek = getattr(stream, "peek", None)
    if peek is not None and peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def _not_gzip(label: str, error: Exception) -> FailedDocument:
    return FailedDocument("stdin", "InputError", f"{label}: not a valid gzip stream ({error})")


def read_stream(
    stream: IO[bytes],
    name: str,
    fmt: InputFormat,
    skipped: SkippedRecords | None = None,
    max_chars: int | None = None,
) -> Iterator[Document | FailedDocument]:
    """The documents of standard input: JSONL unless ``fmt`` says otherwise; gzipped or not (by its first bytes).

    Read as JSONL without being asked (``fmt`` auto), input whose first line
    is not a JSON object gives one error record that names the options to
    use, rather than one per line. A JSONL line too long for ``max_chars``
    is read past, as in :func:`read_path`.
    """
    label = "standard input" if name == "-" else name
    if fmt is InputFormat.WARC:  # (warcio reads a gzipped WARC itself)
        yield from read_warc(stream, label, skipped, byte_limit(max_chars))
        return
    stream = _ungzipped(stream)
    if fmt is InputFormat.JSON:
        try:
            raw = stream.read()
        except READ_ERRORS as error:  # gzipped, and cut short or corrupt
            yield _not_gzip(label, error)
            return
        yield from read_json(raw, label, "stdin")
        return
    if fmt in (InputFormat.TEXT, InputFormat.HTML):
        most = byte_limit(max_chars)
        try:
            # As a file's size is, the bytes are bounded before they are held: a pipe may be endless.
            raw = stream.read() if most is None else read_at_most(stream, most + 1)
            if most is not None and len(raw) > most:
                yield FailedDocument("stdin", "TooLargeError", str(too_large(label, most)))
                return
            text = decode_html(raw) if fmt is InputFormat.HTML else decode_bytes(raw)
        except InputError as error:
            yield FailedDocument("stdin", "InputError", f"standard input: {error}")
            return
        except READ_ERRORS as error:  # gzipped, and cut short or corrupt
            yield _not_gzip(label, error)
            return
        yield Document(id="stdin", text=text) if fmt is InputFormat.TEXT else Document(id="stdin", html=text)
        return
    limit = line_limit(max_chars)
    lines: Iterator[bytes | LongLine] = bounded_lines(as_utf8_lines(stream), limit)
    if fmt is InputFormat.AUTO:
        try:
            head = _head_lines(lines)
        except READ_ERRORS as error:  # gzipped, and cut short or corrupt before a line
            yield _not_gzip(label, error)
            return
        if head and not _is_json_object(head[-1]):
            yield FailedDocument(
                "stdin",
                "InputError",
                f"{label} is not JSONL (its first line is not a JSON object): give --format text or "
                "--format html to read it as one page (--format warc for a WARC)",
            )
            return
        lines = itertools.chain(head, lines)
    yield from read_jsonl(lines, label, limit)


def _head_lines(lines: Iterator[bytes | LongLine]) -> list[bytes | LongLine]:
    """The lines up to the first non-blank one (none at all when there are only blank lines)."""
    head = []
    for line in lines:
        head.append(line)
        if isinstance(line, LongLine) or line.strip():
            return head
    return []


def _is_json_object(line: bytes | LongLine) -> bool:
    if isinstance(line, LongLine):  # too long to parse: JSON if it opens as an object does
        return line.head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")
    try:
        return isinstance(json_line(line), dict)
    except (ValueError, RecursionError, InputError):
        return False
