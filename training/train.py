"""The retraining script: ``python -m training.train`` (the same code as ``storyfilter train``).

With no arguments it rebuilds the shipped model from the project's own
corpus (composed pages and short news items) and the shared web-page
corpus and topic-labelled news items (``train.jsonl`` only, never
``dev.jsonl``) beside the repository::

    python -m training.train                      # models/default.joblib
    python -m training.train DATA... --out models/mine.joblib
"""

from __future__ import annotations

import sys
from pathlib import Path

from classifier.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = [
    ROOT / "training" / "corpus" / "pages.jsonl",
    ROOT / "training" / "corpus" / "items.jsonl",
    ROOT.parent / "shared" / "datasets" / "web-pages-2026",
    ROOT.parent / "shared" / "datasets" / "topics" / "train.jsonl",
]


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        argv = [str(p) for p in DEFAULT_SOURCES] + argv
    app(["train", *argv], prog_name="python -m training.train")


if __name__ == "__main__":
    main()
