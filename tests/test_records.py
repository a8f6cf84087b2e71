"""Records as written: a document's JSON line is exactly json.dumps of its record."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.records import FailedDocument, Label, LabeledDocument, ScoredSegment
from classifier.segment.text import Segment

# Any text a page may hold: every plane, quotes, backslashes, control characters, lone surrogates.
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
_SCORES = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 0.99995, 0.00005, 1e-9, 0.5, -0.0]))
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _documents(draw) -> LabeledDocument:
    segments = tuple(
        ScoredSegment(Segment(text, start, start + len(text)), draw(st.sampled_from(list(Label))), draw(_SCORES))
        for start, text in enumerate(draw(st.lists(_TEXT, max_size=6)))
    )
    return LabeledDocument(
        id=draw(_TEXT),
        model=draw(_TEXT),
        segments=segments,
        topics=draw(st.dictionaries(_TEXT, st.floats(0.0, 1.0), max_size=3)),
        tags=tuple(draw(st.lists(_TEXT, max_size=2))),
        extra=draw(st.dictionaries(_TEXT, _JSON_VALUES, max_size=3)),
        text=draw(st.none() | _TEXT),
        language=draw(st.none() | st.sampled_from(["en", "zh"])),
        title=draw(st.none() | _TEXT),
    )


@settings(max_examples=300, deadline=None)
@given(_documents(), st.booleans())
def test_a_json_line_is_json_dumps_of_the_record(document, segments):
    expected = json.dumps(document.to_record(segments=segments), ensure_ascii=False, allow_nan=False) + "\n"
    assert document.json_line(segments=segments) == expected


_ODD = [np.int64(3), True, 2.5, float("nan"), None, "7"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_ODD), st.sampled_from(_ODD), st.sampled_from(["text", None, 5, np.str_("x")]), st.booleans())
def test_segments_not_made_by_labelling_are_written_as_json_dumps_writes_them(start, end, text, story):
    segment = ScoredSegment(Segment(text, start, end), Label.STORY if story else 1, np.float32(0.25))
    document = LabeledDocument("a", "m", (segment,))
    try:
        expected = json.dumps(document.to_record(), ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            document.json_line()
    else:
        assert document.json_line() == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_score_or_field_json_cannot_hold_is_a_value_error_as_with_json_dumps(bad):
    segment = ScoredSegment(Segment("Police said.", 0, 12), Label.STORY, bad)
    with pytest.raises(ValueError):
        LabeledDocument("a", "m", (segment,)).json_line()
    with pytest.raises(ValueError):
        LabeledDocument("a", "m", (), extra={"x": bad}).json_line(segments=False)


def test_an_error_record_line_is_json_dumps_of_the_record():
    failed = FailedDocument("a", "InputError", "a: cannot read \u00e9", {"url": "http://x/\u4e2d"})
    assert failed.json_line() == json.dumps(failed.to_record(), ensure_ascii=False) + "\n"


def test_an_id_that_is_not_a_string_is_written_as_its_json():
    from classifier.inputs.objects import document_from_record

    ids = [7, 1.5, True, None, {"k": "v"}, ["l"], float("inf"), "s"]
    got = [document_from_record({"id": value, "text": "a b"}, "f.jsonl:1").id for value in ids]
    assert got == ["7", "1.5", "true", "f.jsonl:1", '{"k": "v"}', '["l"]', "Infinity", "s"]
