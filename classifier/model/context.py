"""Context features from first-pass scores: what the neighbours look like.

A teaser blurb in a sidebar is prose, and alone it scores like story; what
gives it away is that the lines around it score as chrome, that it sits
after the page's main run of story, in a block of short dated lines. The
second pass sees each line's first-pass score together with its
neighbours' scores, windows of scores before and after it, its block's and
page's scores, and where it stands relative to the page's main story span.
"""

from __future__ import annotations

import numpy as np

from ..features.pages import PageIndex

# Offsets of neighbours whose score the second pass sees directly.
_OFFSETS = (-4, -3, -2, -1, 1, 2, 3, 4)
# Half-widths (in lines) of the score windows.
_WINDOWS = (2, 5, 15)
# Cap for distances to the main span ("far away").
_FAR = 50
_EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def main_span(index: PageIndex, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each page's contiguous run of lines with the greatest total ``gain``.

    ``gain`` is positive for story-like lines and negative for chrome-like
    ones; the best run is the page's main story as one block. Returns, per
    line, the batch index of its page's span start and stop (exclusive).
    Pages with no positive gain get an empty span at their first line. On
    ties the earliest run wins.

    This is Kadane's maximum-sum subarray: running sums and minima per
    page, the rest for all pages at once.
    """
    n = len(index)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = np.arange(n)
    after = index.accumulate(np.add, gain)  # sum over the page up to and including the row
    before = after - gain  # ... up to the row, excluded
    lowest = index.accumulate(np.minimum, before)
    new_low = np.concatenate([[True], before[1:] < lowest[:-1]])
    new_low[index.page_bounds[:-1]] = True
    low_at = np.maximum.accumulate(np.where(new_low, rows, 0))
    value = after - before[low_at]
    firsts = index.page_bounds[:-1]
    best = np.maximum.reduceat(value, firsts)[index.page]
    candidate = np.where((value == best) & (value > 0), rows, n)
    best_end = np.minimum.reduceat(candidate, firsts)[index.page]
    found = best_end < n
    span_start = np.where(found, low_at[np.minimum(best_end, n - 1)], index.first)
    span_stop = np.where(found, best_end + 1, index.first)
    return span_start.astype(np.int64), span_stop.astype(np.int64)


def score_context(
    index: PageIndex, scores: np.ndarray, words: np.ndarray, containers: np.ndarray | None = None
) -> np.ndarray:
    """Context features from first-pass story probabilities.

    Parameters
    ----------
    index : PageIndex
        Page and block layout of the batch.
    scores : ndarray, shape (n,) or (n, m)
        First-pass probabilities that each line is story (one column per
        first-pass model).
    words : ndarray, shape (n,)
        Words per line, to weigh windows by how much text they hold.
    containers : ndarray of int, shape (n, g), optional
        For HTML pages, group ids of each line's containers (its element,
        parent element, DOM path); the mean score over each group joins the
        features.

    Returns
    -------
    ndarray, shape (n, k)
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    weight = np.log1p(words)
    columns: list[np.ndarray] = []
    ones = np.ones(len(index))
    weight_sums = index.running(weight)
    for offset in _OFFSETS:  # whether that neighbour exists
        columns.append(index.shift(ones, offset, fill=0.0))
    for p in scores.T:
        logit = _logit(p)
        columns.append(logit)
        for offset in _OFFSETS:
            columns.append(index.shift(logit, offset, fill=0.0))
        sums, weighted = index.running(p), index.running(p * weight)
        for width in _WINDOWS:
            columns.append(sums.window_mean(width, width))
            columns.append(weighted.window_sum(width, width) / np.maximum(weight_sums.window_sum(width, width), _EPS))
            for side in (-1, 1):
                columns.append(sums.side_mean(width, side))
        columns.append(index.block_sum(p) / index.block_size())
        page_mean = index.page_sum(p) / index.size
        columns.append(page_mean)
        columns.append(p - page_mean)
        columns.append(index.page_sum(p * weight) / np.maximum(index.page_sum(weight), _EPS))
        for gain in (p - 0.5, (p - 0.5) * weight):
            columns.extend(_span_features(index, gain, words))
        if containers is not None:
            for ids in containers.T:
                mass = np.bincount(ids, weights=weight + _EPS)
                columns.append((np.bincount(ids, weights=p * (weight + _EPS)) / mass)[ids])
    # Built feature by feature and returned column-major, as the trees read it.
    return np.array(columns).T


def _span_features(index: PageIndex, gain: np.ndarray, words: np.ndarray) -> list[np.ndarray]:
    start, stop = main_span(index, gain)
    position = np.arange(len(index))
    inside = (position >= start) & (position < stop)
    before = np.clip(start - position, 0, _FAR)
    after = np.clip(position - stop + 1, 0, _FAR)
    span_words = index.range_sum(words, start, stop)
    page_words = index.page_sum(words)
    return [
        inside.astype(np.float64),
        np.log1p(before),
        np.log1p(after),
        span_words / np.maximum(page_words, 1.0),
    ]
