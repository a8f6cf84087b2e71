"""The model bundle: the fitted pipelines, thresholds and their model card.

A bundle is two files: ``NAME.joblib`` (the fitted objects) and
``NAME.json`` (the model card: version, training data, metrics, thresholds,
library versions and the sha256 of the ``.joblib``). Loading checks the
file against the card's hash and the card's library versions against the
running ones before unpickling anything, and raises :class:`ModelError`
with what to do when they differ.

A joblib file is a pickle: loading one runs code from it. Load only models
you trust; the hash check guards against a changed or damaged file, not
against a malicious card.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import joblib
import numpy as np
import sklearn

from .documents import Document, FailedDocument, LabeledDocument, ScoredSegment
from .io import decode_html, document_from_record
from .errors import InputError, ModelError
from .labels import Label
from .dom import render
from .segments import Segment, split_text
from .topics import topic_text

# Version of the bundle layout; a loader refuses layouts it does not know.
BUNDLE_FORMAT = 1
# Documents labelled together: the features and trees run once per chunk.
DEFAULT_CHUNK = 64
# Segments scored together at most (see Model._score), unless one page holds more.
BATCH_SEGMENTS = 4096
# Segments of one page scored as one page at most; longer pages are scored in pieces of
# this many (Model._score). Real pages of web-pages-2026 hold at most ~3,200, as text or HTML.
PAGE_SEGMENTS = 8192
# Label by "is story" (False, True).
_LABELS = (Label.CHROME, Label.STORY)


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose objects are pickled in a bundle."""
    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_model_path() -> Path:
    """Where the shipped model is: ``$STORYFILTER_MODEL``, the source tree, or the install prefix."""
    configured = os.environ.get("STORYFILTER_MODEL")
    if configured:
        return Path(configured)
    candidates = [
        Path(__file__).resolve().parent.parent / "models" / "default.joblib",
        Path(sys.prefix) / "share" / "storyfilter" / "models" / "default.joblib",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


@dataclass
class Model:
    """A fitted storyfilter model: label pages, tag their stories.

    Attributes
    ----------
    segments : SegmentClassifier
        The fitted story-or-chrome classifier of plain-text pages.
    html_segments : SegmentClassifier or None
        The same for HTML pages (with DOM features); None when the model
        was trained without HTML pages.
    name, version : str
        Shown in every output record as ``name@version``.
    story_threshold : float
        Segments scoring at or above it are story.
    card : dict
        The model card.
    """

    segments: Any
    html_segments: Any = None
    name: str = "default"
    version: int = 1
    story_threshold: float = 0.5
    topics: Any = None
    topic_thresholds: dict[str, float] = field(default_factory=dict)
    card: dict = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    # --- labelling ----------------------------------------------------------
    def label(self, text: str | None = None, *, html: str | bytes | None = None, id: str = "document") -> LabeledDocument:
        """Label one page, given as plain text or as HTML.

        HTML may be a string or the file's bytes (decoded by its BOM, its
        declared charset, UTF-8 or detection). The result of an HTML page
        holds its rendering as ``text``; segment offsets point into it.

        Raises
        ------
        InputError
            When neither a text nor an HTML string is given, or both are.
        ModelError
            For HTML, when the model has no HTML classifier.
        """
        if html is not None:
            if text is not None:
                raise InputError("label() takes the page as text or as html, not both")
            if isinstance(html, (bytes, bytearray)):
                html = decode_html(bytes(html))
            if not isinstance(html, str):
                raise InputError("label(html=...) needs the page's HTML as a string or bytes")
            self._check_html()
            return self._label_htmls([Document(id=id, html=html)])[0]
        if not isinstance(text, str):
            raise InputError("label() needs the page text as a string")
        return self._label_text_documents([Document(id=id, text=text)])[0]

    def _check_html(self) -> None:
        if self.html_segments is None:
            raise ModelError(f"{self.model_id} has no HTML classifier: retrain it with HTML pages (a web-page corpus)")

    def label_many(
        self,
        documents: Iterable[Document | FailedDocument],
        chunk_size: int = DEFAULT_CHUNK,
        *,
        workers: int = 1,
        scheduler: str | None = None,
    ) -> Iterator[LabeledDocument | FailedDocument]:
        """Label documents lazily, in order, a chunk at a time.

        ``documents`` may also hold text strings and ``{"id", "text"|"html"}``
        dicts, as :meth:`filter` takes them. A document that cannot be
        labelled (anything else included) yields a :class:`FailedDocument`
        in its place, and failures already in the input (documents that
        could not be read) pass through in theirs. Only a few chunks are
        held at a time, so any iterable works, endless ones included.

        With ``workers`` > 1 the chunks are labelled in that many worker
        processes (started once there is more than one chunk; like any
        multiprocessing code, call it under ``if __name__ == "__main__":``
        in a script), or with ``scheduler`` on that Dask cluster; the
        results are the same and come in the same order.
        """
        from .parallel import chunked, run_chunks

        chunks = chunked(_as_documents(documents), chunk_size)
        for results in run_chunks(self, _label_chunk, chunks, workers=workers, scheduler=scheduler):
            yield from results

    def _label_chunk(self, chunk: Sequence[Document | LabeledDocument | FailedDocument]) -> list[LabeledDocument | FailedDocument]:
        with _gc_paused():
            return self._label_chunk_now(chunk)

    def _label_chunk_now(self, chunk: Sequence[Document | LabeledDocument | FailedDocument]) -> list[LabeledDocument | FailedDocument]:
        chunk = list(chunk)
        results: list[LabeledDocument | FailedDocument | None] = [None] * len(chunk)
        ready: list[int] = []  # plain-text documents
        markup: list[int] = []  # HTML documents
        for i, document in enumerate(chunk):
            if isinstance(document, (FailedDocument, LabeledDocument)):
                results[i] = document  # failures and documents labelled already pass through
            elif isinstance(document.html, (bytes, bytearray)):  # the file's bytes: decode as an HTML file
                try:
                    chunk[i] = dataclasses.replace(document, html=decode_html(bytes(document.html)))
                except InputError as error:
                    results[i] = FailedDocument(document.id, "InputError", str(error), document.extra)
                    continue
                results[i] = self._html_ready(chunk[i], i, markup)
            elif isinstance(document.html, str):
                results[i] = self._html_ready(document, i, markup)
            elif isinstance(document.text, str):
                ready.append(i)
            else:
                results[i] = FailedDocument(document.id, "InputError", "document has no text", document.extra)
        for rows, label in ((ready, self._label_text_documents), (markup, self._label_htmls)):
            if not rows:
                continue
            try:
                labelled = label([chunk[i] for i in rows])
            except Exception:  # noqa: BLE001 - isolate the failing document, keep the rest
                labelled = [self._label_alone(label, chunk[i]) for i in rows]
            for i, result in zip(rows, labelled):
                results[i] = result
        return results  # type: ignore[return-value]

    def _html_ready(self, document: Document, i: int, markup: list[int]) -> FailedDocument | None:
        """Queue an HTML document for labelling, or say why this model cannot."""
        try:
            self._check_html()
        except ModelError as error:
            return FailedDocument(document.id, "ModelError", str(error), document.extra)
        markup.append(i)
        return None

    @staticmethod
    def _label_alone(label, document: Document) -> LabeledDocument | FailedDocument:
        try:
            return label([document])[0]
        except Exception as error:  # noqa: BLE001 - one bad document must not stop a batch
            return FailedDocument(document.id, type(error).__name__, str(error) or repr(error), document.extra)

    def _label_text_documents(self, documents: Sequence[Document]) -> list[LabeledDocument]:
        pages = [split_text(document.text, page=number) for number, document in enumerate(documents)]
        return self._label_pages(self.segments, pages, documents)

    def _label_htmls(self, documents: Sequence[Document]) -> list[LabeledDocument]:
        rendered = [render(document.html, page=number) for number, document in enumerate(documents)]
        return self._label_pages(self.html_segments, [r.segments for r in rendered], documents, [r.text for r in rendered])

    def _label_pages(
        self,
        classifier,
        pages: Sequence[Sequence[Segment]],
        documents: Sequence[Document],
        texts: Sequence[str] | None = None,
    ) -> list[LabeledDocument]:
        """Score the segments of several pages (see :meth:`_score`); tag each page's story.

        ``texts`` holds the pages' renderings when they came as HTML (kept in
        the records, as the segments' offsets point into them).
        """
        scores = self._score(classifier, pages)
        story = (scores >= self.story_threshold).tolist()
        values = scores.tolist()
        scored_pages = []
        offset = 0
        for page in pages:
            end = offset + len(page)
            labels = [_LABELS[flag] for flag in story[offset:end]]
            scored_pages.append(tuple(map(ScoredSegment, page, labels, values[offset:end])))
            offset = end
        tagged = self._tag([[s.text for s in page] for page in scored_pages], [[s.label for s in page] for page in scored_pages])
        texts = texts if texts is not None else [None] * len(documents)
        return [
            LabeledDocument(
                id=document.id, model=self.model_id, segments=scored, topics=topics, tags=tags, extra=document.extra, text=text
            )
            for document, scored, (topics, tags), text in zip(documents, scored_pages, tagged, texts)
        ]

    @staticmethod
    def _score(classifier, pages: Sequence[Sequence[Segment]]) -> np.ndarray:
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

    def _tag(self, texts: Sequence[Sequence[str]], labels: Sequence[Sequence[Label]]) -> list[tuple[dict, tuple]]:
        """Topic probabilities and tags of each page, from its story (and headline)."""
        if self.topics is None:
            return [({}, ()) for _ in texts]
        readings = [topic_text(page_texts, page_labels) for page_texts, page_labels in zip(texts, labels)]
        probabilities = self.topics.predict_proba(readings)
        names = [str(tag) for tag in self.topics.classes_]
        results = []
        for reading, row in zip(readings, probabilities.tolist()):
            # A page with no story is about nothing, whatever the base rates say.
            topics = dict(zip(names, row if reading else [0.0] * len(names)))
            tags = tuple(n for n in names if reading and topics[n] >= self.topic_thresholds.get(n, 0.5))
            results.append((topics, tags))
        return results

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The topics this model tags (empty without a topic stage)."""
        return tuple(str(tag) for tag in self.topics.classes_) if self.topics is not None else ()

    def check_topics(self, topics: Iterable[str]) -> set[str]:
        """The wanted topics as a set, once checked against the model's tags.

        Raises
        ------
        ModelError
            When the model has no topic stage.
        InputError
            When a topic is not one the model tags.
        """
        wanted = set(topics)
        if not self.tag_names:
            raise ModelError(f"{self.model_id} has no topic stage: train one with topic-labelled data")
        unknown = wanted - set(self.tag_names)
        if unknown:
            raise InputError(f"unknown topic(s) {', '.join(sorted(unknown))}; {self.model_id} tags {', '.join(self.tag_names)}")
        return wanted

    def filter(
        self,
        records: Iterable[Document | LabeledDocument | FailedDocument | dict | str],
        topics: Iterable[str],
        min_score: float | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        *,
        workers: int = 1,
        scheduler: str | None = None,
    ) -> Iterator[LabeledDocument]:
        """Keep the documents whose story carries any of ``topics``: a lazy pipeline stage.

        ``records`` may hold raw pages (:class:`Document`, a text string, or
        a dict with ``text``), which are labelled on the way, and documents
        already labelled (:class:`LabeledDocument`, or a dict record written
        by ``label``), which are not relabelled. It is read one chunk at a
        time, so any iterable works, endless ones included. A document
        passes when a wanted topic's probability is at least ``min_score``,
        or, without ``min_score``, when the topic is among its tags.
        Documents that cannot be read or labelled are skipped; use
        :meth:`label_many` to see them. ``workers`` and ``scheduler`` are
        as for :meth:`label_many`.

        Raises
        ------
        ModelError, InputError
            As :meth:`check_topics`.
        """
        wanted = self.check_topics(topics)
        labelled = self.label_many(records, chunk_size=chunk_size, workers=workers, scheduler=scheduler)
        for result in labelled:
            if isinstance(result, LabeledDocument) and passes(result.topics, result.tags, wanted, min_score):
                yield result

    # --- persistence --------------------------------------------------------
    def save(self, path: Path) -> Path:
        """Write ``path`` (.joblib) and its model card beside it (.json)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": BUNDLE_FORMAT,
            "name": self.name,
            "version": self.version,
            "story_threshold": self.story_threshold,
            "segments": self.segments,
            "html_segments": self.html_segments,
            "topics": self.topics,
            "topic_thresholds": self.topic_thresholds,
        }
        tmp = path.with_suffix(".joblib.tmp")
        joblib.dump(payload, tmp, compress=("zlib", 6))
        os.replace(tmp, path)
        card = dict(self.card)
        card.update(
            {
                "name": self.name,
                "version": self.version,
                "story_threshold": self.story_threshold,
                "topic_thresholds": self.topic_thresholds,
                "libraries": library_versions(),
                "bundle_format": BUNDLE_FORMAT,
                "file": path.name,
                "sha256": sha256_of(path),
                "size_bytes": path.stat().st_size,
            }
        )
        card_path(path).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.card = card
        return path


def _label_chunk(model: Model, chunk: list) -> list[LabeledDocument | FailedDocument]:
    """The task :meth:`Model.label_many` runs on each chunk, wherever it runs."""
    return model._label_chunk(chunk)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a chunk is labelled.

    A chunk creates tens of thousands of small tuples (segments and their
    scores); the collector would otherwise walk every live object several
    times per chunk for nothing. (Each HTML page's parser and its target
    refer to each other; the target lets go of its state when parsing ends,
    so what waits for the collector is small.) Memory is still
    freed by reference counting, and the collector's state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def passes(topics: dict, tags: Sequence[str], wanted: set[str], min_score: float | None) -> bool:
    """Whether a document with these topic probabilities and tags is wanted."""
    if min_score is None:
        return bool(wanted.intersection(tags))
    return any(topics.get(topic, 0.0) >= min_score for topic in wanted)


def _as_documents(records) -> Iterator[Document | LabeledDocument | FailedDocument]:
    for number, record in enumerate(records):
        if isinstance(record, (Document, LabeledDocument, FailedDocument)):
            yield record
        elif isinstance(record, str):
            yield Document(id=str(number), text=record)
        elif isinstance(record, dict):
            yield document_from_record(record, f"record {number}")
        else:
            yield FailedDocument(str(number), "InputError", f"cannot label a {type(record).__name__}: give a Document, a str or a dict")


def card_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


# What every bundle holds; the HTML and topic stages are optional.
_BUNDLE_KEYS = frozenset({"segments", "name", "version", "story_threshold"})


def load_model(path: str | Path | None = None) -> Model:
    """Load a model bundle, checking its hash and library versions first.

    Parameters
    ----------
    path : str or Path, optional
        The ``.joblib`` file; the shipped default when omitted.

    Raises
    ------
    ModelError
        When the file or its card is missing, the file does not match the
        card's sha256, the card's library versions differ from the running
        ones, or the file cannot be read.
    """
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise ModelError(f"model file not found: {path} (train one with `storyfilter train`)")
    card_file = card_path(path)
    if not card_file.is_file():
        raise ModelError(f"model card not found: {card_file} (a bundle is NAME.joblib with NAME.json beside it)")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"model card {card_file} is not readable JSON ({error})") from None
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_file} is not a JSON object: restore it with its model or retrain")
    expected = card.get("sha256")
    actual = sha256_of(path)
    if expected != actual:
        raise ModelError(
            f"{path} does not match its card: sha256 is {actual[:12]}..., the card says "
            f"{str(expected)[:12]}...; the file was changed or damaged: retrain it or restore both files together"
        )
    check_library_versions(card.get("libraries", {}), str(path))
    try:
        payload = joblib.load(path)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable bundle
        raise ModelError(f"cannot load {path}: {type(error).__name__}: {error}") from None
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT or not _BUNDLE_KEYS <= payload.keys():
        raise ModelError(f"{path} is not a storyfilter bundle of format {BUNDLE_FORMAT}: retrain it")
    return Model(
        segments=payload["segments"],
        html_segments=payload.get("html_segments"),
        name=payload["name"],
        version=payload["version"],
        story_threshold=payload["story_threshold"],
        topics=payload.get("topics"),
        topic_thresholds=payload.get("topic_thresholds", {}),
        card=card,
    )


def check_library_versions(recorded: dict, what: str) -> None:
    """Refuse a bundle pickled by another scikit-learn (or numpy major) than the running one.

    ``recorded`` is the card's ``libraries``; ``what`` names the bundle in the message.
    """
    running = library_versions()
    sk_then, sk_now = recorded.get("scikit-learn"), running["scikit-learn"]
    if sk_then != sk_now:
        raise ModelError(
            f"{what} was made with scikit-learn {sk_then}, this is {sk_now}: "
            f"install scikit-learn=={sk_then} or retrain the model with `storyfilter train`"
        )
    np_then = str(recorded.get("numpy", ""))
    if np_then.split(".")[0] != running["numpy"].split(".")[0]:
        raise ModelError(
            f"{what} was made with numpy {np_then}, this is {running['numpy']}: "
            f"install numpy=={np_then} or retrain the model"
        )
