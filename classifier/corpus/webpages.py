"""Web-page corpora: HTML pages with gold main text, adapted into labelled training documents.

A corpus in the layout of ``web-pages-2026`` (``pages.jsonl`` plus
``html/ID.html.gz``). Each page is rendered to plain text the way scrapers
do, by more than one renderer, and every line is labelled story when its
words are covered by the gold text, chrome when they are not; lines in
between are left unlabelled. With :data:`MARKUP` the page stays HTML: its
DOM blocks are labelled the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import InputError, TrainingDataError
from ..inputs.decoding import decode_html
from ..segment.html import split_html
from ..segment.text import split_text
from .alignment import align_gold
from .documents import TrainingDocument
from .sites import site_of

RENDERERS = ("html-text", "inscriptis")
# Longest first gold line taken for a headline.
_HEADLINE_CHARS = 300
# The "renderer" of a web-page corpus that keeps the HTML: segments are DOM blocks.
MARKUP = "html"


def scrape_text(html: str, renderer: str) -> str:
    """Render HTML to plain text the way a scraper would.

    ``html-text`` and ``inscriptis`` lay text out differently (blank lines,
    indentation, list bullets); training on both keeps the model from
    learning one scraper's habits.
    """
    try:
        if renderer == "html-text":
            import html_text

            return html_text.extract_text(html, guess_layout=True)
        if renderer == "inscriptis":
            import inscriptis

            return inscriptis.get_text(html)
    except ImportError as error:  # the bare package: the renderers are the train extra's
        raise TrainingDataError(
            f"rendering web pages as text needs the train extra ({error.name} is missing): "
            "pip install 'storyfilter[train]'"
        ) from None
    raise TrainingDataError(
        f"unknown renderer {renderer!r}: use one of {', '.join(RENDERERS)}, or {MARKUP} for the pages' HTML itself"
    )


def is_web_page_corpus(path: Path) -> bool:
    """Whether ``path`` is a directory in the web-pages layout."""
    return path.is_dir() and (path / "pages.jsonl").is_file() and (path / "html").is_dir()


def read_web_pages(
    root: Path,
    renderers: Iterable[str] = RENDERERS,
    cache: Path | None = None,
    keep: Callable[[str, str | None], bool] | None = None,
    name: str | None = None,
) -> Iterator[TrainingDocument]:
    """Adapt a web-page corpus with gold text into labelled text documents.

    Parameters
    ----------
    root : Path
        Directory holding ``pages.jsonl`` and ``html/ID.html.gz``.
    renderers : iterable of str
        Each page yields one document per renderer; :data:`MARKUP` yields the
        page as HTML (DOM blocks with their facts, the HTML kept).
    cache : Path, optional
        Directory where rendered text is kept between runs (rendering is the
        slow part); keyed by the decoded HTML's hash and the renderer.
    keep : callable, optional
        Given a page's site and page type, whether to read it: a page left
        out is never decompressed, decoded nor rendered.
    name : str, optional
        The documents' ``corpus`` (the folder's name if omitted).
    """
    renderers = tuple(renderers)
    for record in _read_index(root):
        site = site_of(record.get("url") or "")  # pages without an address share one site: one side of a split
        if keep is not None and not keep(site, record.get("page_type")):
            continue
        html_path = root / "html" / f"{record['id']}.html.gz"
        try:
            raw = gzip.decompress(html_path.read_bytes())
        except (OSError, EOFError) as error:
            raise TrainingDataError(f"{html_path}: cannot read ({error})") from None
        try:
            html = decode_html(raw)  # as a page to label is read: its declared or detected charset
        except InputError as error:
            raise TrainingDataError(f"{html_path}: {error}") from None
        gold = record.get("main_content") or ""
        body = story_body(gold, record.get("title") or "")
        for renderer in renderers:
            markup = None
            if renderer == MARKUP:
                markup = html
                page = split_html(markup)
                text, segments = page.text, page.segments
            else:
                text = _rendered(html, renderer, cache)
                segments = split_text(text)
            yield TrainingDocument(
                id=f"{record['id']}:{renderer}",
                site=site,
                text=text,
                segments=tuple(segments),
                labels=tuple(align_gold(segments, body)),
                story=gold,
                page_type=record.get("page_type"),
                source=renderer,
                extra={"url": record.get("url", "")},
                html=markup,
                corpus=name or root.name,
                language=record.get("language") or None,
            )


def story_body(gold: str, title: str) -> str:
    """The gold text without the headline at its head, where the corpus's gold begins with it.

    Corpora differ: some golds hold the headline (CleanPortalEval, most of
    Dragnet and L3S-GN1), some do not (most of web-pages-2026). The model
    keeps the headline out of the story (it is the page's title), so
    training labels it chrome whatever the corpus; scores are still taken
    against the whole gold.
    """
    head, _, rest = gold.strip().partition("\n")
    first, title = " ".join(head.split()).lower(), " ".join(title.split()).lower()
    if len(first) <= _HEADLINE_CHARS and (
        (len(first) >= 15 and first in title) or (len(title) >= 15 and title in first)
    ):
        return rest
    return gold


def _read_index(root: Path) -> Iterator[dict]:
    with open(root / "pages.jsonl", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise TrainingDataError(f"{root}/pages.jsonl:{number}: {error.msg}") from None
                if not isinstance(record, dict) or not isinstance(record.get("id"), (str, int)):
                    raise TrainingDataError(
                        f"{root}/pages.jsonl:{number}: each line is an object with the page's 'id' (its html/ID.html.gz)"
                    )
                yield record


def _rendered(html: str, renderer: str, cache: Path | None) -> str:
    if cache is None:
        return scrape_text(html, renderer)
    key = hashlib.sha256(html.encode("utf-8", errors="surrogatepass")).hexdigest()[:24]
    path = cache / renderer / f"{key}.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    text = scrape_text(html, renderer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return text
