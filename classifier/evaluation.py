"""How well a story was extracted: the article-body score.

The extracted story and the gold story are each cut into overlapping 4-word
shingles (lower-cased word tokens). Per page, precision is the share of the
extracted shingles that are in the gold text, recall the share of gold
shingles that were extracted (both counted as multisets, so repeated
passages count as often as they occur). Precision and recall are averaged
over pages, and the story F1 is the harmonic mean of the two averages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from .corpus import words

SHINGLE = 4


@dataclass(frozen=True)
class PageScore:
    """Precision and recall of one page's extracted story."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class StoryScore:
    """Averaged precision and recall over pages, and their F1."""

    precision: float
    recall: float
    pages: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def shingles(text: str, size: int = SHINGLE) -> Counter:
    """The multiset of ``size``-word shingles of ``text``.

    A text shorter than ``size`` words is one shingle of all its words, so
    that short stories still count.
    """
    tokens = words(text)
    if len(tokens) < size:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(zip(*(tokens[i:] for i in range(size))))


def score_page(extracted: str, gold: str) -> PageScore:
    """Score one extracted story against its gold text.

    An empty extraction of an empty gold text is perfect; an empty extraction
    of a non-empty gold text has precision 1 (nothing wrong was kept) and
    recall 0, and the reverse has precision 0 and recall 1.
    """
    got, want = shingles(extracted), shingles(gold)
    n_got, n_want = sum(got.values()), sum(want.values())
    common = sum((got & want).values())
    precision = common / n_got if n_got else 1.0
    recall = common / n_want if n_want else 1.0
    return PageScore(precision, recall)


def score_stories(pairs: Iterable[tuple[str, str]]) -> StoryScore:
    """Average :func:`score_page` over ``(extracted, gold)`` pairs."""
    scores = [score_page(extracted, gold) for extracted, gold in pairs]
    return average_scores(scores)


def average_scores(scores: Sequence[PageScore]) -> StoryScore:
    """Average page scores into one :class:`StoryScore`."""
    if not scores:
        return StoryScore(0.0, 0.0, 0)
    n = len(scores)
    return StoryScore(
        precision=sum(s.precision for s in scores) / n,
        recall=sum(s.recall for s in scores) / n,
        pages=n,
    )
