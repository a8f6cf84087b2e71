import pickle

import numpy as np
import pytest
from sklearn.base import clone

from classifier.model.segments import SegmentClassifier, build_segment_classifier
from classifier.segment.text import split_text
from classifier.training.fit import assemble

from .conftest import tiny_documents


def test_fitted_classifier_gives_probabilities_per_segment(tiny_classifier, harbour_text):
    segments = split_text(harbour_text)
    proba = tiny_classifier.predict_proba(segments)
    assert proba.shape == (len(segments), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert set(tiny_classifier.predict(segments)) <= {0, 1}
    assert tiny_classifier.first_pass(segments).shape == (len(segments), 2)


def test_pickle_round_trip_predicts_identically(tiny_classifier, harbour_text):
    segments = split_text(harbour_text)
    restored = pickle.loads(pickle.dumps(tiny_classifier))
    assert np.array_equal(restored.predict_proba(segments), tiny_classifier.predict_proba(segments))


def test_the_pipeline_is_an_ordinary_estimator():
    model = build_segment_classifier(random_state=3)
    params = model.get_params()
    assert params["cv"] == 5 and params["context__random_state"] == 3
    assert clone(model).get_params()["layout__max_iter"] == params["layout__max_iter"]


def test_unlabelled_lines_stay_out_of_training_but_in_context():
    data = assemble(tiny_documents()[:30])
    labels = data.labels.copy()
    labels[::3] = -1
    labelled = labels != -1
    model = build_segment_classifier().set_params(cv=3).fit(data.segments, labels, groups=data.groups)
    # Out of training: the wording model made one update per labelled line per pass, none for the others.
    assert model.wording_.t_ == model.wording_.n_iter_ * labelled.sum() + 1
    # In context: the same pages without those lines (rather than with them unlabelled) teach another model.
    kept = [segment for segment, keep in zip(data.segments, labelled) if keep]
    dropped = build_segment_classifier().set_params(cv=3).fit(kept, labels[labelled], groups=data.groups[labelled])
    assert not np.allclose(model.predict_proba(kept), dropped.predict_proba(kept))


def test_fit_rejects_labels_of_one_class():
    segments = split_text("a\nb\nc")
    with pytest.raises(ValueError, match="both story and chrome"):
        SegmentClassifier().fit(segments, [1, 1, 1])


def test_empty_batch_predicts_nothing(tiny_classifier):
    assert tiny_classifier.predict_proba([]).shape == (0, 2)
