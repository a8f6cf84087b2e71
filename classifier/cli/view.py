"""A labelled page in the terminal: story lines as they are, chrome dimmed, each line's score in a margin.

Used by ``storyfilter show``. It renders :class:`LabeledDocument` and
:class:`FailedDocument` values, whatever labelled them (the model just now,
or ``label`` earlier, read back from its JSONL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..records import FailedDocument, Label, LabeledDocument
from ..segment.text import Segment

CHROME_STYLE = "dim"
STORY_STYLE = ""
# Width of the score margin: "0.97" and a space.
MARGIN = 5
# Lone surrogates (JSON allows "\ud800"; labelling keeps them): no terminal encoding writes them.
_SURROGATE = re.compile("[\ud800-\udfff]")


# Control characters (but tab and line breaks) as their Unicode pictures ("\x1b" as "␛"), the C1 ones as U+FFFD:
# written as they are, a page's escape sequences would recolour, move or retitle the user's terminal.
_CONTROLS = {
    **{code: 0x2400 + code for code in range(0x20) if chr(code) not in "\t\n\r"},
    0x7F: 0x2421,
    **dict.fromkeys(range(0x80, 0xA0), 0xFFFD),
}


def printable(text: str) -> str:
    """``text`` as a terminal can show it: a lone surrogate becomes U+FFFD, the replacement character, and a
    control character its picture (an escape sequence is shown, not obeyed)."""
    return _SURROGATE.sub("\ufffd", text).translate(_CONTROLS)


def header(document: LabeledDocument, thresholds: Mapping[str, float] | None = None) -> Text:
    """The page's id and model, then each topic's probability (and the threshold that makes it a tag), tags first in bold."""
    line = Text()
    line.append(printable(document.id or "(no id)"), style="bold")
    line.append(f"  {document.model}", style=CHROME_STYLE)
    if document.segments:
        stories = sum(1 for s in document.segments if s.label is Label.STORY)
        line.append(f"  {stories} story / {len(document.segments) - stories} chrome lines", style=CHROME_STYLE)
    else:
        line.append("  story only (written without segments)" if document.story else "  no text", style=CHROME_STYLE)
    line.append("\n")
    if not document.topics:
        line.append("no topics", style=CHROME_STYLE)
        return line
    ordered = sorted(document.topics.items(), key=lambda item: (item[0] not in document.tags, -item[1]))
    line.append("tags: " if document.tags else "no tags: ", style=CHROME_STYLE)
    for number, (name, probability) in enumerate(ordered):
        if number:
            line.append("  ")
        tagged = name in document.tags
        line.append(name, style="bold" if tagged else CHROME_STYLE)
        line.append(f" {probability:.2f}", style="" if tagged else CHROME_STYLE)
        if thresholds and name in thresholds:
            line.append(f" (tag at {thresholds[name]:.2f})", style=CHROME_STYLE)
    return line


def page_lines(document: LabeledDocument, only: Label | None = None) -> Table:
    """Every segment on its own row: its score in the margin, its text wrapped beside it.

    A blank line of the page between two segments is kept as an empty row
    (as the splitter counted it, or, for a record read back, as its text
    shows it); with ``only``, just that label's rows.
    """
    table = Table.grid(padding=(0, 1, 0, 0))
    table.add_column(width=MARGIN - 1, justify="right", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    previous = None
    for scored in document.segments:
        if only is not None and scored.label is not only:
            continue
        if previous is not None and only is None and _blank_between(document.text, previous, scored.segment):
            table.add_row("", "")
        previous = scored.segment
        style = STORY_STYLE if scored.label is Label.STORY else CHROME_STYLE
        table.add_row(Text(f"{scored.score:.2f}", style=CHROME_STYLE), Text(printable(scored.text), style=style))
    return table


def _blank_between(text: str | None, previous: Segment, segment: Segment) -> bool:
    """Whether a blank line stands between two segments: the splitter's count, else two line ends in the text."""
    if segment.gap:
        return True
    if text is None:  # a record read back without its text: where its lines end is not known
        return False
    between = text[previous.end : segment.start]
    return between.count("\n") > 1 or ("\n" not in between and between.count("\r") > 1)


def document_view(
    document: LabeledDocument | FailedDocument, only: Label | None = None, thresholds: Mapping[str, float] | None = None
) -> RenderableType:
    """One document for the terminal: its header, a rule, its lines (or its error)."""
    if isinstance(document, FailedDocument):
        return Group(
            Text(printable(document.id or "(no id)"), style="bold"),
            Text(printable(f"{document.error_type}: {document.message}"), style="red"),
        )
    parts: list[RenderableType] = [header(document, thresholds), Rule(style=CHROME_STYLE)]
    if document.segments:
        parts.append(page_lines(document, only))
    elif document.story and only is not Label.CHROME:  # a record written with --no-segments: only its story is known
        parts.append(Text(printable(document.story)))
    return Group(*parts)
