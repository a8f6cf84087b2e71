"""Labels from gold text: which lines of a page the gold story holds.

A web-page corpus gives each page's main text, not line labels; the lines
of a page (as a renderer laid them out, or its DOM blocks) are labelled by
how much of their wording the gold text holds (:func:`align_gold`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, as alignment and evaluation count them."""
    return _WORD.findall(text.lower())


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
