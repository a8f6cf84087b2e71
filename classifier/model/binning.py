"""Weighted bin edges for scikit-learn's gradient-boosted trees, found in one pass: the same edges, sooner.

Before its trees grow, ``HistGradientBoostingClassifier`` cuts each feature
into 255 bins at quantiles of the training rows. With sample weights (which
the segment stages always pass) and up to 200,000 rows (beyond that it
samples rows by weight and cuts without them), scikit-learn 1.9 finds each
of the 254 weighted quantiles by a call that sorts the feature again:
0.8 s a feature at 200,000 rows against 0.01 s unweighted, and most of the
time of fitting the tests' small model or a user's few hundred pages.

:func:`one_pass_binning` gives the binning, while inside it, a function that
makes the same cuts of the same sorted values, asking scikit-learn's own
weighted-quantile function for all 254 quantiles in one call (one sort, the
same arithmetic per quantile; missing values and zero weights left out
first, as scikit-learn leaves them out). Unweighted features and features of
fewer distinct values than bins go to scikit-learn's function itself. It is
used only when, on a sample made to test it, it gives exactly the edges
scikit-learn's gives (another scikit-learn release that bins otherwise, or
whose functions take other arguments, is left alone), and on leaving, the
function that was there before is put back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

_lock = threading.Lock()
_users = 0
_before = None  # the function in place when the first of the calls inside began


def _binning_module():
    try:
        from sklearn.ensemble._hist_gradient_boosting import binning
        from sklearn.utils.stats import _weighted_percentile
    except ImportError:
        return None, None
    if not callable(getattr(binning, "_find_binning_thresholds", None)) or not hasattr(binning, "ALMOST_INF"):
        return None, None
    return binning, _weighted_percentile


def _thresholds(original, weighted_percentile, ceiling):
    """The bin-edge function: ``original``'s edges, with the weighted quantiles found in one call."""

    def thresholds(col_data, max_bins, sample_weight=None):
        if sample_weight is None:
            return original(col_data, max_bins, sample_weight)
        keep = ~np.isnan(col_data) & (sample_weight != 0)
        values, weights = col_data[keep], sample_weight[keep]
        order = np.argsort(values)  # sorted as scikit-learn sorts them (the same algorithm, so the same order)
        values, weights = values[order], weights[order]
        if len(np.unique(values)) <= max_bins:
            # Midpoints of the distinct values, or none: weights play no part.
            return original(col_data, max_bins, sample_weight)
        ranks = np.linspace(0, 100, num=max_bins + 1)[1:-1]
        edges = np.asarray(weighted_percentile(values, weights, ranks, average=True), dtype=np.float64)
        distinct = np.unique(edges)
        if distinct.shape[0] != edges.shape[0]:
            edges = distinct
        np.clip(edges, a_min=None, a_max=ceiling, out=edges)
        return edges

    return thresholds


@lru_cache(maxsize=1)
def _replacement():
    """The one-pass function, if it makes scikit-learn's edges on a test sample; else None."""
    binning, weighted_percentile = _binning_module()
    if binning is None:
        return None
    original = binning._find_binning_thresholds
    faster = _thresholds(original, weighted_percentile, binning.ALMOST_INF)
    rng = np.random.default_rng(0)
    # Ties, missing values, zero weights, and more distinct values than bins.
    values = np.round(rng.normal(size=1500), 2)
    values[rng.choice(1500, 40, replace=False)] = np.nan
    weights = rng.choice([0.0, 0.5, 1.0, 3.0, 7.25], size=1500, p=[0.05, 0.25, 0.4, 0.2, 0.1])
    for column, max_bins in ((values, 255), (np.sort(values), 255), (values, 63), (np.round(values, 1), 255)):
        try:
            theirs, ours = original(column, max_bins, weights), faster(column, max_bins, weights)
        except (TypeError, ValueError, IndexError, AttributeError):  # another release's functions and arguments
            return None
        if theirs.dtype != ours.dtype or not np.array_equal(theirs, ours):
            return None
    return binning, faster


@contextmanager
def one_pass_binning() -> Iterator[None]:
    """While inside, trees fitted in this process bin weighted features in one pass (the same bins).

    Calls may nest or overlap from several threads: the function in place
    when the first of them began comes back when the last of them ends.
    """
    global _users, _before
    with _lock:
        found = _replacement()
        if found is not None:
            if _users == 0:
                _before = found[0]._find_binning_thresholds  # scikit-learn's, or whatever wraps it now
                found[0]._find_binning_thresholds = found[1]
            _users += 1
    try:
        yield
    finally:
        if found is not None:
            with _lock:
                _users -= 1
                if _users == 0:
                    found[0]._find_binning_thresholds = _before
                    _before = None
