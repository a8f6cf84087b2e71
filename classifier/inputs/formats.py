"""Input formats: which files are pages to label and how each is read.

A path's format is the one asked for (``--format``), else its suffix's: a
trailing ``.gz`` is looked through, so ``page.html.gz`` is HTML.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class InputFormat(str, Enum):
    """How to read an input path."""

    AUTO = "auto"
    TEXT = "text"
    HTML = "html"
    JSONL = "jsonl"


def base_suffix(path: Path) -> str:
    """The suffix that tells the format, ignoring a trailing ``.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def format_of(path: Path, requested: InputFormat = InputFormat.AUTO) -> InputFormat:
    """The format to read ``path`` in: the one asked for, else by its suffix."""
    if requested is not InputFormat.AUTO:
        return requested
    suffix = base_suffix(path)
    if suffix in HTML_SUFFIXES:
        return InputFormat.HTML
    if suffix in JSONL_SUFFIXES:
        return InputFormat.JSONL
    return InputFormat.TEXT


def is_input_file(path: Path) -> bool:
    """Whether a file found in a directory is one to label."""
    return base_suffix(path) in TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES
