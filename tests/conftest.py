"""Shared fixtures: a tiny model trained through the same factories as the real one."""

from __future__ import annotations

import gc
import html
import itertools
import json
from pathlib import Path

import pytest

from classifier.corpus.documents import read_training_jsonl
from classifier.model.model import Model, load_model
from classifier.model.segments import build_segment_classifier
from classifier.records import Label
from classifier.training.fit import assemble
from classifier.training.topics import topic_examples, train_topics

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS_PAGES = ROOT / "training" / "corpus" / "pages.jsonl"
CORPUS_ITEMS = ROOT / "training" / "corpus" / "items.jsonl"
SHARED = ROOT.parent / "shared"
# Pages of our own corpus the tiny model trains on: enough for every pool.
TINY_PAGES = 100


@pytest.fixture(autouse=True)
def _collector_as_it_was():
    """The command line freezes what its process holds (``gc.freeze``); in the test process, undo it after each test."""
    yield
    gc.unfreeze()


def tiny_documents():
    return list(itertools.islice(read_training_jsonl(CORPUS_PAGES), 0, None, 4))[:TINY_PAGES]


@pytest.fixture(scope="session")
def tiny_classifier():
    data = assemble(tiny_documents())
    return build_segment_classifier().fit(data.segments, data.labels, groups=data.groups, sample_weight=data.weights)


@pytest.fixture(scope="session")
def tiny_topics():
    """A topic model, its thresholds and card section, from the tiny pages and some of our news items."""
    items = list(itertools.islice(read_training_jsonl(CORPUS_ITEMS), 0, None, 3))
    return train_topics(*topic_examples(tiny_documents() + items), seed=0)


def html_page(document) -> str:
    """Our corpus page as HTML: story lines in an article, runs of chrome in nav, aside or footer.

    Enough markup for the tiny HTML model to learn from; the real one learns
    from real pages.
    """
    parts = ["<!DOCTYPE html><html><head><title>t</title><style>p{}</style></head><body>"]
    runs = itertools.groupby(zip(document.segments, document.labels), key=lambda pair: pair[1] == Label.STORY)
    for number, (story, lines) in enumerate(runs):
        texts = [html.escape(segment.text) for segment, _ in lines]
        if story:
            parts.append('<article class="story-body">' + "".join(f"<p>{t}</p>" for t in texts) + "</article>")
        elif number % 3 == 0:
            parts.append(
                '<nav class="menu"><ul>' + "".join(f'<li><a href="#">{t}</a></li>' for t in texts) + "</ul></nav>"
            )
        elif number % 3 == 1:
            parts.append(
                '<aside class="related">'
                + "".join(f'<div class="teaser"><a href="#">{t}</a></div>' for t in texts)
                + "</aside>"
            )
        else:
            parts.append('<footer id="site-footer">' + "".join(f"<p>{t}</p>" for t in texts) + "</footer>")
    parts.append("<script>var hidden = 'never text';</script></body></html>")
    return "".join(parts)


def tiny_html_records() -> list[dict]:
    """Training records with ``html`` and a gold ``story``, made from the tiny pages."""
    return [
        {
            "id": d.id,
            "site": d.site,
            "html": html_page(d),
            "story": "\n\n".join(s.text for s, label in zip(d.segments, d.labels) if label == Label.STORY),
        }
        for d in tiny_documents()
    ]


@pytest.fixture(scope="session")
def tiny_html_classifier(tmp_path_factory):
    path = write_jsonl(tmp_path_factory.mktemp("html") / "pages.jsonl", tiny_html_records())
    data = assemble(list(read_training_jsonl(path)))
    classifier = build_segment_classifier(html=True)
    return classifier.fit(data.segments, data.labels, groups=data.groups, sample_weight=data.weights)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_classifier, tiny_html_classifier, tiny_topics) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.model"
    topics, thresholds, card = tiny_topics
    model = Model(
        text_classifier=tiny_classifier,
        html_classifier=tiny_html_classifier,
        name="tiny",
        version=1,
        topic_classifier=topics,
        topic_thresholds=thresholds,
    )
    model.card["topics"] = card
    model.save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path) -> Model:
    return load_model(tiny_model_path)


@pytest.fixture
def harbour_text() -> str:
    return (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the shared data is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def corpus_pages(count: int) -> list[dict]:
    """The first pages of our own corpus as documents to label."""
    with open(CORPUS_PAGES, encoding="utf-8") as handle:
        records = [json.loads(line) for line in itertools.islice(handle, count)]
    return [{"id": r["id"], "text": r["text"]} for r in records]
