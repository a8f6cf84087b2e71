"""Benchmark: story extraction from plain scraped text and from HTML, against the public tools.

On the held-out sites of a web-page corpus with gold text (sites never
trained or tuned on; see ``classifier.corpus.sites.is_held_out``), every article
and blog page goes through two sections.

Text: each page is rendered to text (html-text, as scrapers do), then

* storyfilter labels the lines with the given model, and again with the
  same model stripped of its topic stage (the stage's share of the time);
* jusText classifies the same lines, each wrapped as a paragraph;
* keep-everything returns the whole text.

HTML: each page's HTML (decoded once, up front, for every tool) goes to

* storyfilter's HTML classifier (parse, DOM blocks, labels, topics);
* trafilatura ``extract`` (comments left out: its stronger setting here);
* jusText on the HTML.

It prints story F1, precision, recall and pages per second for each, and
the ratios, all from the same run. Timing runs on one thread in one
process for every tool; the figure is the median of ``--repeats`` runs.

    python bench/extraction.py --data ../shared/datasets/web-pages-2026
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import statistics
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from classifier import load_model
from classifier.corpus.sites import is_held_out
from classifier.corpus.webpages import MARKUP, default_cache, read_web_pages
from classifier.evaluation.metrics import score_stories
from classifier.records import Document
from classifier.training.fit import is_validation_site

USER_TYPES = ("article", "blog")


def user_pages(data: Path, renderer: str, split: str) -> list:
    """Article and blog pages of the held-out sites (or of the validation sites)."""
    chosen = is_held_out if split == "held-out" else is_validation_site
    return [
        d
        for d in read_web_pages(data, renderers=[renderer], cache=default_cache())
        if chosen(d.site) and d.page_type in USER_TYPES
    ]


def run_storyfilter(model, texts: list[str]) -> list[str]:
    documents = (Document(id=str(i), text=t) for i, t in enumerate(texts))
    return [result.story for result in model.label_many(documents)]


def run_storyfilter_html(model, htmls: list[str]) -> list[str]:
    documents = (Document(id=str(i), html=h) for i, h in enumerate(htmls))
    return [getattr(result, "story", "") for result in model.label_many(documents)]  # a failed page extracts nothing


def run_trafilatura(htmls: list[str]) -> list[str]:
    import trafilatura

    return [trafilatura.extract(h, include_comments=False) or "" for h in htmls]


def run_justext_html(htmls: list[str]) -> list[str]:
    import justext

    stoplist = justext.get_stoplist("English")
    stories = []
    for h in htmls:
        try:
            paragraphs = justext.justext(h.encode("utf-8"), stoplist, encoding="utf-8")
        except Exception:  # noqa: BLE001 - a page jusText cannot parse extracts nothing
            paragraphs = []
        stories.append("\n\n".join(p.text for p in paragraphs if not p.is_boilerplate))
    return stories


def run_justext(texts: list[str]) -> list[str]:
    import justext

    stoplist = justext.get_stoplist("English")
    stories = []
    for text in texts:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        page = "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</body></html>"
        paragraphs = justext.justext(page, stoplist)
        stories.append("\n\n".join(p.text for p in paragraphs if not p.is_boilerplate))
    return stories


def run_keep_everything(texts: list[str]) -> list[str]:
    return list(texts)


def timed(function, texts: list[str], repeats: int) -> tuple[list[str], float]:
    """The output of the first run and the median pages/s over ``repeats`` runs."""
    rates = []
    output: list[str] = []
    for attempt in range(repeats):
        started = time.perf_counter()
        result = function(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
        if attempt == 0:
            output = result
    return output, statistics.median(rates)


def measure(tools: dict, inputs: list[str], golds: list[str], repeats: int) -> dict:
    """Story score and median pages/s of each tool over the same inputs."""
    results = {}
    for name, function in tools.items():
        stories, rate = timed(function, inputs, repeats)
        results[name] = (score_stories(zip(stories, golds)), rate)
    return results


def print_table(results: dict) -> None:
    print(f"{'tool':34} {'F1':>7} {'P':>7} {'R':>7} {'pages/s':>9}")
    for name, (score, rate) in results.items():
        shown = "-" if name == "keep everything" else f"{rate:.1f}"  # a no-op has no meaningful speed
        print(f"{name:34} {score.f1:7.4f} {score.precision:7.4f} {score.recall:7.4f} {shown:>9}")


def text_section(model, args) -> None:
    pages = user_pages(args.data, args.renderer, args.split)
    golds = [p.story or "" for p in pages]
    print(
        f"== text: {len(pages)} {args.split} {'/'.join(USER_TYPES)} pages from {len({p.site for p in pages})} sites, "
        f"rendered by {args.renderer}; one thread, median of {args.repeats} runs\n"
    )
    stories_only = dataclasses.replace(model, topic_classifier=None)  # the same model without its topic stage
    tools = {
        f"storyfilter ({model.model_id})": lambda t: run_storyfilter(model, t),
        "storyfilter, no topic stage": lambda t: run_storyfilter(stories_only, t),
        "jusText (lines as paragraphs)": run_justext,
        "keep everything": run_keep_everything,
    }
    texts = [p.text for p in pages]
    run_storyfilter(model, texts[:5])  # warm-up: lookup tables, first-call costs
    results = measure(tools, texts, golds, args.repeats)
    print_table(results)
    ours, untagged, justext_result = list(results.values())[:3]
    if model.topic_classifier is not None:
        print(
            f"\ntopic stage: {untagged[1] / ours[1] - 1:.1%} of labelling time without it "
            f"({ours[1]:.1f} vs {untagged[1]:.1f} pages/s)"
        )
    print(f"\nstoryfilter - jusText F1: {ours[0].f1 - justext_result[0].f1:+.4f}")
    print(f"storyfilter / jusText pages/s: {ours[1] / justext_result[1]:.2f}x\n")


def html_section(model, args) -> None:
    pages = user_pages(args.data, MARKUP, args.split)
    golds = [p.story or "" for p in pages]
    htmls = [p.html for p in pages]
    megabytes = sum(len(h.encode("utf-8")) for h in htmls) / len(htmls) / 1e6
    print(
        f"== HTML: {len(pages)} {args.split} {'/'.join(USER_TYPES)} pages from {len({p.site for p in pages})} sites "
        f"({megabytes:.2f} MB of HTML a page on average); one thread, median of {args.repeats} runs\n"
    )
    if model.html_classifier is None:
        print(f"{model.model_id} has no HTML classifier; skipped")
        return
    tools = {
        f"storyfilter HTML ({model.model_id})": lambda h: run_storyfilter_html(model, h),
        "trafilatura (no comments)": run_trafilatura,
        "jusText (HTML)": run_justext_html,
    }
    run_storyfilter_html(model, htmls[:5])
    run_trafilatura(htmls[:5])
    results = measure(tools, htmls, golds, args.repeats)
    print_table(results)
    ours, trafilatura_result = list(results.values())[:2]
    print(f"\nstoryfilter - trafilatura F1: {ours[0].f1 - trafilatura_result[0].f1:+.4f}")
    print(f"storyfilter / trafilatura pages/s: {ours[1] / trafilatura_result[1]:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets" / "web-pages-2026"
    )
    parser.add_argument("--model", type=Path, default=None, help="model bundle (default: the shipped one)")
    parser.add_argument("--renderer", default="html-text", choices=["html-text", "inscriptis"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--section", default="all", choices=["all", "text", "html"])
    parser.add_argument(
        "--split",
        default="held-out",
        choices=["held-out", "validation"],
        help="held-out sites (report) or the training run's validation sites (tuning)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"no web-page corpus at {args.data}")
    model = load_model(args.model)
    with threadpool_limits(limits=1):
        if args.section in ("all", "text"):
            text_section(model, args)
        if args.section in ("all", "html"):
            html_section(model, args)


if __name__ == "__main__":
    main()
