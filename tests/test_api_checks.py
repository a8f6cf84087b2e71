"""What the Python API checks at the call: model settings when set, documents when made, filter arguments."""

from __future__ import annotations

import multiprocessing
import warnings

import numpy as np
import pytest

from classifier import Document, HtmlAsTextWarning, InputError, LabeledDocument, WorkerError, load_model
from tests.conftest import EXAMPLES

PAGE = "Soldiers raided a militia camp near the northern border on Tuesday, the army said.\n\nNav | Home | Sport"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("story_threshold", "0.5"),
        ("story_threshold", 1.5),
        ("story_threshold", None),
        ("html_story_threshold", -0.1),
        ("html_text_share", 3),
        ("topic_thresholds", {"politics": "x"}),
        ("topic_thresholds", [0.5]),
    ],
)
def test_a_bad_setting_is_refused_when_set_and_the_model_labels_on(tiny_model, name, value):
    before = getattr(tiny_model, name)
    with pytest.raises(InputError, match=name):
        setattr(tiny_model, name, value)
    assert getattr(tiny_model, name) == before
    assert isinstance(tiny_model.label(PAGE), LabeledDocument)


def test_good_settings_are_taken(tiny_model):
    threshold, share = tiny_model.story_threshold, tiny_model.html_text_share
    try:
        tiny_model.story_threshold = np.float32(0.4)
        tiny_model.html_story_threshold = None
        tiny_model.html_text_share = 0
        assert tiny_model.story_threshold == pytest.approx(0.4)
    finally:
        tiny_model.story_threshold, tiny_model.html_text_share = threshold, share


def test_topic_thresholds_name_every_tag_and_nothing_else(tiny_model):
    before = dict(tiny_model.topic_thresholds)
    tag, *others = tiny_model.tag_names
    with pytest.raises(InputError, match=f"{others[0]}.*left out"):  # it would have been cut at 0.5
        tiny_model.topic_thresholds = {tag: 0.9}
    with pytest.raises(InputError, match="Militia: not a tag of this model"):
        tiny_model.topic_thresholds = {**before, "Militia": 0.9}
    assert tiny_model.topic_thresholds == before
    try:
        tiny_model.topic_thresholds = {**before, tag: 0.9}
        assert tiny_model.topic_thresholds[tag] == 0.9
    finally:
        tiny_model.topic_thresholds = before


def test_a_documents_id_is_text_and_its_extra_a_mapping():
    import uuid

    assert Document(id=7, text="a").id == "7" and Document(id=np.int64(7), text="a").id == "7"
    assert Document(id=1.5, text="a").id == "1.5" and Document(id=True, text="a").id == "true"
    assert Document(id=uuid.UUID(int=5), text="a").id == "00000000-0000-0000-0000-000000000005"
    assert Document(id="a", text="a", extra=None).extra == {}
    for bad in (b"x", None, float("nan")):
        with pytest.raises(InputError, match="id is a string"):
            Document(id=bad, text="a")
    with pytest.raises(InputError, match="extra fields are a mapping"):
        Document(id="a", text="a", extra=[1, 2])
    with pytest.raises(InputError, match="a number of more than 4,300 digits"):  # not Python's ValueError
        Document(id=10**5000, text="a")


def test_label_with_a_number_for_id_writes_it_as_text(tiny_model):
    assert tiny_model.label(PAGE, id=5).json_line(segments=False).startswith('{"id": "5", ')


def test_a_record_without_topics_carries_none_whatever_the_least_score():
    record = LabeledDocument.from_record({"id": "a", "model": "other@1", "story": "Some story text."})
    assert not record.carries("politics", 0.0)
    assert not record.carries("politics")


def test_min_score_may_be_any_real_number_from_0_to_1(tiny_model):
    doc = tiny_model.label(PAGE)
    assert doc.carries("militia", np.float32(0.0))
    with pytest.raises(InputError, match="min_score"):
        doc.carries("militia", float("nan"))


def test_topics_given_as_a_mapping_are_refused(tiny_model):
    with pytest.raises(InputError, match="not a mapping"):
        list(tiny_model.filter([PAGE], topics={"politics": 0.5}))
    with pytest.raises(InputError, match="not a mapping"):
        tiny_model.label(PAGE).carries({"politics": 1})


def test_the_topic_classifier_refuses_one_string_for_texts(tiny_model):
    with pytest.raises(ValueError, match="not one string"):
        tiny_model.topic_classifier.predict_proba("Troops raided a camp.")


def test_an_html_document_given_as_text_is_labelled_as_text_with_a_warning(tiny_model):
    html = (EXAMPLES / "harbour.html").read_text(encoding="utf-8")
    with pytest.warns(HtmlAsTextWarning, match="give it as html"):
        tiny_model.label("\ufeff  \n" + html.upper())
    with pytest.warns(HtmlAsTextWarning):
        list(tiny_model.label_many([{"id": "a", "text": html}]))
    for saved in ("<!-- saved from url=(0014)about:internet -->\n", '<?xml version="1.0" encoding="utf-8"?>\n'):
        with pytest.warns(HtmlAsTextWarning):  # a page a browser saved, or XHTML
            tiny_model.label(saved + html)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_model.label(PAGE)
        tiny_model.label("<!-- a comment in a text --> and the page's text")
        tiny_model.label(html=html)
        list(tiny_model.label_many([PAGE, Document(id="h", html=html), "<p>a paragraph of markup</p>"]))
        list(tiny_model.label_many([Document(id="t", text=html)]))  # a Document says its text is text


@pytest.mark.parametrize("value", ["abc", "0", "-1", "2.5"])
def test_a_bad_threads_variable_is_refused_when_the_model_loads(tiny_model_path, monkeypatch, value):
    monkeypatch.setenv("STORYFILTER_THREADS", value)
    with pytest.raises(InputError, match="STORYFILTER_THREADS"):
        load_model(tiny_model_path)
    monkeypatch.setenv("STORYFILTER_THREADS", "")
    assert load_model(tiny_model_path).threads is None


def test_an_empty_scheduler_address_is_refused_at_the_call(tiny_model):
    with pytest.raises(InputError, match="scheduler"):
        tiny_model.label_many([PAGE], scheduler=" ")


def test_workers_asked_of_a_daemonic_process_are_a_worker_error(tiny_model, monkeypatch):
    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)
    with pytest.raises(WorkerError, match="workers=1"):
        list(tiny_model.label_many([PAGE] * 10, chunk_size=2, workers=2))


def test_a_bad_setting_in_a_model_file_is_a_model_error(tiny_model_path, tmp_path):
    from classifier import ModelError
    from classifier.model.bundle import read_bundle, write_bundle

    payload, card = read_bundle(tiny_model_path)
    payload["story_threshold"] = "0.5"
    write_bundle(tmp_path / "bad.model", payload, card)
    with pytest.raises(ModelError, match="story_threshold"):
        load_model(tmp_path / "bad.model")
