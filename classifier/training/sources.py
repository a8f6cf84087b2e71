"""Training sources: the files and corpora a model is trained from, read and fingerprinted.

Each source is a labelled JSONL file or a web-page corpus directory; the
model card names each with its document count, sites and sha256, so a
model says exactly what it learnt from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..corpus.documents import TrainingDocument, read_training_jsonl
from ..corpus.sites import is_held_out
from ..corpus.webpages import MARKUP, RENDERERS, is_web_page_corpus, read_web_pages
from ..errors import TrainingDataError


@dataclass
class Source:
    """One training source and the documents read from it."""

    path: Path
    kind: str
    documents: list[TrainingDocument]
    sha256: str


def read_sources(
    paths: Sequence[Path],
    *,
    cache: Path | None,
    html: bool,
    held_out_fraction: float,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Source]:
    """Read every source: web-page corpora (their held-out sites dropped; HTML too with ``html``) and JSONL files."""
    sources = []
    for path in paths:
        path = Path(path)
        if is_web_page_corpus(path):
            progress(f"rendering and aligning {path} (cached in {cache})")
            renderers = RENDERERS + ((MARKUP,) if html else ())
            documents = [
                d
                for d in read_web_pages(path, renderers=renderers, cache=cache)
                if not is_held_out(d.site, held_out_fraction)
            ]
            sources.append(Source(path, "web-pages", documents, _hash_tree(path)))
        elif path.is_file():
            progress(f"reading {path}")
            sources.append(Source(path, "jsonl", list(read_training_jsonl(path)), _hash_file(path)))
        else:
            raise TrainingDataError(f"{path}: not a JSONL file or a web-page corpus directory")
    return sources


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hash_tree(root: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
