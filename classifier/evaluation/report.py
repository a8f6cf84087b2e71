"""The evaluation report: ``storyfilter evaluate --report DIR`` writes ``report.html``, its plots and ``report.json``.

What is shown is computed first (:mod:`classifier.evaluation.figures`), then
drawn (:mod:`classifier.evaluation.plots`); this module lays the page out.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..records import Label
from .evaluate import Evaluation, PageResult, TopicOutcome
from .figures import MISTAKES_SHOWN, page_f1_histogram, per_site, reliability, story_curve, tag_curves, worst_pages
from .metrics import shown
from .plots import draw_page_f1, draw_reliability, draw_story_curve, draw_tag_curves, pyplot

# What a report writes: those of an earlier report that this one does not write again are removed at its end.
_FILES = ("report.html", "report.json", "story_pr.png", "reliability.png", "page_f1.png", "topics_pr.png")


def report_problem(directory: Path) -> str | None:
    """Why a report cannot be written into ``directory`` (found before the evaluation runs), or None.

    The folder must be a folder (or not exist yet, below one that can be
    written), and none of the report's files in it may be a folder.
    """
    if directory.exists() and not directory.is_dir():
        return f"--report {directory} is a file: give a folder for report.html and report.json"
    for name in _FILES:
        if (directory / name).is_dir():
            return f"--report {directory}: {directory / name} is a folder, where the report writes a file of that name"
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"--report {directory}: {existing} is a file, where the report's folder would be made"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"--report {directory}: cannot write into {existing} (permission denied)"
    return None


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
    plt = pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("report.html", "report.json"):  # first: a report that fails part-way leaves no page of another's
        if (directory / name).is_file():
            (directory / name).unlink()
    summary = dict(summary)
    plots: dict = {}
    written = {"report.html", "report.json"}
    sections = [f"<h1>Evaluation of {html.escape(str(summary.get('model', '')))}</h1>"]
    if evaluation is not None and evaluation.pages:
        sites = {site: f"site {n + 1}" for n, site in enumerate(sorted({p.site for p in evaluation.pages}))}
        # Pages are numbered by their place (two gold files may both hold a page "1"), sites by name.
        numbers = {id(p): f"page {n + 1}" for n, p in enumerate(evaluation.pages)}
        site_name = (lambda s: sites[s]) if redact else (lambda s: s)
        page_name = (lambda p: numbers[id(p)]) if redact else (lambda p: p.id)
        pictures = ["page_f1.png"]
        if evaluation.gold.any() and not evaluation.gold.all():  # curves need lines of both kinds
            plots["story_curve"] = story_curve(evaluation.gold, evaluation.scores, story_threshold)
            plots["reliability"] = reliability(evaluation.gold, evaluation.scores)
            draw_story_curve(plt, plots["story_curve"], directory / "story_pr.png")
            draw_reliability(plt, plots["reliability"], directory / "reliability.png")
            pictures = ["story_pr.png", "reliability.png", *pictures]
            written.update(("story_pr.png", "reliability.png"))
        plots["page_f1"] = page_f1_histogram(evaluation.pages)
        draw_page_f1(plt, plots["page_f1"], evaluation.story.f1, directory / "page_f1.png")
        written.add("page_f1.png")
        sections.append(_story_section(evaluation, per_site(evaluation.pages), site_name, pictures))
        sections.append(_worst_section(worst_pages(evaluation.pages), site_name, page_name, redact))
    if topics is not None and "topics" in summary:
        plots["tag_curves"] = tag_curves(topics, topic_thresholds or {}, summary["topics"].get("unknown_tags", ()))
        draw_tag_curves(plt, plots["tag_curves"], directory / "topics_pr.png")
        written.add("topics_pr.png")
        sections.append(_topic_section(summary["topics"], topic_thresholds or {}))
    if redact and "pages" in summary:
        summary["pages"] = [  # (in the order of evaluation.pages)
            {**page, "id": f"page {n + 1}", "site": sites[page["site"]]} for n, page in enumerate(summary["pages"])
        ]
    summary["plots"] = plots
    (directory / "report.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    page = directory / "report.html"
    page.write_text(
        _HTML.format(
            title=html.escape(f"storyfilter evaluation: {summary.get('model', '')}"), body="\n".join(sections)
        ),
        encoding="utf-8",
    )
    for name in set(_FILES) - written:  # an earlier report's, which this one did not write again (no topics, say)
        stale = directory / name
        if stale.is_file():
            stale.unlink()
    return page


def _figures(*names: str) -> str:
    return "<div class='figures'>" + "".join(f"<img src='{n}' alt='{n}'>" for n in names) + "</div>"


def _story_section(evaluation: Evaluation, sites: list[dict], site_name, pictures: list[str]) -> str:
    story = evaluation.story
    rows = "".join(
        f"<tr><td>{html.escape(site_name(r['site']))}</td><td>{r['pages']}</td><td>{r['f1']:.3f}</td>"
        f"<td>{r['precision']:.3f}</td><td>{r['recall']:.3f}</td></tr>"
        for r in sites
    )
    return (
        "<h2>Story</h2>"
        f"<p class='headline'>story F1 <b>{story.f1:.4f}</b> &middot; precision {story.precision:.4f} &middot; "
        f"recall {story.recall:.4f} &middot; {story.pages} pages &middot; line accuracy "
        f"{evaluation.line_accuracy:.4f} over {evaluation.lines} lines with a gold label</p>"
        "<p>Story F1 per page compares the story the model kept with the gold text (word 4-gram shingles); "
        "precision and recall are averaged over pages, and F1 is taken of the two averages.</p>"
        + (
            ""
            if "story_pr.png" in pictures
            else "<p>No curve over the segment scores: the gold labels no line, or only lines of one kind.</p>"
        )
        + _figures(*pictures)
        + "<h3>Per site (worst first)</h3><table><tr><th>site</th><th>pages</th><th>F1</th><th>precision</th>"
        f"<th>recall</th></tr>{rows}</table>"
    )


def _worst_section(pages: list[PageResult], site_name, page_name, redact: bool) -> str:
    if not pages:
        return "<h2>No page's story differs from its gold</h2>"
    parts = [f"<h2>The {len(pages)} worst pages and their mislabelled lines</h2>"]
    for page in pages:
        parts.append(
            f"<h3>{html.escape(page_name(page))} <small>{html.escape(site_name(page.site))}: F1 {page.score.f1:.3f}, "
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
        parts.append(
            "<table><tr><th>line</th><th>gold, and what the model did</th><th>score</th><th>text</th></tr>"
            f"{rows}</table>" + (f"<p>... and {more} more.</p>" if more > 0 else "")
        )
    return "\n".join(parts)


def _topic_section(metrics: dict, thresholds: Mapping[str, float]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{format(thresholds[name], '.2f') if name in thresholds else '-'}</td>"
        f"<td>{shown(r['precision'], 3)}</td>"
        f"<td>{shown(r['recall'], 3)}</td><td>{shown(r['f1'], 3)}</td>"
        f"<td>{shown(r['average_precision'], 3)}</td>"
        f"<td>{r['support']}</td></tr>"
        for name, r in metrics["per_tag"].items()
    )
    return (
        f"<h2>Topics</h2><p class='headline'>micro-F1 <b>{shown(metrics['micro_f1'])}</b> over "
        f"{metrics['documents']} documents</p>"
        + _figures("topics_pr.png")
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
