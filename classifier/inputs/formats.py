"""Input formats: which files are pages to label and how each is read.

A path's format is the one asked for (``--format``), else its suffix's: a
trailing ``.gz`` is looked through, so ``page.html.gz`` is HTML. A suffix
that names no format we read gives no format at all: such a file is named
as unread (:func:`unread_message`), never guessed into a page.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
WARC_SUFFIXES = (".warc",)


class InputFormat(str, Enum):
    """How to read an input path."""

    AUTO = "auto"
    TEXT = "text"
    HTML = "html"
    JSONL = "jsonl"
    JSON = "json"
    WARC = "warc"


_BY_SUFFIX = {
    **dict.fromkeys(TEXT_SUFFIXES, InputFormat.TEXT),
    **dict.fromkeys(HTML_SUFFIXES, InputFormat.HTML),
    **dict.fromkeys(JSONL_SUFFIXES, InputFormat.JSONL),
    **dict.fromkeys(JSON_SUFFIXES, InputFormat.JSON),
    **dict.fromkeys(WARC_SUFFIXES, InputFormat.WARC),
}


def base_suffix(path: Path) -> str:
    """The suffix that tells the format, ignoring a trailing ``.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def format_of(path: Path, requested: InputFormat = InputFormat.AUTO) -> InputFormat | None:
    """The format to read ``path`` in: the one asked for, else by its suffix; None for a suffix we do not read."""
    if requested is not InputFormat.AUTO:
        return requested
    return _BY_SUFFIX.get(base_suffix(path))


def is_input_file(path: Path) -> bool:
    """Whether a file found in a directory is one to label."""
    return base_suffix(path) in _BY_SUFFIX


def unread_message(path: Path | str) -> str:
    """What to say of a file whose suffix names no format we read."""
    suffix = base_suffix(Path(path))
    what = f"its suffix ({suffix})" if suffix else "a file without a suffix"
    return (
        f"{path}: {what} is not a format storyfilter reads. It reads text (.txt .text), HTML (.html .htm), "
        "JSONL (.jsonl .ndjson), JSON (.json: one object or an array of them) and WARC (.warc), each also "
        "gzipped (.gz); --format text|html|jsonl|json|warc reads every input as that format"
    )
