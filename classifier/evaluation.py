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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

from .corpus import UNKNOWN, TrainingDocument, words
from .documents import Document, LabeledDocument
from .labels import Label

if TYPE_CHECKING:
    from .bundle import Model

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


@dataclass(frozen=True)
class PageResult:
    """One evaluated page: its score and its line errors."""

    id: str
    site: str
    score: PageScore
    lines: int
    errors: int


@dataclass(frozen=True)
class Evaluation:
    """What ``storyfilter evaluate`` reports."""

    story: StoryScore
    line_accuracy: float
    lines: int
    pages: tuple[PageResult, ...] = field(default=())


def gold_story(document: TrainingDocument) -> str:
    """The gold story of a training document: its ``story`` field, else its story lines."""
    if document.story is not None:
        return document.story
    return "\n\n".join(s.text for s, label in zip(document.segments, document.labels) if label == Label.STORY)


def evaluate_documents(model: "Model", documents: Iterable[TrainingDocument]) -> Evaluation:
    """Label each document's text with ``model`` and score it against its gold."""
    documents = list(documents)
    inputs = (Document(id=d.id, text=d.text) for d in documents)
    pages: list[PageResult] = []
    right = total = 0
    for document, result in zip(documents, model.label_many(inputs)):
        if not isinstance(result, LabeledDocument):
            raise RuntimeError(f"{document.id}: {result.message}")
        errors = known = 0
        for scored, label in zip(result.segments, document.labels):
            if label != UNKNOWN:
                known += 1
                errors += int(scored.label) != label
        right += known - errors
        total += known
        pages.append(PageResult(document.id, document.site, score_page(result.story, gold_story(document)), known, errors))
    return Evaluation(
        story=average_scores([p.score for p in pages]),
        line_accuracy=right / total if total else 0.0,
        lines=total,
        pages=tuple(pages),
    )


def score_documents(model: "Model", documents: Iterable[TrainingDocument]) -> StoryScore:
    """Story F1 of ``model`` over ``documents``."""
    return evaluate_documents(model, documents).story
