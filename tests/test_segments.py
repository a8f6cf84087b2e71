import re
from itertools import accumulate

from hypothesis import given
from hypothesis import strategies as st

from classifier.segment.text import line_number, split_pages, split_text


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


def test_a_byte_order_mark_is_white_space_at_a_line_s_ends_and_no_indent():
    text = "\ufeffHeadline of the page\n\ufeff\n  \ufeff A line \ufeff\nLast"
    segments = split_text(text)
    assert [s.text for s in segments] == ["Headline of the page", "A line", "Last"]
    assert [s.gap for s in segments] == [0, 1, 0] and [s.indent for s in segments] == [0, 3, 0]
    assert all(text[s.start : s.end] == s.text for s in segments)
    assert split_text("a\ufeffb")[0].text == "a\ufeffb"  # inside a line it stays
    # Stripped in one pass: marks and spaces in turn take no pass each (a page of them stays linear).
    assert split_text("\ufeff " * 100_000 + "x")[0].text == "x"


def test_what_a_line_is_stripped_of_is_white_space_as_python_reads_it_and_the_mark():
    from classifier.segment.text import SPACE_OR_BOM

    spaces = "".join(chr(code) for code in range(0x110000) if chr(code).isspace())
    assert set(SPACE_OR_BOM) == set(spaces) | {"\ufeff"}


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


def _lines_stripped(text):
    """The definition split_text keeps to, spelled out: lines between breaks (those of str.splitlines but NEL and
    the ASCII separators), stripped, empty ones counted as gaps."""
    parts = re.split("(\r\n|[\n\r\x0b\x0c\u2028\u2029])", text)
    offsets = [0, *accumulate(map(len, parts))]
    segments, previous = [], None
    for i, line in enumerate(parts[0::2]):
        if content := line.strip():
            start = offsets[2 * i] + line.find(content[0])
            gap = 0 if previous is None else i - previous - 1
            segments.append((content, start, start + len(content), gap, line.find(content[0])))
            previous = i
    return segments


_LAYOUT = st.text(alphabet=st.sampled_from("ab \t\r\n\x0b\x0c\x1c\x85\u2028\u3000\xa0.é中"), max_size=60)


@given(st.one_of(_LAYOUT, st.text()))
def test_lines_are_cut_and_stripped_as_defined(text):
    found = [(s.text, s.start, s.end, s.gap, s.indent) for s in split_text(text)]
    assert found == _lines_stripped(text)
    kept = text.replace("\x85", "\xa0").translate({0x1C: 0x20, 0x1D: 0x20, 0x1E: 0x20})  # no breaks to split here
    assert len(found) == len([line for line in kept.splitlines() if line.strip()])


def test_line_numbers_count_the_breaks_split_text_cuts_at():
    text = "a\r\nb\rc\u2028d\x0ce\nf\x85g"
    assert [line_number(text, s.start) for s in split_text(text)] == [1, 2, 3, 4, 5, 6]
