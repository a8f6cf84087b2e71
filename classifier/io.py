"""Reading pages to label and writing records.

Inputs are paths: text files, HTML files, JSONL files (each also gzipped),
directories (searched recursively for those), or ``-`` for standard input.
Reading is lazy: documents are yielded one at a time, so a run over
millions of pages holds only the current chunk in memory. Anything that
cannot be read becomes a :class:`~classifier.documents.FailedDocument` in
its place rather than an exception.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import stat
import sys
import zlib
from enum import Enum
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

from charset_normalizer import from_bytes

from .documents import Document, FailedDocument, LabeledDocument, is_error_record, is_label_record
from .errors import InputError

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# Share of NUL and other control bytes above which a file is taken for binary.
_BINARY_SHARE = 0.05
# Chaos (mess) difference within which charset-normalizer's candidates tie.
_NEAR_TIE = 0.05
# Bytes of a file that looks binary shown to the detector, to tell UTF-16 or UTF-32 without a BOM from binary.
_WIDE_SAMPLE = 1 << 16
# Share of NUL bytes from which bytes are wide text (UTF-16, UTF-32) or binary, never UTF-8 or a
# code page; fewest bytes to be read as wide text at all, and least share of printable characters
# for a strict UTF-16 reading to count.
_WIDE_NULS, _WIDE_MINIMUM, _WIDE_PRINTABLE = 0.2, 64, 0.95
# Bytes UTF-8 cannot read, per valid multi-byte character, up to which text is damaged UTF-8
# (text in a legacy code page has next to no valid multi-byte characters).
_UTF8_DAMAGE = 1.0
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Where an HTML file's declared encoding is looked for, and how it is declared.
_HEAD_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Declared encodings not trusted: their bytes would decode as something else entirely.
_UNTRUSTED_DECLARATIONS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-7"})


class InputFormat(str, Enum):
    """How to read an input path."""

    AUTO = "auto"
    TEXT = "text"
    HTML = "html"
    JSONL = "jsonl"


def _base_suffix(path: Path) -> str:
    """The suffix that tells the format, ignoring a trailing ``.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def format_of(path: Path, requested: InputFormat = InputFormat.AUTO) -> InputFormat:
    """The format to read ``path`` in: the one asked for, else by its suffix."""
    if requested is not InputFormat.AUTO:
        return requested
    suffix = _base_suffix(path)
    if suffix in HTML_SUFFIXES:
        return InputFormat.HTML
    if suffix in JSONL_SUFFIXES:
        return InputFormat.JSONL
    return InputFormat.TEXT


def is_input_file(path: Path) -> bool:
    """Whether a file found in a directory is one to label."""
    return _base_suffix(path) in TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES


def check_inputs(inputs: Sequence[str]) -> None:
    """Fail early, before any output is written, on paths that do not exist.

    Raises
    ------
    InputError
        Naming the first missing or unreadable path.
    """
    for name in inputs:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise InputError(f"input not found: {name}")
        if path.is_dir():
            try:
                next(iter(path.iterdir()), None)
            except PermissionError:
                raise InputError(f"input directory cannot be read: {name}") from None
        elif not _readable(path):
            raise InputError(f"input file cannot be read: {name}")


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def iter_documents(
    inputs: Sequence[str], fmt: InputFormat = InputFormat.AUTO
) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """Every document of every input, in order, lazily."""
    for name in inputs:
        if name == "-":
            yield from _read_stream(sys.stdin.buffer, "-", fmt)
            continue
        path = Path(name)
        if path.is_dir():
            for file in input_files(path):
                yield from read_path(file, fmt, id_root=path)
        else:
            yield from read_path(path, fmt)


def input_files(directory: Path) -> Iterator[Path]:
    """The files to label under ``directory``, in sorted path order, found lazily.

    One directory's listing is held at a time (not the whole tree), so a
    tree of millions of pages starts at once and in little memory.
    """
    try:
        with os.scandir(directory) as entries:
            # Symlinked directories are not followed (as rglob does not): a link
            # to an ancestor would otherwise list the same files again and again.
            listing = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries)
    except OSError:
        return  # an unreadable subdirectory: check_inputs vets the top one
    for name, is_dir in listing:
        path = directory / name
        if is_dir:
            yield from input_files(path)
        elif is_input_file(path) and path.is_file():
            yield path


def count_documents(inputs: Sequence[str], fmt: InputFormat = InputFormat.AUTO) -> int | None:
    """How many documents the inputs hold, or None when that cannot be known ahead.

    A text or HTML file is one document; a JSONL file is counted by its
    lines (gzipped ones are decompressed to count). For progress displays:
    blank lines count, so the figure can run a little high. Standard input
    and anything that is not a regular file (a pipe, a FIFO) cannot be read
    twice, so they make the total unknown.
    """
    total = 0
    for name in inputs:
        if name == "-":
            return None
        path = Path(name)
        if not path.is_dir() and not _is_regular(path):
            return None
        for file in input_files(path) if path.is_dir() else [path]:
            if format_of(file, fmt) is not InputFormat.JSONL:
                total += 1
                continue
            try:
                total += _count_lines(file)
            except (OSError, EOFError, zlib.error):
                total += 1  # unreadable: one error record
    return total


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _open_binary(path: Path) -> IO[bytes]:
    """A file for reading its bytes, decompressed as it is read when it ends in ``.gz``."""
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _count_lines(path: Path) -> int:
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


def read_path(path: Path, fmt: InputFormat = InputFormat.AUTO, id_root: Path | None = None) -> Iterator[Document | FailedDocument]:
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


def decode_bytes(raw: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 by its BOM, else detected.

    Bytes no encoding fits well (damaged text) are read as UTF-8 with the
    bytes it cannot read replaced.

    Raises
    ------
    InputError
        When the bytes look binary rather than text.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    sample = raw[:_WIDE_SAMPLE]
    if sample.count(0) >= _WIDE_NULS * len(sample) > 0:
        # Text has no NUL bytes, except in UTF-16 or UTF-32 (ASCII in UTF-16 is valid UTF-8 too: ask first).
        wide = _wide_text(raw)
        if wide is None:
            raise InputError("looks like a binary file, not text")
        return wide
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    damaged = _damaged_utf8(raw)
    if damaged is not None:
        return damaged
    if _looks_binary(raw):
        raise InputError("looks like a binary file, not text")
    matches = from_bytes(raw)
    best = matches.best()
    if best is None:  # too damaged for any encoding to fit well: keep what UTF-8 can read
        return raw.decode("utf-8", errors="replace")
    # Short Latin texts fit several code pages about equally; the web's
    # default legacy encoding (windows-1252) wins such a near tie.
    for match in matches:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + _NEAR_TIE:
            return raw.decode("cp1252", errors="replace")
    return str(best)


def _damaged_utf8(raw: bytes) -> str | None:
    """UTF-8 text with a few damaged bytes (replaced by U+FFFD), or None when the bytes are not that.

    UTF-8 it is when its valid multi-byte characters are at least as many as
    the bytes it cannot read (a legacy code page would turn each of them into
    two wrong characters; text in one has next to none). Text that is ASCII
    but for the bad bytes goes to the detector, which reads a legacy page's
    accents right.
    """
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(_NON_ASCII.findall(text)) - bad
    return text if bad <= _UTF8_DAMAGE * good else None


def _wide_text(raw: bytes) -> str | None:
    """Text in UTF-16 or UTF-32 without a BOM (full of NUL bytes, as binary files are), or None.

    What the detector says, else (pages full of icon-font characters put it
    off) a strict UTF-16 reading whose characters are nearly all printable.
    """
    sample = raw[:_WIDE_SAMPLE]
    if len(sample) < _WIDE_MINIMUM:
        return None
    best = from_bytes(sample).best()
    if best is not None and best.encoding.startswith(("utf_16", "utf_32")):
        return raw.decode(best.encoding, errors="replace")
    # Latin text in UTF-16 has its NUL bytes first in each pair when big-endian, second when little-endian.
    big_endian = sample[0::2].count(0) > sample[1::2].count(0)
    for encoding in ("utf-16-be", "utf-16-le") if big_endian else ("utf-16-le", "utf-16-be"):
        try:
            text = sample[: len(sample) // 2 * 2].decode(encoding)
        except UnicodeDecodeError:
            continue
        if sum(c.isprintable() or c.isspace() for c in text) >= _WIDE_PRINTABLE * len(text):
            return raw.decode(encoding, errors="replace")
    return None


def decode_html(raw: bytes) -> str:
    """The text of an HTML file: by its BOM, its declared charset, UTF-8, or detection.

    Never raises on text: bytes the encoding cannot map are replaced.
    Binary bytes raise :class:`InputError`, as for text files.
    """
    if raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(raw)
    declared = _META_CHARSET.search(raw[:_HEAD_BYTES])
    if declared:
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            codec = None
        if codec is not None and codec.name not in _UNTRUSTED_DECLARATIONS:
            try:
                return raw.decode(codec.name)
            except UnicodeDecodeError:
                pass  # the declaration is wrong; fall through to what the bytes say
    return decode_bytes(raw)


def _looks_binary(raw: bytes) -> bool:
    sample = raw[:8192]
    if not sample:
        return False
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control / len(sample) > _BINARY_SHARE


def _read_stream(stream: IO[bytes], name: str, fmt: InputFormat) -> Iterator[Document | FailedDocument]:
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
            yield FailedDocument(where, "InputError", f"{name}: cannot read past line {number} ({error})", {"line": number + 1})
            return
        number += 1
        if not raw_line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = _json_line(raw_line)
        except (ValueError, RecursionError, InputError) as error:  # ValueError: also numbers of over 4,300 digits
            yield FailedDocument(where, "InputError", f"{where}: not valid JSON ({type(error).__name__}: {error})"[:1000], {"line": number})
            continue
        yield document_from_record(record, where)


def _json_line(raw_line: bytes) -> Any:
    """One JSONL line's value. JSON is UTF-8, but scrapers write Latin-1 too: a
    line that is not UTF-8 is decoded as a text file would be."""
    try:
        return json.loads(raw_line)
    except UnicodeDecodeError:
        return json.loads(decode_bytes(raw_line))


def document_from_record(record: Any, where: str) -> Document | LabeledDocument | FailedDocument:
    """A document from one JSON object, or a failure that says what is wrong.

    A record written by ``label`` comes back as the labelled document it
    describes, so that it is not labelled again; an error record written by
    ``label`` comes back as the failure it describes.
    """
    if not isinstance(record, dict):
        return FailedDocument(where, "InputError", f"{where}: each line must be a JSON object")
    doc_id = record.get("id")
    doc_id = where if doc_id is None else str(doc_id)
    if is_label_record(record):
        try:
            return LabeledDocument.from_record({**record, "id": doc_id})
        except ValueError as error:
            return FailedDocument(doc_id, "InputError", f"{where}: not a record as `label` writes it: {error}")
    extra = {k: v for k, v in record.items() if k not in ("id", "text", "html")}
    text, html = record.get("text"), record.get("html")
    if is_error_record(record):  # written by `label`: it stays the failure it was
        error = extra.pop("error")
        return FailedDocument(doc_id, str(error["type"]), str(error["message"]), extra)
    if text is None and html is None:
        return FailedDocument(doc_id, "InputError", f"{where}: needs a 'text' or 'html' field", extra)
    for field_name, value in (("text", text), ("html", html)):
        if value is not None and not isinstance(value, str):
            return FailedDocument(doc_id, "InputError", f"{where}: '{field_name}' must be a string", extra)
    return Document(id=doc_id, text=text, html=html, extra=extra)
