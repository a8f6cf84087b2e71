"""Shared fixtures: a tiny model trained through the same factories as the real one."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from classifier.bundle import Model, load_model
from classifier.corpus import read_training_jsonl
from classifier.training import assemble, train_topics
from classifier.pipelines import build_segment_pipeline

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS_PAGES = ROOT / "training" / "corpus" / "pages.jsonl"
CORPUS_ITEMS = ROOT / "training" / "corpus" / "items.jsonl"
SHARED = ROOT.parent / "shared"
# Pages of our own corpus the tiny model trains on: enough for every pool.
TINY_PAGES = 100


def tiny_documents():
    return list(itertools.islice(read_training_jsonl(CORPUS_PAGES), 0, None, 4))[:TINY_PAGES]


@pytest.fixture(scope="session")
def tiny_classifier():
    data = assemble(tiny_documents())
    return build_segment_pipeline().fit(data.segments, data.labels, groups=data.groups, sample_weight=data.weights)


@pytest.fixture(scope="session")
def tiny_topics():
    """A topic model, its thresholds and card section, from the tiny pages and some of our news items."""
    items = list(itertools.islice(read_training_jsonl(CORPUS_ITEMS), 0, None, 3))
    return train_topics(tiny_documents() + items, seed=0)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_classifier, tiny_topics) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.joblib"
    topics, thresholds, card = tiny_topics
    model = Model(segments=tiny_classifier, name="tiny", version=1, topics=topics, topic_thresholds=thresholds)
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
