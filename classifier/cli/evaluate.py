"""``storyfilter evaluate``: a model scored against gold, printed and optionally reported."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, OutputError
from ..limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_SEGMENTS, DocumentLimits
from .exits import ctrl_c_held, exit_codes
from .options import EvaluateMaxCharsOption, EvaluateMaxSegmentsOption


class Sites(str, Enum):
    """Which sites of a web-page corpus to evaluate on."""

    HELD_OUT = "held-out"
    ALL = "all"


def evaluate(
    data: Annotated[list[Path], typer.Argument(help="Labelled JSONL files and web-page corpus directories.")],
    model: Annotated[Path | None, typer.Option("--model", help="Model bundle; the shipped default if omitted.")] = None,
    sites: Annotated[
        Sites, typer.Option("--sites", help="Web-page corpora: only the held-out sites, or all.")
    ] = Sites.HELD_OUT,
    page_type: Annotated[
        list[str] | None,
        typer.Option(
            "--page-type", help="Keep only web pages of this type (repeatable); documents without a type stay."
        ),
    ] = None,
    renderer: Annotated[
        list[str] | None,
        typer.Option(
            "--renderer",
            help="Web-page corpora: html-text, inscriptis, or html (the HTML classifier on the markup); repeatable.",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write DIR/report.html with its plots, and DIR/report.json.")
    ] = None,
    redact: Annotated[
        bool, typer.Option("--redact", help="Keep the pages' text and site names out of the report.")
    ] = False,
    max_segments: EvaluateMaxSegmentsOption = DEFAULT_MAX_SEGMENTS,
    max_chars: EvaluateMaxCharsOption = DEFAULT_MAX_CHARS,
) -> None:
    """Score a model against gold: story F1, precision, recall, line accuracy; per-tag topic scores."""
    with exit_codes():
        with ctrl_c_held():  # a Ctrl-C while native modules import stops the run once they have
            from ..cache import cache_folder
            from ..evaluation.evaluate import evaluate as run_evaluation
            from ..evaluation.evaluate import read_gold
            from ..evaluation.metrics import shown
            from ..model.model import load_model

            if report is not None:
                from ..evaluation.plots import check_plotting
                from ..evaluation.report import report_problem

                problem = report_problem(report)
                if problem is not None:
                    raise InputError(problem)
                check_plotting()
            loaded = load_model(model, limits=DocumentLimits(max_segments, max_chars))
        documents = read_gold(
            data, all_sites=sites is Sites.ALL, page_types=page_type, renderers=renderer, cache=cache_folder()
        )
        findings = run_evaluation(loaded, documents)
        summary = findings.summary
        if "topics_not_scored" in summary:
            typer.echo(f"storyfilter: note: {summary['topics_not_scored']}", err=True)
        if findings.story is not None:
            story = findings.story.story
            typer.echo(
                f"pages {story.pages}  story F1 {story.f1:.4f}  precision {story.precision:.4f}  "
                f"recall {story.recall:.4f}  line accuracy {findings.story.line_accuracy:.4f} ({findings.story.lines} lines)"
            )
        for title, key in (("by source", "by_source"), ("by language", "by_language"), ("by reading", "by_reading")):
            table = summary.get(key, {})
            if len(table) > 1:
                typer.echo(f"{title}:")
                for name, row in table.items():
                    typer.echo(
                        f"  {name:20} {row['pages']:5} {'page ' if row['pages'] == 1 else 'pages'}  story F1 {row['f1']:.4f}  precision {row['precision']:.4f}  "
                        f"recall {row['recall']:.4f}"
                    )
        if "topics" in summary:
            topics = summary["topics"]
            if topics["unknown_tags"]:
                typer.echo(
                    f"storyfilter: warning: gold tags the model does not tag, counted as missed: "
                    f"{', '.join(topics['unknown_tags'])} (it tags {', '.join(loaded.tag_names)})",
                    err=True,
                )
            if topics["untagged_languages"]:
                typer.echo(
                    f"storyfilter: note: {topics['untagged_languages']} of {topics['documents']} documents are in a "
                    f"language the topic stage does not tag ({', '.join(loaded.topic_languages or ())} only): they "
                    "get no tags, and their gold tags count as missed",
                    err=True,
                )
            typer.echo(f"topics: {topics['documents']} documents  micro-F1 {shown(topics['micro_f1'])}")
            for name, row in topics["per_tag"].items():
                typer.echo(
                    f"  {name:20} precision {shown(row['precision'])}  recall {shown(row['recall'])}  "
                    f"F1 {shown(row['f1'])}  AP {shown(row['average_precision'])}  ({row['support']} positive)"
                )
        if report is not None:
            from ..evaluation.report import write_report

            html_only = renderer == ["html"] and loaded.html_story_threshold is not None
            try:
                page = write_report(
                    report,
                    summary,
                    findings.story,
                    loaded.html_story_threshold if html_only else loaded.story_threshold,
                    findings.topics,
                    loaded.topic_thresholds,
                    redact,
                )
            except OSError as error:  # checked before the evaluation; the disk can still fill, or the folder go
                raise OutputError(f"--report {report}: the report could not be written ({error})") from None
            typer.echo(f"report: {page}")
