"""Analysis: how a segment classifier does on a corpus it never trained on, with and without corpus weights.

For each corpus named by ``--leave-out``, the HTML stage (or with
``--stage text`` the text stage) is fitted as training fits it (same
pages: labelled, not held out; for HTML, discussions left out) on the
other sources only, once with every page weighing as before
and once with the corpus weights (``fit.corpus_weights``); then the left-out
corpus's pages (not its held-out sites; the page types users label) are
labelled and scored at each story threshold. A source the model never saw
is what generalising means, and the trained corpora's own validation sites
are too few to show it (6 to 10 pages each outside web-pages-2026). One fit
takes about 5 minutes on this machine (HTML; text about 3).

    python bench/leave_corpus_out.py --data ../shared/datasets/web-pages-2026 ../shared/datasets/chinese-web \\
        ../shared/datasets/cleaneval-dev ../shared/datasets/cleanportaleval \\
        --leave-out chinese-web cleaneval-dev cleanportaleval
    python bench/leave_corpus_out.py --stage text --data training/corpus/pages.jsonl \\
        training/corpus/items.jsonl training/corpus/multilingual.jsonl ../shared/datasets/web-pages-2026 \\
        ../shared/datasets/chinese-web ../shared/datasets/cleaneval-dev ../shared/datasets/cleanportaleval \\
        --leave-out cleaneval-dev

The text stage's test pages are the left-out corpus's pages in both
renderings it trains on (html-text's and inscriptis's). With several
``--seed`` values each variant is fitted once per seed (a row each) and
their mean follows with how far apart the seeds are at 0.5: on these
corpora a seed alone moves a figure by up to 0.02 (docs/benchmarks.md).

HTML pages are labelled with the text stage's share of each segment's score
(``fit.HTML_TEXT_SHARE``, since default@10). ``--text-data`` gives the text
stage's sources: then the text stage is fitted without the corpus too, and
a second row per fit (``+ text``) scores the HTML pages as they are
labelled (``--text-share`` sets another share):

    python bench/leave_corpus_out.py --data ../shared/datasets/web-pages-2026 ../shared/datasets/chinese-web \\
        ../shared/datasets/cleaneval-dev ../shared/datasets/cleanportaleval --weights corpus --seed 0 1 \\
        --leave-out chinese-web cleaneval-dev cleanportaleval --text-data training/corpus/pages.jsonl \\
        training/corpus/items.jsonl training/corpus/multilingual.jsonl ../shared/datasets/web-pages-2026 \\
        ../shared/datasets/chinese-web ../shared/datasets/cleaneval-dev ../shared/datasets/cleanportaleval

A retrain also chooses its threshold again, on the validation sites
(``fit.choose_threshold``). ``--validate`` does that too: the fit leaves
the other corpora's validation sites out, and a second line per fit gives
the F1 on them at each threshold, and what three thresholds score on the
corpus left out: training's (0.5 since default@8), the
validation's best if it beats 0.5 by 0.003 (training's before), and the
validation's best.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from classifier.cache import cache_folder
from classifier.model.segments import MeanOfStages, build_segment_classifier
from classifier.records import UNLABELLED
from classifier.training import fit
from classifier.training.discussions import teaches_comments
from classifier.training.sources import read_sources


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, nargs="+", required=True, help="web-page corpus folders (and, for text, JSONL files)"
    )
    parser.add_argument("--stage", default="html", choices=["html", "text"])
    parser.add_argument("--leave-out", nargs="+", required=True, help="corpus names to leave out, one at a time")
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[0], help="seeds to fit with; several give a row each and their mean"
    )
    parser.add_argument(
        "--weights", default="both", choices=["both", "as-before", "corpus"], help="which fits to make (default both)"
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="fit without the other corpora's validation sites and choose the threshold on them, as training does",
    )
    parser.add_argument(
        "--text-data", type=Path, nargs="+", help="(HTML) the text stage's sources: score HTML pages as labelled"
    )
    parser.add_argument("--text-share", type=float, default=fit.HTML_TEXT_SHARE, help="the text stage's share")
    args = parser.parse_args(argv)
    html = args.stage == "html"
    pages = _labelled_pages(args.data, html)
    text_pages = _labelled_pages(args.text_data, False) if html and args.text_data else []
    print(f"{'left out':18} {'weights':9} " + " ".join(f"{t:>6}" for t in fit.THRESHOLDS))
    for corpus in args.leave_out:
        fitting = [d for d in pages if d.corpus != corpus]
        validating = [d for d in fitting if fit.validates(d)] if args.validate else []
        if validating:
            fitting = [d for d in fitting if not fit.validates(d)]
        tests = [d for d in pages if d.corpus == corpus and d.page_type in fit.USER_PAGE_TYPES]
        partners: dict[int, object] = {}  # the text stage fitted without the corpus, per seed
        for balance in {"both": (False, True), "as-before": (False,), "corpus": (True,)}[args.weights]:
            data = fit.assemble(fitting, balance=balance)
            name = "corpus" if balance else "as before"
            runs = []
            for seed in args.seed:
                started = time.time()
                classifier = build_segment_classifier(random_state=seed, html=html)
                classifier.fit(data.segments, data.labels, groups=data.groups, sample_weight=data.weights)
                runs.append(list(fit.validation_metrics(classifier, tests)["story_f1_by_threshold"].values()))
                _row(
                    corpus,
                    name,
                    runs[-1],
                    f"{len(tests)} pages, fitted on {len(fitting)} in {time.time() - started:.0f} s, seed {seed}",
                )
                if validating:
                    _chosen(corpus, classifier, validating, dict(zip(fit.THRESHOLDS, runs[-1])))
                if text_pages:
                    if seed not in partners:
                        texts = [d for d in text_pages if d.corpus != corpus and not (validating and fit.validates(d))]
                        partners[seed] = fit._fit(texts, seed)  # as training fits the text stage
                    scorer = MeanOfStages(classifier, partners[seed], args.text_share)
                    curve = fit.validation_metrics(scorer, tests)["story_f1_by_threshold"]
                    _row(corpus, "+ text", list(curve.values()), f"text share {args.text_share}, seed {seed}")
            if len(runs) > 1:
                at_half = [run[fit.THRESHOLDS.index(0.5)] for run in runs]
                means = [sum(column) / len(runs) for column in zip(*runs)]
                _row(
                    corpus,
                    name,
                    means,
                    f"mean of {len(runs)} seeds; at 0.5 they span {max(at_half) - min(at_half):.4f}",
                )


def _labelled_pages(paths: list[Path], html: bool) -> list:
    """The labelled pages of the sources that train a stage (for HTML, discussions left out), as training takes them."""
    sources = read_sources(paths, cache=cache_folder(), html=html, held_out_fraction=fit.HELD_OUT_FRACTION)
    return [
        d
        for source in sources
        for d in source.documents
        if d.is_html == html and any(label != UNLABELLED for label in d.labels) and not (html and teaches_comments(d))
    ]


# The margin over 0.5 by which training took the validation's best threshold until default@8.
MARGIN = 0.003


def _chosen(corpus: str, classifier, validating: list, left_out: dict[float, float]) -> None:
    """What thresholds chosen on the validation sites score on the corpus left out.

    Three ways to choose: training's (``fit.choose_threshold``), the
    validation's best if it beats 0.5 by :data:`MARGIN` (training's rule
    before), and the validation's best with no margin.
    """
    curve = {float(t): f for t, f in fit.validation_metrics(classifier, validating)["story_f1_by_threshold"].items()}
    best = max(curve, key=lambda t: (curve[t], -abs(t - 0.5)))
    margin = best if curve[best] - curve[0.5] >= MARGIN else 0.5
    rule = fit.choose_threshold(curve)
    print(
        f"{corpus:18} validation {' '.join(f'{curve[t]:6.4f}' for t in fit.THRESHOLDS)}   "
        f"({len(validating)} pages; training's {rule}: {left_out[rule]:.4f} left out; "
        f"with a margin, {margin}: {left_out[margin]:.4f}; the best, {best}: {left_out[best]:.4f})",
        flush=True,
    )


def _row(corpus: str, weights: str, scores: list[float], note: str) -> None:
    print(f"{corpus:18} {weights:9} " + " ".join(f"{f:6.4f}" for f in scores) + f"   ({note})", flush=True)


if __name__ == "__main__":
    main()
