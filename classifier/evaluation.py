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
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

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


class Mistake(NamedTuple):
    """A line the model labelled otherwise than the gold: where it is, what it says, its score."""

    line: int  # the line of the page's text (the rendering, for HTML) the segment starts on, from 1
    text: str
    score: float
    gold: Label


@dataclass(frozen=True)
class PageResult:
    """One evaluated page: its score, its line errors and the lines it got wrong."""

    id: str
    site: str
    score: PageScore
    lines: int
    errors: int
    mistakes: tuple[Mistake, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """What ``storyfilter evaluate`` reports.

    ``scores`` and ``gold`` hold every line with a gold label: its story
    probability and whether it is story, for curves over the segment scores.
    """

    story: StoryScore
    line_accuracy: float
    lines: int
    pages: tuple[PageResult, ...] = field(default=())
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gold: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def as_input(document: TrainingDocument) -> Document:
    """The page to label for a training document: its HTML when it came as HTML, else its text."""
    if document.is_html:
        return Document(id=document.id, html=document.html)
    return Document(id=document.id, text=document.text)


def gold_story(document: TrainingDocument) -> str:
    """The gold story of a training document: its ``story`` field, else its story lines."""
    if document.story is not None:
        return document.story
    return "\n\n".join(s.text for s, label in zip(document.segments, document.labels) if label == Label.STORY)


def evaluate_documents(model: "Model", documents: Iterable[TrainingDocument]) -> Evaluation:
    """Label each document's text with ``model`` and score it against its gold."""
    documents = list(documents)
    inputs = map(as_input, documents)
    pages: list[PageResult] = []
    scores: list[float] = []
    gold: list[bool] = []
    right = total = 0
    for document, result in zip(documents, model.label_many(inputs)):
        if not isinstance(result, LabeledDocument):
            raise RuntimeError(f"{document.id}: {result.message}")
        mistakes = []
        known = 0
        page_text = result.text if result.text is not None else document.text
        for scored, label in zip(result.segments, document.labels):
            if label == UNKNOWN:
                continue
            known += 1
            scores.append(float(scored.score))
            gold.append(label == Label.STORY)
            if int(scored.label) != label:
                line = page_text.count("\n", 0, scored.segment.start) + 1
                mistakes.append(Mistake(line, scored.text, float(scored.score), Label(label)))
        right += known - len(mistakes)
        total += known
        score = score_page(result.story, gold_story(document))
        pages.append(PageResult(document.id, document.site, score, known, len(mistakes), tuple(mistakes)))
    return Evaluation(
        story=average_scores([p.score for p in pages]),
        line_accuracy=right / total if total else 0.0,
        lines=total,
        pages=tuple(pages),
        scores=np.array(scores, dtype=float),
        gold=np.array(gold, dtype=bool),
    )


def score_documents(model: "Model", documents: Iterable[TrainingDocument]) -> StoryScore:
    """Story F1 of ``model`` over ``documents``."""
    return evaluate_documents(model, documents).story


def topic_metrics(
    truth: np.ndarray,
    probability: np.ndarray,
    thresholds: Sequence[float],
    names: Sequence[str],
    predicted: np.ndarray | None = None,
) -> dict:
    """Per-tag precision, recall, F1 and average precision, and micro-F1.

    Tags are ``probability >= threshold`` unless ``predicted`` gives them.
    """
    if predicted is None:
        predicted = probability >= np.asarray(thresholds)[None, :]
    per_tag = {}
    for j, name in enumerate(names):
        p, r, f, _ = precision_recall_fscore_support(truth[:, j], predicted[:, j], average="binary", zero_division=0.0)
        per_tag[name] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "average_precision": round(float(average_precision_score(truth[:, j], probability[:, j])), 4)
            if truth[:, j].any()
            else None,
            "support": int(truth[:, j].sum()),
        }
    micro = f1_score(truth, predicted, average="micro", zero_division=0.0)
    return {"micro_f1": round(float(micro), 4), "per_tag": per_tag}


def has_story_gold(document: TrainingDocument) -> bool:
    """Whether a document can be scored for its story (gold text or labelled lines)."""
    return document.story is not None or any(label != UNKNOWN for label in document.labels)


class TopicOutcome(NamedTuple):
    """Each document's gold tags and topic probabilities, a column per tag name, for curves."""

    names: tuple[str, ...]
    truth: np.ndarray
    probability: np.ndarray


def evaluate_topics(model: "Model", documents: Iterable[TrainingDocument]) -> dict:
    """Per-tag precision, recall, F1, average precision and micro-F1 of the full pipeline.

    Each document's text is labelled as a page (segments, then topics on the
    story), and its tags and topic probabilities are compared with the gold
    tags. Tags the model does not know count as missed. The returned dict
    also holds the :class:`TopicOutcome` under ``"outcome"``.
    """
    documents = [d for d in documents if d.topics is not None]
    names = sorted(set(model.tag_names) | {t for d in documents for t in d.topics})
    truth = np.array([[name in d.topics for name in names] for d in documents], dtype=bool).reshape(-1, len(names))
    probability = np.zeros(truth.shape)
    predicted = np.zeros(truth.shape, dtype=bool)
    inputs = map(as_input, documents)
    for row, result in enumerate(model.label_many(inputs)):
        if isinstance(result, LabeledDocument):
            probability[row] = [result.topics.get(name, 0.0) for name in names]
            predicted[row] = [name in result.tags for name in names]
    metrics = topic_metrics(truth, probability, [0.5] * len(names), names, predicted=predicted)
    metrics["documents"] = len(documents)
    metrics["outcome"] = TopicOutcome(tuple(names), truth, probability)
    return metrics
