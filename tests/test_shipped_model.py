"""Smoke tests of the shipped model: it loads fast and labels the example pages exactly."""

import json
import time

from classifier import load_model
from classifier.model.bundle import sha256_of
from classifier.modelfile import default_model_path

from .conftest import EXAMPLES, shared_path


def test_shipped_model_matches_its_card_and_loads_quickly():
    path = default_model_path()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha256_of(path)
    assert path.stat().st_size < 20 * 2**20
    started = time.perf_counter()
    load_model()
    assert time.perf_counter() - started < 5  # generous: CI machines are noisy; typical is well under 1 s


def test_shipped_model_labels_the_users_page_exactly():
    page = shared_path("examples", "amara.txt").read_text(encoding="utf-8")
    expected = json.loads(shared_path("examples", "amara.expected.json").read_text(encoding="utf-8"))
    doc = load_model().label(page, id="amara")
    got = [(s.text, str(s.label)) for s in doc.segments]
    want = [(s["text"], s["label"]) for s in expected["segments"]]
    assert got == want


def test_shipped_model_keeps_only_the_story_of_our_example():
    text = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    doc = load_model().label(text, id="harbour")
    paragraphs = [line for line in text.splitlines() if len(line.split()) > 20]
    assert doc.story == "\n\n".join(paragraphs)


def test_shipped_model_tags_the_users_page():
    page = shared_path("examples", "amara.txt").read_text(encoding="utf-8")
    doc = load_model().label(page, id="amara")
    assert {"security_operation", "militia"} <= set(doc.tags) <= {"security_operation", "militia", "politics"}


def test_a_story_with_no_chrome_is_all_story_and_tagged():
    text = (
        "Police end hostage siege at border post\n\n"
        "Special police units stormed a border customs post before dawn on Friday, freeing nine officials "
        "held for two days by gunmen of a separatist militia, the interior ministry said.\n\n"
        "Three of the gunmen were killed and four were arrested in the raid, which followed the collapse of "
        "talks overnight. Two officers were wounded.\n"
    )
    doc = load_model().label(text, id="siege")
    paragraphs = text.split("\n\n")[1:]
    assert doc.story == "\n\n".join(p.strip() for p in paragraphs)
    assert {"security_operation", "militia"} <= set(doc.tags)
    assert all(0.0 <= p <= 1.0 for p in doc.topics.values())


def test_shipped_model_keeps_only_the_story_of_our_html_example():
    markup = (EXAMPLES / "harbour.html").read_bytes()
    doc = load_model().label(html=markup, id="harbour")
    text = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    paragraphs = [line for line in text.splitlines() if len(line.split()) > 20]
    story = [s.text for s in doc.segments if len(s.text.split()) > 20 and str(s.label) == "story"]
    assert story == paragraphs  # every paragraph kept, no teaser blurb
    assert "Most Read" not in doc.story and "Privacy Policy" not in doc.story
    for s in doc.segments:
        assert doc.text[s.segment.start : s.segment.end] == s.text
