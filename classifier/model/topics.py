"""Topic tags: a multi-label, calibrated classifier over the story text.

The topic model reads what the segment model kept: the story, with its
headline in front when the page has one (the headline is the story's own
title, not site chrome; sidebars, menus and teasers never reach it), as
:func:`topic_text` lays it out. Its features are
:class:`~classifier.features.topics.TopicFeatures`.

The taxonomy comes from the training data: every tag seen in training is a
tag of the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn import __version__ as sklearn_version
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.validation import check_is_fitted

from ..features.topics import TopicFeatures
from ..records import Label
from .threads import native_threads

# The probability at which a tag is given when the model holds no threshold of its own for it.
TAG_THRESHOLD = 0.5
# Longest headline (in words) and how far above the story it may sit (in lines).
_HEADLINE_WORDS = (3, 30)
_HEADLINE_REACH = 6


def headline_of(texts: Sequence[str], labels: Sequence[int]) -> str:
    """The story's headline: the longest short line just above the first story line.

    Looks at the chrome lines among the few before the story's first line
    and takes the one with the most words, if it has between 3 and 30 and
    does not end a sentence; "" when there is none (or no story).
    """
    try:
        first = next(i for i, label in enumerate(labels) if label == Label.STORY)
    except StopIteration:
        return ""
    best = ""
    for text in texts[max(0, first - _HEADLINE_REACH) : first]:
        words = len(text.split())
        if _HEADLINE_WORDS[0] <= words <= _HEADLINE_WORDS[1] and text[-1] not in ".!?" and words > len(best.split()):
            best = text
    return best


def topic_text(texts: Sequence[str], labels: Sequence[int]) -> str:
    """What the topic model reads: the headline, a blank line, the story."""
    story = "\n\n".join(t for t, label in zip(texts, labels) if label == Label.STORY)
    if not story:
        return ""
    headline = headline_of(texts, labels)
    return f"{headline}\n\n{story}" if headline else story


def _used_columns(X) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The columns of ``X`` some row uses (at least one), and their indices.

    An L2-penalised regression gives a column no row uses no weight (only the
    penalty touches it, and the solver starts it at zero, where it stays), so
    a fit on the used columns is the same fit. On hashed features most columns
    are unused (62,018 of 393,216 for 419 stories), and each solver step
    works over every column it is given: the topic stage's training took
    four times as long.
    """
    X = sparse.csr_matrix(X)
    used = np.flatnonzero(X.getnnz(axis=0))
    if used.size == 0:
        used = np.zeros(1, dtype=np.int64)  # an intercept-only fit still needs a column
    return X[:, used], used


def _widened(coef: np.ndarray, used: np.ndarray, width: int) -> np.ndarray:
    """Coefficients fitted on the ``used`` columns, as coefficients over all ``width`` columns (zero elsewhere)."""
    full = np.zeros((coef.shape[0], width), dtype=coef.dtype)
    full[:, used] = coef
    return full


class CompactLogistic(LogisticRegression):
    """scikit-learn's logistic regression, fitted on the columns its training rows use (:func:`_used_columns`).

    The same parameters and the same fitted model as :class:`~sklearn.linear_model.LogisticRegression`
    (coefficients over every column, zero where no training row had a value), made several times faster on
    wide, sparse features.
    """

    def fit(self, X, y, sample_weight=None) -> CompactLogistic:
        X = sparse.csr_matrix(X)
        used_part, used = _used_columns(X)
        if self.warm_start and getattr(self, "coef_", None) is not None and self.coef_.shape[1] == X.shape[1]:
            self.coef_ = self.coef_[:, used]  # the last fit's weights of these columns start this one
        super().fit(used_part, y, sample_weight=sample_weight)
        self.coef_ = _widened(self.coef_, used, X.shape[1])
        self.n_features_in_ = X.shape[1]
        return self


class NaiveBayesLogistic(ClassifierMixin, BaseEstimator):
    """Logistic regression over the features weighted by their naive Bayes log-count ratios (NBSVM's idea).

    Each feature's ratio is how much more often it is present in the
    positive examples than in the others, on a log scale, each side smoothed
    by ``alpha`` (Wang and Manning, 2012, "Baselines and bigrams"). Words
    that tell the classes apart weigh more before the regression sees
    them, so it needs less data to trust them. A regression on the weighted
    features is a regression on the features with its weights times the
    ratios: ``coef_`` holds those, so the model is applied as any linear
    model is, to the features themselves. They are kept in single
    precision (half the size in the model file, which keeps three tags'
    worth of them; the sums are still taken in double).

    Parameters
    ----------
    C : float, default=10.0
        Inverse regularisation of the regression.
    alpha : float, default=1.0
        Smoothing of the presence counts.
    """

    def __init__(self, C: float = 10.0, alpha: float = 1.0):
        self.C = C
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None) -> NaiveBayesLogistic:
        if self.alpha <= 0:
            raise ValueError(f"alpha must be over 0 (the counts' smoothing), not {self.alpha!r}")
        X = sparse.csr_matrix(X)  # the features as the topic stage makes them, or an array
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"NaiveBayesLogistic is binary; y has {len(self.classes_)} classes")
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        positive = y == self.classes_[1]
        present = (X > 0).astype(np.float64)
        ratios = []
        for side in (positive, ~positive):
            counts = self.alpha + np.asarray(present.T @ (weight * side)).ravel()
            ratios.append(counts / counts.sum())
        log_ratios = np.log(ratios[0] / ratios[1])
        weighted, used = _used_columns(X.multiply(log_ratios))
        regression = LogisticRegression(C=self.C, max_iter=5000).fit(weighted, y, sample_weight=sample_weight)
        self.coef_ = (_widened(regression.coef_, used, X.shape[1]) * log_ratios).astype(np.float32)
        self.intercept_ = regression.intercept_
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        if X.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but NaiveBayesLogistic is expecting {self.coef_.shape[1]}")
        return np.asarray(X @ self.coef_[0]).ravel() + self.intercept_[0]

    def predict_proba(self, X) -> np.ndarray:
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(np.int64)]


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label topic classifier: per tag, calibrated logistic regressions and the mean of their probabilities.

    Each tag's regression is fitted on all the data; its calibration (a
    sigmoid by default) is fitted on the regression's out-of-fold scores.
    With ``naive_bayes``, each tag has a second one, over the features
    weighted by their naive Bayes ratios (:class:`NaiveBayesLogistic`),
    and its probability is the mean of the two.

    Parameters
    ----------
    features : transformer, default=None
        Text features (:class:`TopicFeatures` when None).
    C : float, default=10.0
        Inverse regularisation of each tag's logistic regression.
    calibration : {"sigmoid", "isotonic"}, default="sigmoid"
        How each tag's scores are calibrated (on internal folds).
    cv : int, default=5
        Folds of the calibration.
    naive_bayes : bool, default=False
        Whether each tag also has a :class:`NaiveBayesLogistic` (same ``C``).

    Notes
    -----
    ``X`` is a sequence of texts, ``y`` a sequence of tag lists. The tags
    (``classes_``) are whatever tags ``y`` holds.
    """

    def __init__(
        self, features=None, C: float = 10.0, calibration: str = "sigmoid", cv: int = 5, naive_bayes: bool = False
    ):
        self.features = features
        self.C = C
        self.calibration = calibration
        self.cv = cv
        self.naive_bayes = naive_bayes

    def fit(self, X: Sequence[str], y: Sequence[Sequence[str]], sample_weight=None) -> TopicClassifier:
        """Fit each tag found in ``y`` its calibrated regression (two with ``naive_bayes``).

        Parameters
        ----------
        X : sequence of str
            Texts, as :func:`topic_text` makes them.
        y : sequence of sequences of str
            The tags of each text (possibly none).
        sample_weight : array-like, shape (n,), optional
        """
        _check_texts(X)
        if len(X) != len(y):
            raise ValueError(f"{len(X)} texts but {len(y)} tag lists")
        self.binarizer_ = MultiLabelBinarizer().fit(y)
        indicators = self.binarizer_.transform(y)
        for tag, positives in zip(self.binarizer_.classes_, indicators.sum(axis=0)):
            if positives < self.cv or positives > len(y) - self.cv:
                raise ValueError(f"tag {tag!r} has {positives} positive examples of {len(y)}: too few to learn")
        self.features_ = clone(self.features if self.features is not None else TopicFeatures()).fit(X)
        matrix = self.features_.transform(X)
        bases = [CompactLogistic(C=self.C, max_iter=5000)]
        if self.naive_bayes:
            bases.append(NaiveBayesLogistic(C=self.C))
        # The solver's steps are vector operations too small to share: BLAS threads only spin at them
        # (the tests' small topic stage trained in 55 s with two threads, 15 s with one).
        with native_threads():
            self.estimators_ = [
                tuple(
                    CalibratedClassifierCV(base, method=self.calibration, cv=self.cv, ensemble=False).fit(
                        matrix, indicators[:, j], sample_weight=sample_weight
                    )
                    for base in bases
                )
                for j in range(indicators.shape[1])
            ]
        self.classes_ = np.array(self.binarizer_.classes_)
        self.sklearn_version_ = sklearn_version
        self.__dict__.pop("_direct_found", None)  # the direct form of what was fitted before
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Probability of each tag, shape (n, n_tags), in ``classes_`` order."""
        check_is_fitted(self, "estimators_")
        _check_texts(X)
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        matrix = self.features_.transform(X)
        members = [_members(estimator) for estimator in self.estimators_]
        direct = self._direct(members)
        if direct is None:
            return np.column_stack(
                [sum(model.predict_proba(matrix)[:, 1] for model in tag) / len(tag) for tag in members]
            )
        return sum(_direct_proba(matrix, *form) for form in direct) / len(direct)

    def _direct(self, members):
        """Each kind of member's regressions (one per tag), as :func:`_stacked` gives them: the same figures
        as the calibrated classifiers give one by one, without their checks and wrappers around each call.

        None when a tag's calibration is not of that one-classifier kind (``ensemble=False``, two classes),
        or the tags have not as many members each.
        """
        found = self.__dict__.get("_direct_found")
        if found is None:
            forms = [_stacked(rank) for rank in zip(*members)] if len({len(tag) for tag in members}) == 1 else [None]
            found = self.__dict__["_direct_found"] = () if None in forms else tuple(forms)
        return found or None

    def __setstate__(self, state):
        state.setdefault("naive_bayes", False)  # fitted before it was a parameter
        super().__setstate__(state)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_direct_found", None)  # made again after loading
        return state

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Tag indicators at 0.5, shape (n, n_tags)."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)


def _check_texts(X) -> None:
    """Refuse one text where texts are asked for: its characters would be taken for texts (as scikit-learn's
    text vectorizers refuse it)."""
    if isinstance(X, (str, bytes)):
        raise ValueError("give the texts as a sequence of strings, not one string")


def _members(estimator) -> tuple:
    """A tag's calibrated regressions (a model fitted before there could be two held the one itself)."""
    return estimator if isinstance(estimator, tuple) else (estimator,)


def _direct_proba(matrix, weights, intercepts, calibrators) -> np.ndarray:
    """Each tag's probability from one regression each (:func:`_stacked`), as its calibrated classifier gives it."""
    decisions = np.column_stack([np.asarray(matrix @ tag_weights).ravel() for tag_weights in weights]) + intercepts
    if isinstance(calibrators, tuple):  # every tag's a sigmoid: its slope and offset
        slopes, offsets = calibrators
        return expit(-(slopes * decisions + offsets))
    return np.column_stack([calibrator.predict(decisions[:, j]) for j, calibrator in enumerate(calibrators)])


def _stacked(estimators) -> tuple | None:
    """The tags' regression weights (each tag's own vector), their intercepts and calibrators; None if any tag is
    otherwise.

    Sigmoid calibrators (the default) become two arrays, their slopes and offsets. The weights stay the
    regressions' own arrays: stacking them into one matrix copied 9 MB (about 2 ms of a process's first
    page), for products no faster than one per tag (and, on the sparse rows the features give, the same
    figures: a row's products add in the same order).
    """
    weights, intercepts, calibrators = [], [], []
    for estimator in estimators:
        parts = getattr(estimator, "calibrated_classifiers_", [])
        if len(parts) != 1 or len(parts[0].calibrators) != 1 or not hasattr(parts[0].estimator, "coef_"):
            return None
        regression = parts[0].estimator
        if regression.coef_.shape[0] != 1:
            return None
        weights.append(regression.coef_[0])
        intercepts.append(regression.intercept_[0])
        calibrators.append(parts[0].calibrators[0])
    if all(isinstance(c, _SigmoidCalibration) for c in calibrators):
        # As each one's predict computes it, for all tags at once.
        calibrators = (np.array([c.a_ for c in calibrators]), np.array([c.b_ for c in calibrators]))
    return tuple(weights), np.asarray(intercepts), calibrators


def build_topic_classifier() -> TopicClassifier:
    """The topic classifier, unfitted: the one place it is built."""
    features = TopicFeatures(
        n_features=2**18, kinds=True, roles=True, lead_chars=400, char_features=2**17, max_chars=2500
    )
    return TopicClassifier(features=features, C=10.0, calibration="sigmoid", cv=5, naive_bayes=True)
