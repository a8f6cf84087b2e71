"""The evaluation report: ``storyfilter evaluate --report DIR`` writes ``report.html`` and the plots it shows.

What is plotted is computed first, by small functions that the tests check
against known answers (:func:`story_curve`, :func:`reliability`,
:func:`page_f1_histogram`, :func:`per_site`, :func:`worst_pages`,
:func:`tag_curves`); drawing them (matplotlib, an optional dependency:
``pip install 'storyfilter[report]'``) and the HTML only lay them out.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from .errors import InputError
from .evaluation import Evaluation, PageResult, TopicOutcome, average_scores
from .labels import Label

# Pages listed with their mislabelled lines, and lines shown for each at most.
WORST_PAGES = 10
MISTAKES_SHOWN = 40
# Bins of the reliability plot (tenths of [0, 1]) and of the per-page F1 histogram (twentieths:
# most pages are over 0.9); points kept of a precision-recall curve in report.json.
BINS, F1_BINS, CURVE_POINTS = 10, 20, 400


def _at_threshold(truth: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Precision and recall when everything scored at or over ``threshold`` is called positive."""
    called = scores >= threshold
    hits = int((called & truth).sum())
    return {
        "threshold": float(threshold),
        "precision": hits / int(called.sum()) if called.any() else 1.0,
        "recall": hits / int(truth.sum()) if truth.any() else 0.0,
    }


def _curve(truth: np.ndarray, scores: np.ndarray, points: int = CURVE_POINTS) -> dict:
    """A precision-recall curve, thinned to about ``points`` points (its ends kept)."""
    precision, recall, _ = precision_recall_curve(truth, scores)
    if len(precision) > points:
        keep = np.unique(np.linspace(0, len(precision) - 1, points).round().astype(int))
        precision, recall = precision[keep], recall[keep]
    return {"precision": precision.tolist(), "recall": recall.tolist()}


def story_curve(gold: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """The precision-recall curve of the segment scores (story is positive), and the point the model works at."""
    return {
        **_curve(gold, scores),
        "average_precision": float(average_precision_score(gold, scores)),
        "point": _at_threshold(gold, scores, threshold),
    }


def reliability(gold: np.ndarray, scores: np.ndarray, bins: int = BINS) -> dict:
    """Calibration of the scores: per bin of equal width, the lines in it, their mean score and the share that is story.

    Empty bins are left out; a perfectly calibrated model has mean score =
    share of story in every bin.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Rounded before the floor, so that a score of exactly 0.3 lands in [0.3, 0.4), not below.
    which = np.clip(np.floor(np.round(scores * bins, 9)).astype(int), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "lines": int(inside.sum()),
                         "mean_score": float(scores[inside].mean()), "story_share": float(gold[inside].mean())})
    return {"bins": rows}


def page_f1_histogram(pages: Sequence[PageResult], bins: int = F1_BINS) -> dict:
    """How many pages fall in each of ``bins`` equal parts of story F1 (the last one holds F1 = 1)."""
    counts, edges = np.histogram([p.score.f1 for p in pages], bins=bins, range=(0.0, 1.0))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def per_site(pages: Sequence[PageResult]) -> list[dict]:
    """Story F1, precision and recall of each site's pages (averaged as overall), worst site first."""
    by_site: dict[str, list[PageResult]] = {}
    for page in pages:
        by_site.setdefault(page.site, []).append(page)
    rows = []
    for site, group in by_site.items():
        score = average_scores([p.score for p in group])
        rows.append({"site": site, "pages": len(group), "f1": score.f1, "precision": score.precision, "recall": score.recall})
    return sorted(rows, key=lambda row: (row["f1"], row["site"]))


def worst_pages(pages: Sequence[PageResult], n: int = WORST_PAGES) -> list[PageResult]:
    """The ``n`` pages of lowest story F1 (ties: more line errors first, then by id)."""
    return sorted(pages, key=lambda p: (p.score.f1, -p.errors, p.id))[:n]


def tag_curves(outcome: TopicOutcome, thresholds: Mapping[str, float]) -> dict:
    """Per tag with gold positives: its precision-recall curve and the point at the model's threshold."""
    curves = {}
    for j, name in enumerate(outcome.names):
        truth, scores = outcome.truth[:, j].astype(bool), outcome.probability[:, j]
        if not truth.any():
            continue
        curves[name] = {
            **_curve(truth, scores),
            "average_precision": float(average_precision_score(truth, scores)),
            # A tag the model does not know has no threshold, and no point to mark.
            "point": _at_threshold(truth, scores, thresholds[name]) if name in thresholds else None,
            "positives": int(truth.sum()),
        }
    return curves


# Drawing ------------------------------------------------------------------------------


def check_plotting() -> None:
    """Fail before a long evaluation, not after it, when matplotlib is missing."""
    _pyplot()


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--report draws its plots with matplotlib: pip install 'storyfilter[report]'") from None
    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.grid": True, "grid.alpha": 0.3,
                         "figure.dpi": 100, "savefig.bbox": "tight"})
    return plt


def _pr_axes(plt, title: str):
    figure, axes = plt.subplots(figsize=(6, 4.5))
    axes.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    return figure, axes


def draw_story_curve(plt, curve: dict, path: Path) -> None:
    figure, axes = _pr_axes(plt, "Segments: precision and recall of story")
    axes.plot(curve["recall"], curve["precision"], lw=2, label=f"all thresholds (AP {curve['average_precision']:.3f})")
    point = curve["point"]
    axes.plot(point["recall"], point["precision"], "o", ms=9, color="C3",
              label=f"model's threshold {point['threshold']:.2f}: P {point['precision']:.3f}, R {point['recall']:.3f}")
    axes.legend(loc="lower left")
    figure.savefig(path)
    plt.close(figure)


def draw_reliability(plt, table: dict, path: Path) -> None:
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    rows = table["bins"]
    top.plot([0, 1], [0, 1], ls="--", color="grey", label="perfectly calibrated")
    top.plot([r["mean_score"] for r in rows], [r["story_share"] for r in rows], "o-", lw=2, label="segments")
    top.set(ylim=(0, 1.02), ylabel="share that is story", title="Segments: calibration of the story score")
    top.legend(loc="upper left")
    bottom.bar([(r["low"] + r["high"]) / 2 for r in rows], [r["lines"] for r in rows], width=0.09, color="C0")
    bottom.set(xlim=(0, 1), xlabel="story score (mean in each tenth)", ylabel="lines")
    bottom.set_yscale("log")
    figure.savefig(path)
    plt.close(figure)


def draw_page_f1(plt, histogram: dict, mean_f1: float, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6, 4))
    edges = histogram["edges"]
    axes.bar(edges[:-1], histogram["counts"], width=edges[1] - edges[0], align="edge", color="C0", edgecolor="white")
    axes.axvline(mean_f1, color="C3", lw=2, label=f"story F1 overall {mean_f1:.3f}")
    axes.set(xlim=(0, 1), xlabel="story F1 of the page", ylabel="pages", title="Pages by story F1")
    axes.legend(loc="upper left")
    figure.savefig(path)
    plt.close(figure)


def draw_tag_curves(plt, curves: dict, path: Path) -> None:
    figure, axes = _pr_axes(plt, "Topics: precision and recall of each tag")
    for number, (name, curve) in enumerate(curves.items()):
        colour = f"C{number}"
        axes.plot(curve["recall"], curve["precision"], lw=2, color=colour,
                  label=f"{name} (AP {curve['average_precision']:.3f}, {curve['positives']} positive)")
        point = curve["point"]
        if point is not None:
            axes.plot(point["recall"], point["precision"], "o", ms=9, color=colour, markeredgecolor="black")
    axes.plot([], [], "o", color="white", markeredgecolor="black", label="each tag's threshold")
    axes.legend(loc="lower left", fontsize=9)
    figure.savefig(path)
    plt.close(figure)


# The page ----------------------------------------------------------------------------------


def write_report(
    directory: Path,
    summary: dict,
    evaluation: Evaluation | None,
    story_threshold: float,
    topics: TopicOutcome | None = None,
    topic_thresholds: Mapping[str, float] | None = None,
    redact: bool = False,
) -> Path:
    """Write ``report.html``, its PNGs and ``report.json`` (``summary`` with the plotted figures) into ``directory``.

    With ``redact``, no text of the evaluated pages goes into the report:
    pages and sites are numbered and mislabelled lines are shown by number
    and score only (for a report of data that may not be shared).
    """
    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    summary = dict(summary)
    plots: dict = {}
    sections = [f"<h1>Evaluation of {html.escape(str(summary.get('model', '')))}</h1>"]
    if evaluation is not None and evaluation.pages:
        sites = {site: f"site {n + 1}" for n, site in enumerate(sorted({p.site for p in evaluation.pages}))}
        ids = {p.id: f"page {n + 1}" for n, p in enumerate(evaluation.pages)}
        site_name = (lambda s: sites[s]) if redact else (lambda s: s)
        page_name = (lambda i: ids[i]) if redact else (lambda i: i)
        pictures = ["page_f1.png"]
        if evaluation.gold.any() and not evaluation.gold.all():  # curves need lines of both kinds
            plots["story_curve"] = story_curve(evaluation.gold, evaluation.scores, story_threshold)
            plots["reliability"] = reliability(evaluation.gold, evaluation.scores)
            draw_story_curve(plt, plots["story_curve"], directory / "story_pr.png")
            draw_reliability(plt, plots["reliability"], directory / "reliability.png")
            pictures = ["story_pr.png", "reliability.png"] + pictures
        plots["page_f1"] = page_f1_histogram(evaluation.pages)
        draw_page_f1(plt, plots["page_f1"], evaluation.story.f1, directory / "page_f1.png")
        sections.append(_story_section(evaluation, per_site(evaluation.pages), site_name, pictures))
        sections.append(_worst_section(worst_pages(evaluation.pages), site_name, page_name, redact))
    if topics is not None and "topics" in summary:
        plots["tag_curves"] = tag_curves(topics, topic_thresholds or {})
        draw_tag_curves(plt, plots["tag_curves"], directory / "topics_pr.png")
        sections.append(_topic_section(summary["topics"], topic_thresholds or {}))
    if redact and "pages" in summary:
        summary["pages"] = [{**page, "id": ids[page["id"]], "site": sites[page["site"]]} for page in summary["pages"]]
    summary["plots"] = plots
    (directory / "report.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    page = directory / "report.html"
    page.write_text(_HTML.format(title=html.escape(f"storyfilter evaluation: {summary.get('model', '')}"),
                                 body="\n".join(sections)), encoding="utf-8")
    return page


def _figures(*names: str) -> str:
    return "<div class='figures'>" + "".join(f"<img src='{n}' alt='{n}'>" for n in names) + "</div>"


def _story_section(evaluation: Evaluation, sites: list[dict], site_name, pictures: list[str]) -> str:
    story = evaluation.story
    rows = "".join(
        f"<tr><td>{html.escape(site_name(r['site']))}</td><td>{r['pages']}</td><td>{r['f1']:.3f}</td>"
        f"<td>{r['precision']:.3f}</td><td>{r['recall']:.3f}</td></tr>" for r in sites
    )
    return (
        "<h2>Story</h2>"
        f"<p class='headline'>story F1 <b>{story.f1:.4f}</b> &middot; precision {story.precision:.4f} &middot; "
        f"recall {story.recall:.4f} &middot; {story.pages} pages &middot; line accuracy "
        f"{evaluation.line_accuracy:.4f} over {evaluation.lines} lines with a gold label</p>"
        "<p>Story F1 per page compares the story the model kept with the gold text (word 4-gram shingles); "
        "precision and recall are averaged over pages, and F1 is taken of the two averages.</p>"
        + ("" if "story_pr.png" in pictures else
           "<p>No curve over the segment scores: the gold labels no line, or only lines of one kind.</p>")
        + _figures(*pictures)
        + "<h3>Per site (worst first)</h3><table><tr><th>site</th><th>pages</th><th>F1</th><th>precision</th>"
        f"<th>recall</th></tr>{rows}</table>"
    )


def _worst_section(pages: list[PageResult], site_name, page_name, redact: bool) -> str:
    parts = [f"<h2>The {len(pages)} worst pages and their mislabelled lines</h2>"]
    for page in pages:
        parts.append(
            f"<h3>{html.escape(page_name(page.id))} <small>{html.escape(site_name(page.site))}: F1 {page.score.f1:.3f}, "
            f"precision {page.score.precision:.3f}, recall {page.score.recall:.3f}; "
            f"{page.errors} of {page.lines} lines wrong</small></h3>"
        )
        if not page.mistakes:
            parts.append("<p>No line is mislabelled: the story differs from the gold text in its words.</p>")
            continue
        rows = "".join(
            f"<tr class='{'missed' if m.gold is Label.STORY else 'kept'}'><td>{m.line}</td>"
            f"<td>{'story, left out' if m.gold is Label.STORY else 'chrome, kept'}</td><td>{m.score:.2f}</td>"
            f"<td>{'' if redact else html.escape(m.text[:300])}</td></tr>"
            for m in page.mistakes[:MISTAKES_SHOWN]
        )
        more = len(page.mistakes) - MISTAKES_SHOWN
        parts.append("<table><tr><th>line</th><th>gold, and what the model did</th><th>score</th><th>text</th></tr>"
                     f"{rows}</table>" + (f"<p>... and {more} more.</p>" if more > 0 else ""))
    return "\n".join(parts)


def _topic_section(metrics: dict, thresholds: Mapping[str, float]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{format(thresholds[name], '.2f') if name in thresholds else '-'}</td>"
        f"<td>{r['precision']:.3f}</td>"
        f"<td>{r['recall']:.3f}</td><td>{r['f1']:.3f}</td>"
        f"<td>{'-' if r['average_precision'] is None else format(r['average_precision'], '.3f')}</td>"
        f"<td>{r['support']}</td></tr>"
        for name, r in metrics["per_tag"].items()
    )
    return (
        f"<h2>Topics</h2><p class='headline'>micro-F1 <b>{metrics['micro_f1']:.4f}</b> over "
        f"{metrics['documents']} documents</p>" + _figures("topics_pr.png")
        + "<table><tr><th>tag</th><th>threshold</th><th>precision</th><th>recall</th><th>F1</th><th>AP</th>"
        f"<th>positive</th></tr>{rows}</table>"
    )


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1250px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }}
.figures img {{ max-width: 400px; margin: 0 0.5em 0.5em 0; border: 1px solid #eee; }}
.headline {{ font-size: 1.15em; }}
tr.missed td:nth-child(2) {{ color: #b00; }} tr.kept td:nth-child(2) {{ color: #a60; }}
small {{ color: #666; font-weight: normal; }}
</style></head>
<body>
{body}
</body></html>
"""
