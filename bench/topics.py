"""Benchmark: topic tags on every source, across sources, against TF-IDF, and lead against whole story.

Four measurements, each printed per source and per tag:

1. **The model** (``--model``, the shipped one by default) through the
   whole pipeline (segment stage, then topic stage) on the items that
   never trained it: the wire items of ``dev.jsonl``, the South Asian
   reports of ``satp.jsonl`` whose ids say ``satp-dev``, our 80
   full-length crime and conflict stories of Latin America and the
   Caribbean (``--crime``) and our 260 items of the forces' actions told
   in other words (``--forces``; no model trains on either). An item is fed as
   ``title + "\\n\\n" + description`` (a report or story as its text).
2. **Across sources**: the topic stage fitted as training fits it
   (:func:`~classifier.training.topics.train_topics`, thresholds from its
   cross-validation) on one source and our corpus, scored on the other:
   wire items (train + agnews-extra) and ours -> every report of
   ``satp.jsonl``; reports (satp-train) and ours -> ``dev.jsonl``.
3. **TF-IDF + logistic regression** (words and word pairs, one regression
   per tag, tags at 0.5) trained on the same items, in the same run.
4. **Lead against whole story**: how often the model gives a story the
   same tags from its lead alone as from the whole of it: the reports of
   ``satp-dev`` (first sentence against the report) and, with ``--pages``,
   the held-out articles and blog posts of each web-page corpus given
   (headline and first paragraph of the gold story against the whole gold
   story: real full-length stories, most of them about none of the tags).
5. **Real articles**: those held-out articles against our topics of them
   (``training/corpus/web-topics.jsonl``; the pages of held-out sites never
   train): the model from each page's HTML (as users run it) and from its
   gold text, and TF-IDF from the gold text.

The reports are scored on ``security_operation`` and ``militia`` (politics
is rare there). Needs the shared data:

    python bench/topics.py --data ../shared/datasets/topics --pages ../shared/datasets/web-pages-2026 \\
        ../shared/datasets/cleaneval-dev ../shared/datasets/cleanportaleval
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.corpus.documents import read_page_topics, read_training_jsonl  # noqa: E402
from classifier.model.model import load_model  # noqa: E402
from classifier.training.fit import TOPIC_LANGUAGES  # noqa: E402
from classifier.training.topics import topic_examples, train_topics  # noqa: E402

TAGS = ("militia", "politics", "security_operation")
REPORT_TAGS = ("militia", "security_operation")


def read_items(path: Path, prefix: str = "") -> tuple[list[str], list[list[str]]]:
    """The texts (as training reads them: a wire item is its title, a blank line, its description) and tags."""
    items = [d for d in read_training_jsonl(path) if d.id.startswith(prefix)]
    return [d.text for d in items], [list(d.topics or ()) for d in items]


def our_examples() -> tuple[list[str], list[list[str]]]:
    corpus = ROOT / "training" / "corpus"
    documents = [d for name in ("pages.jsonl", "items.jsonl") for d in read_training_jsonl(corpus / name)]
    return topic_examples([d for d in documents if d.topics is not None and d.language in (None, *TOPIC_LANGUAGES)])


def scores(truth: list[list[str]], predicted: list[set[str]], tags=TAGS) -> dict:
    """Precision, recall and F1 per tag, and the micro-F1 over ``tags``."""
    out, total = {}, np.zeros(3)
    for tag in tags:
        t = np.array([tag in row for row in truth])
        p = np.array([tag in row for row in predicted])
        counts = np.array([(t & p).sum(), (~t & p).sum(), (t & ~p).sum()])
        total += counts
        tp, fp, fn = counts
        out[tag] = {
            "precision": round(tp / max(1, tp + fp), 4),
            "recall": round(tp / max(1, tp + fn), 4),
            "f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
        }
    tp, fp, fn = total
    out["micro"] = round(2 * tp / max(1, 2 * tp + fp + fn), 4)
    return out


def print_scores(name: str, result: dict, tags=TAGS) -> None:
    cells = "  ".join(f"{tag} {result[tag]['f1']:.4f}" for tag in tags)
    print(f"  {name:<46} micro {result['micro']:.4f}   {cells}", flush=True)


def pipeline_tags(model, texts: list[str]) -> list[set[str]]:
    documents = [{"id": str(i), "text": text} for i, text in enumerate(texts)]
    return [set(record.tags) for record in model.label_many(documents)]


def topic_stage(train_texts, train_tags, seed: int = 0):
    model, thresholds, _ = train_topics(train_texts, train_tags, seed)

    def tag(texts: list[str]) -> list[set[str]]:
        probabilities = model.predict_proba(texts)
        names = [str(c) for c in model.classes_]
        return [{n for n, p in zip(names, row) if p >= thresholds[n]} for row in probabilities]

    return tag


def tfidf(train_texts, train_tags):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    matrix = vectorizer.fit_transform(train_texts)
    models = {
        tag: LogisticRegression(C=10.0, max_iter=5000).fit(matrix, [tag in row for row in train_tags]) for tag in TAGS
    }

    def tag(texts: list[str]) -> list[set[str]]:
        test = vectorizer.transform(texts)
        chosen = {name: model.predict_proba(test)[:, 1] >= 0.5 for name, model in models.items()}
        return [{name for name in TAGS if chosen[name][i]} for i in range(len(texts))]

    return tag


def agreement(model, leads: list[str], wholes: list[str]) -> tuple[int, int, int]:
    """(stories, stories whose lead and whole story get the same tags, stories the whole story tags)."""
    lead_tags, whole_tags = pipeline_tags(model, leads), pipeline_tags(model, wholes)
    return len(leads), sum(a == b for a, b in zip(lead_tags, whole_tags)), sum(bool(t) for t in whole_tags)


class Article:
    """A labelled article of a web-page corpus's held-out site: its HTML, its gold text, lead and our topics."""

    def __init__(self, corpus: str, html: str, title: str, story: str, topics: list[str]):
        paragraphs = [p for p in story.split("\n") if p.strip()]
        head = f"{title}\n\n" if title else ""
        self.corpus, self.html, self.topics = corpus, html, topics
        self.lead = head + paragraphs[0]
        self.whole = head + "\n\n".join(paragraphs)


def held_out_articles(corpora: list[Path], given: dict) -> list[Article]:
    """The article and blog pages of the corpora's held-out sites that ``given`` (our page topics) labels."""
    from classifier.cache import cache_folder
    from classifier.corpus.sites import is_held_out
    from classifier.corpus.webpages import MARKUP, read_web_pages

    articles = []
    for corpus in corpora:
        with open(corpus / "pages.jsonl", encoding="utf-8") as handle:
            titles = {row["id"]: row.get("title") or "" for row in map(json.loads, handle)}
        for document in read_web_pages(corpus, renderers=[MARKUP], cache=cache_folder()):
            page = document.id.rsplit(":", 1)[0]
            story = (document.story or "").strip()
            if not is_held_out(document.site) or (corpus.name, page) not in given or not story:
                continue
            topics = list(given[(corpus.name, page)])
            articles.append(Article(corpus.name, document.html, titles.get(page, "").strip(), story, topics))
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="The shared topics folder.")
    parser.add_argument("--model", type=Path, default=None, help="Model to measure (the shipped one by default).")
    parser.add_argument(
        "--pages",
        type=Path,
        nargs="*",
        default=[],
        help="Web-page corpora whose held-out articles our page topics label (web-pages-2026, cleaneval-dev, "
        "cleanportaleval): measured in 4 and 5.",
    )
    parser.add_argument(
        "--page-topics",
        type=Path,
        default=ROOT / "training" / "corpus" / "web-topics.jsonl",
        help="Our topics of those corpora's pages.",
    )
    parser.add_argument(
        "--crime",
        type=Path,
        default=ROOT / "training" / "corpus" / "crime-stories.jsonl",
        help="Our full-length crime and conflict stories (never trained on).",
    )
    parser.add_argument(
        "--forces",
        type=Path,
        default=ROOT / "training" / "corpus" / "forces-items.jsonl",
        help="Our items of the forces' actions told in other words (never trained on).",
    )
    args = parser.parse_args()
    started = time.time()
    model = load_model(args.model)
    dev = read_items(args.data / "dev.jsonl")
    reports = read_items(args.data / "satp.jsonl")
    reports_dev = read_items(args.data / "satp.jsonl", "satp-dev")
    reports_train = read_items(args.data / "satp.jsonl", "satp-train")
    wire = [a + b for a, b in zip(read_items(args.data / "train.jsonl"), read_items(args.data / "agnews-extra.jsonl"))]
    ours = our_examples()

    print(f"1. {model.model_id} through the whole pipeline, on items it never trained on")
    print_scores(f"wire items, dev.jsonl ({len(dev[0])})", scores(dev[1], pipeline_tags(model, dev[0])))
    reports_result = scores(reports_dev[1], pipeline_tags(model, reports_dev[0]), REPORT_TAGS)
    print_scores(f"reports, satp-dev ({len(reports_dev[0])})", reports_result, REPORT_TAGS)

    crime = read_items(args.crime)
    print_scores(
        f"our crime and conflict stories, full length ({len(crime[0])})",
        scores(crime[1], pipeline_tags(model, crime[0])),
    )

    forces = read_items(args.forces)
    print_scores(
        f"our items of the forces' actions in other words ({len(forces[0])})",
        scores(forces[1], pipeline_tags(model, forces[0])),
    )

    print("2. across sources: the topic stage fitted on one source (and ours), scored on the other")
    print("3. TF-IDF + logistic regression on the same items, same tests")
    directions = (
        ("wire + ours -> all reports", (wire[0] + ours[0], wire[1] + ours[1]), reports, REPORT_TAGS),
        ("reports (satp-train) + ours -> dev", (reports_train[0] + ours[0], reports_train[1] + ours[1]), dev, TAGS),
    )
    for name, (texts, tags), (test_texts, test_tags), tagset in directions:
        print_scores(
            f"{name} ({len(test_texts)})", scores(test_tags, topic_stage(texts, tags)(test_texts), tagset), tagset
        )
        print_scores(f"  TF-IDF: {name}", scores(test_tags, tfidf(texts, tags)(test_texts), tagset), tagset)
    full = (wire[0] + reports_train[0] + ours[0], wire[1] + reports_train[1] + ours[1])
    print_scores("  TF-IDF: wire + satp-train + ours -> dev", scores(dev[1], tfidf(*full)(dev[0])))
    print_scores(
        "  TF-IDF: wire + satp-train + ours -> satp-dev",
        scores(reports_dev[1], tfidf(*full)(reports_dev[0]), REPORT_TAGS),
        REPORT_TAGS,
    )
    print_scores("  TF-IDF: wire + satp-train + ours -> our crime stories", scores(crime[1], tfidf(*full)(crime[0])))
    print_scores("  TF-IDF: wire + satp-train + ours -> our forces items", scores(forces[1], tfidf(*full)(forces[0])))

    print("4. lead against whole story: the same tags?")
    articles = held_out_articles(args.pages, read_page_topics(args.page_topics)) if args.pages else []
    by_corpus = {corpus.name: [a for a in articles if a.corpus == corpus.name] for corpus in args.pages}
    first_sentences = [re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0] for text in reports_dev[0]]
    pairs = [("reports, satp-dev: first sentence / report", (first_sentences, reports_dev[0]))]
    for corpus in args.pages:
        chosen = by_corpus[corpus.name]
        pairs.append(
            (f"{corpus.name} held-out articles: lead / story", ([a.lead for a in chosen], [a.whole for a in chosen]))
        )
    for name, (leads, wholes) in pairs:
        if leads:
            stories, same, tagged = agreement(model, leads, wholes)
            print(f"  {name}: {same} of {stories} agree ({same / stories:.1%}); {tagged} tagged from the whole story")

    print("5. real articles of held-out sites, labelled by us: the model from their HTML and from their gold text;")
    print("   TF-IDF (wire + satp-train + ours) from the gold text")
    full_tfidf = tfidf(*full) if articles else None
    for corpus in args.pages:
        chosen = by_corpus[corpus.name]
        if not chosen:
            continue
        truth = [a.topics for a in chosen]
        from_html = [
            set(r.tags) for r in model.label_many({"id": str(i), "html": a.html} for i, a in enumerate(chosen))
        ]
        rows = (
            ("model, HTML", from_html),
            ("model, gold text", pipeline_tags(model, [a.whole for a in chosen])),
            ("TF-IDF, gold text", full_tfidf([a.whole for a in chosen])),
        )
        positives = ", ".join(f"{tag} {sum(tag in t for t in truth)}" for tag in TAGS)
        print(f"  {corpus.name}: {len(chosen)} articles ({positives}; {sum(not t for t in truth)} with no tag)")
        for name, predicted in rows:
            result = scores(truth, predicted)
            print_scores(f"  {name}", result)
            counts = "  ".join(f"{tag} {result[tag]['precision']:.2f}/{result[tag]['recall']:.2f}" for tag in TAGS)
            wrong = sum(bool(p) for p, t in zip(predicted, truth) if not t)
            print(f"      untagged articles given a tag: {wrong}; per tag precision/recall: {counts}")
    print(f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
