from dataclasses import replace

import pytest

from classifier.evaluation.evaluate import evaluate_documents, gold_story
from classifier.evaluation.metrics import average_scores, score_page, shingles
from classifier.records import Label, LabeledDocument, ScoredSegment
from classifier.segment.text import split_text

from .conftest import tiny_documents


def test_shingles_are_counted_as_a_multiset():
    assert sum(shingles("a b c d e").values()) == 2
    assert shingles("a b") == {("a", "b"): 1}
    assert not shingles("")


def test_page_score_counts_duplicates_against_precision():
    gold = "one two three four five six"
    assert score_page(gold, gold).f1 == pytest.approx(1.0)
    doubled = score_page(gold + "\n\n" + gold, gold)
    assert doubled.recall == pytest.approx(1.0)
    assert doubled.precision == pytest.approx(3 / 9)  # 9 shingles across the join; gold holds 3, once each


def test_empty_cases():
    assert score_page("", "").f1 == 1.0
    assert score_page("", "some gold text here").recall == 0.0
    assert score_page("some text here now", "").precision == 0.0


def test_scores_average_precision_and_recall_before_f1():
    from classifier.evaluation.metrics import PageScore

    summary = average_scores([PageScore(1.0, 0.5), PageScore(0.5, 1.0)])
    assert summary.precision == summary.recall == 0.75
    assert summary.f1 == pytest.approx(0.75)


class Oracle:
    """A stand-in model that labels each page's lines as its gold says, or every line with one label."""

    def __init__(self, documents, everything: Label | None = None):
        self.gold = {d.id: d.labels for d in documents}
        self.everything = everything

    def label_many(self, inputs):
        for page in inputs:
            segments = split_text(page.text)
            labels = [self.everything if self.everything is not None else Label(max(g, 0)) for g in self.gold[page.id]]
            scored = tuple(ScoredSegment(s, label, float(label)) for s, label in zip(segments, labels))
            yield LabeledDocument(id=page.id, model="oracle@1", segments=scored)


def test_a_model_that_labels_as_the_gold_scores_one_and_makes_no_line_errors():
    documents = tiny_documents()[:5]
    result = evaluate_documents(Oracle(documents), documents)
    known = sum(sum(1 for label in d.labels if label >= 0) for d in documents)
    assert result.story.pages == 5 and result.lines == known
    assert result.story.f1 == pytest.approx(1.0) and result.line_accuracy == 1.0
    assert all(page.errors == 0 and page.mistakes == () for page in result.pages)
    assert list(result.gold) == [label == Label.STORY for d in documents for label in d.labels if label >= 0]


def test_a_model_that_keeps_nothing_has_no_recall_and_misses_every_story_line():
    documents = tiny_documents()[:5]
    result = evaluate_documents(Oracle(documents, everything=Label.CHROME), documents)
    story_lines = sum(sum(1 for label in d.labels if label == Label.STORY) for d in documents)
    assert result.story.recall == 0.0 and result.story.precision == 1.0 and result.story.f1 == 0.0
    assert result.line_accuracy == pytest.approx(1 - story_lines / result.lines)
    first = result.pages[0]
    assert first.errors == len(first.mistakes) > 0
    assert all(m.gold is Label.STORY and m.score == 0.0 for m in first.mistakes)
    text = documents[0].text.splitlines()
    assert all(text[m.line - 1].strip() == m.text for m in first.mistakes)  # each mistake names its line


def test_lines_the_gold_leaves_unknown_are_not_scored_in_the_story():
    from classifier.records import UNLABELLED

    document = max(tiny_documents(), key=lambda d: list(d.labels).count(Label.CHROME))
    labels = list(document.labels)
    chrome = [n for n, label in enumerate(labels) if label == Label.CHROME]
    for n in chrome[: len(chrome) // 2]:
        labels[n] = UNLABELLED  # a page labelled in part: these lines are neither story nor chrome
    partial = replace(document, labels=tuple(labels), story=None)
    kept = evaluate_documents(Oracle([partial], everything=Label.STORY), [partial])
    assert kept.story.recall == 1.0 and kept.lines == len(labels) - len(chrome) // 2
    ruled = evaluate_documents(Oracle([partial], everything=Label.STORY), [replace(partial, labels=document.labels)])
    assert kept.story.precision > ruled.story.precision  # unknown lines kept cost no precision; chrome ones do


def test_keeping_everything_is_scored_page_by_page_and_averaged():
    documents = tiny_documents()[:5]
    result = evaluate_documents(Oracle(documents, everything=Label.STORY), documents)
    everything = ["\n\n".join(s.text for s in split_text(d.text)) for d in documents]
    expected = average_scores([score_page(kept, gold_story(d)) for kept, d in zip(everything, documents)])
    assert (result.story.precision, result.story.recall) == pytest.approx((expected.precision, expected.recall))
    assert expected.precision < 0.9 < expected.recall  # the chrome costs precision, not recall


def test_scores_are_broken_down_by_source_and_by_language():
    from classifier.evaluation.evaluate import PageResult, breakdown
    from classifier.evaluation.metrics import PageScore

    pages = [
        PageResult("a", "s", PageScore(1.0, 1.0), 1, 0, corpus="web", language="en"),
        PageResult("b", "s", PageScore(0.5, 1.0), 1, 0, corpus="web", language="de"),
        PageResult("c", "t", PageScore(1.0, 0.0), 1, 0, corpus="ours", language="de"),
    ]
    by_source = breakdown(pages, lambda p: p.corpus)
    assert list(by_source) == ["ours", "web"] and by_source["web"]["pages"] == 2
    assert by_source["web"]["precision"] == 0.75 and by_source["web"]["recall"] == 1.0
    by_language = breakdown(pages, lambda p: p.language)
    assert by_language["de"] == {"pages": 2, "f1": 0.75, "precision": 0.75, "recall": 0.5} | {
        "f1": round(2 * 0.75 * 0.5 / 1.25, 4)
    }


def test_the_site_bootstrap_interval_holds_zero_for_a_tie_and_not_for_a_clear_winner():
    from classifier.evaluation.metrics import PageScore, site_bootstrap_interval

    sites = [f"site{i // 3}" for i in range(30)]
    some = [PageScore(0.5 + 0.01 * i, 0.9 - 0.01 * i) for i in range(30)]
    assert site_bootstrap_interval(some, some, sites) == (0.0, 0.0)
    better = [PageScore(min(1.0, s.precision + 0.1), s.recall) for s in some]
    low, high = site_bootstrap_interval(better, some, sites)
    assert 0 < low < high < 0.2
    # A winner on one site of ten only: the interval reaches down to no gain.
    one_site = [PageScore(1.0, 1.0) if site == "site0" else s for s, site in zip(some, sites)]
    low, high = site_bootstrap_interval(one_site, some, sites)
    assert low == 0.0 < high
    assert site_bootstrap_interval(better, some, sites) == site_bootstrap_interval(better, some, sites)


def test_the_site_bootstrap_needs_two_sites():
    from classifier.evaluation.metrics import PageScore, site_bootstrap_interval

    with pytest.raises(ValueError, match="one site"):
        site_bootstrap_interval([PageScore(1.0, 1.0)] * 3, [PageScore(0.5, 0.5)] * 3, ["a"] * 3)


def test_a_page_the_model_cannot_label_stops_the_evaluation_with_a_clear_error():
    from classifier.errors import InputError
    from classifier.records import FailedDocument

    documents = tiny_documents()[:2]

    class Refusing:
        def label_many(self, inputs):
            for page in inputs:
                yield FailedDocument(page.id, "TooLargeError", "the document has more than 100,000 segments")

    with pytest.raises(InputError, match="the model cannot label this page \\(TooLargeError: the document has more"):
        evaluate_documents(Refusing(), documents)


def test_gold_files_of_the_same_name_are_scored_as_two_sources(tmp_path):
    import json

    from classifier.evaluation.evaluate import read_gold

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        record = {"id": folder, "text": "Menu\nA line of story.\n", "story": "A line of story."}
        (tmp_path / folder / "test.jsonl").write_text(json.dumps(record) + "\n")
    documents = read_gold([tmp_path / "a" / "test.jsonl", tmp_path / "b" / "test.jsonl"])
    assert [d.corpus for d in documents] == [str(tmp_path / "a" / "test.jsonl"), str(tmp_path / "b" / "test.jsonl")]


def test_a_model_without_an_html_classifier_is_told_so_before_anything_is_labelled(
    tmp_path, tiny_classifier, tiny_model
):
    from classifier.corpus.documents import read_training_jsonl
    from classifier.errors import ModelError
    from classifier.evaluation.evaluate import evaluate
    from classifier.model.model import Model

    from .conftest import tiny_html_records, write_jsonl

    text_only = Model(text_classifier=tiny_classifier, name="text-only", version=1)
    text_pages = [replace(d, topics=None) for d in tiny_documents()[:2]]  # no gold tags: it has no topic stage
    html_pages = list(read_training_jsonl(write_jsonl(tmp_path / "pages.jsonl", tiny_html_records()[:3])))
    with pytest.raises(ModelError, match=r"text-only@1 has no HTML classifier .* the data's 3 HTML pages"):
        evaluate(text_only, text_pages + html_pages)
    assert evaluate(text_only, text_pages).story.story.pages == 2  # text it evaluates
    # Gold tags beside story gold, and no topic stage: the story is scored, the tags said not to be.
    with_tags = [replace(d, topics=("militia",)) for d in tiny_documents()[:2]]
    findings = evaluate(text_only, with_tags)
    assert findings.story.story.pages == 2 and "topics" not in findings.summary
    assert (
        findings.summary["topics_not_scored"] == "text-only@1 has no topic stage: the data's gold tags are not scored"
    )
    items = [replace(d, topics=("militia",), labels=(-1,) * len(d.labels), story=None) for d in tiny_documents()[:2]]
    with pytest.raises(ModelError, match="text-only@1 has no topic stage to evaluate"):
        evaluate(text_only, items)  # tags alone: nothing it can score
    # An HTML page with gold tags alone is one it would label too (for a model with a topic stage).
    tagged = [replace(page, story=None, labels=(-1,) * len(page.labels), topics=()) for page in html_pages[:1]]
    with pytest.raises(ModelError, match=r"the data's 1 HTML pages"):
        evaluate(replace(tiny_model, html_classifier=None), text_pages + tagged)


def test_a_tag_neither_gold_nor_given_has_no_figures_rather_than_zeros():
    import numpy as np

    from classifier.evaluation.metrics import shown, topic_metrics

    truth = np.array([[True, False], [False, False]])
    metrics = topic_metrics(truth, np.array([[0.9, 0.1], [0.2, 0.1]]), [0.5, 0.5], ["militia", "politics"])
    assert metrics["per_tag"]["politics"] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "average_precision": None,
        "support": 0,
    }
    assert metrics["per_tag"]["militia"]["f1"] == 1.0 and metrics["micro_f1"] == 1.0
    nothing = topic_metrics(np.zeros((2, 1), bool), np.zeros((2, 1)), [0.5], ["militia"])
    assert nothing["micro_f1"] is None and shown(nothing["micro_f1"]) == "-" and shown(0.25) == "0.2500"
