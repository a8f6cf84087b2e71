"""The model: the fitted classifiers and thresholds of a bundle, and what a user calls to label with them.

:class:`Model` is what :func:`load_model` gives and what training saves:
``label`` one page, ``label_many`` documents lazily (here, in worker
processes or on a Dask cluster), ``filter`` them by topic as a pipeline
stage. How a chunk of documents is labelled is :mod:`classifier.model.labelling`;
how a bundle is written and checked on disk is :mod:`classifier.model.bundle`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..arguments import check_min_score, is_whole_number, wanted_topics
from ..errors import InputError, ModelError
from ..inputs.decoding import decode_html
from ..inputs.objects import as_documents, warn_if_html
from ..limits import DocumentLimits, document_cost, limits_of
from ..modelfile import default_model_path
from ..records import Document, FailedDocument, LabeledDocument
from ..run.engines import run_chunks
from ..run.ordered import DEFAULT_CHUNK, chunked
from ..run.tasks import DOCUMENT_ISOLATION, TopicSelector, label_chunk_task, selected
from .bundle import read_bundle, write_bundle
from .labelling import check_html, label_chunk, label_htmls, label_texts
from .settings import RUN_SETTINGS, check_limits, check_tag_thresholds, check_threads
from .threads import default_threads, native_threads


@dataclass
class Model:
    """A fitted storyfilter model: label pages, tag their stories.

    Attributes
    ----------
    text_classifier : SegmentClassifier
        The fitted story-or-chrome classifier of plain-text pages.
    html_classifier : SegmentClassifier or None
        The same for HTML pages (with DOM features); None when the model
        was trained without HTML pages.
    name, version : str
        Shown in every output record as ``name@version``.
    story_threshold : float
        Segments scoring at or above it are story.
    topic_classifier : TopicClassifier or None
        The fitted topic classifier; None for a model without a topic stage.
    topic_thresholds : dict
        The probability at or over which each topic is a tag.
    topic_languages : tuple of str or None
        The languages (ISO 639-1) the topic stage learnt from; a story in
        another language gets its probabilities but no tags. None: tag
        stories in any language.
    card : dict
        The model card.
    html_story_threshold : float or None
        The same for the HTML classifier (None: ``story_threshold``).
    html_text_share : float
        The text classifier's share of an HTML segment's score, the HTML
        classifier scoring the rest (see :class:`~classifier.model.segments.MeanOfStages`);
        0 for the HTML classifier alone, as in bundles before it.
    threads : int or None
        Native threads (OpenMP, BLAS) a labelling call may use; None for the
        default, one (see :mod:`classifier.model.threads`). Not saved.
    limits : DocumentLimits
        The most segments and characters a document may have; one over
        them is refused (:class:`~classifier.errors.TooLargeError`, or its
        error record). Not saved.
    """

    text_classifier: Any
    html_classifier: Any = None
    name: str = "default"
    version: int = 1
    story_threshold: float = 0.5
    topic_classifier: Any = None
    topic_thresholds: dict[str, float] = field(default_factory=dict)
    topic_languages: tuple[str, ...] | None = ("en",)
    card: dict = field(default_factory=dict)
    html_story_threshold: float | None = None
    html_text_share: float = 0.0
    threads: int | None = None
    limits: DocumentLimits = field(default_factory=DocumentLimits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_built", True)  # from here on, topic thresholds are checked against the tags

    def __setattr__(self, name: str, value: Any) -> None:
        if name in RUN_SETTINGS:  # settable by users at any time: checked when set, not at the next page
            RUN_SETTINGS[name](value)
            if name == "topic_thresholds" and self.__dict__.get("_built"):
                check_tag_thresholds(value, self.tag_names)
        super().__setattr__(name, value)

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    # --- labelling ----------------------------------------------------------
    def label(
        self, text: str | None = None, *, html: str | bytes | None = None, id: str = "document"
    ) -> LabeledDocument:
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
        TooLargeError
            When the page is over the model's ``limits`` (an InputError).
        """
        if html is not None:
            if text is not None:
                raise InputError("label() takes the page as text or as html, not both")
            if isinstance(html, (bytes, bytearray)):
                html = decode_html(bytes(html))
            if not isinstance(html, str):
                raise InputError("label(html=...) needs the page's HTML as a string or bytes")
            check_html(self)
            with native_threads(self.threads):
                return label_htmls(self, [Document(id=id, html=html)])[0]
        if not isinstance(text, str):
            raise InputError("label() needs the page text as a string")
        warn_if_html(text, stacklevel=2)  # shown as of the caller's line
        limits_of(self).check_text(text)
        with native_threads(self.threads):
            return label_texts(self, [Document(id=id, text=text)])[0]

    def label_chunk(
        self, chunk: Sequence[Document | LabeledDocument | FailedDocument | dict | str]
    ) -> list[LabeledDocument | FailedDocument]:
        """Label a chunk of documents at once, in order (see :func:`~classifier.model.labelling.label_chunk`).

        The chunk may hold what :meth:`label_many` takes (text strings, dicts); anything else gets a
        :class:`FailedDocument` in its place.
        """
        return label_chunk(self, list(as_documents(chunk)))

    def label_many(
        self,
        documents: Iterable[Document | LabeledDocument | FailedDocument | dict | str],
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
        _check_run_arguments(chunk_size, workers, scheduler)
        # A chunk holds no more segments than a page at the limit (unless one page alone does).
        chunks = chunked(
            as_documents(documents, warn_html=True), chunk_size, limits_of(self).max_segments, document_cost
        )
        results = run_chunks(
            self, label_chunk_task, chunks, workers=workers, scheduler=scheduler, isolation=DOCUMENT_ISOLATION
        )
        return _flattened(results)  # (the documents checked above at once, not at the first next())

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The topics this model tags (empty without a topic stage)."""
        return tuple(str(tag) for tag in self.topic_classifier.classes_) if self.topic_classifier is not None else ()

    def check_topics(self, topics: str | Iterable[str]) -> set[str]:
        """The wanted topics as a set, once checked against the model's tags (a string is one topic).

        Raises
        ------
        ModelError
            When the model has no topic stage.
        InputError
            When a topic is not one the model tags.
        """
        wanted = wanted_topics(topics)
        if not self.tag_names:
            raise ModelError(f"{self.model_id} has no topic stage: train one with topic-labelled data")
        unknown = wanted - set(self.tag_names)
        if unknown:
            raise InputError(
                f"unknown topic(s) {', '.join(sorted(unknown))}; {self.model_id} tags {', '.join(self.tag_names)}"
            )
        return wanted

    def filter(
        self,
        records: Iterable[Document | LabeledDocument | FailedDocument | dict | str],
        topics: str | Iterable[str],
        min_score: float | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        *,
        workers: int = 1,
        scheduler: str | None = None,
        skip_failures: bool = False,
    ) -> Iterator[LabeledDocument | FailedDocument]:
        """Keep the documents whose story carries any of ``topics`` (a topic's name, or several): a lazy pipeline stage.

        ``records`` may hold raw pages (:class:`Document`, a text string, or
        a dict with ``text``), which are labelled on the way, and documents
        already labelled (:class:`LabeledDocument`, or a dict record written
        by ``label``), which are not relabelled. It is read one chunk at a
        time, so any iterable works, endless ones included. A document
        passes when a wanted topic's probability is at least ``min_score``,
        or, without ``min_score``, when the topic is among its tags.
        A document that cannot be read or labelled is yielded as its
        :class:`FailedDocument`, in its place (as ``storyfilter filter``
        writes its error record), so that no failure goes unseen;
        ``skip_failures=True`` leaves them out, a choice the caller makes.
        ``workers`` and ``scheduler`` are as for :meth:`label_many`.

        Raises
        ------
        ModelError, InputError
            As :meth:`check_topics`; InputError too when ``min_score`` is not a number.
        """
        wanted = self.check_topics(topics)
        check_min_score(min_score)
        labelled = self.label_many(records, chunk_size=chunk_size, workers=workers, scheduler=scheduler)
        return _kept(labelled, wanted, min_score, skip_failures)  # (checked above at once, not at the first record)

    # --- persistence --------------------------------------------------------
    def save(self, path: Path) -> Path:
        """Write ``path`` (.model) and its model card beside it (.json)."""
        payload = {
            "name": self.name,
            "version": self.version,
            "story_threshold": self.story_threshold,
            "html_story_threshold": self.html_story_threshold,
            "html_text_share": self.html_text_share,
            "text_classifier": self.text_classifier,
            "html_classifier": self.html_classifier,
            "topic_classifier": self.topic_classifier,
            "topic_thresholds": self.topic_thresholds,
            "topic_languages": self.topic_languages,
        }
        card = {
            **self.card,
            "name": self.name,
            "version": self.version,
            "story_threshold": self.story_threshold,
            "html_story_threshold": self.html_story_threshold,
            "html_text_share": self.html_text_share,
            "topic_thresholds": self.topic_thresholds,
            "topic_languages": self.topic_languages,
        }
        self.card = write_bundle(Path(path), payload, card)
        return Path(path)


def load_model(
    path: str | Path | None = None,
    *,
    threads: int | None = None,
    limits: DocumentLimits | None = None,
    allow_pickle: bool = False,
) -> Model:
    """Load a model bundle, checking its hash and library versions first.

    Parameters
    ----------
    path : str or Path, optional
        The ``.model`` file; the shipped default when omitted.
    threads : int, optional
        Native threads (OpenMP, BLAS) its labelling calls may use; one by
        default (``$STORYFILTER_THREADS`` sets another default).
    limits : DocumentLimits, optional
        The most segments and characters a document may have to be
        labelled; :class:`~classifier.limits.DocumentLimits` () by default.
    allow_pickle : bool
        Also read an older bundle (``.joblib``, format 2 or before, a
        pickle: loading it runs any code it holds, so only for a file you
        trust). Without it such a file raises :class:`ModelError` unread.

    Raises
    ------
    InputError
        When ``threads`` or ``limits`` is not of its type.
    ModelError
        When the file or its card is missing, the file does not match the
        card's sha256, the card's library versions differ from the running
        ones, the file names a type a model is not made of (nothing it
        names is run), it is a pickle and ``allow_pickle`` is not set, or
        it cannot be read.
    """
    check_threads(threads)
    if threads is None:
        default_threads()  # a bad $STORYFILTER_THREADS is an error now, not at the first page
    check_limits(limits)
    path = Path(path) if path is not None else default_model_path()
    payload, card = read_bundle(path, allow_pickle=allow_pickle)
    for key in ("text_classifier", "html_classifier"):
        classifier = payload.get(key)
        stale = classifier.stale_features() if hasattr(classifier, "stale_features") else []
        if stale:
            raise ModelError(
                f"{path} was fitted with other features than this storyfilter computes "
                f"({'; '.join(stale)}): retrain it with `storyfilter train`"
            )
    try:
        return _model_of(payload, card, threads, limits)
    except InputError as error:  # a setting the bundle holds is not of its type: the file is at fault
        raise ModelError(f"{path}: {error}") from None


def _model_of(payload: dict, card: dict, threads: int | None, limits: DocumentLimits | None) -> Model:
    return Model(
        text_classifier=payload["text_classifier"],
        html_classifier=payload.get("html_classifier"),
        name=payload["name"],
        version=payload["version"],
        story_threshold=payload["story_threshold"],
        topic_classifier=payload.get("topic_classifier"),
        topic_thresholds=payload.get("topic_thresholds", {}),
        # Bundles before topic_languages trained their topic stage on English alone.
        topic_languages=payload.get("topic_languages", ("en",)),
        card=card,
        html_story_threshold=payload.get("html_story_threshold"),
        html_text_share=payload.get("html_text_share", 0.0),
        threads=threads,
        limits=limits if limits is not None else DocumentLimits(),
    )


def _check_run_arguments(chunk_size: object, workers: object, scheduler: object) -> None:
    for name, value in (("chunk_size", chunk_size), ("workers", workers)):
        if not is_whole_number(value):
            raise InputError(f"{name} is a whole number, 1 or more, not {value!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise InputError(f"scheduler is a Dask scheduler's address (a string) or None, not {scheduler!r}")


def _kept(
    labelled: Iterator[LabeledDocument | FailedDocument], wanted: set[str], min_score: float | None, skip_failures: bool
) -> Iterator[LabeledDocument | FailedDocument]:
    """What :meth:`Model.filter` yields of ``labelled`` (closed with it)."""
    select = TopicSelector(frozenset(wanted), min_score)  # as `storyfilter filter` picks
    try:
        for result in labelled:
            kept = selected(result, select)
            if kept is not None and (isinstance(kept, LabeledDocument) or not skip_failures):
                yield kept
    finally:
        labelled.close()


def _flattened(results: Iterator[list]) -> Iterator[LabeledDocument | FailedDocument]:
    """The documents of each chunk's results in turn; closing it closes ``results`` (queued chunks are cancelled)."""
    try:
        for labelled in results:
            yield from labelled
    finally:
        results.close()
