"""The title of a text page: its first headline-like line, found from the labels the model gave.

An HTML page's title is in its markup (``<title>``, else the first ``h1``:
see :mod:`classifier.segment.html`). A text page has none: its title is a
line the model labels chrome (it keeps headlines out of the story) above
the story's first line, as often as not at the page's top with the site's
name. :func:`text_title` takes the first line there that reads as a headline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..records import Label

# Words a headline has: fewer is a label or a byline; more is a paragraph.
TITLE_WORDS = (3, 30)
# Runs of letters: numbers (dates, times, counts) and punctuation are not words here.
_LETTERS = re.compile(r"[^\W\d_]+")
# Scripts written without spaces: each character counts as a word.
_SOLO = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
# Separators of menus and breadcrumbs ("Home | News | Sport", "Home > World"): two make a line a menu.
_SEPARATORS = re.compile(r"(?:^|\s)[|•·»>/›](?=\s|$)")
_BYLINE = re.compile(r"^(by|from|posted by|written by)\s", re.IGNORECASE)
# Calls to action a site puts above its stories ("Subscribe to our newsletter", "Sign in to comment"): they read
# as headlines (a few words, no stop) but never are one.
_PROMPT = re.compile(
    r"^(?:subscribe|sign (?:up|in)|log ?in|register)(?:$|\s+(?:now|today|here|for|to|with)\b)"
    r"|^(?:follow us|share (?:this|on|via)|skip to (?:the )?(?:main )?(?:content|navigation))\b"
    r"|\b(?:our|daily|weekly|free|email|e-mail) newsletters?\b",
    re.IGNORECASE,
)
# A sentence ending inside the line ("We use cookies. Accept all"): a word of four letters or more, its full
# stop, the next word (shorter ones are abbreviations as often: "Dr. Smith", "Gov. Newsom", "Who won? The ...").
_INNER_SENTENCE_END = re.compile(r"[^\W\d_]{4,}[.!?]\s+[^\W\d_]")
# Characters beyond which a line is a paragraph, not a headline (30 words of a script with spaces run to ~300).
_TITLE_CHARS = 400
# Lines of a page, from its top, a title is looked for in: it heads the page (a page of 100,000 lines of
# chrome before its story would otherwise cost half a second here).
_TITLE_LINES = 1000


def title_words(line: str) -> int:
    """Words of a line as a headline counts them: runs of letters, each character of a script without spaces."""
    if not _SOLO.search(line):  # the usual line: a word per run of letters
        return len(_LETTERS.findall(line))
    count = 0
    for run in _LETTERS.findall(line):
        solo = len(_SOLO.findall(run))
        count += solo + (1 if solo < len(run) else 0)
    return count


def looks_like_headline(line: str) -> bool:
    """Whether a line reads as a headline: 3 to 30 words, no full stop closing it or a sentence inside it, not a
    menu, a byline or a call to action (the cheap tests first: a page may hold thousands of lines above its story)."""
    return (
        0 < len(line) <= _TITLE_CHARS
        and line[-1] not in ".!?:;,"
        and not _BYLINE.match(line)
        and not _PROMPT.search(line)
        and TITLE_WORDS[0] <= title_words(line) <= TITLE_WORDS[1]
        and len(_SEPARATORS.findall(line)) < 2
        and not _INNER_SENTENCE_END.search(line)
    )


def text_title(texts: Sequence[str], labels: Sequence[Label]) -> str | None:
    """The headline of a text page, or None when the model finds no story or no line above it reads as one.

    The first line of the page, above its first story line (chrome to the
    model, as headlines are), that :func:`looks_like_headline`. Measured
    against the gold titles of the web-page corpora (``bench/titles.py``),
    this finds the page's title on 58% of the training sites' pages of
    ``web-pages-2026`` (the longest such line among the six just above the
    story: 26%), and on 49% to 96% of the other trained corpora's
    (docs/benchmarks.md, "Titles of text pages").
    """
    first = next((i for i, label in enumerate(labels) if label == Label.STORY), None)
    if first is None:
        return None
    return next((text for text in texts[: min(first, _TITLE_LINES)] if looks_like_headline(text)), None)
