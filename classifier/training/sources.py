"""Training sources: the files and corpora a model is trained from, read and fingerprinted.

Each source is a labelled JSONL file, a web-page corpus directory, or a
JSONL file of the topics of web-page corpora's pages (given to their
documents once every source is read); the model card names each with its
document count, sites and sha256, so a model says exactly what it learnt
from.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..corpus.documents import (
    TrainingDocument,
    holds_page_topics,
    read_page_topics,
    read_training_jsonl,
    source_names,
)
from ..corpus.sites import is_held_out
from ..corpus.webpages import MARKUP, RENDERERS, is_web_page_corpus, read_web_pages
from ..errors import TrainingDataError
from ..inputs.formats import InputFormat, format_of


@dataclass
class Source:
    """One training source and the documents read from it."""

    path: Path
    kind: str
    documents: list[TrainingDocument]
    sha256: str
    # A file of page topics: the topics it gives, by (corpus, page), and how many pages it found.
    page_topics: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    pages_found: int = 0


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
    names = source_names(paths)
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
        elif path.is_file() and holds_page_topics(path):
            progress(f"reading the page topics of {path}")
            sources.append(Source(path, "page-topics", [], _hash_file(path), page_topics=read_page_topics(path)))
        elif path.is_file():
            if format_of(path) in (InputFormat.TEXT, InputFormat.HTML):  # a page, as label reads it
                raise TrainingDataError(
                    f"{path}: a page, not training data: training reads JSONL records of labelled pages (a page's "
                    "text with its segments' labels or its story: docs/training.md) and web-page corpus folders"
                )
            progress(f"reading {path}")
            documents = list(read_training_jsonl(path, names[path]))
            if not documents:
                progress(f"note: {path} holds no training data (no line that is not blank)")
            sources.append(Source(path, "jsonl", documents, _hash_file(path)))
        else:
            hint = ": give the JSONL files in it" if path.is_dir() and any(path.glob("*.jsonl*")) else ""
            raise TrainingDataError(f"{path}: not a JSONL file or a web-page corpus directory{hint}")
    _give_page_topics(sources, progress)
    return sources


def _give_page_topics(sources: list[Source], progress: Callable[[str], None]) -> None:
    """Give the pages of web-page corpora the topics that page-topics files give them.

    Only one rendering of a page (the first renderer's text) carries them,
    so that each story trains the topic stage once. Pages on held-out
    sites were dropped, so their topics measure and never train; how many
    records found no page, and why, is said through ``progress``.

    Raises
    ------
    TrainingDataError
        When two web-page corpora share a folder name (their pages' topics could not be told apart).
    """
    givers = [source for source in sources if source.kind == "page-topics"]
    if not givers:
        return
    corpora = [source for source in sources if source.kind == "web-pages"]
    names = [corpus.path.name for corpus in corpora]
    for name in {n for n in names if names.count(n) > 1}:
        raise TrainingDataError(f"two web-page corpora are named {name}: page topics cannot tell their pages apart")
    found: list[set] = [set() for _ in givers]
    for corpus in corpora:
        for i, document in enumerate(corpus.documents):
            if document.source != RENDERERS[0]:
                continue
            key = (document.corpus, document.id.rsplit(":", 1)[0])
            for giver, pages in zip(givers, found):
                if key in giver.page_topics:
                    corpus.documents[i] = dataclasses.replace(document, topics=giver.page_topics[key])
                    pages.add(key)
    for giver, pages in zip(givers, found):
        giver.pages_found = len(pages)
        missing = [corpus for corpus, page in giver.page_topics if (corpus, page) not in pages]
        unread = sum(corpus in names for corpus in missing)
        elsewhere = sorted(set(missing) - set(names))
        said = f"{giver.path.name}: topics for {giver.pages_found} pages; {unread} name pages not read"
        said += " (on held-out sites, or not in the corpus)"
        if elsewhere:
            said += f"; {len(missing) - unread} name corpora not given ({', '.join(elsewhere)})"
        progress(said)


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hash_tree(root: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
