"""The story-or-chrome classifier of segments, and the one place that builds it.

:class:`SegmentClassifier` is a two-pass scikit-learn classifier over
batches of segments:

1. two first-pass models score each line on its own: one from its wording
   (a linear model over hashed tokens), one from its shape and layout
   (small gradient-boosted trees over the dense line features);
2. the context model (gradient-boosted trees) sees the dense features again
   together with the first-pass scores of the line, its neighbours, its
   block, its page and the page's main story span.

The context model is trained on out-of-fold first-pass scores (grouped by
site), so in training it sees scores as unreliable as those it meets when
labelling sites it has never seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn import __version__ as sklearn_version
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GroupKFold
from sklearn.utils.validation import check_is_fitted

from ..features.dom import DomFeatures, dense_names
from ..features.lexical import LexicalFeatures
from ..features.lines import LineFeatures, feature_names
from ..features.pages import PageIndex
from ..features.tokens import LineBatch
from ..records import UNLABELLED
from ..segment.text import Segment
from .binning import one_pass_binning
from .context import score_context
from .direct import story_proba

# Column of the dense features that holds log(1 + words).
_LOG_WORDS = feature_names().index("log_words")


class SegmentClassifier(ClassifierMixin, BaseEstimator):
    """Story-or-chrome classifier over a batch of segments, with context.

    Parameters
    ----------
    line_features : transformer, default=None
        Dense features of each segment (:class:`LineFeatures` when None).
    lexical : transformer, default=None
        Sparse wording features (:class:`LexicalFeatures` when None).
    wording : classifier, default=None
        First-pass model over the lexical features.
    layout : classifier, default=None
        First-pass model over the dense features.
    context : classifier, default=None
        Second-pass model over dense features and score context.
    cv : int, default=5
        Folds for the out-of-fold first-pass scores.
    dom : transformer, default=None
        DOM features of HTML segments (:class:`~classifier.features.dom.DomFeatures`),
        for a classifier of HTML pages: its dense columns join the line
        features, its class/id tokens join the wording tokens, and the
        context stage also averages first-pass scores over each segment's
        element, parent element and DOM path. None for plain text.

    Notes
    -----
    ``X`` is a sequence of :class:`~classifier.segment.text.Segment` in which
    each page's segments are contiguous and in reading order. ``y`` uses 1
    for story, 0 for chrome and -1 for unlabelled lines, which stay in the
    batch as context but are not trained on (the convention of
    scikit-learn's semi-supervised estimators).
    """

    def __init__(
        self,
        line_features=None,
        lexical=None,
        wording=None,
        layout=None,
        context=None,
        cv: int = 5,
        dom=None,
    ):
        self.line_features = line_features
        self.lexical = lexical
        self.wording = wording
        self.layout = layout
        self.context = context
        self.cv = cv
        self.dom = dom

    def fit(self, X: Sequence[Segment], y, groups=None, sample_weight=None) -> SegmentClassifier:
        """Fit the first-pass models and the context model.

        Parameters
        ----------
        X : sequence of Segment
        y : array-like of int, shape (n,)
            1 story, 0 chrome, -1 unlabelled.
        groups : array-like, shape (n,), optional
            Group of each segment for the out-of-fold split (its site);
            defaults to its page.
        sample_weight : array-like, shape (n,), optional
        """
        y = np.asarray(y, dtype=np.int64)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} segments but y has {len(y)} labels")
        labelled = y != UNLABELLED
        if len(np.unique(y[labelled])) < 2:
            raise ValueError("training needs both story and chrome segments")
        batch, index = LineBatch.from_segments(X), PageIndex.from_segments(X)
        groups = index.page if groups is None else np.asarray(groups)
        if len(np.unique(groups)) < self.cv:
            raise ValueError(f"training needs at least cv={self.cv} sites (or pages) to split by")
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        self.line_features_ = clone(self.line_features if self.line_features is not None else LineFeatures()).fit(X)
        self.lexical_ = clone(self.lexical if self.lexical is not None else LexicalFeatures()).fit(X)
        self.dom_ = clone(self.dom).fit(X) if self.dom is not None else None
        dense, tokens, containers = self._features(X, batch, index)
        wording = self.wording if self.wording is not None else _default_wording()
        layout = self.layout if self.layout is not None else _default_layout()

        with one_pass_binning():  # the trees' bins, as scikit-learn makes them, sooner
            first = np.zeros((len(y), 2))
            for train, test in GroupKFold(n_splits=self.cv).split(dense, y, groups):
                train = train[labelled[train]]
                model = clone(wording).fit(tokens[train], y[train], sample_weight=weight[train])
                first[test, 0] = model.predict_proba(tokens[test])[:, 1]
                model = clone(layout).fit(dense[train], y[train], sample_weight=weight[train])
                first[test, 1] = model.predict_proba(dense[test])[:, 1]
            self.wording_ = clone(wording).fit(tokens[labelled], y[labelled], sample_weight=weight[labelled])
            self.layout_ = clone(layout).fit(dense[labelled], y[labelled], sample_weight=weight[labelled])

            second = self._context_input(dense, first, index, containers)
            context = self.context if self.context is not None else _default_context()
            self.context_ = clone(context).fit(second[labelled], y[labelled], sample_weight=weight[labelled])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = dense.shape[1]
        self.sklearn_version_ = sklearn_version
        return self

    def _line_part(self, X, batch, index) -> tuple[np.ndarray, sparse.csr_matrix]:
        """The line features and word tokens of a batch (without the DOM's)."""
        return self.line_features_.transform(X, batch, index), self.lexical_.transform(X, batch)

    def reads_lines_as(self, other) -> bool:
        """Whether ``other`` (fitted) computes the same line features and word tokens as this classifier."""
        return isinstance(other, SegmentClassifier) and all(
            type(getattr(self, name)) is type(getattr(other, name, None))
            and getattr(self, name).get_params() == getattr(other, name).get_params()
            for name in ("line_features_", "lexical_")
        )

    def _features(self, X, batch, index, line=None) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray | None]:
        """Dense and token features of a batch, and its container groups (HTML only).

        ``line``: the batch's :meth:`_line_part`, when computed already (by a classifier that reads lines alike).
        """
        dense, tokens = line if line is not None else self._line_part(X, batch, index)
        dom = getattr(self, "dom_", None)
        if dom is None:
            return dense, tokens, None
        parts = dom.parts(X, index)
        return np.hstack([dense, parts.dense]), sparse.hstack([tokens, parts.tokens], format="csr"), parts.groups

    def _context_input(self, dense: np.ndarray, first: np.ndarray, index: PageIndex, containers=None) -> np.ndarray:
        words = np.expm1(dense[:, _LOG_WORDS])
        context = score_context(index, first, words, containers)
        # Column-major: the trees read one feature for many rows at a time,
        # and this layout makes that several times faster than row-major.
        joined = np.empty((len(dense), dense.shape[1] + context.shape[1]), order="F")
        joined[:, : dense.shape[1]] = dense
        joined[:, dense.shape[1] :] = context
        return joined

    def first_pass(self, X: Sequence[Segment]) -> np.ndarray:
        """First-pass story probabilities, shape (n, 2): wording and layout."""
        check_is_fitted(self, "context_")
        batch, index = LineBatch.from_segments(X), PageIndex.from_segments(X)
        return self._first_pass(X, batch, index)[1]

    def _first_pass(self, X, batch, index, line=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        dense, tokens, containers = self._features(X, batch, index, line)
        first = np.column_stack([story_proba(self.wording_, tokens), story_proba(self.layout_, dense)])
        return dense, first, containers

    def stale_features(self) -> list[str]:
        """What of the features this classifier was fitted with this code no longer computes (empty when all is well)."""
        check_is_fitted(self, "context_")
        stale = []
        if list(self.line_features_.get_feature_names_out()) != feature_names():
            stale.append(f"line features ({self.line_features_.n_features_out_} fitted, {len(feature_names())} now)")
        dom = getattr(self, "dom_", None)
        if dom is not None and list(dom.get_feature_names_out()) != dense_names():
            stale.append(f"DOM features ({dom.n_features_out_} fitted, {len(dense_names())} now)")
        return stale

    def predict_proba(self, X: Sequence[Segment]) -> np.ndarray:
        """Probabilities of chrome and story, shape (n, 2)."""
        check_is_fitted(self, "context_")
        if len(X) == 0:
            return np.zeros((0, 2))
        batch, index = LineBatch.from_segments(X), PageIndex.from_segments(X)
        story = self._story(X, batch, index)
        return np.column_stack([1.0 - story, story])

    def _story(self, X, batch, index, line=None) -> np.ndarray:
        """Story probabilities of a batch (``line`` as for :meth:`_features`)."""
        dense, first, containers = self._first_pass(X, batch, index, line)
        return story_proba(self.context_, self._context_input(dense, first, index, containers))

    def predict(self, X: Sequence[Segment]) -> np.ndarray:
        """1 for story, 0 for chrome."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


class MeanOfStages:
    """Story probabilities of segments as the weighted mean of two fitted segment classifiers'.

    HTML pages are scored so (``Model.html_text_share``): the HTML
    classifier reads the markup and was fitted on real sites' pages; the text
    classifier reads the same lines as laid-out text and was fitted on more
    pages (ours in 13 languages among them). On a corpus that neither saw
    they err on different lines: a quarter of the text classifier's
    probability to three quarters of the HTML classifier's did better on
    two corpora left out of both fits and no worse on the third
    (docs/benchmarks.md, "The HTML and text stages together").

    Parameters
    ----------
    first, second : SegmentClassifier
        Fitted classifiers; ``second`` must read segments without DOM facts.
    second_share : float
        The weight of ``second``'s probability, in [0, 1].
    """

    def __init__(self, first, second, second_share: float):
        if not 0.0 <= second_share <= 1.0:
            raise ValueError(f"second_share must be in [0, 1], not {second_share}")
        self.first = first
        self.second = second
        self.second_share = second_share

    def predict_proba(self, X: Sequence[Segment]) -> np.ndarray:
        """Probabilities of chrome and story, shape (n, 2).

        When both classifiers read lines alike (:meth:`SegmentClassifier.reads_lines_as`), the line
        features and tokens are computed once for both.
        """
        first, second = self.first, self.second
        if len(X) and isinstance(first, SegmentClassifier) and first.reads_lines_as(second):
            check_is_fitted(first, "context_")
            check_is_fitted(second, "context_")
            batch, index = LineBatch.from_segments(X), PageIndex.from_segments(X)
            line = first._line_part(X, batch, index)
            ours, theirs = first._story(X, batch, index, line), second._story(X, batch, index, line)
        else:
            ours, theirs = first.predict_proba(X)[:, 1], second.predict_proba(X)[:, 1]
        story = (1.0 - self.second_share) * ours + self.second_share * theirs
        return np.column_stack([1.0 - story, story])


def _default_wording() -> SGDClassifier:
    return SGDClassifier(loss="log_loss", alpha=1e-5, average=True, max_iter=10, tol=None, random_state=0)


def _default_layout() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=25, learning_rate=0.35, max_leaf_nodes=15, early_stopping=False, random_state=0
    )


def _default_context() -> HistGradientBoostingClassifier:
    # Each split looks at half the features, drawn at random, so that no few columns carry the trees:
    # they did better so on corpora left out of the fit (docs/benchmarks.md, "Context trees that look
    # at half the features"); labelling costs the same. 60 trees at 0.2 (100 at 0.14 until default@14):
    # as accurate within a refit's noise, 6-7% faster labelling (docs/benchmarks.md, "Fewer context trees").
    return HistGradientBoostingClassifier(
        max_iter=60,
        learning_rate=0.2,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        max_features=0.5,
        early_stopping=False,
        random_state=0,
    )


def build_segment_classifier(random_state: int = 0, html: bool = False) -> SegmentClassifier:
    """The story-or-chrome classifier, unfitted: the one place it is built.

    ``html=True`` builds the classifier of HTML pages: the same pipeline
    with the DOM features added. Sizes are chosen for speed as much as
    accuracy: labelling a page costs about as much in the trees as in the
    features.
    """
    wording = _default_wording().set_params(random_state=random_state)
    layout = _default_layout().set_params(random_state=random_state)
    context = _default_context().set_params(random_state=random_state)
    return SegmentClassifier(
        line_features=LineFeatures(),
        lexical=LexicalFeatures(n_features=2**18, bigrams=True),
        wording=wording,
        layout=layout,
        context=context,
        cv=5,
        dom=DomFeatures() if html else None,
    )
