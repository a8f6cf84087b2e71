"""WARC files: the HTML pages of a crawl, one document per HTML response record.

A WARC (``.warc``, or ``.warc.gz`` compressed a record at a time or whole)
is read with warcio, a record at a time. A response record with a 2xx HTTP
status and an HTML ``Content-Type`` (``text/html``, ``application/xhtml+xml``)
is a page: its id is its ``WARC-Target-URI`` (with its ``WARC-Record-ID``
after a space when the URI came earlier in the same file), its body is
decoded with the HTTP header's charset first, then as an HTML file is
(:func:`~classifier.inputs.decoding.decode_html`), and its document carries
``url`` and ``date`` (``WARC-Date``) as its own fields. Every other record
(requests, revisits, metadata, warcinfo, responses that are not HTML or
not 2xx) is skipped and counted in a :class:`SkippedRecords`.

A WARC cut short or damaged keeps every page before the damage, then one
error record ``FILE:N`` (N the number of the record that could not be
read), as a gzipped JSONL file cut short does.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, TYPE_CHECKING

from ..errors import InputError
from ..limits import MAX_BYTES_A_CHAR, read_at_most, too_many_bytes
from ..records import Document, FailedDocument
from .decoding import READ_ERRORS, decode_html

if TYPE_CHECKING:
    from warcio.archiveiterator import ArchiveIterator

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1 << 16


class SkippedRecords(Counter):
    """WARC records read but not labelled, by kind (``request``, ``revisit``, ``not HTML``, ...)."""

    def describe(self) -> str:
        """``7 WARC records skipped (2 request, 1 revisit, ...)``, or "" when none were."""
        total = sum(self.values())
        if not total:
            return ""
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{total} WARC record{'s' if total != 1 else ''} skipped ({kinds})"


class _Damaged(Exception):
    """The stream under the WARC cannot be read on (a gzip member cut short or corrupt, a read error)."""


class _Stream:
    """The WARC's bytes, decompressed here when they are gzip, with every read error made :class:`_Damaged`.

    warcio decompresses by itself, but treats a gzip member cut short as the
    end of the file and reports corrupt data on stderr; reading through the
    gzip module instead makes either an error this reader can place.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        self.gzip = head == _GZIP_MAGIC or (not head and _starts_gzip(raw))
        self.raw = gzip.GzipFile(fileobj=raw, mode="rb") if self.gzip else raw
        _skip_blank_lines(self.raw)

    def read(self, size: int = -1) -> bytes:
        try:
            # A gzip member at a time: the members before a damaged one are given before it fails.
            return self.raw.read1(size) if self.gzip else self.raw.read(size)
        except READ_ERRORS as error:
            raise _Damaged(f"{type(error).__name__}: {error}") from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return self.raw.readline(size)
        except READ_ERRORS as error:
            raise _Damaged(f"{type(error).__name__}: {error}") from None


def _skip_blank_lines(stream: IO[bytes]) -> None:
    """Read past the blank lines a file may open with, before its first record.

    warcio takes a blank first line for a record with no headers (not a WARC
    record: the whole file was lost); between records it skips them itself.
    A stream that cannot be peeked at is left as it is, and one that fails
    here fails again, in its place, at the first read.
    """
    peek = getattr(stream, "peek", None)
    if peek is None:
        return
    try:
        while head := peek(64)[:64]:
            blank = len(head) - len(head.lstrip(b"\r\n"))
            if blank == 0:
                return
            stream.read(blank)
    except READ_ERRORS:
        return


def _starts_gzip(raw: IO[bytes]) -> bool:
    """Whether a seekable stream without ``peek`` begins as gzip (and rewind it)."""
    try:
        position = raw.tell()
        head = raw.read(2)
        raw.seek(position)
    except (OSError, AttributeError):
        return False
    return head == _GZIP_MAGIC


@lru_cache(maxsize=1)
def _not_a_record() -> tuple[type[Exception], ...]:
    """What warcio raises on bytes that are not a WARC record (AttributeError: a response without a target URI).

    warcio is imported here, when a WARC is first read, not with this module
    (importing it, and fsspec with it, costs every labelling run ~30 ms).
    """
    from warcio.exceptions import ArchiveLoadFailed
    from warcio.statusandheaders import StatusAndHeadersParserException

    return (ArchiveLoadFailed, StatusAndHeadersParserException, ValueError, AttributeError, _Damaged)


# A record whose headers warcio could not read whole (a file cut inside them).
_CUT_HEADERS = "its headers are cut short or damaged"
# warcio also reads the older ARC format, and takes a line of five or more words for an ARC
# record's header, and a blank first line for a WARC record with no headers: a text file given
# as a WARC was one "record" of no kind, skipped in silence.
_NOT_WARC = "it is not a WARC record; storyfilter reads WARC files, not ARC files or other files given as WARC"


def _is_warc(record) -> bool:
    """Whether warcio read a WARC record: not an ARC one, nor a header it made up of a blank line."""
    if getattr(record, "format", "warc") != "warc":
        return False
    protocol = getattr(record.rec_headers, "protocol", "WARC/")
    return isinstance(protocol, str) and protocol.startswith("WARC/")


def _has_length(record) -> bool:
    """Whether a record's headers give its block's length, as every WARC record's must.

    A file cut inside a record's headers reads as a record whose headers stop
    at the cut: without its ``Content-Length`` (or with part of it), it would
    pass for an empty record of no kind and the loss would go unsaid.
    """
    length = record.rec_headers.get_header("Content-Length")
    return isinstance(length, str) and length.strip().isdigit()


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    """The media type (lower-cased) and charset of a ``Content-Type`` header."""
    if not content_type:
        return "", None
    media, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media.strip().lower(), charset


def _skip_reason(record) -> str | None:
    """Why a record is not a page to label (its kind), or None for an HTML response."""
    if record.rec_type != "response":
        return record.rec_type or "unknown"
    if not _target_uri(record):
        return "no target URI"
    headers = record.http_headers
    if headers is None or not str(getattr(headers, "protocol", "") or "").upper().startswith("HTTP/"):
        return "not HTTP"
    if not str(headers.get_statuscode() or "").startswith("2"):
        return "not 2xx"
    media, _ = _media_type(headers.get_header("Content-Type"))
    return None if media in HTML_TYPES else "not HTML"


def _http_codings(record) -> str | None:
    """Set a response's HTTP codings as warcio reads them; the content coding none can decode, if any (else None).

    Servers write them in other ways than warcio expects: ``Transfer-Encoding:
    Chunked`` or ``gzip, chunked`` (compressed, then chunked: the compression is
    read as a content coding), and ``x-gzip``, gzip's old name.
    """
    headers = record.http_headers
    transfer = [t.strip().lower() for t in (headers.get_header("Transfer-Encoding") or "").split(",")]
    content = [c.strip().lower() for c in (headers.get_header("Content-Encoding") or "").split(",")]
    codings = [_CODING_NAMES.get(c, c) for c in content + transfer if c not in ("", "identity", "chunked")]
    if "chunked" in transfer:
        headers.replace_header("Transfer-Encoding", "chunked")
    if len(codings) > 1 or (codings and codings[0] not in _decoders()):
        return ", ".join(codings)
    if codings:
        headers.replace_header("Content-Encoding", codings[0])
    return None


# Content codings by their other names.
_CODING_NAMES = {"x-gzip": "gzip", "x-deflate": "deflate"}


@lru_cache(maxsize=1)
def _decoders() -> frozenset[str]:
    """The content codings warcio's readers decode, brotli's among them when the package is there.

    warcio sets an attribute on brotli's decompressor that the package's
    releases since 1.1 no longer allow: the readers get :class:`_Brotli`.
    """
    from warcio.bufferedreaders import BufferedReader

    try:
        import brotli  # noqa: F401
    except ImportError:
        BufferedReader.DECOMPRESSORS.pop("br", None)
    else:
        BufferedReader.DECOMPRESSORS["br"] = _Brotli
    return frozenset(BufferedReader.get_supported_decompressors())


class _Brotli:
    """brotli's decompressor as warcio's readers call a decompressor (``decompress``, ``unused_data``, ``flush``)."""

    unused_data = None

    def __init__(self) -> None:
        import brotli

        self._decompressor = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return self._decompressor.process(data)

    def flush(self) -> bytes:
        return b""


def _drain(record) -> bool:
    """Read the rest of a record's block; whether it was all there (False: the file ends inside it)."""
    stream = record.raw_stream
    while stream.read(_BLOCK):
        pass
    return getattr(stream, "limit", 0) <= 0


def _ends_inside_a_record(records: ArchiveIterator) -> bool:
    """Whether bytes were read past the end of the last whole record (warcio takes a cut header for the end)."""
    try:
        return records.fh.tell() > records.offset
    except (OSError, AttributeError):
        return False


def _key(uri: str) -> bytes:
    return hashlib.blake2b(uri.encode("utf-8", errors="surrogatepass"), digest_size=8).digest()


# warcio's warnings (a URI's spaces made %20) off standard error, unless the program sets up logging.
logging.getLogger("warcio").addHandler(logging.NullHandler())


def _records(stream: IO[bytes]) -> ArchiveIterator:
    """warcio's reader of the records of ``stream``, as :func:`read_warc` and :func:`count_pages` read them.

    warcio fails on a response without WARC-Target-URI (it asks the missing
    URI's scheme) and loses every record after it; read as one with no URI,
    the record is skipped and counted, and the rest of the file is read.
    """
    from warcio.archiveiterator import ArchiveIterator

    records = ArchiveIterator(_Stream(stream))
    load_http_headers = records.loader.load_http_headers
    records.loader.load_http_headers = lambda kind, uri, *rest: load_http_headers(kind, uri or "", *rest)
    return records


def read_warc(
    stream: IO[bytes], name: str, skipped: SkippedRecords | None = None, max_bytes: int | None = None
) -> Iterator[Document | FailedDocument]:
    """The HTML pages of a WARC read from ``stream`` (``name`` says which, in ids and messages).

    Records that are not HTML responses are counted in ``skipped``. Nothing
    is raised: what cannot be read ends in an error record. A page of more
    than ``max_bytes`` bytes (its content, decoded from the HTTP transfer)
    gets a TooLargeError record; no more than that of it is held.
    """
    skipped = skipped if skipped is not None else SkippedRecords()
    seen: set[bytes] = set()  # the URIs of the pages so far, as 8-byte hashes: a crawl file holds many
    number = 0
    not_a_record = _not_a_record()
    records = _records(stream)
    while True:
        try:
            record = next(records)
        except StopIteration:
            if _ends_inside_a_record(records):
                yield _damage(name, number + 1, InputError("the file ends inside this record's headers"))
            return
        except not_a_record as error:
            yield _damage(name, number + 1, error)
            return
        if not _is_warc(record):
            yield _damage(name, number + 1, InputError(_NOT_WARC))
            return
        number += 1
        if not _has_length(record):
            yield _damage(name, number, InputError(_CUT_HEADERS))
            return
        try:
            reason = _skip_reason(record)
            if reason is not None:
                whole = _drain(record)
            else:
                unread = _http_codings(record)
                if unread is None:
                    content = record.content_stream()  # (its read takes no -1 for "all")
                    body = content.read() if max_bytes is None else read_at_most(content, max_bytes + 1)
                whole = _drain(record)
        except not_a_record as error:
            yield _damage(name, number, error)
            return
        if not whole:
            yield _damage(name, number, InputError("the file ends inside this record"))
            return
        if reason is not None:
            skipped[reason] += 1
            continue
        if unread is not None:
            doc_id, extra = _identity(record, seen)
            message = f"{name}: {doc_id}: its HTTP Content-Encoding is {unread}, which storyfilter cannot decode"
            yield FailedDocument(doc_id, "InputError", message[:1000], extra)
            continue
        yield _page(record, body, name, seen, max_bytes)


def _damage(name: str, number: int, error: Exception) -> FailedDocument:
    if isinstance(error, (_Damaged, InputError)):
        cause = str(error)
    elif isinstance(error, AttributeError):  # the WARC reader's own fault on headers it did not expect
        cause = _CUT_HEADERS
    else:
        cause = f"{type(error).__name__}: {error}"
    message = f"{name}: cannot read WARC record {number} or any after it ({cause})"
    return FailedDocument(f"{name}:{number}", "InputError", message[:1000], {"record": number})


def _target_uri(record) -> str:
    return (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<> ")


def _identity(record, seen: set[bytes]) -> tuple[str, dict]:
    """A response's id (its URI; with its record id when the URI came before, noted in ``seen``), ``url`` and ``date``."""
    headers = record.rec_headers
    uri = _target_uri(record)
    record_id = (headers.get_header("WARC-Record-ID") or "").strip("<> ")
    key = _key(uri)
    doc_id = uri if uri and key not in seen else f"{uri} {record_id}".strip()
    seen.add(key)
    return doc_id, {"url": uri or None, "date": headers.get_header("WARC-Date")}


def _page(record, body: bytes, name: str, seen: set[bytes], max_bytes: int | None = None) -> Document | FailedDocument:
    """One HTML response as a document: its id, decoded HTML, ``url`` and ``date``; its error record when over ``max_bytes``."""
    doc_id, extra = _identity(record, seen)
    if max_bytes is not None and len(body) > max_bytes:
        refused = too_many_bytes(
            f"{name}: {doc_id}: a page of more than {max_bytes:,} bytes", max_bytes // MAX_BYTES_A_CHAR
        )
        return FailedDocument(doc_id, "TooLargeError", str(refused), extra)
    _, charset = _media_type(record.http_headers.get_header("Content-Type"))
    try:
        html = decode_html(body, declared=charset)
    except InputError as error:
        return FailedDocument(doc_id, "InputError", f"{name}: {doc_id}: {error}", extra)
    return Document(id=doc_id, html=html, extra=extra)


def count_pages(stream: IO[bytes]) -> int:
    """How many documents :func:`read_warc` would give (for the progress total): its pages, and one for damage."""
    count = 0
    records = _records(stream)
    try:
        for record in records:
            if not _is_warc(record) or not _has_length(record):
                return count + 1
            page = _skip_reason(record) is None
            if not _drain(record):  # cut inside: one error record in its place, and nothing after it
                return count + 1
            count += page
    except _not_a_record():
        return count + 1
    return count + _ends_inside_a_record(records)
