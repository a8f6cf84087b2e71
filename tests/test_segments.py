from hypothesis import given
from hypothesis import strategies as st

from classifier.segment.text import split_pages, split_text


def test_one_segment_per_non_empty_line_with_offsets():
    text = "Title\n\n  First paragraph here.  \r\nSecond line\n\n\nLast"
    segments = split_text(text)
    assert [s.text for s in segments] == ["Title", "First paragraph here.", "Second line", "Last"]
    for s in segments:
        assert text[s.start : s.end] == s.text


def test_gap_and_indent_record_the_layout():
    segments = split_text("a\n\nb\nc\n\n\n    d")
    assert [s.gap for s in segments] == [0, 1, 0, 2]
    assert [s.indent for s in segments] == [0, 0, 0, 4]


def test_empty_and_blank_text_have_no_segments():
    assert split_text("") == []
    assert split_text("  \n\t\n") == []


def test_pages_are_numbered_in_a_batch():
    segments = split_pages(["one\ntwo", "three"])
    assert [s.page for s in segments] == [0, 0, 1]


@given(st.text())
def test_offsets_always_slice_back_to_the_segment(text):
    for segment in split_text(text):
        assert text[segment.start : segment.end] == segment.text
        assert segment.text == segment.text.strip()
        assert segment.text
