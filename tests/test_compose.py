"""The committed corpus pages are exactly what the composer makes from the committed stories."""

import json

from training.compose import main as compose

from .conftest import CORPUS_PAGES


def test_corpus_pages_are_reproducible(tmp_path):
    out = tmp_path / "pages.jsonl"
    compose(["--out", str(out)])
    assert out.read_text(encoding="utf-8") == CORPUS_PAGES.read_text(encoding="utf-8")


def test_corpus_pages_are_valid_training_data():
    for line in CORPUS_PAGES.read_text(encoding="utf-8").splitlines()[:50]:
        page = json.loads(line)
        labels = {s["label"] for s in page["segments"]}
        assert labels == {"story", "chrome"}
        story = [page["text"][s["start"] : s["end"]] for s in page["segments"] if s["label"] == "story"]
        assert "\n\n".join(story) == page["story"]
