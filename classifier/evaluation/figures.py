"""The figures of the evaluation report, computed: curves, calibration, histograms, sites, worst pages.

Small functions that the tests check against known answers; drawing them
(:mod:`classifier.evaluation.plots`) and the page
(:mod:`classifier.evaluation.report`) only lay them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from ..model.topics import TAG_THRESHOLD
from .evaluate import PageResult, TopicOutcome
from .metrics import average_scores, reliability_bins

# Pages listed with their mislabelled lines, and lines shown for each at most.
WORST_PAGES = 10
MISTAKES_SHOWN = 40
# Bins of the reliability plot (tenths of [0, 1]) and of the per-page F1 histogram (twentieths:
# most pages are over 0.9); points kept of a precision-recall curve in report.json.
BINS, F1_BINS, CURVE_POINTS = 10, 20, 400


def _at_threshold(truth: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Precision and recall when everything scored at or over ``threshold`` is called positive."""
    called = scores >= threshold
    hits = int((called & truth).sum())
    return {
        "threshold": float(threshold),
        "precision": hits / int(called.sum()) if called.any() else 1.0,
        "recall": hits / int(truth.sum()) if truth.any() else 0.0,
    }


def _curve(truth: np.ndarray, scores: np.ndarray, points: int = CURVE_POINTS) -> dict:
    """A precision-recall curve, thinned to about ``points`` points (its ends kept)."""
    precision, recall, _ = precision_recall_curve(truth, scores)
    if len(precision) > points:
        keep = np.unique(np.linspace(0, len(precision) - 1, points).round().astype(int))
        precision, recall = precision[keep], recall[keep]
    return {"precision": precision.tolist(), "recall": recall.tolist()}


def story_curve(gold: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """The precision-recall curve of the segment scores (story is positive), and the point the model works at."""
    return {
        **_curve(gold, scores),
        "average_precision": float(average_precision_score(gold, scores)),
        "point": _at_threshold(gold, scores, threshold),
    }


def reliability(gold: np.ndarray, scores: np.ndarray, bins: int = BINS) -> dict:
    """Calibration of the segment scores: per bin of equal width, the lines in it, their mean score and the share that is story.

    Empty bins are left out; a perfectly calibrated model has mean score =
    share of story in every bin (see :func:`~classifier.evaluation.metrics.reliability_bins`).
    """
    rows = [
        {
            "low": row.low,
            "high": row.high,
            "lines": row.count,
            "mean_score": row.mean_score,
            "story_share": row.positive_share,
        }
        for row in reliability_bins(gold, scores, bins)
    ]
    return {"bins": rows}


def page_f1_histogram(pages: Sequence[PageResult], bins: int = F1_BINS) -> dict:
    """How many pages fall in each of ``bins`` equal parts of story F1 (the last one holds F1 = 1)."""
    counts, edges = np.histogram([p.score.f1 for p in pages], bins=bins, range=(0.0, 1.0))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def per_site(pages: Sequence[PageResult]) -> list[dict]:
    """Story F1, precision and recall of each site's pages (averaged as overall), worst site first."""
    by_site: dict[str, list[PageResult]] = {}
    for page in pages:
        by_site.setdefault(page.site, []).append(page)
    rows = []
    for site, group in by_site.items():
        score = average_scores([p.score for p in group])
        rows.append(
            {"site": site, "pages": len(group), "f1": score.f1, "precision": score.precision, "recall": score.recall}
        )
    return sorted(rows, key=lambda row: (row["f1"], row["site"]))


def worst_pages(pages: Sequence[PageResult], n: int = WORST_PAGES) -> list[PageResult]:
    """The ``n`` pages of lowest story F1 (ties: more line errors first, then by id); none whose story and lines are right."""
    wrong = [p for p in pages if p.score.f1 < 1.0 or p.errors]
    return sorted(wrong, key=lambda p: (p.score.f1, -p.errors, p.id))[:n]


def tag_curves(outcome: TopicOutcome, thresholds: Mapping[str, float], unknown: Iterable[str] = ()) -> dict:
    """Per tag with gold positives that the model scores: its precision-recall curve and the point at its threshold.

    A gold tag the model does not know (``unknown``) has no curve: the model
    gives it no scores to rank by (the metrics give it no average
    precision). A tag without a threshold is marked at :data:`TAG_THRESHOLD`,
    where labelling tags it.
    """
    unknown, curves = set(unknown), {}
    for j, name in enumerate(outcome.names):
        truth, scores = outcome.truth[:, j].astype(bool), outcome.probability[:, j]
        if not truth.any() or name in unknown:
            continue
        curves[name] = {
            **_curve(truth, scores),
            "average_precision": float(average_precision_score(truth, scores)),
            "point": _at_threshold(truth, scores, thresholds.get(name, TAG_THRESHOLD)),
            "positives": int(truth.sum()),
        }
    return curves
