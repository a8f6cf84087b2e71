import json

import pytest

from classifier.corpus.alignment import align_gold
from classifier.corpus.documents import read_training_jsonl
from classifier.corpus.sites import is_held_out, site_of
from classifier.errors import TrainingDataError
from classifier.records import UNLABELLED, Label
from classifier.segment.text import split_text


def test_alignment_labels_covered_lines_story_and_leaves_doubt_out():
    gold = "Troops entered the town at dawn on Monday.\n\nResidents stayed indoors.\n\nAftermath"
    page = (
        "Home\nTroops entered the town at dawn on Monday.\nResidents stayed indoors.\n"
        "Aftermath\nTroops entered the town at dawn, a teaser says\n"
        "Troops entered the town at dawn on Monday."
    )
    labels = align_gold(split_text(page), gold)
    assert labels[:4] == [Label.CHROME, Label.STORY, Label.STORY, Label.STORY]
    assert labels[4] == UNLABELLED  # partly quoted: left out
    assert labels[5] == Label.CHROME  # a second copy of a story paragraph


def test_sites_group_subdomains_and_the_split_is_fixed():
    assert site_of("https://www.news.example.co.uk/a/b") == "example.co.uk"
    assert site_of("http://blog.example.com/x") == "example.com"
    assert is_held_out("example.com") == is_held_out("example.com")
    share = sum(is_held_out(f"site{i}.org") for i in range(2000)) / 2000
    assert 0.2 < share < 0.3


def test_training_jsonl_maps_spans_to_segments(tmp_path):
    text = "Menu\n\nA story line.\n"
    record = {"id": "p", "site": "s", "text": text, "segments": [{"start": 6, "end": 20, "label": "story"}]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [doc] = list(read_training_jsonl(path))
    assert doc.labels == (UNLABELLED, Label.STORY)


def test_a_text_page_with_its_story_and_no_spans_is_labelled_by_the_story(tmp_path):
    text = "Home | News\nTroops entered the town at dawn on Monday.\nResidents stayed indoors all day.\nSubscribe now\n"
    record = {
        "id": "p",
        "site": "my-site",
        "text": text,
        "story": "Troops entered the town at dawn on Monday.\n\nResidents stayed indoors all day.",
    }
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [doc] = list(read_training_jsonl(path))
    assert doc.labels == (Label.CHROME, Label.STORY, Label.STORY, Label.CHROME)


def test_training_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "text": "x", "segments": [{"start": 1, "end": 2, "label": "story"}]}\n')
    with pytest.raises(TrainingDataError, match=r"t\.jsonl:1"):
        list(read_training_jsonl(path))
    path.write_text('{"id": "a", "text": "x", "segments": [{"start": 0, "end": 1, "label": "boilerplate"}]}\n')
    with pytest.raises(TrainingDataError, match="unknown segment label"):
        list(read_training_jsonl(path))


def test_a_story_threshold_other_than_one_half_needs_a_clear_gain_on_validation():
    from classifier.training.fit import choose_threshold

    assert choose_threshold({0.4: 0.9103, 0.5: 0.9095, 0.6: 0.9090}) == 0.5  # noise
    assert choose_threshold({0.4: 0.90, 0.5: 0.91, 0.6: 0.92}) == 0.6
    assert choose_threshold({0.5: 0.91}) == 0.5
