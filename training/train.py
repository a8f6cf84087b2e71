"""The retraining script: ``python -m training.train`` (the same code as ``storyfilter train``).

With no arguments it rebuilds the shipped model from the project's own
corpus (composed pages in English and other languages, short news items),
the shared web-page corpora whose licenses allow it (``web-pages-2026``,
``cleaneval-dev``, ``cleanportaleval``, ``chinese-web``; never ``dragnet``
or ``l3s-gn1``, and never their held-out sites), our topic labels of
their articles (``web-topics.jsonl``) and the topic-labelled
news items beside the repository: the wire items of ``train.jsonl`` and
``agnews-extra.jsonl`` (never ``dev.jsonl``) and the South Asian reports
of ``satp.jsonl`` whose ids say ``satp-train`` (never ``satp-dev``; the
script writes them to the cache folder as ``satp-train.jsonl``)::

    python -m training.train                      # replaces models/default.model (next version)
    python -m training.train DATA... --out models/mine.model
    python -m training.train --plus my-site.jsonl --out models/mine.model   # the default sources and yours

Without ``--out`` it writes over the shipped model (``--out
models/default.model --force``); ``storyfilter train`` never does that
unless told.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from classifier.cache import cache_folder
from classifier.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
SHIPPED = ROOT / "models" / "default.model"
DEFAULT_SOURCES = [
    ROOT / "training" / "corpus" / "pages.jsonl",
    ROOT / "training" / "corpus" / "items.jsonl",
    ROOT / "training" / "corpus" / "multilingual.jsonl",
    SHARED / "web-pages-2026",
    SHARED / "cleaneval-dev",
    SHARED / "cleanportaleval",
    SHARED / "chinese-web",
    ROOT / "training" / "corpus" / "web-topics.jsonl",
    SHARED / "topics" / "train.jsonl",
    SHARED / "topics" / "agnews-extra.jsonl",
]
# Reports of the second topic source that may train: the rest of satp.jsonl measures the model.
SATP = SHARED / "topics" / "satp.jsonl"
SATP_TRAIN = "satp-train-"


def satp_training_part(folder: Path) -> Path:
    """The reports of ``satp.jsonl`` that may train (ids ``satp-train-N``), written to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "satp-train.jsonl"
    with open(SATP, encoding="utf-8") as source, open(out, "w", encoding="utf-8") as part:
        part.writelines(line for line in source if json.loads(line)["id"].startswith(SATP_TRAIN))
    return out


def _pluses(argv: list[str]) -> tuple[list[str], list[str]]:
    """The paths given with ``--plus`` (repeatable, or ``--plus=PATH``), and the other arguments."""
    plus, rest, items = [], [], iter(argv)
    for arg in items:
        if arg == "--plus":
            plus.append(next(items, ""))
        elif arg.startswith("--plus="):
            plus.append(arg.removeprefix("--plus="))
        else:
            rest.append(arg)
    if "" in plus:
        raise SystemExit("--plus needs a path: --plus my-site.jsonl")
    return plus, rest


def main(argv: list[str] | None = None) -> None:
    plus, argv = _pluses(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0].startswith("-"):
        sources = DEFAULT_SOURCES + ([satp_training_part(cache_folder() / "training")] if SATP.is_file() else [])
        argv = [str(p) for p in sources] + plus + argv
    elif plus:
        raise SystemExit("--plus adds to the default sources: give it without other sources")
    if not any(arg == "--out" or arg.startswith("--out=") for arg in argv):
        # Rebuilding the shipped model is what this script is for: it replaces it, as the next version.
        argv += ["--out", str(SHIPPED), "--force"]
    app(["train", *argv], prog_name="python -m training.train")


if __name__ == "__main__":
    main()
