"""Training documents: reading labelled JSONL and adapting gold-text corpora.

Two sources feed training:

* JSONL in the format of SPEC.md (``{"id", "site", "text", "segments",
  "topics", "story"}``, or ``html`` instead of ``text``), such as the
  project's own ``training/corpus/``;
* a web-page corpus of HTML files with gold main text (the layout of
  ``web-pages-2026``: ``pages.jsonl`` plus ``html/ID.html.gz``). Each page is
  rendered to plain text the way scrapers do, by more than one renderer, and
  every line is labelled story when its words are covered by the gold text,
  chrome when they are not; lines in between are left unlabelled.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from .dom import render
from .errors import TrainingDataError
from .io import decode_html
from .labels import Label
from .segments import Segment, split_text

# Labels of lines the alignment cannot decide; they are not trained on.
UNKNOWN = -1

# Trigram coverage at or above which a line is story, at or below which it
# is chrome. Lines between are partly quoted (a teaser repeating the lead)
# or partly story (a caption with a credit): leave them out rather than
# teach the model noise.
STORY_COVERAGE = 0.7
CHROME_COVERAGE = 0.3

# Lines at least this long (in words) count as copies when repeated; short
# lines (a heading, "Share") legitimately recur within a story.
_COPY_WORDS = 6

# Fraction of sites held out from training for evaluation; the split is a
# hash of the site, fixed before any training, so it never moves.
HELD_OUT_FRACTION = 0.25

_WORD = re.compile(r"\w+")
# Second-level labels under which a country code's sites sit (news.co.uk).
_GENERIC_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go"}


@dataclass(frozen=True)
class TrainingDocument:
    """One labelled page.

    ``labels`` holds one value per segment: a :class:`Label` value, or
    ``UNKNOWN`` where the line is not labelled.
    """

    id: str
    site: str
    text: str
    segments: tuple[Segment, ...]
    labels: tuple[int, ...]
    topics: tuple[str, ...] | None = None
    story: str | None = None
    page_type: str | None = None
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False)
    html: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_html(self) -> bool:
        """Whether the page came as HTML (its segments are DOM blocks, ``text`` their rendering)."""
        return self.html is not None


def site_of(url: str) -> str:
    """The site a URL belongs to: its registered domain, lower-cased.

    ``https://www.news.example.co.uk/a`` -> ``example.co.uk``. Pages of one
    site share templates, so every split groups by this key.
    """
    host = (urlsplit(url).hostname or url).lower().strip(".")
    parts = host.split(".")
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in _GENERIC_SECOND_LEVEL:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def site_bucket(site: str) -> float:
    """A site's fixed place in [0, 1): the first 4 bytes of its sha256."""
    digest = hashlib.sha256(site.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def is_held_out(site: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether a site belongs to the fixed held-out evaluation split."""
    return site_bucket(site) < fraction


def words(text: str) -> list[str]:
    """Lower-cased word tokens, as alignment and evaluation count them."""
    return _WORD.findall(text.lower())


def align_gold(segments: Sequence[Segment], gold: str) -> list[int]:
    """Label segments by how much of their wording the gold story holds.

    Lines of three words or more are judged by the share of their word
    trigrams found in the gold text; shorter lines must match a whole gold
    paragraph (a heading) to be story, and are chrome only when their words
    appear nowhere in the gold text in that order. A line repeated on the
    page is story only as many times as the gold text holds it: the second
    copy of a paragraph is not part of the story.
    """
    gold_words = words(gold)
    trigrams = set(zip(gold_words, gold_words[1:], gold_words[2:]))
    gold_lines = {" ".join(words(line)) for line in gold.splitlines() if line.strip()}
    gold_joined = " " + " ".join(gold_words) + " "
    used: dict[str, int] = {}
    labels: list[int] = []
    for segment in segments:
        tokens = words(segment.text)
        phrase = " ".join(tokens)
        if len(tokens) >= 3:
            grams = list(zip(tokens, tokens[1:], tokens[2:]))
            coverage = sum(g in trigrams for g in grams) / len(grams)
            if coverage >= STORY_COVERAGE:
                label = Label.STORY
            elif coverage <= CHROME_COVERAGE:
                label = Label.CHROME
            else:
                label = UNKNOWN
        elif not tokens:
            label = Label.CHROME
        elif phrase in gold_lines:
            label = Label.STORY
        elif f" {phrase} " in gold_joined:
            label = UNKNOWN
        else:
            label = Label.CHROME
        if label == Label.STORY and len(tokens) >= _COPY_WORDS:
            used[phrase] = used.get(phrase, 0) + 1
            if used[phrase] > max(1, gold_joined.count(f" {phrase} ")):
                label = Label.CHROME
        labels.append(int(label))
    return labels


def read_training_jsonl(path: Path) -> Iterator[TrainingDocument]:
    """Read training documents in the JSONL format of SPEC.md.

    Raises
    ------
    TrainingDataError
        On a line that is not a JSON object of that format; the message
        names the file and line.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise TrainingDataError(f"{where}: not valid JSON ({error.msg})") from None
            yield _document_from_record(record, where, source=path.name)


def _document_from_record(record: dict, where: str, source: str) -> TrainingDocument:
    if not isinstance(record, dict):
        raise TrainingDataError(f"{where}: each line must be a JSON object")
    text, html = record.get("text"), record.get("html")
    if isinstance(html, str):  # the HTML wins over a rendering beside it, as in labelling
        return _html_document_from_record(record, html, where, source)
    if text is None and isinstance(record.get("title"), str) and isinstance(record.get("description"), str):
        # A topic-labelled news item: headline and description, fed as one page.
        text = record["title"] + "\n\n" + record["description"]
    if not isinstance(text, str):
        raise TrainingDataError(f"{where}: needs a string 'text' field (or 'title' and 'description')")
    segments = split_text(text)
    labels = _labels_of(record, text, segments, where)
    return TrainingDocument(
        id=str(record.get("id", where)),
        site=str(record.get("site") or record.get("id") or where),
        text=text,
        segments=tuple(segments),
        labels=tuple(labels),
        topics=_topics_of(record, where),
        story=record.get("story"),
        page_type=record.get("page_type"),
        source=source,
    )


def _html_document_from_record(record: dict, html: str, where: str, source: str) -> TrainingDocument:
    """A training page given as HTML: its blocks, labelled by ``segments`` or aligned to ``story``.

    ``segments`` offsets point into the page's rendering (the ``text`` of a
    record that ``label`` writes for it); without them, a gold ``story``
    labels the blocks as for a web-page corpus.
    """
    page = render(html)
    labels = _labels_of(record, page.text, page.segments, where)
    return TrainingDocument(
        id=str(record.get("id", where)),
        site=str(record.get("site") or record.get("id") or where),
        text=page.text,
        segments=tuple(page.segments),
        labels=tuple(labels),
        topics=_topics_of(record, where),
        story=record.get("story"),
        page_type=record.get("page_type"),
        source=source,
        html=html,
    )


def _topics_of(record: dict, where: str) -> tuple[str, ...] | None:
    topics = record.get("topics")
    if topics is not None and not (isinstance(topics, list) and all(isinstance(t, str) and t for t in topics)):
        raise TrainingDataError(f"{where}: 'topics' must be a list of tag names")
    return tuple(topics) if topics is not None else None


def _labels_of(record: dict, text: str, segments: Sequence[Segment], where: str) -> list[int]:
    """A training page's labels: from its ``segments`` spans, else aligned to its gold ``story`` if it has one."""
    story = record.get("story")
    if record.get("segments") is None and isinstance(story, str):
        return align_gold(segments, story)  # as for a web-page corpus
    return _span_labels(record, text, segments, where)


def _span_labels(record: dict, text: str, segments: Sequence[Segment], where: str) -> list[int]:
    """Labels from a record's ``segments`` spans; lines no span starts are unknown."""
    labels = [UNKNOWN] * len(segments)
    spans = record.get("segments")
    if spans is not None:
        by_start = {segment.start: i for i, segment in enumerate(segments)}
        for span in spans:
            try:
                start, end, label = int(span["start"]), int(span["end"]), Label.parse(span["label"])
            except (KeyError, TypeError, ValueError) as error:
                raise TrainingDataError(f"{where}: bad segment {span!r} ({error})") from None
            # Labelled spans may include the line's surrounding whitespace.
            stripped_start = start + len(text[start:end]) - len(text[start:end].lstrip())
            index = by_start.get(stripped_start)
            if index is None:
                raise TrainingDataError(
                    f"{where}: segment {start}-{end} does not start a non-empty line of 'text'"
                )
            labels[index] = int(label)
    return labels


# --- web-page corpora with gold main text ---------------------------------

RENDERERS = ("html-text", "inscriptis")
# The "renderer" of a web-page corpus that keeps the HTML: segments are DOM blocks.
MARKUP = "html"


def render_html(html: str, renderer: str) -> str:
    """Render HTML to plain text the way a scraper would.

    ``html-text`` and ``inscriptis`` lay text out differently (blank lines,
    indentation, list bullets); training on both keeps the model from
    learning one scraper's habits.
    """
    if renderer == "html-text":
        import html_text

        return html_text.extract_text(html, guess_layout=True)
    if renderer == "inscriptis":
        import inscriptis

        return inscriptis.get_text(html)
    raise TrainingDataError(f"unknown renderer {renderer!r}: use one of {', '.join(RENDERERS)}")


def is_web_page_corpus(path: Path) -> bool:
    """Whether ``path`` is a directory in the web-pages layout."""
    return path.is_dir() and (path / "pages.jsonl").is_file() and (path / "html").is_dir()


def read_web_pages(
    root: Path,
    renderers: Iterable[str] = RENDERERS,
    cache: Path | None = None,
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
        slow part); keyed by the HTML's hash and the renderer.
    """
    renderers = tuple(renderers)
    for record in _read_index(root):
        html_path = root / "html" / f"{record['id']}.html.gz"
        try:
            raw = gzip.decompress(html_path.read_bytes())
        except (OSError, EOFError) as error:
            raise TrainingDataError(f"{html_path}: cannot read ({error})") from None
        html = raw.decode("utf-8", errors="replace")
        site = site_of(record.get("url", record["id"]))
        gold = record.get("main_content") or ""
        for renderer in renderers:
            markup = None
            if renderer == MARKUP:
                markup = decode_html(raw)
                page = render(markup)
                text, segments = page.text, page.segments
            else:
                text = _rendered(html, raw, renderer, cache)
                segments = split_text(text)
            yield TrainingDocument(
                id=f"{record['id']}:{renderer}",
                site=site,
                text=text,
                segments=tuple(segments),
                labels=tuple(align_gold(segments, gold)),
                story=gold,
                page_type=record.get("page_type"),
                source=renderer,
                extra={"url": record.get("url", "")},
                html=markup,
            )


def _read_index(root: Path) -> Iterator[dict]:
    with open(root / "pages.jsonl", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise TrainingDataError(f"{root}/pages.jsonl:{number}: {error.msg}") from None


def _rendered(html: str, raw: bytes, renderer: str, cache: Path | None) -> str:
    if cache is None:
        return render_html(html, renderer)
    key = hashlib.sha256(raw).hexdigest()[:24]
    path = cache / renderer / f"{key}.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    text = render_html(html, renderer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return text


def default_cache() -> Path:
    """Where rendered training text is cached (``$STORYFILTER_CACHE`` or ~/.cache)."""
    base = os.environ.get("STORYFILTER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "storyfilter"
    )
    return Path(base)
