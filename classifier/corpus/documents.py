"""Training documents: labelled pages and news items, read from JSONL.

JSONL in the format of SPEC.md (``{"id", "site", "text", "segments",
"topics", "story"}``, or ``html`` instead of ``text``), such as the
project's own ``training/corpus/``: a page's lines are labelled by its
``segments`` spans, else aligned to its gold ``story``; a news item
(``title`` and ``description``) is one page of two lines. Web-page corpora
(:mod:`classifier.corpus.webpages`) give the same documents.

A record written by ``label`` (with ``--with-text`` for a text page, and
its labels corrected by hand or not) is a training page as it is: its
segments' labels label the lines and its ``tags`` are its topics; its
``story`` and topic probabilities are the model's, not gold, and are not
read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, TrainingDataError
from ..inputs.decoding import as_utf8_lines
from ..inputs.readers import json_line
from ..records import UNLABELLED, Label, is_label_record
from ..segment.html import split_html
from ..segment.text import SPACE_OR_BOM, Segment, split_text
from .alignment import align_gold


@dataclass(frozen=True)
class TrainingDocument:
    """One labelled page.

    ``labels`` holds one value per segment: a :class:`Label` value, or
    ``UNLABELLED`` where the line is not labelled. ``corpus`` names the file
    or corpus it came from, ``source`` how it was read (a renderer of a
    web-page corpus, or the file's name), ``language`` its ISO 639-1 code
    when the data says it.
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
    corpus: str = ""
    language: str | None = None
    html: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_html(self) -> bool:
        """Whether the page came as HTML (its segments are DOM blocks, ``text`` their rendering)."""
        return self.html is not None


def read_training_jsonl(path: Path, name: str | None = None) -> Iterator[TrainingDocument]:
    """Read training documents in the JSONL format of SPEC.md; ``name`` (else the file's name) is their source.

    Raises
    ------
    TrainingDataError
        Once the whole file is read, when any line is not a JSON object of
        that format: one line of message that names each such line (its
        number and what is wrong: the first :data:`_ERRORS_SHOWN`, and how
        many more), so that one pass finds them all.
    """
    bad = BadLines(path)
    for where, record in _json_lines(path, bad):
        try:
            document = _document_from_record(record, where, source=name or path.name)
        except TrainingDataError as error:
            bad.add(str(error))  # read on, to name every bad line in one error
            continue
        yield document
    bad.check()


# How many of a file's bad lines an error names (a count says how many more there are).
_ERRORS_SHOWN = 20


class BadLines:
    """The bad lines of a data file, gathered while it is read and named in one error at its end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.shown: list[str] = []

    def add(self, message: str) -> None:
        """Note a bad line (``message`` starts with its ``FILE:LINE``)."""
        self.count += 1
        if len(self.shown) < _ERRORS_SHOWN:
            self.shown.append(message)

    def check(self) -> None:
        """Raise :class:`TrainingDataError` naming the bad lines, if there were any: one line, as CLI errors are."""
        if self.count == 1:
            raise TrainingDataError(self.shown[0])
        if self.count:
            shown = "; ".join("line " + message.removeprefix(f"{self.path}:") for message in self.shown)
            more = f"; and {self.count - len(self.shown)} more" if self.count > len(self.shown) else ""
            raise TrainingDataError(f"{self.path}: {self.count} lines are not training data: {shown}{more}")


def site_groups(documents: Sequence[TrainingDocument]) -> np.ndarray:
    """Each segment's site, numbered in the order the sites first come: the groups of the split by site."""
    numbers: dict[str, int] = {}
    per_document = np.array([numbers.setdefault(d.site, len(numbers)) for d in documents], dtype=np.int64)
    return np.repeat(per_document, [len(d.segments) for d in documents])


def source_names(paths: Sequence[Path]) -> dict[Path, str]:
    """Each source's name in scores and cards: its file or folder name, or the path as given when
    another source has that name too (two ``test.jsonl`` of different folders stay apart)."""
    names = [Path(p).name for p in paths]
    return {Path(p): (str(p) if names.count(Path(p).name) > 1 else Path(p).name) for p in paths}


def _json_lines(path: Path, bad: BadLines) -> Iterator[tuple[str, object]]:
    """Each non-blank line of a JSONL file (gzipped if it ends in .gz), parsed, with its ``FILE:LINE``.

    A line that does not parse is noted in ``bad`` (and skipped).
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, line in enumerate(as_utf8_lines(handle), 1):  # UTF-16 or UTF-32 by its BOM, as label reads
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                value = json_line(line)  # a line that is not UTF-8 is decoded as labelling decodes it
            except json.JSONDecodeError as error:
                bad.add(f"{where}: not valid JSON ({error.msg})")
            except InputError as error:  # bytes no text encoding reads
                bad.add(f"{where}: {error}")
            else:
                yield where, value


def is_page_topics_record(record) -> bool:
    """Whether a record gives the topics of a page of a web-page corpus: ``{"corpus", "page", "topics"}``, no text."""
    return (
        isinstance(record, dict)
        and "corpus" in record
        and "page" in record
        and not any(key in record for key in ("text", "html", "title", "description"))
    )


def holds_page_topics(path: Path) -> bool:
    """Whether a JSONL file's first record gives a web-page corpus page's topics (then the whole file must).

    Lines before it that do not parse are passed over here: the file's reader names them all.
    """
    lines = _json_lines(path, BadLines(path))
    try:
        first = next(lines, None)
    finally:
        lines.close()  # the file, read no further
    return first is not None and is_page_topics_record(first[1])


def read_page_topics(path: Path) -> dict[tuple[str, str], tuple[str, ...]]:
    """The topics of web-page corpora's pages, from a JSONL file of ``{"corpus", "page", "topics"}`` records.

    A web-page corpus has gold story text but no topics; such a file gives
    them, by the corpus's folder name and the page's id, so that its
    full-length articles train the topic stage too.

    Raises
    ------
    TrainingDataError
        When lines are not such records, or give a page twice (one error
        naming them all, as :func:`read_training_jsonl` does).
    """
    topics: dict[tuple[str, str], tuple[str, ...]] = {}
    bad = BadLines(path)
    for where, record in _json_lines(path, bad):
        if not is_page_topics_record(record) or not isinstance(record.get("topics"), list):
            bad.add(f'{where}: a file of page topics holds only {{"corpus", "page", "topics"}} records')
            continue
        key = (str(record["corpus"]), str(record["page"]))
        if key in topics:
            bad.add(f"{where}: page {key[1]} of {key[0]} is given twice")
            continue
        try:
            topics[key] = _topics_of(record, where)
        except TrainingDataError as error:
            bad.add(str(error))
    bad.check()
    return topics


def _written_by_label(record: dict) -> bool:
    """Whether a training record is one ``label`` wrote, the page's ``html`` added back to it or not.

    Labelling takes a record with ``html`` for a page (a CMS export may carry
    ``model`` and ``story`` fields of its own); training data holding the
    record of an HTML page, its labels corrected and its markup put back to
    train the HTML classifier, is still that record: its ``story`` is the
    model's and its ``topics`` are probabilities, not gold.
    """
    if "html" not in record:
        return is_label_record(record)
    # All that `label` writes, so that an HTML page of gold text with fields of its own named so (a CMS's
    # `model`, `story`) stays a page: the rendering, topic probabilities and tags.
    rest = {key: value for key, value in record.items() if key != "html"}
    return (
        isinstance(rest.get("text"), str)
        and isinstance(rest.get("topics"), Mapping)
        and isinstance(rest.get("tags"), list)
        and is_label_record(rest)
    )


def _document_from_record(record: dict, where: str, source: str) -> TrainingDocument:
    if not isinstance(record, dict):
        raise TrainingDataError(f"{where}: each line must be a JSON object (training data is JSONL: an object a line)")
    if is_page_topics_record(record):
        raise TrainingDataError(
            f'{where}: the topics of a web-page corpus\'s pages ({{"corpus", "page", "topics"}}) go in a file of their own'
        )
    if _written_by_label(record):  # its tags are the topics, its story is no gold
        if "text" not in record and "html" not in record:
            raise TrainingDataError(
                f"{where}: a record written by `label` needs the page's text to train on: label it with --with-text"
            )
        record = {k: v for k, v in record.items() if k not in ("story", "topics")}
        if isinstance(record.get("tags"), list):
            record["topics"] = record["tags"]
    _check_types(record, where)
    text, html = record.get("text"), record.get("html")
    if isinstance(html, str):  # the HTML wins over a rendering beside it, as in labelling
        return _html_document_from_record(record, html, where, source)
    if text is None and isinstance(record.get("title"), str) and isinstance(record.get("description"), str):
        # A topic-labelled news item: headline and description, fed as one page.
        text = record["title"] + "\n\n" + record["description"]
    if not isinstance(text, str):
        raise TrainingDataError(f"{where}: needs a string 'text' or 'html' field (or 'title' and 'description')")
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
        corpus=source,
        language=_language_of(record),
    )


# What an HTML record's segment offsets point into, as messages name it.
_RENDERING = "the HTML page's rendering, the 'text' that `label` writes for it (a record with 'html' is read as HTML)"


def _html_document_from_record(record: dict, html: str, where: str, source: str) -> TrainingDocument:
    """A training page given as HTML: its blocks, labelled by ``segments`` or aligned to ``story``.

    ``segments`` offsets point into the page's rendering (the ``text`` of a
    record that ``label`` writes for it); without them, a gold ``story``
    labels the blocks as for a web-page corpus.
    """
    page = split_html(html)
    labels = _labels_of(record, page.text, page.segments, where, _RENDERING)
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
        corpus=source,
        language=_language_of(record),
    )


def _check_types(record: dict, where: str) -> None:
    """Refuse fields that are there but not of their type (read as they are, they would fail later, or mislead)."""
    for name in ("html", "text", "story", "page_type", "language", "site"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise TrainingDataError(f"{where}: {name!r} must be a string, not {type(record[name]).__name__}")


def _language_of(record: dict) -> str | None:
    language = record.get("language")
    return language if isinstance(language, str) and language else None


def _topics_of(record: dict, where: str) -> tuple[str, ...] | None:
    topics = record.get("topics")
    if topics is not None and not (isinstance(topics, list) and all(isinstance(t, str) and t for t in topics)):
        raise TrainingDataError(f"{where}: 'topics' must be a list of tag names")
    return tuple(topics) if topics is not None else None


def _labels_of(record: dict, text: str, segments: Sequence[Segment], where: str, of: str = "'text'") -> list[int]:
    """A training page's labels: from its ``segments`` spans, else aligned to its gold ``story`` if it has one."""
    story = record.get("story")
    if record.get("segments") is None and isinstance(story, str):
        labels = align_gold(segments, story)  # as for a web-page corpus
        if story.strip() and Label.STORY not in labels:
            # Every line would train as chrome, the story's own among them.
            raise TrainingDataError(
                f"{where}: no line of the page matches its 'story' (another page's story, or text changed since?): "
                "give the story as the page shows it, or label its lines with 'segments'"
            )
        return labels
    return _span_labels(record, text, segments, where, of)


def _span_labels(record: dict, text: str, segments: Sequence[Segment], where: str, of: str) -> list[int]:
    """Labels from a record's ``segments`` spans; lines no span covers are unknown.

    A span starts a non-empty line (after any white space it holds) and
    labels every line that starts before its end: one line, or several.
    """
    labels = [UNLABELLED] * len(segments)
    spans = record.get("segments")
    if spans is not None:
        if not isinstance(spans, list):
            raise TrainingDataError(f"{where}: 'segments' must be a list of spans")
        by_start = {segment.start: i for i, segment in enumerate(segments)}
        for span in spans:
            if not isinstance(span, dict) or not {"start", "end", "label"} <= span.keys():
                raise TrainingDataError(f'{where}: bad segment {span!r}: a span is {{"start", "end", "label"}}')
            try:
                start, end, label = _offset(span["start"]), _offset(span["end"]), Label.parse(span["label"])
            except (TypeError, ValueError, TrainingDataError) as error:
                raise TrainingDataError(f"{where}: bad segment {span!r} ({error})") from None
            if not 0 <= start < end <= len(text) + 1:  # (a line break after the last line, counted, is let be)
                raise TrainingDataError(
                    f"{where}: segment {start}-{end} is not a span of {of}: it holds {len(text)} characters"
                )
            if not text[start:end].strip(SPACE_OR_BOM):
                raise TrainingDataError(f"{where}: segment {start}-{end} holds no text, only white space")
            # Labelled spans may include the line's surrounding whitespace.
            stripped_start = start + len(text[start:end]) - len(text[start:end].lstrip(SPACE_OR_BOM))
            index = by_start.get(stripped_start)
            if index is None:
                raise TrainingDataError(f"{where}: segment {start}-{end} does not start a non-empty line of {of}")
            while index < len(segments) and segments[index].start < end:
                if labels[index] not in (UNLABELLED, int(label)):
                    line = segments[index]
                    raise TrainingDataError(
                        f"{where}: the line at {line.start}-{line.end} is labelled both {Label(labels[index])}"
                        f" and {label} (segment {start}-{end} overlaps another span)"
                    )
                labels[index] = int(label)
                index += 1
    return labels


def _offset(value: object) -> int:
    """A span's character offset: a whole number (``0.9`` is not read as 0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"offsets are whole numbers, not {value!r}")
    return value
