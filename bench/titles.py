"""Benchmark: the title of a text page (its headline line) against the gold titles of a web-page corpus.

Each page of the corpus is rendered as text (html-text, as evaluation
renders it), labelled with the model, and its record's ``title`` compared
with the corpus's gold ``title``: found when the two read the same after
folding case and punctuation, or when one holds the other and is at least
60% of its length (a gold title often ends in the site's name: "... |
The Motley Fool"). Printed per split: the training sites (where the title
rule may be chosen) and the held-out sites (reported, never chosen on);
with ``--show N``, the first N training-site pages it gets wrong.

    python bench/titles.py --data ../shared/datasets/web-pages-2026
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from pathlib import Path

from classifier import load_model
from classifier.cache import cache_folder
from classifier.corpus.sites import is_held_out
from classifier.corpus.webpages import read_web_pages
from classifier.records import Document


def folded(text: str | None) -> str:
    """Text as titles are compared: NFKC, case folded, every run of non-word characters one space."""
    return re.sub(r"\W+", " ", unicodedata.normalize("NFKC", text or "")).strip().casefold()


def same_title(found: str | None, gold: str) -> bool:
    """Whether a found title is the gold one (or the gold one without its site's name, or with it)."""
    found, gold = folded(found), folded(gold)
    if not found or not gold:
        return False
    shorter, longer = sorted((found, gold), key=len)
    return found == gold or (shorter in longer and len(shorter) >= 0.6 * len(longer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, required=True, help="a web-page corpus with gold titles (pages.jsonl)")
    parser.add_argument("--model", default=None, help="model file (the shipped one by default)")
    parser.add_argument("--show", type=int, default=0, help="print this many training-site pages it gets wrong")
    args = parser.parse_args()
    with open(args.data / "pages.jsonl", encoding="utf-8") as index:
        gold = {record["id"]: record.get("title") for record in map(json.loads, index)}
    pages = [
        page
        for page in read_web_pages(args.data, renderers=("html-text",), cache=cache_folder())
        if gold.get(page.id.rsplit(":", 1)[0])
    ]
    model = load_model(args.model)
    counts = {"training sites": [0, 0, 0], "held-out sites": [0, 0, 0]}
    wrong = []
    records = model.label_many(Document(id=page.id, text=page.text) for page in pages)
    for page, record in zip(pages, records):
        split = "held-out sites" if is_held_out(page.site) else "training sites"
        title = gold[page.id.rsplit(":", 1)[0]]
        right = same_title(record.title, title)
        counts[split][0] += 1
        counts[split][1] += right
        counts[split][2] += record.title is None
        if not right and split == "training sites":
            wrong.append((page.id, record.title, title))
    print(f"{args.data.name}, text pages (html-text), model {model.model_id}")
    for split, (pages_seen, right, none) in counts.items():
        if pages_seen:
            print(f"  {split:15} {pages_seen:5} pages  title right {right / pages_seen:.3f}  none given {none}")
    for page_id, found, title in wrong[: args.show]:
        print(f"  {page_id}: {found!r} (gold {title!r})")


if __name__ == "__main__":
    main()
