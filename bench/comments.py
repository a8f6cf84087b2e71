"""Diagnosis: how much of the story's wrong text (from HTML) sits in comment blocks, and how a corpus's gold treats them.

A block is a comment block when its class/id tokens or its tag path name a
comment, a reply or Disqus (``is_comment_block``, the rule training uses). For the chosen pages it prints

* the gold's treatment: shingles of comment blocks that are in the gold
  story and that are not, and how many pages (with more than 200 such
  shingles) keep them in or leave them out, by page type;
* storyfilter's HTML story: its shingles, the wrong ones (not in the gold),
  and the share of the wrong ones that are in comment blocks.

    python bench/comments.py --data ../shared/datasets/dragnet --split all
    python bench/comments.py --data ../shared/datasets/web-pages-2026 --split all
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from extraction import corpus_pages

from classifier import load_model
from classifier.evaluation.metrics import shingles
from classifier.records import Label
from classifier.training.discussions import is_comment_block

# Comment-block shingles a page needs before it counts as a page with comments.
SOME_COMMENTS = 200


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="held-out", choices=["held-out", "validation", "all"])
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    model = load_model(args.model)
    pages = [p for p in corpus_pages(args.data, args.split, None) if p.html]
    gold_counts, story_counts, page_kinds = Counter(), Counter(), Counter()
    for page in pages:
        gold = shingles(page.gold)
        labelled = model.label(html=page.html, id=page.key)
        kept_in = left_out = 0
        for scored in labelled.segments:
            got = shingles(scored.text)
            total, right = sum(got.values()), sum((got & gold).values())
            comment = is_comment_block(scored.segment.dom)
            if comment:
                kept_in, left_out = kept_in + right, left_out + total - right
            if scored.label is Label.STORY:
                story_counts["shingles"] += total
                story_counts["wrong"] += total - right
                story_counts["wrong in comment blocks"] += (total - right) * comment
        gold_counts["in the gold"] += kept_in
        gold_counts["not in the gold"] += left_out
        if kept_in + left_out > SOME_COMMENTS:
            page_kinds[(page.page_type, "kept" if kept_in > left_out else "left out")] += 1
    print(f"{args.data.name} ({args.split}): {len(pages)} pages, {model.model_id}")
    print(f"comment-block shingles: {dict(gold_counts)}")
    print("pages with comments, by page type and what the gold does with them:")
    for (page_type, kind), count in sorted(page_kinds.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        print(f"  {page_type!s:14} {kind:9} {count:5}")
    wrong = max(story_counts["wrong"], 1)
    print(
        f"storyfilter HTML story: {story_counts['shingles']} shingles, {story_counts['wrong']} not in the gold, "
        f"{story_counts['wrong in comment blocks'] / wrong:.3f} of those in comment blocks"
    )


if __name__ == "__main__":
    main()
