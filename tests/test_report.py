"""The evaluation report: what its plots show, checked on small cases with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.evaluation.evaluate import Evaluation, Mistake, PageResult, TopicOutcome
from classifier.evaluation.figures import page_f1_histogram, per_site, reliability, story_curve, tag_curves, worst_pages
from classifier.evaluation.metrics import PageScore, StoryScore
from classifier.evaluation.report import write_report
from classifier.records import Label

pytest.importorskip("matplotlib")


def page(id: str, site: str, precision: float, recall: float, mistakes=()) -> PageResult:
    return PageResult(id, site, PageScore(precision, recall), lines=10, errors=len(mistakes), mistakes=tuple(mistakes))


def test_the_story_curve_and_the_models_point():
    gold = np.array([True, False, True, False])
    scores = np.array([0.9, 0.8, 0.3, 0.2])
    curve = story_curve(gold, scores, threshold=0.5)
    assert curve["point"] == {"threshold": 0.5, "precision": 0.5, "recall": 0.5}  # 0.9 right, 0.8 wrong
    assert curve["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert curve["recall"][0] == 1.0 and curve["precision"][-1] == 1.0 and curve["recall"][-1] == 0.0
    perfect = story_curve(np.array([True, True, False]), np.array([0.7, 0.6, 0.1]), threshold=0.5)
    assert perfect["point"]["precision"] == perfect["point"]["recall"] == perfect["average_precision"] == 1.0


def test_reliability_bins_hold_their_lines_mean_score_and_story_share():
    scores = np.array([0.05, 0.05, 0.95, 1.0, 0.55, 0.1])
    gold = np.array([False, True, True, True, False, True])
    bins = reliability(gold, scores)["bins"]
    assert [(b["low"], b["lines"]) for b in bins] == [(0.0, 2), (0.1, 1), (0.5, 1), (0.9, 2)]
    assert [b["mean_score"] for b in bins] == pytest.approx([0.05, 0.1, 0.55, 0.975])
    assert [b["story_share"] for b in bins] == [0.5, 1.0, 0.0, 1.0]


def test_the_page_f1_histogram_counts_pages_per_twentieth():
    pages = [page("a", "s", 1, 1), page("b", "s", 0, 0), page("c", "s", 0.5, 0.5), page("d", "s", 0.97, 0.97)]
    histogram = page_f1_histogram(pages)
    counts = histogram["counts"]
    assert len(counts) == 20 and sum(counts) == 4
    assert counts[0] == 1 and counts[10] == 1 and counts[19] == 2  # F1 = 1 falls in the last bin


def test_sites_and_worst_pages_come_worst_first():
    pages = [
        page("p1", "b.org", 1.0, 1.0),
        page("p2", "a.com", 0.5, 0.5),
        page("p3", "a.com", 1.0, 0.5),
        page("p4", "c.net", 0.2, 0.2),
    ]
    sites = per_site(pages)
    assert [(s["site"], s["pages"]) for s in sites] == [("c.net", 1), ("a.com", 2), ("b.org", 1)]
    assert sites[1]["precision"] == 0.75 and sites[1]["recall"] == 0.5
    assert [p.id for p in worst_pages(pages, n=3)] == ["p4", "p2", "p3"]


def test_each_tag_curve_marks_the_models_threshold():
    outcome = TopicOutcome(
        ("a", "b", "never"),
        truth=np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=bool),
        probability=np.array([[0.9, 0.2, 0.1], [0.4, 0.8, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.1]]),
    )
    curves = tag_curves(outcome, {"a": 0.5, "b": 0.25})
    assert set(curves) == {"a", "b"}  # a tag without gold positives has no curve
    assert curves["a"]["point"] == {"threshold": 0.5, "precision": 0.5, "recall": 0.5}
    assert curves["b"]["point"] == {"threshold": 0.25, "precision": 1.0, "recall": 1.0}
    assert curves["a"]["positives"] == 2


def evaluation_of(pages) -> Evaluation:
    return Evaluation(
        StoryScore(0.8, 0.7, len(pages)),
        0.9,
        40,
        tuple(pages),
        scores=np.array([0.9, 0.1, 0.6, 0.4]),
        gold=np.array([True, False, False, True]),
    )


def test_the_report_shows_its_figures_and_the_worst_pages_lines(tmp_path):
    pages = [
        page("good", "a.com", 1, 1),
        page(
            "bad",
            "b.org",
            0.3,
            0.2,
            [Mistake(3, "Read more <script>", 0.81, Label.CHROME), Mistake(7, "The mayor said", 0.12, Label.STORY)],
        ),
    ]
    outcome = TopicOutcome(("militia",), np.array([[True], [False]]), np.array([[0.8], [0.3]]))
    summary = {
        "model": "tiny@1",
        "topics": {
            "micro_f1": 1.0,
            "documents": 2,
            "per_tag": {
                "militia": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "average_precision": 1.0, "support": 1}
            },
        },
        "pages": [{"id": "good", "site": "a.com"}, {"id": "bad", "site": "b.org"}],
    }
    report = write_report(tmp_path / "rep", summary, evaluation_of(pages), 0.5, outcome, {"militia": 0.5})
    for name in ("story_pr.png", "reliability.png", "page_f1.png", "topics_pr.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"src='{name}'" in report.read_text()
    text = report.read_text()
    assert "<h3>bad" in text and "<h3>good" not in text  # a page whose story and lines are right is not among them
    assert "Read more &lt;script&gt;" in text and "chrome, kept" in text and "story, left out" in text
    assert "b.org" in text and "micro-F1 <b>1.0000</b>" in text
    saved = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert saved["plots"]["story_curve"]["point"] == {"threshold": 0.5, "precision": 0.5, "recall": 0.5}
    assert saved["plots"]["tag_curves"]["militia"]["point"]["recall"] == 1.0
    # A later report into the same folder, of data without topics, leaves no plot of the earlier one's.
    (tmp_path / "rep" / "notes.txt").write_text("mine")
    write_report(tmp_path / "rep", {k: v for k, v in summary.items() if k != "topics"}, evaluation_of(pages), 0.5)
    assert not (tmp_path / "rep" / "topics_pr.png").exists() and (tmp_path / "rep" / "notes.txt").exists()


def test_a_redacted_report_holds_no_page_text_nor_site_nor_id(tmp_path):
    pages = [
        page("secret-site-0001", "secret-site.org", 0.3, 0.2, [Mistake(3, "Words of the page", 0.81, Label.CHROME)])
    ]
    summary = {"model": "tiny@1", "pages": [{"id": "secret-site-0001", "site": "secret-site.org"}]}
    report = write_report(tmp_path / "rep", summary, evaluation_of(pages), 0.5, redact=True)
    everything = report.read_text() + (tmp_path / "rep" / "report.json").read_text()
    assert "secret-site" not in everything and "Words of the page" not in everything
    assert "site 1" in everything and "page 1" in everything and "chrome, kept" in everything


def test_a_redacted_report_numbers_pages_of_the_same_id_apart(tmp_path):
    # Two gold files may each hold a page "1": their pages are numbered by place, not by id.
    pages = [page("1", "a.org", 0.3, 0.2), page("1", "b.org", 0.4, 0.2), page("2", "a.org", 0.5, 0.2)]
    summary = {"model": "tiny@1", "pages": [{"id": p.id, "site": p.site} for p in pages]}
    report = write_report(tmp_path / "rep", summary, evaluation_of(pages), 0.5, redact=True)
    text = report.read_text()
    assert [f"<h3>page {n} " in text for n in (1, 2, 3)] == [True, True, True]
    saved = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [(p["id"], p["site"]) for p in saved["pages"]] == [
        ("page 1", "site 1"),
        ("page 2", "site 2"),
        ("page 3", "site 1"),
    ]


def test_without_lines_of_both_kinds_the_report_leaves_the_curves_out(tmp_path):
    pages = [page("p", "s", 0.5, 0.5)]
    empty = Evaluation(StoryScore(0.5, 0.5, 1), 0.0, 0, tuple(pages))
    report = write_report(tmp_path / "rep", {"model": "m"}, empty, 0.5)
    assert "No curve over the segment scores" in report.read_text() and (tmp_path / "rep" / "page_f1.png").exists()
    assert not (tmp_path / "rep" / "story_pr.png").exists()


def test_a_tag_the_model_does_not_know_has_no_curve():
    outcome = TopicOutcome(("known", "new"), np.array([[1, 1], [0, 0]], dtype=bool), np.array([[0.9, 0.0], [0.1, 0.0]]))
    curves = tag_curves(outcome, {"known": 0.5}, unknown=["new"])
    assert curves["known"]["point"]["recall"] == 1.0 and "new" not in curves
    # A model without thresholds tags at 0.5: its tags keep their curves, marked there.
    assert tag_curves(outcome, {}, unknown=["new"])["known"]["point"]["threshold"] == 0.5


def test_scores_on_a_bin_edge_go_to_the_bin_above():
    bins = reliability(np.array([True, False, True]), np.array([0.3, 0.6, 0.7]))["bins"]
    assert [b["low"] for b in bins] == pytest.approx([0.3, 0.6, 0.7])
