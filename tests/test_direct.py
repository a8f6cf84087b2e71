"""The estimators applied directly give the figures of their own ``predict_proba``, bit for bit."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import SGDClassifier

from classifier.features.pages import PageIndex
from classifier.features.tokens import LineBatch
from classifier.model.direct import _direct_form, story_proba
from classifier.segment.html import split_html
from classifier.segment.text import split_text

from .conftest import html_page, tiny_documents


def test_the_segment_classifiers_score_as_their_estimators_own_methods_do(
    tiny_classifier, tiny_html_classifier, harbour_text
):
    page = html_page(tiny_documents()[0])
    for classifier, segments in (
        (tiny_classifier, split_text(harbour_text)),
        (tiny_html_classifier, split_html(page).segments),
    ):
        batch, index = LineBatch.from_segments(segments), PageIndex.from_segments(segments)
        dense, tokens, containers = classifier._features(segments, batch, index)
        assert all(_direct_form(e) is not None for e in (classifier.wording_, classifier.layout_, classifier.context_))
        first = np.column_stack(
            [classifier.wording_.predict_proba(tokens)[:, 1], classifier.layout_.predict_proba(dense)[:, 1]]
        )
        expected = classifier.context_.predict_proba(classifier._context_input(dense, first, index, containers))
        assert np.array_equal(classifier.predict_proba(segments), expected)


def test_trees_and_linear_models_of_any_data_match_predict_proba():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values take the trees' learnt side
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2 > 0.5).astype(int)
    trees = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    for rows in (X, X[:1], np.asfortranarray(X[:37])):
        assert np.array_equal(story_proba(trees, rows), trees.predict_proba(rows)[:, 1])
    words = sparse.random(400, 50, density=0.1, format="csr", random_state=0)
    linear = SGDClassifier(loss="log_loss", random_state=0).fit(words, y)
    assert np.array_equal(story_proba(linear, words), linear.predict_proba(words)[:, 1])


def test_other_estimators_are_called_as_usual():
    X, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    hinge = SGDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    labelled = HistGradientBoostingClassifier(max_iter=3).fit(X, np.array(["a", "b"] * 5))
    assert _direct_form(hinge) is None and _direct_form(labelled) is None
    assert np.array_equal(story_proba(hinge, X), hinge.predict_proba(X)[:, 1])


def test_models_the_direct_form_cannot_serve_are_called_as_usual_and_a_refit_is_seen():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.integers(0, 4, 300), rng.normal(size=300)]).astype(float)
    y = ((X[:, 0] == 2) | (X[:, 1] > 1)).astype(int)
    categorical = HistGradientBoostingClassifier(categorical_features=[0], max_iter=10, random_state=0).fit(X, y)
    assert _direct_form(categorical) is None  # its categories are encoded first, on sklearn's own path
    assert np.array_equal(story_proba(categorical, X), categorical.predict_proba(X)[:, 1])
    words = sparse.random(300, 40, density=0.1, format="csr", random_state=1)
    linear = SGDClassifier(loss="log_loss", random_state=0).fit(words, y)
    first = story_proba(linear, words)
    linear.fit(words, 1 - y)  # fitted again in place: the new weights, not the first ones
    assert np.array_equal(story_proba(linear, words), linear.predict_proba(words)[:, 1])
    assert not np.array_equal(first, story_proba(linear, words))
    linear.sparsify()
    assert np.array_equal(story_proba(linear, words), linear.predict_proba(words)[:, 1])


def test_columns_other_than_the_fitted_ones_are_an_error_not_a_wrong_read():
    X, y = np.arange(60.0).reshape(10, 6), np.array([0, 1] * 5)
    trees = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    linear = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    for estimator in (trees, linear):
        with pytest.raises(ValueError, match="expecting 6"):
            story_proba(estimator, X[:, :3])


def test_an_estimator_seen_once_is_not_kept_alive_by_its_direct_form():
    import gc
    import weakref

    X, y = np.arange(60.0).reshape(10, 6), np.array([0, 1] * 5)
    for make in (lambda: HistGradientBoostingClassifier(max_iter=3), lambda: SGDClassifier(loss="log_loss")):
        estimator = make().fit(X, y)
        story_proba(estimator, X)
        gone = weakref.ref(estimator)
        del estimator
        gc.collect()
        assert gone() is None
