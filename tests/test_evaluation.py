import pytest

from classifier.evaluation.evaluate import evaluate_documents
from classifier.evaluation.metrics import average_scores, score_page, shingles

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


def test_evaluate_documents_reports_story_and_lines(tiny_model):
    documents = tiny_documents()[:5]
    result = evaluate_documents(tiny_model, documents)
    assert result.story.pages == 5
    assert 0.0 <= result.story.f1 <= 1.0
    assert result.lines == sum(sum(1 for label in d.labels if label >= 0) for d in documents)
    assert 0.0 <= result.line_accuracy <= 1.0
