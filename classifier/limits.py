"""Limits on one document's size, so that no page can take a worker's whole memory.

Labelling costs memory in proportion to a page's segments (about 1 to 1.5
KB each while it is labelled, its record included; see
docs/benchmarks.md) and to its characters. A real news page holds a few
thousand segments; a page of millions (a log file, a whole site dumped as
one document, or a hostile one) is refused rather than labelled in
pieces: its record alone would be hundreds of MB, so pieces would bound
the features but not the record. A refused document gets a
:class:`~classifier.errors.TooLargeError` (an error record in a batch, a
413 from the service) that names the limit and the option that sets it.

The checks are cheap and come before the expensive work: the characters
are a string's length, and the segments of a plain-text page are counted
by scanning its lines, stopping one past the limit, without cutting the
page into objects. An HTML page's segments are counted while it is parsed
(:func:`~classifier.segment.html.split_html` stops one past the limit).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from .arguments import is_whole_number
from .errors import InputError, TooLargeError
from .records import Document
from .segment.text import LINE_BREAKS

# 30 times the most segments of any page of web-pages-2026 (about 3,200): a worker labelling a page at
# this limit peaks about 150-250 MB over its resting size (docs/benchmarks.md#very-long-pages).
DEFAULT_MAX_SEGMENTS = 100_000
# About 10 MB of text or markup: news pages of web-pages-2026 are under 2 MB of HTML.
DEFAULT_MAX_CHARS = 10_000_000
# The most bytes a character takes in any encoding we read (UTF-8's four): input of more
# bytes than four times the character limit cannot be within it.
MAX_BYTES_A_CHAR = 4

# A non-empty line of plain text, as split_text makes a segment of it: from its first character other than
# white space to the line's end (line breaks are white space, so a match never crosses one; starting at that
# character, a search never rescans a long run of white space).
_FILLED_LINE = re.compile(f"\\S[^{LINE_BREAKS}]*")
# Line breaks, for a bound on the segments of a text page without scanning it in Python.
_BREAKS = tuple(LINE_BREAKS)


def read_at_most(stream: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes of a binary stream (a file, gzip's content, a pipe, a WARC record's content), read in
    pieces: their readers' ``read(limit)`` sets ``limit`` bytes aside first (gigabytes, for a large
    ``--max-chars``), whatever the stream holds. Read one past a bound to learn whether a document is over it."""
    pieces, size = [], 0
    while size < limit:
        piece = stream.read(min(limit - size, _PIECE))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


# Bytes read at a time by read_at_most.
_PIECE = 1 << 22


def too_many_bytes(what: str, max_chars: int) -> TooLargeError:
    """The error of input refused by its bytes before it is read; ``what`` says where, and how many bytes."""
    return TooLargeError(
        f"{what}, so more characters than the limit of {max_chars:,} (--max-chars): split it, or raise the limit",
        "characters",
    )


@dataclass(frozen=True)
class DocumentLimits:
    """The most segments and characters one document may have to be labelled.

    ``None`` lifts a limit. Set on a model (``Model.limits``,
    ``load_model(limits=...)``), with ``--max-segments`` and ``--max-chars``
    in the CLI and the service.
    """

    max_segments: int | None = DEFAULT_MAX_SEGMENTS
    max_chars: int | None = DEFAULT_MAX_CHARS

    def __post_init__(self) -> None:
        for name in ("max_segments", "max_chars"):
            value = getattr(self, name)
            if value is None:
                continue
            if not is_whole_number(value):
                raise InputError(f"{name} must be a positive whole number or None, not {value!r}")
            object.__setattr__(self, name, int(value))  # a numpy integer, as a count

    def check_text(self, text: str) -> None:
        """Raise :class:`TooLargeError` when a plain-text page is over a limit (no segment is made)."""
        self.check_chars(len(text))
        limit = self.max_segments
        if limit is None or sum(text.count(b) for b in _BREAKS) < limit:  # fewer lines than the limit: no need to count
            return
        lines = _FILLED_LINE.finditer(text)
        if next(itertools.islice(lines, limit, None), None) is not None:  # a line past the limit
            raise self.too_many_segments()

    def check_chars(self, count: int) -> None:
        """Raise :class:`TooLargeError` when ``count`` characters are over the limit."""
        if self.max_chars is not None and count > self.max_chars:
            raise TooLargeError(
                f"the document has {count:,} characters, over the limit of {self.max_chars:,} "
                "(--max-chars; max_chars of DocumentLimits in Python): split it, or raise the limit "
                "if the memory allows (see docs/cli.md#very-long-pages)",
                "characters",
            )

    def too_many_segments(self) -> TooLargeError:
        """The error for a page found to have more segments than ``max_segments``."""
        return TooLargeError(
            f"the document has more than {self.max_segments:,} segments (lines of text or blocks of HTML), "
            "over the limit (--max-segments; max_segments of DocumentLimits in Python): split it, or raise "
            "the limit if the memory allows (see docs/cli.md#very-long-pages)",
            "segments",
        )


def limits_of(model: Any) -> DocumentLimits:
    """A model's document limits (the defaults for an object that has none)."""
    limits = getattr(model, "limits", None)
    return limits if limits is not None else DocumentLimits()


def document_cost(document: Any) -> int:
    """What a document costs a batch, in segments at most: :func:`segment_bound`; 1 for a record or a failure."""
    return segment_bound(document.text, document.html) if isinstance(document, Document) else 1


def segment_bound(text: str | None, html: str | bytes | None) -> int:
    """A cheap upper bound on a document's segments: its line breaks, or its tags, plus one.

    Used to size batches, so that a batch of long pages holds no more
    segments than one page at the limit would.
    """
    if isinstance(html, (str, bytes, bytearray)):
        return html.count("<" if isinstance(html, str) else b"<") + 1
    if isinstance(text, str):
        return sum(text.count(b) for b in _BREAKS) + 1
    return 1
