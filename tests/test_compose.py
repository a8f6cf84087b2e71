"""The committed corpus pages are exactly what the composer makes from the committed stories."""

import json

import pytest

from classifier.corpus.documents import read_training_jsonl
from training.compose import HELD_OUT_LANGUAGES, LANGUAGES
from training.compose import main as compose
from training.languages import problems

from .conftest import CORPUS_PAGES

CORPUS = CORPUS_PAGES.parent
WRITTEN = ("pages.jsonl", "multilingual.jsonl", "multilingual-test.jsonl")


def test_corpus_pages_are_reproducible(tmp_path):
    compose(["--out", str(tmp_path)])
    for name in WRITTEN:
        assert (tmp_path / name).read_text(encoding="utf-8") == (CORPUS / name).read_text(encoding="utf-8"), name


def test_corpus_pages_are_valid_training_data():
    for line in CORPUS_PAGES.read_text(encoding="utf-8").splitlines()[:50]:
        page = json.loads(line)
        labels = {s["label"] for s in page["segments"]}
        assert labels == {"story", "chrome"}
        story = [page["text"][s["start"] : s["end"]] for s in page["segments"] if s["label"] == "story"]
        assert "\n\n".join(story) == page["story"]


@pytest.mark.parametrize("path", sorted(LANGUAGES.glob("*.json")), ids=lambda p: p.stem)
def test_each_language_file_is_complete(path):
    assert problems(json.loads(path.read_text(encoding="utf-8")), path.stem) == []


def test_pages_kept_apart_come_as_text_and_as_html_with_the_same_story_and_those_to_train_on_as_text():
    assert not any(d.is_html for d in read_training_jsonl(CORPUS / "multilingual.jsonl"))
    documents = list(read_training_jsonl(CORPUS / "multilingual-test.jsonl"))
    by_id = {d.id: d for d in documents}
    pairs = [(d, by_id[d.id + "-html"]) for d in documents if not d.is_html]
    assert pairs and len(pairs) * 2 == len(documents)
    for text, markup in pairs:
        assert text.language == markup.language and text.site == markup.site
        story = [s.text for s, label in zip(text.segments, text.labels) if label == 1]
        html_story = [s.text for s, label in zip(markup.segments, markup.labels) if label == 1]
        assert [" ".join(s.split()) for s in story] == html_story
        assert all(label in (0, 1) for label in text.labels + markup.labels)  # every line labelled


def test_languages_kept_apart_are_never_trained_on_and_each_trained_one_keeps_a_pool_apart():
    train = {d.language for d in read_training_jsonl(CORPUS / "multilingual.jsonl")}
    test = {d.language for d in read_training_jsonl(CORPUS / "multilingual-test.jsonl")}
    assert not train & set(HELD_OUT_LANGUAGES)
    assert train <= test and set(HELD_OUT_LANGUAGES) & {p.stem for p in LANGUAGES.glob("*.json")} <= test
    train_sites = {d.site for d in read_training_jsonl(CORPUS / "multilingual.jsonl")}
    test_sites = {d.site for d in read_training_jsonl(CORPUS / "multilingual-test.jsonl")}
    assert not train_sites & test_sites


def test_the_fresh_pages_are_evaluation_data_only():
    from training.train import DEFAULT_SOURCES

    names = {source.name for source in DEFAULT_SOURCES}
    for kind in ("text", "html"):
        pages = list(read_training_jsonl(CORPUS / f"fresh-pages-{kind}.jsonl"))
        assert len(pages) == 24 and {p.language for p in pages} == {"ar", "de", "es", "fr", "ja", "pt", "ru", "zh"}
        assert all(p.story and p.id.endswith(f":{kind}") for p in pages)
        assert f"fresh-pages-{kind}.jsonl" not in names  # never trained on: they measure what was not learned
