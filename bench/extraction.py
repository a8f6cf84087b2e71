"""Benchmark: story extraction from plain scraped text and from HTML, against the public tools, per source.

``--data`` is a web-page corpus with gold text (``pages.jsonl`` and
``html/``; only its held-out sites by default, never trained or tuned on:
see ``classifier.corpus.sites.is_held_out``; ``--split all`` for a corpus
the model never trained on) or a JSONL file of labelled pages (such as
``training/corpus/multilingual-test.jsonl``, pages as text and as HTML).

Text: each page as text (a corpus's pages rendered by html-text, as
scrapers do), then

* storyfilter labels the lines with the given model;
* jusText classifies the same lines, each wrapped as a paragraph, with the
  stoplist of the page's language (English where jusText has none);
* the rule "a line over 80 characters is story";
* keep-everything returns the whole text.

HTML: each page's HTML (decoded once, up front, for every tool) goes to
storyfilter's HTML classifier, trafilatura ``extract`` (comments left out)
and jusText on the HTML.

It prints story F1, precision, recall and pages per second for each tool,
from the same run, and the same scores per language when the pages hold
more than one. The F1 difference between storyfilter and the first rival
comes with a 95% interval from resampling whole sites (pages of one site
share a template), when the pages come from five sites or more: an
interval that holds 0 means these pages cannot tell the two apart.
Timing runs on one thread in one process for every tool; the figure is the
median of ``--repeats`` runs. ``--busy`` keeps another core busy (a process
spinning) while the tools are timed, as on a machine that does other work.

    python bench/extraction.py --data ../shared/datasets/web-pages-2026
    python bench/extraction.py --data ../shared/datasets/dragnet --split all --page-types all
    python bench/extraction.py --data training/corpus/multilingual-test.jsonl
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from threadpoolctl import threadpool_limits

from classifier import load_model
from classifier.cache import cache_folder
from classifier.corpus.documents import read_training_jsonl
from classifier.corpus.sites import is_held_out
from classifier.corpus.webpages import MARKUP, is_web_page_corpus, read_web_pages
from classifier.evaluation.metrics import score_page, score_stories, site_bootstrap_interval
from classifier.model.language import language_of
from classifier.records import Document
from classifier.training.fit import is_validation_site

USER_TYPES = ("article", "blog")
# jusText's stoplist for each language code (English where it has none).
JUSTEXT_LANGUAGES = {
    "ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French", "hi": "Hindi",
    "id": "Indonesian", "it": "Italian", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian",
    "tr": "Turkish", "uk": "Ukrainian", "cs": "Czech", "sv": "Swedish", "ko": "Korean", "vi": "Vietnamese",
}  # fmt: skip
# Fewest sites whose resampling gives an interval worth printing (2 sites give 3 distinct draws).
MIN_SITES = 5
# The text anchor's rule: a line this long (in characters) is story.
LONG_LINE = 80


class Page:
    """One page of the benchmark: its text and HTML (either may be missing), gold story and language."""

    def __init__(self, key: str, site: str, gold: str, language: str | None, page_type: str | None = None):
        self.key, self.site, self.gold, self.page_type = key, site, gold, page_type
        self.language = language or language_of(gold) or "unknown"
        self.text: str | None = None
        self.html: str | None = None


def corpus_pages(data: Path, split: str, page_types: tuple[str, ...] | None) -> list[Page]:
    """The pages of a web-page corpus to measure on: text by html-text and the HTML, of the chosen sites and types."""
    chosen = {"held-out": is_held_out, "validation": is_validation_site, "all": lambda site: True}[split]
    pages: dict[str, Page] = {}
    for document in read_web_pages(data, renderers=["html-text", MARKUP], cache=cache_folder()):
        if not chosen(document.site) or (page_types and document.page_type not in page_types):
            continue
        key = document.id.rsplit(":", 1)[0]
        page = pages.setdefault(
            key, Page(key, document.site, document.story or "", document.language, document.page_type)
        )
        if document.is_html:
            page.html = document.html
        else:
            page.text = document.text
    return list(pages.values())


def jsonl_pages(data: Path) -> list[Page]:
    """The pages of a JSONL file of labelled pages: a page and its ``-html`` twin are one page."""
    pages: dict[str, Page] = {}
    for document in read_training_jsonl(data):
        key = document.id.removesuffix("-html")
        gold = document.story or ""
        page = pages.setdefault(key, Page(key, document.site, gold, document.language))
        if document.is_html:
            page.html = document.html
        else:
            page.text = document.text
    return list(pages.values())


def export(pages: list[Page], folder: Path) -> None:
    """The pages as JSONL for another labeller (an earlier storyfilter), keyed by page."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("text", "html"):
        with open(folder / f"{kind}.jsonl", "w", encoding="utf-8") as out:
            for page in pages:
                if getattr(page, kind) is not None:
                    out.write(json.dumps({"id": page.key, kind: getattr(page, kind)}, ensure_ascii=False) + "\n")
    print(f"wrote {folder}/text.jsonl and html.jsonl")


def read_stories(path: Path) -> dict[str, str]:
    """The story of each record of a file written by ``storyfilter label`` (an error record's is empty)."""
    with open(path, encoding="utf-8") as handle:
        return {(record := json.loads(line))["id"]: record.get("story", "") for line in handle if line.strip()}


def given(name: str, stories: dict[str, str] | None, pages: list[Page]) -> dict:
    """A tool row for stories labelled elsewhere (no time of its own): ``{name: tool}``, or nothing."""
    if stories is None:
        return {}
    by_input = {id(p): stories.get(p.key, "") for p in pages}
    order = [by_input[id(p)] for p in pages]
    return {name: lambda inputs: order[: len(inputs)]}


def run_storyfilter(model, texts: list[str]) -> list[str]:
    documents = (Document(id=str(i), text=t) for i, t in enumerate(texts))
    return [result.story for result in model.label_many(documents)]


def run_storyfilter_html(model, htmls: list[str]) -> list[str]:
    documents = (Document(id=str(i), html=h) for i, h in enumerate(htmls))
    return [getattr(result, "story", "") for result in model.label_many(documents)]  # a failed page extracts nothing


def run_trafilatura(htmls: list[str]) -> list[str]:
    import trafilatura

    return [trafilatura.extract(h, include_comments=False) or "" for h in htmls]


def _stoplist(language: str):
    import justext

    return justext.get_stoplist(JUSTEXT_LANGUAGES.get(language, "English"))


def run_justext_html(htmls: list[str], languages: list[str]) -> list[str]:
    import justext

    stories = []
    for h, language in zip(htmls, languages):
        try:
            paragraphs = justext.justext(h.encode("utf-8"), _stoplist(language), encoding="utf-8")
        except Exception:  # noqa: BLE001 - a page jusText cannot parse extracts nothing
            paragraphs = []
        stories.append("\n\n".join(p.text for p in paragraphs if not p.is_boilerplate))
    return stories


def run_justext(texts: list[str], languages: list[str]) -> list[str]:
    import justext

    stories = []
    for text, language in zip(texts, languages):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        page = "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</body></html>"
        paragraphs = justext.justext(page, _stoplist(language))
        stories.append("\n\n".join(p.text for p in paragraphs if not p.is_boilerplate))
    return stories


def run_long_lines(texts: list[str]) -> list[str]:
    return ["\n\n".join(line.strip() for line in t.splitlines() if len(line.strip()) > LONG_LINE) for t in texts]


def run_keep_everything(texts: list[str]) -> list[str]:
    return list(texts)


def _spin() -> None:  # pragma: no cover - runs in the busy process
    while True:
        pass


@contextmanager
def busy_neighbour(on: bool):
    """A process spinning on another core while the tools are timed (when ``on``)."""
    if not on:
        yield
        return
    process = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    process.start()
    try:
        yield
    finally:
        process.terminate()
        process.join()


def timed(function, inputs: list[str], repeats: int) -> tuple[list[str], float]:
    """The output of the first run and the median pages/s over ``repeats`` runs."""
    rates = []
    output: list[str] = []
    for attempt in range(repeats):
        started = time.perf_counter()
        result = function(inputs)
        rates.append(len(inputs) / (time.perf_counter() - started))
        if attempt == 0:
            output = result
    return output, statistics.median(rates)


def section(title: str, tools: dict, pages: list[Page], inputs: list[str], args) -> dict:
    """Score and time each tool on the same inputs; print the table, the ratios and the scores per language."""
    golds = [p.gold for p in pages]
    print(
        f"== {title}: {len(pages)} pages from {len({p.site for p in pages})} sites; one thread, median of "
        f"{args.repeats} runs{', another core busy' if args.busy else ''}\n"
    )
    results = {}
    with busy_neighbour(args.busy):
        for name, function in tools.items():
            function(inputs[:5])  # warm-up: lookup tables, first-call costs
            stories, rate = timed(function, inputs, args.repeats)
            results[name] = (stories, score_stories(zip(stories, golds)), rate)
    print(f"{'tool':36} {'F1':>7} {'P':>7} {'R':>7} {'pages/s':>9}")
    for name, (_, score, rate) in results.items():
        untimed = name == "keep everything" or name.startswith("previous")  # a no-op, or labelled elsewhere
        shown = "-" if untimed else f"{rate:.1f}"
        print(f"{name:36} {score.f1:7.4f} {score.precision:7.4f} {score.recall:7.4f} {shown:>9}")
    names = list(results)
    ours, rival = results[names[0]], results[names[1]]
    difference = f"{names[0]} - {names[1]}: F1 {ours[1].f1 - rival[1].f1:+.4f}"
    sites = [p.site for p in pages]
    n_sites = len(set(sites))
    if n_sites >= MIN_SITES:
        low, high = site_bootstrap_interval(
            [score_page(story, gold) for story, gold in zip(ours[0], golds)],
            [score_page(story, gold) for story, gold in zip(rival[0], golds)],
            sites,
        )
        difference += f" (95% interval, its {n_sites} sites resampled: {low:+.4f} to {high:+.4f})"
    else:
        difference += f" ({n_sites} site(s): too few for an interval; other sites may differ either way)"
    print(f"\n{difference}, pages/s {ours[2] / rival[2]:.2f}x")
    languages = sorted({p.language for p in pages})
    if len(languages) > 1:
        print(f"\nstory F1 by language ({', '.join(names)}):")
        for language in languages:
            rows = [i for i, p in enumerate(pages) if p.language == language]
            scores = [score_stories((results[n][0][i], golds[i]) for i in rows).f1 for n in names]
            print(f"  {language:8} {len(rows):5} pages  " + "  ".join(f"{s:.4f}" for s in scores))
    print()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets" / "web-pages-2026"
    )
    parser.add_argument("--model", type=Path, default=None, help="model bundle (default: the shipped one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--section", default="all", choices=["all", "text", "html"])
    parser.add_argument(
        "--split",
        default="held-out",
        choices=["held-out", "validation", "all"],
        help="a corpus's held-out sites (report), its validation sites (tuning), or all (a corpus never trained on)",
    )
    parser.add_argument(
        "--page-types", default="article,blog", help="page types of a corpus to keep, comma-separated, or 'all'"
    )
    parser.add_argument("--busy", action="store_true", help="keep another core busy while timing")
    parser.add_argument(
        "--export",
        type=Path,
        help="write the pages as DIR/text.jsonl and DIR/html.jsonl (ids: the pages' keys) and stop",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        help="DIR holding text-records.jsonl and html-records.jsonl, written by "
        "another storyfilter's `label` from --export's files: its stories join the tables (untimed)",
    )
    args = parser.parse_args(argv)
    page_types = None if args.page_types == "all" else tuple(args.page_types.split(","))
    if is_web_page_corpus(args.data):
        pages = corpus_pages(args.data, args.split, page_types)
    elif args.data.is_file():
        pages = jsonl_pages(args.data)
    else:
        sys.exit(f"no web-page corpus or JSONL file at {args.data}")
    if args.export:
        export(pages, args.export)
        return
    previous = (
        {kind: read_stories(args.previous / f"{kind}-records.jsonl") for kind in ("text", "html")}
        if args.previous
        else {}
    )
    model = load_model(args.model)
    print(f"{args.data.name}: {model.model_id}\n")
    with threadpool_limits(limits=1):
        texts = [p for p in pages if p.text is not None]
        if args.section in ("all", "text") and texts:
            languages = [p.language for p in texts]
            section("text", {
                f"storyfilter ({model.model_id})": lambda t: run_storyfilter(model, t),
                "jusText (lines as paragraphs)": lambda t: run_justext(t, languages),
                f"lines over {LONG_LINE} characters": run_long_lines,
                "keep everything": run_keep_everything,
                **given("previous storyfilter", previous.get("text"), texts),
            }, texts, [p.text for p in texts], args)  # fmt: skip
        marked = [p for p in pages if p.html is not None]
        if args.section in ("all", "html") and marked and model.html_classifier is not None:
            languages = [p.language for p in marked]
            section("HTML", {
                f"storyfilter HTML ({model.model_id})": lambda h: run_storyfilter_html(model, h),
                "trafilatura (no comments)": run_trafilatura,
                "jusText (HTML)": lambda h: run_justext_html(h, languages),
                **given("previous storyfilter HTML", previous.get("html"), marked),
            }, marked, [p.html for p in marked], args)  # fmt: skip


if __name__ == "__main__":
    main()
