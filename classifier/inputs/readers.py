"""Reading one input: a text or HTML file, a JSONL file a line at a time, or standard input.

A text or HTML file is one document, its id the file's name (or its path
below the directory given) without the suffix; a JSONL file is one
document per non-blank line. Whatever cannot be read becomes a
:class:`~classifier.records.FailedDocument` in its place.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from ..records import Document, FailedDocument, LabeledDocument, document_from_record
from .decoding import decode_bytes, decode_html
from .formats import InputFormat, format_of


def _open_binary(path: Path) -> IO[bytes]:
    """A file for reading its bytes, decompressed as it is read when it ends in ``.gz``."""
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def count_lines(path: Path) -> int:
    """Lines in a file (gzipped or not), a last line without a newline counted."""
    lines, last = 0, b"\n"
    with _open_binary(path) as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def _document_id(path: Path, id_root: Path | None) -> str:
    relative = path.relative_to(id_root) if id_root is not None else Path(path.name)
    name = relative.as_posix()
    for suffix in reversed(relative.suffixes):
        if name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            if suffix.lower() != ".gz":
                break
    return name


def read_path(
    path: Path, fmt: InputFormat = InputFormat.AUTO, id_root: Path | None = None
) -> Iterator[Document | FailedDocument]:
    """The documents of one file: one for text or HTML, one per line for JSONL."""
    kind = format_of(path, fmt)
    doc_id = _document_id(path, id_root)
    if kind is InputFormat.JSONL:
        yield from _read_jsonl_file(path, doc_id)
        return
    try:
        raw = _read_bytes(path)
    except InputError as error:
        yield FailedDocument(doc_id, "InputError", str(error))
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


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise InputError(f"{path}: not a valid gzip file ({error})") from None
    return raw


def read_stream(stream: IO[bytes], name: str, fmt: InputFormat) -> Iterator[Document | FailedDocument]:
    if fmt in (InputFormat.TEXT, InputFormat.HTML):
        try:
            raw = stream.read()
            text = decode_html(raw) if fmt is InputFormat.HTML else decode_bytes(raw)
        except InputError as error:
            yield FailedDocument("stdin", "InputError", f"standard input: {error}")
            return
        yield Document(id="stdin", text=text) if fmt is InputFormat.TEXT else Document(id="stdin", html=text)
        return
    yield from _read_jsonl(stream, "standard input" if name == "-" else name)


def _read_jsonl_file(path: Path, doc_id: str) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """The documents of a JSONL file (gzipped or not), read a line at a time."""
    try:
        handle = _open_binary(path)
    except OSError as error:
        yield FailedDocument(doc_id, "InputError", f"{path}: cannot read ({error.strerror or error})")
        return
    with handle:
        yield from _read_jsonl(handle, str(path))


def _read_jsonl(stream: IO[bytes], name: str) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """One document per non-blank line; a stream that breaks off (a cut or corrupt gzip) ends in an error record."""
    lines = iter(stream)
    number = 0
    while True:
        try:
            raw_line = next(lines)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error) as error:
            where = f"{name}:{number + 1}"
            yield FailedDocument(
                where, "InputError", f"{name}: cannot read past line {number} ({error})", {"line": number + 1}
            )
            return
        number += 1
        if not raw_line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = _json_line(raw_line)
        except (ValueError, RecursionError, InputError) as error:  # ValueError: also numbers of over 4,300 digits
            yield FailedDocument(
                where,
                "InputError",
                f"{where}: not valid JSON ({type(error).__name__}: {error})"[:1000],
                {"line": number},
            )
            continue
        yield document_from_record(record, where)


def _json_line(raw_line: bytes) -> Any:
    """One JSONL line's value. JSON is UTF-8, but scrapers write Latin-1 too: a
    line that is not UTF-8 is decoded as a text file would be."""
    try:
        return json.loads(raw_line)
    except UnicodeDecodeError:
        return json.loads(decode_bytes(raw_line))
