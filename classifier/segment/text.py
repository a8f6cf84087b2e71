"""Segments: the units the classifier labels, and how text is cut into them.

A plain-text page is cut into one segment per non-empty line (lines end
at "\n", "\r\n", "\r", and the rarer breaks a scraper may leave: vertical
tabs, form feeds, Unicode's line and paragraph separators; see
:data:`LINE_BREAKS`). Each segment keeps exact character offsets into the
page, so ``text[start:end]`` is the segment's text, and the layout facts the
scraper left around it (blank lines before it, indentation) that the context
features use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat
from typing import Any, NamedTuple

# Line breaks: "\r\n", or one of these: "\n", "\r", vertical tab, form feed, and Unicode's line and paragraph
# separators. (Not NEL, U+0085, which str.splitlines also breaks at: it is mostly windows-1252's ellipsis read as
# Latin-1 upstream, inside a sentence; nor the ASCII file, group and record separators.)
LINE_BREAKS = "\n\r\x0b\x0c\u2028\u2029"
# Splitting keeps the breaks so offsets add up.
_BREAK = re.compile(f"(\r\n|[{LINE_BREAKS}])")
_RARE_BREAKS = tuple(LINE_BREAKS[1:])
# A byte order mark (U+FEFF, the zero-width no-break space) at a line's ends: a file's first line may start with
# one that its reader kept, and some pages fill a "blank" line with one. Stripped as white space: what
# str.strip() strips (every character str.isspace() takes, tests/test_segments.py checks) and the mark, in one pass.
_BOM = "\ufeff"
SPACE_OR_BOM = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000" + _BOM
)


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


# A segment made from all its fields at once, without the keyword handling of Segment(...): a page has hundreds.
_new_segment = tuple.__new__


def split_text(text: str, page: int = 0) -> list[Segment]:
    """Cut plain text into one segment per non-empty line (white space and byte order marks at its ends stripped).

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
    if any(rare in text for rare in _RARE_BREAKS):
        parts = _BREAK.split(text)  # line, break, line, break, ..., line
        lines, breaks = parts[0::2], [*map(len, parts[1::2]), 0]
    else:  # the usual page: every break is "\n"
        lines, breaks = text.split("\n"), repeat(1)
    segments = []
    previous = 0  # the line of the last segment
    offset = 0  # where the line starts in the page
    marked = _BOM in text
    for number, (line, width) in enumerate(zip(lines, breaks)):
        content = line.strip(SPACE_OR_BOM) if marked else line.strip()
        if content:
            lead = line.find(content[0])
            start = offset + lead
            gap = number - previous - 1 if segments else 0
            indent = lead - line.count(_BOM, 0, lead) if marked else lead  # (a mark is no indent)
            segments.append(_new_segment(Segment, (content, start, start + len(content), page, gap, indent, None)))
            previous = number
        offset += len(line) + width
    return segments


def line_number(text: str, offset: int) -> int:
    """The 1-based number of the line of ``text`` that holds ``offset`` (lines as :func:`split_text` cuts them)."""
    return len(_BREAK.findall(text, 0, offset)) + 1


def split_pages(texts: Sequence[str]) -> list[Segment]:
    """Cut several pages into one flat batch of segments, page numbers 0..n-1."""
    batch: list[Segment] = []
    for number, text in enumerate(texts):
        batch.extend(split_text(text, page=number))
    return batch
