"""The fitted first- and second-pass classifiers applied without scikit-learn's checks around each call.

Every ``predict_proba`` call of a scikit-learn estimator first validates
its input (types, shape, finiteness, dataframe detection) and, for the
gradient-boosted trees, sets up each tree's call again. On a chunk of 64
pages that is lost in the work; on one page (a service request, a user's
one-off call) it costs about as much as the arithmetic. The arrays the
segment classifier hands its estimators are its own, already of the right
type and shape, so :func:`story_proba` applies the fitted parameters
directly, as the estimators' own methods do, to the same figures (checked
by tests against ``predict_proba``). An estimator of any other kind, or
whose fitted attributes are not where this expects them, is called as
usual.
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

import numpy as np
from scipy import sparse
from scipy.special import expit

# The direct form of each estimator met so far (None: call it as usual), with the fitted
# attribute it was made from: fitted again, an estimator gets a new one. The forms hold
# no reference to their estimator, or an entry would keep its own key alive.
_FOUND: WeakKeyDictionary = WeakKeyDictionary()


def story_proba(estimator, X) -> np.ndarray:
    """``estimator.predict_proba(X)[:, 1]`` of a fitted binary classifier, without the per-call checks."""
    fitted = _fitted(estimator)
    found = _FOUND.get(estimator)
    if found is None or found[0] is not fitted:
        found = _FOUND[estimator] = (fitted, _direct_form(estimator))
    direct = found[1]
    if direct is None:
        return estimator.predict_proba(X)[:, 1]
    return direct(X)


def _fitted(estimator):
    """The attribute a fit replaces, by which a direct form is known to be current."""
    return getattr(estimator, "_predictors", None) or getattr(estimator, "coef_", None)


def _direct_form(estimator) -> Callable[[object], np.ndarray] | None:
    if list(getattr(estimator, "classes_", [])) != [0, 1]:
        return None
    kind = type(estimator).__name__
    if kind == "HistGradientBoostingClassifier":
        return _trees(estimator)
    if kind == "SGDClassifier" and estimator.loss == "log_loss":
        return _linear(estimator)
    return None


def _trees(estimator) -> Callable[[np.ndarray], np.ndarray] | None:
    """Sum of the trees' leaf values over the baseline, through the loss's link: as ``_raw_predict`` does."""
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        predictors = [predictor for (predictor,) in estimator._predictors]
        known_categories, feature_map = estimator._bin_mapper.make_known_categories_bitsets()
        baseline, loss, width = estimator._baseline_prediction, estimator._loss, estimator.n_features_in_
    except (AttributeError, ImportError, ValueError):
        return None
    if getattr(estimator, "_preprocessor", None) is not None or getattr(estimator, "is_categorical_", None) is not None:
        return None  # categorical features are encoded first: sklearn's own path does that

    name = type(estimator).__name__  # (the form keeps no reference to its estimator: see _FOUND)

    def proba(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        _check_width(X, width, name)
        raw = np.zeros((X.shape[0], 1), dtype=baseline.dtype, order="F")
        raw += baseline
        threads = _openmp_effective_n_threads()  # as limited around the call (threadpoolctl)
        for predictor in predictors:
            raw[:, 0] += predictor.predict(X, known_categories, feature_map, threads)
        return loss.predict_proba(raw)[:, 1]

    return proba


def _linear(estimator) -> Callable[[object], np.ndarray] | None:
    """The logistic of the linear decision function: as ``decision_function`` and ``_predict_proba_lr`` do."""
    coef, intercept = getattr(estimator, "coef_", None), getattr(estimator, "intercept_", None)
    if coef is None or intercept is None or coef.shape[0] != 1 or sparse.issparse(coef):
        return None
    weights, name = coef.T, type(estimator).__name__

    def proba(X) -> np.ndarray:
        _check_width(X, weights.shape[0], name)
        scores = np.asarray(X @ weights) + intercept
        return expit(scores.reshape(-1))

    return proba


def _check_width(X, width: int, name: str) -> None:
    """The check of scikit-learn's that matters here: as many columns as the estimator (``name``) was fitted on."""
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError(f"X has {X.shape[-1] if X.ndim else 0} features, but {name} is expecting {width}")
