"""Labels from gold text: which lines of a page the gold story holds.

A web-page corpus gives each page's main text, not line labels; the lines
of a page (as a renderer laid them out, or its DOM blocks) are labelled by
how much of their wording the gold text holds (:func:`align_gold`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from ..records import UNLABELLED, Label
from ..segment.text import Segment

# Trigram coverage at or above which a line is story, at or below which it
# is chrome. Lines between are partly quoted (a teaser repeating the lead)
# or partly story (a caption with a credit): leave them out rather than
# teach the model noise.
STORY_COVERAGE = 0.7
CHROME_COVERAGE = 0.3

# Lines at least this long (in words) count as copies when repeated; short
# lines (a heading, "Share") legitimately recur within a story.
_COPY_WORDS = 6

# A word: a run of letters and digits, or one character of a script written without spaces
# (CJK ideographs, kana, Thai, ...), where a run would be a whole clause.
_SOLO = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uff66-\uff9f\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"
_WORD = re.compile(f"[{_SOLO}]|(?:(?![{_SOLO}])\\w)+")


@lru_cache(maxsize=1)
def _without_marks() -> dict[int, None]:
    """A translation table that drops combining marks, which ``\\w`` does not count as word characters."""
    return {code: None for code in range(0x10000) if unicodedata.category(chr(code)).startswith("M")}


def words(text: str) -> list[str]:
    """Lower-cased word tokens, as alignment and evaluation count them.

    Combining marks are dropped first (so that a Devanagari word is one
    token, not one per vowel sign), and each character of a script written
    without spaces is a token of its own (a Chinese page is scored on
    characters). Text in other scripts gives the same tokens as ``\\w+``.
    """
    return _WORD.findall(text.lower().translate(_without_marks()))


def align_gold(segments: Sequence[Segment], gold: str) -> list[int]:
    """Label segments by how much of their wording the gold story holds.

    Lines of three words or more are judged by the share of their word
    trigrams found in the gold text; shorter lines must match a whole gold
    paragraph (a heading) to be story, and are chrome only when their words
    appear nowhere in the gold text in that order. A line repeated on the
    page is story only as many times as the gold text holds it: the second
    copy of a paragraph is not part of the story.
    """
    gold_words = words(gold)
    trigrams = set(zip(gold_words, gold_words[1:], gold_words[2:]))
    gold_lines = {" ".join(words(line)) for line in gold.splitlines() if line.strip()}
    gold_joined = " " + " ".join(gold_words) + " "
    used: dict[str, int] = {}
    labels: list[int] = []
    for segment in segments:
        tokens = words(segment.text)
        phrase = " ".join(tokens)
        if len(tokens) >= 3:
            grams = list(zip(tokens, tokens[1:], tokens[2:]))
            coverage = sum(g in trigrams for g in grams) / len(grams)
            if coverage >= STORY_COVERAGE:
                label = Label.STORY
            elif coverage <= CHROME_COVERAGE:
                label = Label.CHROME
            else:
                label = UNLABELLED
        elif not tokens:
            label = Label.CHROME
        elif phrase in gold_lines:
            label = Label.STORY
        elif f" {phrase} " in gold_joined:
            label = UNLABELLED
        else:
            label = Label.CHROME
        if label == Label.STORY and len(tokens) >= _COPY_WORDS:
            used[phrase] = used.get(phrase, 0) + 1
            if used[phrase] > max(1, gold_joined.count(f" {phrase} ")):
                label = Label.CHROME
        labels.append(int(label))
    return labels
