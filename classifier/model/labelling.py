"""From documents to labelled documents: segment, score, label, tag.

:func:`label_chunk` is the path every document takes, whoever asks (the
CLI, a worker process, a Dask worker, the service, ``Model.label``):
plain text is cut into lines and HTML into blocks, the model's segment
classifier scores every segment of the chunk's pages together, segments at
or over the story threshold are story, and the topic classifier reads each
page's story (with its headline). A document that fails becomes its error
record; the rest of the chunk is labelled all the same.

The ``model`` here is a :class:`~classifier.model.model.Model` (its
classifiers, thresholds and id are all that is read).
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import InputError, ModelError
from ..inputs.decoding import decode_html
from ..limits import DocumentLimits, limits_of
from ..records import Document, FailedDocument, Label, LabeledDocument, ScoredSegment
from ..segment.html import HtmlPage, TooManyBlocks, split_html
from ..segment.text import Segment, split_text
from .language import languages_of
from .segments import MeanOfStages
from .threads import native_threads
from .titles import text_title
from .topics import TAG_THRESHOLD, topic_text

# Segments scored together at most (see score_segments), unless one page holds more.
BATCH_SEGMENTS = 4096
# Segments of one page scored as one page at most; longer pages are scored in pieces of
# this many (score_segments). Real pages of web-pages-2026 hold at most ~3,200, as text or HTML.
PAGE_SEGMENTS = 8192
# Label by "is story" (False, True).
_LABELS = (Label.CHROME, Label.STORY)


def label_chunk(
    model: Any, chunk: Sequence[Document | LabeledDocument | FailedDocument]
) -> list[LabeledDocument | FailedDocument]:
    """Label a chunk of documents, in order; failures and documents labelled already pass through.

    A document that cannot be labelled (no text, an HTML page for a model
    without an HTML classifier, bytes that do not decode, a page over the
    model's :class:`~classifier.limits.DocumentLimits`, a fault in the
    labelling) gets its :class:`FailedDocument` in its place.
    """
    with _gc_paused(), native_threads(model.threads):
        return _label_chunk(model, chunk)


def _label_chunk(
    model: Any, chunk: Sequence[Document | LabeledDocument | FailedDocument]
) -> list[LabeledDocument | FailedDocument]:
    chunk = list(chunk)
    limits = limits_of(model)
    results: list[LabeledDocument | FailedDocument | None] = [None] * len(chunk)
    ready: list[int] = []  # plain-text documents
    markup: list[int] = []  # HTML documents
    split: list[HtmlPage] = []  # their pages, in the same order
    for i, document in enumerate(chunk):
        if isinstance(document, (FailedDocument, LabeledDocument)):
            results[i] = document  # failures and documents labelled already pass through
            continue
        try:
            if isinstance(document.html, (bytes, bytearray)):  # the file's bytes: decode as an HTML file
                document = chunk[i] = dataclasses.replace(document, html=decode_html(bytes(document.html)))
            if isinstance(document.html, str):
                check_html(model)
                split.append(split_page(document.html, limits, page=len(split)))
                markup.append(i)
            elif isinstance(document.text, str):
                limits.check_text(document.text)
                ready.append(i)
            else:
                results[i] = FailedDocument(document.id, "InputError", _no_text(document), document.extra)
        except (InputError, ModelError) as error:  # TooLargeError is an InputError
            results[i] = FailedDocument(document.id, type(error).__name__, str(error), document.extra)
        except Exception as error:  # noqa: BLE001 - a fault in the parser: this document's alone
            results[i] = FailedDocument(document.id, type(error).__name__, str(error) or repr(error), document.extra)
    for rows, label, alone in ((ready, label_texts, label_texts), (markup, _labeller_of(split), label_htmls)):
        if not rows:
            continue
        try:
            labelled = label(model, [chunk[i] for i in rows])
        except Exception:  # noqa: BLE001 - isolate the failing document, keep the rest
            labelled = [_label_alone(model, alone, chunk[i]) for i in rows]
        for i, result in zip(rows, labelled):
            results[i] = result
    return results  # type: ignore[return-value]


def _no_text(document: Document) -> str:
    """Why a document has nothing to label: no text or HTML, or a text that is no string."""
    if document.text is None and document.html is None:
        return "document has no text"
    field, value = ("text", document.text) if document.html is None else ("html", document.html)
    return f"document {field} must be a string (html may also be the file's bytes), not {type(value).__name__}"


def split_page(html: str, limits: DocumentLimits, page: int = 0) -> HtmlPage:
    """An HTML page's blocks, or :class:`TooLargeError` once it is over a limit (parsing stops there)."""
    limits.check_chars(len(html))
    try:
        return split_html(html, page=page, max_segments=limits.max_segments)
    except TooManyBlocks:
        raise limits.too_many_segments() from None


def _labeller_of(split: list[HtmlPage]):
    """Label HTML documents whose pages are split already (in the same order)."""

    def label(model: Any, documents: Sequence[Document]) -> list[LabeledDocument]:
        return _label_split(model, split, documents)

    return label


def check_html(model: Any) -> None:
    """Raise :class:`ModelError` when ``model`` has no HTML classifier."""
    if model.html_classifier is None:
        raise ModelError(
            f"{model.model_id} has no HTML classifier: retrain it with HTML pages (JSONL records with 'html', or a web-page corpus)"
        )


def _label_alone(model: Any, label, document: Document) -> LabeledDocument | FailedDocument:
    try:
        return label(model, [document])[0]
    except Exception as error:  # noqa: BLE001 - one bad document must not stop a batch
        return FailedDocument(document.id, type(error).__name__, str(error) or repr(error), document.extra)


def label_texts(model: Any, documents: Sequence[Document]) -> list[LabeledDocument]:
    """Label plain-text documents (their ``text``) with the model's text classifier.

    The caller checks them against the model's limits first
    (:meth:`~classifier.limits.DocumentLimits.check_text`).
    """
    pages = [split_text(document.text, page=number) for number, document in enumerate(documents)]
    return _label_pages(model, model.text_classifier, model.story_threshold, pages, documents, titles=None)


def label_htmls(model: Any, documents: Sequence[Document]) -> list[LabeledDocument]:
    """Label HTML documents (their ``html``, a string) with the model's HTML classifier.

    Raises
    ------
    TooLargeError
        When a page is over the model's limits.
    """
    limits = limits_of(model)
    split = [split_page(document.html, limits, page=number) for number, document in enumerate(documents)]
    return _label_split(model, split, documents)


def _label_split(model: Any, split: Sequence[HtmlPage], documents: Sequence[Document]) -> list[LabeledDocument]:
    threshold = model.html_story_threshold if model.html_story_threshold is not None else model.story_threshold
    segments, texts, titles = [s.segments for s in split], [s.text for s in split], [s.title for s in split]
    return _label_pages(model, html_scorer(model), threshold, segments, documents, titles, texts)


def html_scorer(model: Any):
    """What scores an HTML page's segments: the HTML classifier, or its mean with the text classifier."""
    if not model.html_text_share:
        return model.html_classifier
    return MeanOfStages(model.html_classifier, model.text_classifier, model.html_text_share)


def _label_pages(
    model: Any,
    classifier,
    threshold: float,
    pages: Sequence[Sequence[Segment]],
    documents: Sequence[Document],
    titles: Sequence[str | None] | None,
    texts: Sequence[str] | None = None,
) -> list[LabeledDocument]:
    """Score the segments of several pages (see :func:`score_segments`); tag each page's story.

    ``titles`` holds the titles of HTML pages (their ``<title>`` or first
    ``h1``); a text page's (None) is its first headline-like line above the
    story (:func:`~classifier.model.titles.text_title`). ``texts`` holds the
    pages' renderings when they came as HTML (kept in the records, as the
    segments' offsets point into them).
    """
    scores = score_segments(classifier, pages)
    story = (scores >= threshold).tolist()
    values = scores.tolist()
    scored_pages, page_texts, page_labels = [], [], []
    offset = 0
    for page in pages:
        end = offset + len(page)
        labels = [_LABELS[flag] for flag in story[offset:end]]
        scored_pages.append(tuple(map(ScoredSegment, page, labels, values[offset:end])))
        page_texts.append([segment.text for segment in page])
        page_labels.append(labels)
        offset = end
    languages = languages_of(
        [
            "\n\n".join(line for line, label in zip(lines, labels) if label is Label.STORY)
            for lines, labels in zip(page_texts, page_labels)
        ]
    )
    tagged = tag_stories(model, page_texts, page_labels, languages)
    if titles is None:  # text pages: the first headline-like line above the story, when the model finds one
        titles = list(map(text_title, page_texts, page_labels))
    texts = texts if texts is not None else [None] * len(documents)
    return [
        LabeledDocument(
            id=document.id,
            model=model.model_id,
            segments=scored,
            topics=topics,
            tags=tags,
            extra=document.extra,
            text=text,
            language=language,
            title=title,
        )
        for document, scored, (topics, tags), text, language, title in zip(
            documents, scored_pages, tagged, texts, languages, titles
        )
    ]


def score_segments(classifier, pages: Sequence[Sequence[Segment]]) -> np.ndarray:
    """Story probabilities of the pages' segments, in order, scored in bounded batches.

    A chunk of long pages holds tens of thousands of segments, and their
    features cost kilobytes each: pages are scored in batches of about
    :data:`BATCH_SEGMENTS` segments, which bounds that memory and keeps
    the arrays in cache. A page of more than :data:`PAGE_SEGMENTS`
    segments (a whole site dumped as one document, a log file) is
    scored in consecutive pieces of that many, each read as a page of
    its own (context features do not cross pieces). Pages are scored
    alone, so the batching does not change any result.
    """
    pieces: list[Sequence[Segment]] = []
    cut = set()  # pieces that continue a page: a batch ends before them, or they would join it again
    for page in pages:
        for start in range(0, len(page), PAGE_SEGMENTS):
            if start:
                cut.add(len(pieces))
            pieces.append(page[start : start + PAGE_SEGMENTS])
    scores: list[np.ndarray] = []
    start = 0
    while start < len(pieces):
        stop, size = start, 0
        while stop < len(pieces) and (
            stop == start or (stop not in cut and size + len(pieces[stop]) <= BATCH_SEGMENTS)
        ):
            size += len(pieces[stop])
            stop += 1
        batch = [segment for piece in pieces[start:stop] for segment in piece]
        scores.append(classifier.predict_proba(batch)[:, 1])
        start = stop
    return np.concatenate(scores) if scores else np.zeros(0)


def tag_stories(
    model: Any,
    texts: Sequence[Sequence[str]],
    labels: Sequence[Sequence[Label]],
    languages: Sequence[str | None] | None = None,
) -> list[tuple[dict, tuple]]:
    """Topic probabilities and tags of each page, from its story (and headline).

    A story in a language the topic stage did not learn (``languages``, as
    detected; None when unknown) keeps its probabilities but gets no tags:
    what the model learnt from English words says little about it.
    """
    if model.topic_classifier is None:
        return [({}, ()) for _ in texts]
    readings = [topic_text(page_texts, page_labels) for page_texts, page_labels in zip(texts, labels)]
    probabilities = model.topic_classifier.predict_proba(readings)
    names = [str(tag) for tag in model.topic_classifier.classes_]
    known = getattr(model, "topic_languages", None)
    results = []
    for reading, row, language in zip(readings, probabilities.tolist(), languages or [None] * len(readings)):
        # A page with no story is about nothing, whatever the base rates say.
        topics = dict(zip(names, row if reading else [0.0] * len(names)))
        readable = reading and (known is None or language is None or language in known)
        tags = tuple(n for n in names if readable and topics[n] >= model.topic_thresholds.get(n, TAG_THRESHOLD))
        results.append((topics, tags))
    return results


def freeze_loaded(collect: bool = True) -> None:
    """Leave what a labelling process holds by now (its model, the modules it imported) out of garbage collection.

    A CLI or service worker holds its model's ~100,000 small objects for
    its whole life, and each full pass of the cyclic collector walks them
    all: about 50 ms here, a pause in whatever the process does at the time
    (for the service, every answer in flight held up that long, the tail of
    its latency). They live as long as the process, so after one last
    collection they are moved where the collector no longer looks
    (:func:`gc.freeze`). Called by the processes storyfilter runs (its
    workers, the service when it starts); a program of one's own that
    labels may do the same after :func:`~classifier.model.model.load_model`.

    Without ``collect`` the last collection is skipped (it takes that
    ~50 ms): what start-up left for the collector stays, frozen with the
    rest. The command line does this, as one page's run is mostly start-up.
    """
    if collect:
        gc.collect()
    gc.freeze()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a chunk is labelled.

    A chunk creates tens of thousands of small tuples (segments and their
    scores); the collector would otherwise walk every live object several
    times per chunk for nothing. (Each HTML page's parser and its target
    refer to each other; the target lets go of its state when parsing ends,
    so what waits for the collector is small.) Memory is still
    freed by reference counting, and the collector's state is restored.

    Threads that label at once share one pause, counted under a lock: the
    collector is held from the first one's start to the last one's end,
    and then set back as it was before the first (read and held in one
    step, so no thread can take another's pause for the collector's own
    state and leave it off for good).
    """
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


# The labelling calls under way in this process, and whether the collector ran before the first.
_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False
