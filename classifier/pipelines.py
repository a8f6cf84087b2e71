"""The segment classifier and the one place that builds it.

:class:`SegmentClassifier` is a two-pass scikit-learn classifier over
batches of segments:

1. the first pass scores each line from its own shape, its layout features
   and its wording (a linear model over scaled dense features and hashed
   words);
2. the second pass (gradient-boosted trees) sees the dense features again
   with the first-pass scores of the line, its neighbours, its block, its
   page and the page's main story span.

The second pass is trained on out-of-fold first-pass scores (grouped by
site), so in training it sees scores as unreliable as those it sees when
labelling new sites.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn import __version__ as sklearn_version
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from .context import score_context
from .features import LexicalFeatures, LineFeatures, feature_names
from .pages import PageIndex
from .segments import Segment

# Column of the dense features that holds log(1 + words).
_LOG_WORDS = feature_names().index("log_words")


class SegmentClassifier(ClassifierMixin, BaseEstimator):
    """Story-or-chrome classifier over a batch of segments, with context.

    Parameters
    ----------
    line_features : transformer
        Dense features of each segment (:class:`LineFeatures`).
    lexical : transformer
        Sparse wording features (:class:`LexicalFeatures`).
    first : classifier
        First-pass model over scaled dense and lexical features.
    second : classifier
        Second-pass model over dense features and score context.
    cv : int, default=5
        Folds for the out-of-fold first-pass scores.

    Notes
    -----
    ``y`` uses 1 for story, 0 for chrome and -1 for unlabelled lines: these
    stay in the batch as context but are not trained on (the convention of
    scikit-learn's semi-supervised estimators).
    """

    def __init__(
        self,
        line_features=None,
        lexical=None,
        first=None,
        second=None,
        cv: int = 5,
    ):
        self.line_features = line_features
        self.lexical = lexical
        self.first = first
        self.second = second
        self.cv = cv

    def fit(
        self,
        X: Sequence[Segment],
        y,
        groups=None,
        sample_weight=None,
    ) -> "SegmentClassifier":
        """Fit both passes.

        Parameters
        ----------
        X : sequence of Segment
            Pages contiguous, in reading order.
        y : array-like of int, shape (n,)
            1 story, 0 chrome, -1 unlabelled.
        groups : array-like, shape (n,), optional
            Group of each segment for the out-of-fold split (the site);
            defaults to the page.
        sample_weight : array-like, shape (n,), optional
        """
        y = np.asarray(y, dtype=np.int64)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} segments but y has {len(y)} labels")
        labelled = y >= 0
        if not labelled.any() or len(np.unique(y[labelled])) < 2:
            raise ValueError("training needs both story and chrome segments")
        index = PageIndex.from_segments(X)
        groups = index.page if groups is None else np.asarray(groups)
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        self.line_features_ = clone(self.line_features or LineFeatures()).fit(X)
        self.lexical_ = clone(self.lexical or LexicalFeatures()).fit(X)
        dense = self.line_features_.transform(X)
        self.scaler_ = StandardScaler().fit(dense[labelled])
        first_input = self._first_input(dense, X)

        first = self.first if self.first is not None else LogisticRegression(C=1.0, max_iter=2000)
        oof = np.zeros(len(y))
        folds = GroupKFold(n_splits=self.cv)
        for train, test in folds.split(first_input, y, groups):
            train = train[labelled[train]]
            model = clone(first).fit(first_input[train], y[train], sample_weight=weight[train])
            oof[test] = model.predict_proba(first_input[test])[:, 1]
        self.first_ = clone(first).fit(first_input[labelled], y[labelled], sample_weight=weight[labelled])

        second_input = self._second_input(dense, oof, index)
        second = self.second if self.second is not None else HistGradientBoostingClassifier(random_state=0)
        self.second_ = clone(second).fit(second_input[labelled], y[labelled], sample_weight=weight[labelled])
        self.classes_ = np.array([0, 1])
        self.sklearn_version_ = sklearn_version
        return self

    def _first_input(self, dense: np.ndarray, X: Sequence[Segment]) -> sparse.csr_matrix:
        scaled = np.clip(self.scaler_.transform(dense), -10, 10)
        return sparse.hstack([sparse.csr_matrix(scaled), self.lexical_.transform(X)], format="csr")

    def _second_input(self, dense: np.ndarray, first_scores: np.ndarray, index: PageIndex) -> np.ndarray:
        words = np.expm1(dense[:, _LOG_WORDS])
        return np.hstack([dense, score_context(index, first_scores, words)])

    def first_pass(self, X: Sequence[Segment]) -> np.ndarray:
        """First-pass story probabilities (each line on its own features)."""
        check_is_fitted(self, "second_")
        dense = self.line_features_.transform(X)
        return self.first_.predict_proba(self._first_input(dense, X))[:, 1]

    def predict_proba(self, X: Sequence[Segment]) -> np.ndarray:
        """Probabilities of chrome and story, shape (n, 2)."""
        check_is_fitted(self, "second_")
        if len(X) == 0:
            return np.zeros((0, 2))
        index = PageIndex.from_segments(X)
        dense = self.line_features_.transform(X)
        first_scores = self.first_.predict_proba(self._first_input(dense, X))[:, 1]
        return self.second_.predict_proba(self._second_input(dense, first_scores, index))

    def predict(self, X: Sequence[Segment]) -> np.ndarray:
        """1 for story, 0 for chrome."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def build_segment_pipeline(random_state: int = 0) -> SegmentClassifier:
    """The story-or-chrome classifier, unfitted: the one place it is built."""
    return SegmentClassifier(
        line_features=LineFeatures(),
        lexical=LexicalFeatures(n_features=2**18, ngram_range=(1, 2)),
        first=LogisticRegression(C=0.5, max_iter=3000),
        second=HistGradientBoostingClassifier(
            max_iter=300,
            learning_rate=0.08,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            random_state=random_state,
        ),
        cv=5,
    )
