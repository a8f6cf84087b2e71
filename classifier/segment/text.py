"""Segments: the units the classifier labels, and how text is cut into them.

A plain-text page is cut into one segment per non-empty line (lines end at
"\n", "\r\n" or "\r"). Each segment keeps exact character offsets into the
page, so ``text[start:end]`` is the segment's text, and the layout facts the
scraper left around it (blank lines before it, indentation) that the context
features use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, NamedTuple

# Line breaks: "\r\n", a lone "\r" or "\n". Splitting keeps them so offsets add up.
_BREAK = re.compile(r"(\r\n|\r|\n)")


class Segment(NamedTuple):
    """One unit of a page to be labelled story or chrome (an immutable value).

    Attributes
    ----------
    text : str
        The segment's text, stripped of surrounding whitespace.
    start, end : int
        Character offsets into the page text: ``page[start:end] == text``.
    page : int
        Which page of a batch the segment belongs to. Segments of one page
        are contiguous and in reading order within a batch.
    gap : int
        Blank lines between this segment and the previous one (0 for the
        first segment of a page).
    indent : int
        Whitespace characters before the text on its line.
    dom : BlockFacts or None
        For a segment of an HTML page, what the DOM says about it
        (:class:`classifier.segment.html.BlockFacts`); None for plain text.
    """

    text: str
    start: int
    end: int
    page: int = 0
    gap: int = 0
    indent: int = 0
    dom: Any = None


def split_text(text: str, page: int = 0) -> list[Segment]:
    """Cut plain text into one segment per non-empty line.

    Parameters
    ----------
    text : str
        The page as a scraper produced it.
    page : int, default=0
        The page number to stamp on every segment (for batches).

    Returns
    -------
    list of Segment
        In reading order; ``text[s.start:s.end] == s.text`` for each.
    """
    parts = _BREAK.split(text)  # line, break, line, break, ..., line
    offsets = [0, *accumulate(map(len, parts))]
    lines = parts[0::2]
    stripped = [line.strip() for line in lines]
    kept = [i for i, content in enumerate(stripped) if content]
    segments = []
    previous = None
    for i in kept:
        content = stripped[i]
        lead = lines[i].find(content[0])
        start = offsets[2 * i] + lead
        gap = 0 if previous is None else i - previous - 1
        segments.append(Segment(content, start, start + len(content), page, gap, lead))
        previous = i
    return segments


def split_pages(texts: Sequence[str]) -> list[Segment]:
    """Cut several pages into one flat batch of segments, page numbers 0..n-1."""
    batch: list[Segment] = []
    for number, text in enumerate(texts):
        batch.extend(split_text(text, page=number))
    return batch
