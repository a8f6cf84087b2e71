"""Segments: the units the classifier labels, and how text is cut into them.

A plain-text page is cut into one segment per non-empty line. Each segment
keeps exact character offsets into the page, so ``text[start:end]`` is the
segment's text, and the layout facts the scraper left around it (blank lines
before it, indentation) that the context features use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

# A line is everything between newlines; "\r\n" and lone "\r" end lines too.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True, slots=True)
class Segment:
    """One unit of a page to be labelled story or chrome.

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
    """

    text: str
    start: int
    end: int
    page: int = 0
    gap: int = 0
    indent: int = 0


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
    segments: list[Segment] = []
    blank = 0
    for match in _LINE.finditer(text):
        line_start, line_end = match.span()
        if line_start == line_end:  # the empty match at the very end
            break
        content = match.group().rstrip("\r\n")
        first = _NON_SPACE.search(content)
        if first is None:
            blank += 1
            continue
        stripped = content.strip()
        start = line_start + first.start()
        segments.append(
            Segment(
                text=stripped,
                start=start,
                end=start + len(stripped),
                page=page,
                gap=blank if segments else 0,
                indent=first.start(),
            )
        )
        blank = 0
    return segments


def split_pages(texts: Sequence[str]) -> list[Segment]:
    """Cut several pages into one flat batch of segments, page numbers 0..n-1."""
    batch: list[Segment] = []
    for number, text in enumerate(texts):
        batch.extend(split_text(text, page=number))
    return batch
