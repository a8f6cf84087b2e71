"""Trees' bin edges found in one pass: the same edges as scikit-learn's, and scikit-learn's function put back."""

import threading

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting import binning

from classifier.model.binning import _replacement, one_pass_binning

ORIGINAL = binning._find_binning_thresholds


@pytest.fixture(scope="module")
def faster():
    found = _replacement()
    if found is None:
        pytest.skip("this scikit-learn bins otherwise: the one-pass edges are not used")
    return found[1]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_bins", [255, 31])
def test_the_edges_are_scikit_learns_to_the_bit(faster, seed, max_bins):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(100, 6000))
    values = [
        rng.normal(size=n),  # all distinct
        np.round(rng.exponential(size=n), 1),  # ties
        np.round(rng.normal(size=n) * 200),  # many ties, more distinct values than bins
        rng.integers(0, 5, size=n).astype(float),  # fewer distinct values than bins
        np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),  # missing values
        np.full(n, 2.0),  # one value
    ]
    weights = [
        rng.random(n),
        rng.choice([0.0, 1.0, 2.0, 10.0], size=n),  # zero weights among them
        np.ones(n),
        None,
    ]
    for column in values:
        for weight in weights:
            theirs, ours = ORIGINAL(column, max_bins, weight), faster(column, max_bins, weight)
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_trees_fitted_inside_are_the_trees_fitted_outside_and_the_function_comes_back():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=3000), np.round(rng.exponential(size=3000), 2), rng.integers(0, 9, 3000)])
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    weight = rng.choice([0.5, 1.0, 4.0], size=3000)
    trees = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    outside = trees.fit(X, y, sample_weight=weight).predict_proba(X)
    with one_pass_binning():
        with one_pass_binning():  # nested: put back only when the last ends
            pass
        assert binning._find_binning_thresholds is not ORIGINAL or _replacement() is None
        inside = trees.fit(X, y, sample_weight=weight).predict_proba(X)
    assert binning._find_binning_thresholds is ORIGINAL
    assert np.array_equal(inside, outside)


def test_overlapping_fits_from_threads_leave_scikit_learns_function_in_place():
    started, release = threading.Barrier(3), threading.Event()

    def fit():
        with one_pass_binning():
            started.wait()
            release.wait()

    threads = [threading.Thread(target=fit) for _ in range(3)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()
    assert binning._find_binning_thresholds is ORIGINAL


def test_an_error_inside_puts_scikit_learns_function_back():
    with pytest.raises(RuntimeError), one_pass_binning():
        raise RuntimeError("fit failed")
    assert binning._find_binning_thresholds is ORIGINAL


def test_a_release_whose_function_takes_other_arguments_is_left_alone(monkeypatch):
    def two_arguments(col_data, max_bins):  # scikit-learn before 1.8 took no weights here
        return ORIGINAL(col_data, max_bins)

    monkeypatch.setattr(binning, "_find_binning_thresholds", two_arguments)
    _replacement.cache_clear()
    try:
        with one_pass_binning():
            assert binning._find_binning_thresholds is two_arguments
    finally:
        _replacement.cache_clear()
    assert binning._find_binning_thresholds is two_arguments


def test_leaving_puts_back_the_function_that_was_there_when_the_first_call_began(monkeypatch, faster):
    def wrapper(*args, **kwargs):  # a profiler's or a test's, put in place after the check
        return ORIGINAL(*args, **kwargs)

    _replacement()  # checked against scikit-learn's own
    monkeypatch.setattr(binning, "_find_binning_thresholds", wrapper)
    with one_pass_binning():
        assert binning._find_binning_thresholds is _replacement()[1]
    assert binning._find_binning_thresholds is wrapper
