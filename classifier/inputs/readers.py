"""Reading one input: a text or HTML file, a JSONL file a line at a time, a JSON file, a WARC, or standard input.

A text or HTML file is one document, its id the file's name (or its path
below the directory given) without the suffix; a JSONL file is one
document per non-blank line; a JSON file one document (an object) or one
per item (an array); a WARC one per HTML response (:mod:`.warc`).
Whatever cannot be read becomes a
:class:`~classifier.records.FailedDocument` in its place.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from ..errors import InputError, TooLargeError
from ..limits import MAX_BYTES_A_CHAR, read_at_most, too_many_bytes
from ..records import Document, FailedDocument, LabeledDocument
from .decoding import READ_ERRORS, as_utf8_lines, decode_bytes, decode_html
from .formats import InputFormat, format_of, unread_message
from .objects import document_from_record
from .warc import SkippedRecords, read_warc

# The most bytes a character takes in a JSONL line: JSON may write one as two \uXXXX escapes
# (a surrogate pair), and the record's other fields and names need room too.
MAX_LINE_BYTES_A_CHAR = 12
_LINE_SLACK = 2**16
# What is kept of the start of a line too long to hold (enough to tell JSON from a page).
_HEAD_BYTES = 1024
# White space within a line as bytes.strip() takes it, and a line of it alone (the JSONL reader passes such
# lines over).
_INLINE_SPACE = b" \t\r\x0b\x0c"
_BLANK_LINE = re.compile(rb"(?m)^[" + re.escape(_INLINE_SPACE) + rb"]*\n")


class LongLine(NamedTuple):
    """A JSONL line of more bytes than its limit, skipped without being held: how long it was, and how it began."""

    length: int
    head: bytes


def byte_limit(max_chars: int | None) -> int | None:
    return None if max_chars is None else MAX_BYTES_A_CHAR * max_chars


def line_limit(max_chars: int | None) -> int | None:
    return None if max_chars is None else MAX_LINE_BYTES_A_CHAR * max_chars + _LINE_SLACK


def bounded_lines(stream: IO[bytes], limit: int | None) -> Iterator[bytes | LongLine]:
    """The stream's lines, none held of more than ``limit`` bytes besides its line break (LF or CRLF): a
    longer one is read past in pieces and stands as a :class:`LongLine`."""
    if limit is None:
        yield from stream
        return
    while True:
        line = stream.readline(limit + 2)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        length, head = len(line), line[:_HEAD_BYTES]
        del line
        while True:
            piece = stream.readline(min(limit + 2, 2**20))
            length += len(piece)
            if not piece or piece.endswith(b"\n"):
                break
        yield LongLine(length, head)


# What an empty file named .gz is: gzip reads no content from it, where it was cut short (a crawler stopped).
_EMPTY_GZIP = "not a valid gzip file (it is empty: cut short?)"


def _open_binary(path: Path) -> IO[bytes]:
    """A file for reading its bytes, decompressed as it is read when it ends in ``.gz``.

    Raises OSError when it cannot be opened, or ends in ``.gz`` and is empty (gzip would read no content
    from it: a file cut short by a crawler stopped mid-write)."""
    if path.suffix.lower() != ".gz":
        return open(path, "rb")
    if is_empty_gzip(path):
        raise OSError(_EMPTY_GZIP)
    return gzip.open(path, "rb")


def is_empty_gzip(path: Path) -> bool:
    """Whether ``path`` is named ``.gz`` and holds no byte (raises OSError when it cannot be looked at)."""
    return path.suffix.lower() == ".gz" and os.stat(path).st_size == 0


def count_lines(path: Path) -> int:
    """Lines of a file (gzipped or not) that hold more than white space, as the JSONL reader reads them (it
    passes over blank ones), a last line without a newline counted; in blocks, however long a line is."""
    lines, blank_so_far = 0, True  # (whether the line being read holds only white space so far)
    with _open_binary(path) as handle:
        while block := handle.read(1 << 20):
            first, last = block.find(b"\n"), block.rfind(b"\n")
            if first < 0:
                blank_so_far = blank_so_far and not block.strip()
                continue
            lines += not (blank_so_far and not block[:first].strip())  # the line the block's first break ends
            whole = block[first + 1 : last + 1]  # the lines the block holds whole
            lines += whole.count(b"\n") - _blank_lines(whole)
            blank_so_far = not block[last + 1 :].strip()
    return lines + (not blank_so_far)


def _blank_lines(lines: bytes) -> int:
    """How many of ``lines`` (whole lines, each ending in a newline) hold only white space: counted with the
    regular expression only when, white space other than newlines taken out, two newlines meet (most JSONL
    has no blank line, and the test is some times quicker than the expression)."""
    bare = lines.translate(None, _INLINE_SPACE)
    if not bare.startswith(b"\n") and b"\n\n" not in bare:
        return 0
    return len(_BLANK_LINE.findall(lines))


def document_id(path: Path, id_root: Path | None) -> str:
    relative = path.relative_to(id_root) if id_root is not None else Path(path.name)
    name = relative.as_posix()
    for suffix in reversed(relative.suffixes):
        if name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            if suffix.lower() != ".gz":
                break
    return name


def read_path(
    path: Path,
    fmt: InputFormat = InputFormat.AUTO,
    id_root: Path | None = None,
    skipped: SkippedRecords | None = None,
    max_chars: int | None = None,
) -> Iterator[Document | FailedDocument]:
    """The documents of one file: one for text or HTML, one per line for JSONL, per item for JSON, per page for WARC.

    The WARC records that are not pages are counted in ``skipped``. A text
    or HTML file too large to hold ``max_chars`` characters or fewer (over
    four bytes a character, gzip's content counted) gets its error record
    without being read whole; so does a JSONL line of more than 12 bytes a
    character of ``max_chars`` (JSON's longest escape), which is read past.
    """
    kind = format_of(path, fmt)
    doc_id = document_id(path, id_root)
    if kind is None:
        yield FailedDocument(doc_id, "InputError", unread_message(path))
        return
    if kind is InputFormat.JSONL:
        yield from _read_jsonl_file(path, doc_id, line_limit(max_chars))
        return
    if kind is InputFormat.WARC:
        yield from _read_warc_file(path, doc_id, skipped, byte_limit(max_chars))
        return
    try:
        raw = read_bytes(path, None if kind is InputFormat.JSON else byte_limit(max_chars))
    except TooLargeError as error:
        yield FailedDocument(doc_id, "TooLargeError", str(error))
        return
    except InputError as error:
        yield FailedDocument(doc_id, "InputError", str(error))
        return
    if kind is InputFormat.JSON:
        yield from read_json(raw, str(path), doc_id)
        return
    try:
        text = decode_html(raw) if kind is InputFormat.HTML else decode_bytes(raw)
    except InputError as error:
        yield FailedDocument(doc_id, "InputError", f"{path}: {error}")
        return
    if kind is InputFormat.HTML:
        yield Document(id=doc_id, html=text)
    else:
        yield Document(id=doc_id, text=text)


def read_bytes(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a file (its content, for ``.gz``).

    Raises
    ------
    TooLargeError
        When they are more than ``max_bytes``: found from the file's size,
        or by reading no more than that (of a gzip file's content; of a pipe
        or device, whose size the file system does not know).
    InputError
        When the file cannot be read or is not valid gzip.
    """
    gzipped = path.suffix.lower() == ".gz"
    try:
        if max_bytes is not None and not gzipped and path.stat().st_size > max_bytes:
            raise too_large(path, max_bytes)
        with open(path, "rb") as handle:
            raw = handle.read() if max_bytes is None or gzipped else read_at_most(handle, max_bytes + 1)
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    if max_bytes is not None and not gzipped and len(raw) > max_bytes:  # a pipe, a device, a file that grew
        raise too_large(path, max_bytes)
    if gzipped:
        if not raw:  # gzip would read no content; a crawler stopped mid-write leaves such a file
            raise InputError(f"{path}: {_EMPTY_GZIP}")
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as content:
                raw = content.read() if max_bytes is None else read_at_most(content, max_bytes + 1)
        except READ_ERRORS as error:
            raise InputError(f"{path}: not a valid gzip file ({error})") from None
        if max_bytes is not None and len(raw) > max_bytes:
            raise too_large(path, max_bytes)
    return raw


def too_large(path: Path | str, max_bytes: int) -> TooLargeError:
    return too_many_bytes(f"{path}: more than {max_bytes:,} bytes", max_bytes // MAX_BYTES_A_CHAR)


def read_json(raw: bytes, name: str, doc_id: str) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """The documents of a JSON file: an object is one (read as a JSONL line is), an array one per item.

    Items are named ``NAME:N`` (N from 1) where they have no id; a lone
    object takes the file's id. Anything else is one error record.
    """
    try:
        value = json_line(raw)
    except (ValueError, RecursionError, InputError) as error:
        yield FailedDocument(doc_id, "InputError", f"{name}: not valid JSON ({type(error).__name__}: {error})"[:1000])
        return
    if isinstance(value, dict):
        yield document_from_record(value, doc_id)
    elif isinstance(value, list):
        for number, item in enumerate(value, 1):
            yield document_from_record(item, f"{name}:{number}")
    else:
        yield FailedDocument(
            doc_id,
            "InputError",
            f"{name}: a JSON file must hold an object or an array of objects, not {type(value).__name__}",
        )


def _read_warc_file(
    path: Path, doc_id: str, skipped: SkippedRecords | None, max_bytes: int | None = None
) -> Iterator[Document | FailedDocument]:
    try:
        empty = is_empty_gzip(path)  # (read_warc would find no record in it, and say nothing)
        handle = None if empty else open(path, "rb")  # noqa: SIM115 - closed by the `with` below
    except OSError as error:
        yield FailedDocument(doc_id, "InputError", f"{path}: cannot read ({error.strerror or error})")
        return
    if handle is None:
        yield FailedDocument(doc_id, "InputError", f"{path}: {_EMPTY_GZIP}")
        return
    with handle:
        yield from read_warc(handle, str(path), skipped, max_bytes)


def _read_jsonl_file(
    path: Path, doc_id: str, limit: int | None = None
) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """The documents of a JSONL file (gzipped or not), read a line at a time, none of more than ``limit`` bytes."""
    try:
        handle = _open_binary(path)
    except OSError as error:
        yield FailedDocument(doc_id, "InputError", f"{path}: cannot read ({error.strerror or error})")
        return
    with handle:
        yield from read_jsonl(bounded_lines(as_utf8_lines(handle), limit), str(path), limit)


def read_jsonl(
    stream: Iterable[bytes | LongLine], name: str, limit: int | None = None
) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """One document per non-blank line; a stream that breaks off (a cut or corrupt gzip) ends in an error record.

    A line longer than ``limit`` bytes (a :class:`LongLine`) gets a TooLargeError record.
    """
    lines = iter(stream)
    number = 0
    while True:
        try:
            raw_line = next(lines)
        except StopIteration:
            return
        except READ_ERRORS as error:
            where = f"{name}:{number + 1}"
            yield FailedDocument(
                where, "InputError", f"{name}: cannot read past line {number} ({error})", {"line": number + 1}
            )
            return
        number += 1
        where = f"{name}:{number}"
        if isinstance(raw_line, LongLine):
            refused = too_many_bytes(
                f"{where}: a line of {raw_line.length:,} bytes, more than {limit:,}",
                (limit - _LINE_SLACK) // MAX_LINE_BYTES_A_CHAR,
            )
            yield FailedDocument(where, "TooLargeError", str(refused), {"line": number})
            continue
        if not raw_line.strip():
            continue
        try:
            record = json_line(raw_line)
        except (ValueError, RecursionError, InputError) as error:  # ValueError: also numbers of over 4,300 digits
            yield FailedDocument(
                where,
                "InputError",
                f"{where}: not valid JSON ({type(error).__name__}: {error})"[:1000],
                {"line": number},
            )
            continue
        document = document_from_record(record, where)
        if not isinstance(record, dict):  # no id of its own, as a line that is not JSON: found by its number
            document = dataclasses.replace(document, extra={"line": number})
        yield document


def json_line(raw_line: bytes) -> Any:
    """One JSONL line's value. JSON is UTF-8, but scrapers write Latin-1 too: a
    line that is not UTF-8 is decoded as a text file would be."""
    try:
        try:
            return json.loads(raw_line)
        except UnicodeDecodeError:
            return json.loads(decode_bytes(raw_line))
    except ValueError as error:
        if "integer string conversion" in str(error):  # Python's limit, whose advice is for programmers
            raise InputError(f"a number of more than {sys.get_int_max_str_digits():,} digits") from None
        raise
