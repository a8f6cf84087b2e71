"""Scores: how well a story was extracted (the article-body score), tag metrics, calibration bins.

The extracted story and the gold story are each cut into overlapping 4-word
shingles (lower-cased word tokens). Per page, precision is the share of the
extracted shingles that are in the gold text, recall the share of gold
shingles that were extracted (both counted as multisets, so repeated
passages count as often as they occur). Precision and recall are averaged
over pages, and the story F1 is the harmonic mean of the two averages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

from ..corpus.alignment import words

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


# Draws of the site bootstrap, and the seed that makes its interval repeatable.
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0


def site_bootstrap_interval(
    ours: Sequence[PageScore], rival: Sequence[PageScore], sites: Sequence[str], level: float = 0.95
) -> tuple[float, float]:
    """How far the story-F1 difference (ours minus rival) could move on other sites like these.

    Both tools' page scores on the same pages; whole sites are drawn with
    replacement (a site's pages share its template, so they are not
    independent samples), both tools' F1 recomputed on each draw, and the
    central ``level`` share of the differences returned. An interval that
    holds 0 says the pages cannot tell the two apart.
    """
    if not (len(ours) == len(rival) == len(sites)):
        raise ValueError("one score of each tool and one site for every page")
    names, site_of_page = np.unique(np.asarray(sites), return_inverse=True)
    if len(names) < 2:
        raise ValueError("pages of one site say nothing of other sites: no interval")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    drawn = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names)), size=BOOTSTRAP_DRAWS)
    weights = drawn[:, site_of_page].astype(np.float64)  # each page counted as often as its site was drawn
    totals = weights.sum(axis=1)

    def f1s(scores: Sequence[PageScore]) -> np.ndarray:
        precision = weights @ np.array([s.precision for s in scores]) / totals
        recall = weights @ np.array([s.recall for s in scores]) / totals
        total = precision + recall
        return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)

    differences = f1s(ours) - f1s(rival)
    low, high = np.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


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
        gold = truth[:, j].any()
        # No gold tag and none given: nothing to score (0 would read as all wrong), so None.
        undefined = not gold and not predicted[:, j].any()
        per_tag[name] = {
            "precision": None if undefined else round(float(p), 4),
            "recall": None if undefined else round(float(r), 4),
            "f1": None if undefined else round(float(f), 4),
            "average_precision": round(float(average_precision_score(truth[:, j], probability[:, j])), 4)
            if gold
            else None,
            "support": int(truth[:, j].sum()),
        }
    micro = f1_score(truth, predicted, average="micro", zero_division=0.0)
    undefined = not truth.any() and not predicted.any()
    return {"micro_f1": None if undefined else round(float(micro), 4), "per_tag": per_tag}


def shown(figure: float | None, places: int = 4) -> str:
    """A figure as printed, ``-`` where there is none (a tag neither gold nor given)."""
    return "-" if figure is None else f"{figure:.{places}f}"


class ReliabilityBin(NamedTuple):
    """One bin of a reliability (calibration) table: scores in ``[low, high)``, how many, their mean, the share positive."""

    low: float
    high: float
    count: int
    mean_score: float
    positive_share: float


def reliability_bins(truth: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[ReliabilityBin]:
    """Calibration of scores: per bin of equal width, the scores in it, their mean and the share that is positive.

    Empty bins are left out; a perfectly calibrated model has mean score =
    positive share in every bin. A score on a bin edge (exactly 0.3) falls in
    the bin it opens ([0.3, 0.4)); 1.0 falls in the last bin.
    """
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(truth, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Rounded before the floor: 0.3 * 10 is 2.9999999999999996 in floating point.
    which = np.clip(np.floor(np.round(scores * bins, 9)).astype(int), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            rows.append(
                ReliabilityBin(
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(inside.sum()),
                    float(scores[inside].mean()),
                    float(truth[inside].mean()),
                )
            )
    return rows
