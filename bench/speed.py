"""Benchmark: how fast storyfilter starts and labels, as a user runs it, against jusText and trafilatura.

In one run, on this machine:

* ``storyfilter --help`` and ``--version``: wall time of the whole command
  (median of ``--repeats``);
* labelling one page from the command line (``storyfilter label PAGE``),
  start-up and model loading included (median), and where a one-page run
  in one process spends its time: importing the command line, importing
  the labelling modules (scikit-learn, SciPy, numpy and ours), loading the
  model, labelling the page, and the rest (interpreter start and exit);
* ``storyfilter label --workers 1`` over the pages as text (a JSONL file),
  wall time, start-up included, quiet and with another core kept busy (a
  process spinning, as on a machine that does other work); jusText over the
  same pages in the same two conditions (one process, one thread);
* the same over the pages as HTML, against trafilatura;
* the rate of a long run, where start-up no longer counts: each labelling
  run's wall time less a one-page run's in the same condition (start-up,
  model loading and exit), against the same jusText and trafilatura
  rates (which never included theirs).

storyfilter's own modules are compiled to bytecode first, as installing
it does (see :func:`compile_package`).

The pages are a web-page corpus's held-out article and blog pages (or all
its pages with ``--split all``), rendered by html-text for the text runs.
Records are written without their segments (the story, like the other
tools' output) unless ``--segments`` asks for ``label``'s default records.

    python bench/speed.py --data ../shared/datasets/web-pages-2026
    python bench/speed.py --data ../shared/datasets/l3s-gn1 --split all --page-types all

Several ``--data`` corpora are pooled. The pages are repeated until there
are ``--documents`` of them, which flatters anything cached across pages;
to time distinct pages only, give enough of them, e.g. ``--data
web-pages-2026 dragnet l3s-gn1 --split all --page-types all --documents 1``
(about 3,000 pages).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extraction import busy_neighbour, corpus_pages

STORYFILTER = [sys.executable, "-m", "classifier"]
# Documents a labelling run is timed on at least (the pages repeated), start-up included.
LEAST_DOCUMENTS = 500


def wall(command: list[str], repeats: int) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# One labelling process, its phases timed: what a one-page run of the command line spends.
_PHASES = """
import json, sys, time
times = [time.perf_counter()]
import classifier.cli.app
times.append(time.perf_counter())
from classifier.model.model import load_model
times.append(time.perf_counter())
model = load_model(None)
times.append(time.perf_counter())
model.label(open(sys.argv[1], encoding="utf-8").read())
times.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(times, times[1:])]))
import gc
gc.freeze()  # as the command line's main() does at exit
"""
PHASE_NAMES = ("command line", "labelling modules", "model load", "one page labelled")


def compile_package() -> None:
    """Compile storyfilter's modules to bytecode, as installing a wheel does.

    An editable install compiles them when first imported, unless the
    environment sets ``PYTHONDONTWRITEBYTECODE`` (this machine does): then
    every run would compile them again, about 0.035 s that no installed
    storyfilter spends.
    """
    import classifier

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(classifier.__file__).parent)], check=True)


def startup_phases(page: Path, repeats: int) -> dict[str, float]:
    """Median seconds of each phase of a one-page run in one process, and of the rest (start and exit)."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PHASES, str(page)], check=True, capture_output=True, text=True)
        total = time.perf_counter() - started
        phases = json.loads(done.stdout.splitlines()[-1])
        runs.append([*phases, total - sum(phases)])
    return {name: statistics.median(run[i] for run in runs) for i, name in enumerate((*PHASE_NAMES, "start and exit"))}


def justext_rate(texts: list[str]) -> float:
    import justext

    stoplist = justext.get_stoplist("English")
    started = time.perf_counter()
    for text in texts:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        justext.justext(
            "<html><body>" + "".join(f"<p>{html.escape(x)}</p>" for x in lines) + "</body></html>", stoplist
        )
    return len(texts) / (time.perf_counter() - started)


def trafilatura_rate(htmls: list[str]) -> float:
    import trafilatura

    started = time.perf_counter()
    for page in htmls:
        trafilatura.extract(page, include_comments=False)
    return len(htmls) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="web-page corpus folders (pooled)")
    parser.add_argument("--split", default="held-out", choices=["held-out", "validation", "all"])
    parser.add_argument("--page-types", default="article,blog")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--documents",
        type=int,
        default=LEAST_DOCUMENTS,
        help="Documents each labelling run is timed on at least (the pages repeated; start-up is about 1.5 s of it).",
    )
    parser.add_argument(
        "--segments",
        action="store_true",
        help="write records with their segments, as `label` does by default (else --no-segments, the story only)",
    )
    parser.add_argument(
        "--start-up-only",
        action="store_true",
        help="time --help, --version and a one-page run (and its phases), not the labelling runs",
    )
    args = parser.parse_args(argv)
    page_types = None if args.page_types == "all" else tuple(args.page_types.split(","))
    pages = [
        p
        for data in args.data
        for p in corpus_pages(data, args.split, page_types)
        if p.text is not None and p.html is not None
    ]
    texts, htmls = [p.text for p in pages], [p.html for p in pages]
    copies = max(1, -(-args.documents // len(pages)))  # enough documents that start-up is a small part
    print(
        f"{', '.join(data.name for data in args.data)}: {len(pages)} distinct pages "
        f"({'each once' if copies == 1 else f'each {copies} times'}), "
        f"{sum(map(len, texts)) / len(texts) / 1000:.1f} KB of text and "
        f"{sum(map(len, htmls)) / len(htmls) / 1000:.0f} KB of HTML a page on average\n"
    )
    compile_package()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "page.txt").write_text(texts[0], encoding="utf-8")
        wall([*STORYFILTER, "label", str(folder / "page.txt")], 1)  # the cache folder filled once
        print(
            f"storyfilter --help: {wall([*STORYFILTER, '--help'], args.repeats):.3f} s, --version: "
            f"{wall([*STORYFILTER, '--version'], args.repeats):.3f} s, one page from the command line: "
            f"{wall([*STORYFILTER, 'label', str(folder / 'page.txt')], args.repeats):.3f} s (medians of {args.repeats})\n"
        )
        phases = startup_phases(folder / "page.txt", args.repeats)
        print(
            "one page in one process (medians): "
            + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in phases.items())
            + "\n"
        )
        if args.start_up_only:
            return
        for kind, inputs in (("text", texts), ("html", htmls)):
            for name, values in ((kind, inputs * copies), (f"{kind}-one", inputs[:1])):
                with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as out:
                    for number, value in enumerate(values):
                        out.write(json.dumps({"id": str(number), kind: value}) + "\n")
        print(f"{'run':44} {'quiet':>9} {'busy':>9}   pages/s")
        rows, after_start = {}, {}
        documents = len(pages) * copies
        for busy in (False, True):
            with busy_neighbour(busy):
                for kind in ("text", "html"):
                    run, one = (
                        wall(label_command(folder / f"{name}.jsonl", folder / "out.jsonl", args.segments), 3)
                        for name in (kind, f"{kind}-one")
                    )
                    rows.setdefault(f"storyfilter label --workers 1 ({kind})", []).append(documents / run)
                    # (too few documents to tell from start-up's own spread: not a number)
                    after_start.setdefault(kind, []).append((documents - 1) / (run - one) if run > one else math.nan)
                rows.setdefault("jusText (text, lines as paragraphs)", []).append(
                    statistics.median(justext_rate(texts) for _ in range(3))
                )
                rows.setdefault("trafilatura (HTML)", []).append(
                    statistics.median(trafilatura_rate(htmls) for _ in range(3))
                )
        for name, (quiet, busy) in rows.items():
            print(f"{name:44} {quiet:9.1f} {busy:9.1f}")
        ours_text, ours_html = (
            rows["storyfilter label --workers 1 (text)"],
            rows["storyfilter label --workers 1 (html)"],
        )
        justext, trafilatura = rows["jusText (text, lines as paragraphs)"], rows["trafilatura (HTML)"]
        print(
            f"\ntext vs jusText: {ours_text[0] / justext[0]:.2f}x quiet, {ours_text[1] / justext[1]:.2f}x busy; "
            f"HTML vs trafilatura: {ours_html[0] / trafilatura[0]:.2f}x quiet, {ours_html[1] / trafilatura[1]:.2f}x busy"
        )
        # A long run's rate: the same runs less a one-page run's wall time (start-up, model, exit) in the same condition.
        text, html_ = after_start["text"], after_start["html"]
        print(
            f"after start-up (each run less a one-page run in the same condition): text {text[0]:.1f} / {text[1]:.1f} "
            f"pages/s quiet / busy ({text[0] / justext[0]:.2f}x / {text[1] / justext[1]:.2f}x jusText), HTML "
            f"{html_[0]:.1f} / {html_[1]:.1f} ({html_[0] / trafilatura[0]:.2f}x / {html_[1] / trafilatura[1]:.2f}x "
            "trafilatura)"
        )


def label_command(inputs: Path, out: Path, segments: bool) -> list[str]:
    """``storyfilter label`` over a JSONL file with one worker, as timed here."""
    return [
        *STORYFILTER,
        "label",
        str(inputs),
        "--workers",
        "1",
        *([] if segments else ["--no-segments"]),
        "-o",
        str(out),
    ]


if __name__ == "__main__":
    main()
