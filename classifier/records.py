"""Documents in, records out, and the two segment labels.

A :class:`Document` is one page to label, as read from a file or a JSONL
line. A :class:`LabeledDocument` is the result: every segment with its
:class:`Label` and story probability, the story, the topic probabilities and
tags. A :class:`FailedDocument` stands in the output for a document that
could not be processed, so that no document is ever silently dropped.
:func:`~classifier.inputs.objects.document_from_record` reads any of them back from a JSON object.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from enum import IntEnum
from json.encoder import encode_basestring
from numbers import Integral, Real
from typing import Any, NamedTuple

from .arguments import check_min_score, wanted_topics
from .errors import InputError, TrainingDataError
from .segment.text import Segment


class Label(IntEnum):
    """What a segment is. The integer value is the classifier's class."""

    CHROME = 0
    STORY = 1

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Label:
        """Read a label as written in data files ("story" or "chrome")."""
        try:
            return cls[value.strip().upper()]
        except (KeyError, AttributeError):
            raise TrainingDataError(f"unknown segment label {value!r}: use 'story' or 'chrome'") from None


# The label value of a line with no gold label (in training data and ``y``):
# kept as context, never trained or scored on.
UNLABELLED = -1

# Fields of an output record that a document's own fields may not overwrite.
RESERVED_FIELDS = frozenset({"id", "model", "title", "language", "segments", "story", "topics", "tags", "error"})


@dataclass(frozen=True)
class Document:
    """One page to label: its id, its text (or HTML) and any other fields.

    ``extra`` holds the input record's other fields, carried through to the
    output record unchanged.
    """

    id: str
    text: str | None = None
    html: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Checked here, not when the record is written: an id that is no string is made one (a number its JSON
        # text, as a JSONL line's: 7 -> "7"; numpy's too; anything else, a UUID say, str() of it), but for None,
        # bytes and what is no finite number (NaN); and ``extra`` is a mapping (None: no other fields).
        if not isinstance(self.id, str):
            object.__setattr__(self, "id", _id_as_text(self.id))
        if self.extra is None:
            object.__setattr__(self, "extra", {})
        elif not isinstance(self.extra, Mapping):
            raise InputError(f"a document's extra fields are a mapping of field names to values, not {self.extra!r}")


def _id_as_text(value: Any) -> str:
    if isinstance(value, Integral):  # bool, int, numpy's integers
        try:
            return json.dumps(value if isinstance(value, bool) else int(value))
        except ValueError:  # more digits than Python writes
            raise InputError(
                f"a document's id is a number of more than {sys.get_int_max_str_digits():,} digits"
            ) from None
    if isinstance(value, Real) and math.isfinite(value):
        return json.dumps(float(value))
    if value is None or isinstance(value, (bytes, bytearray, memoryview, Real)):
        raise InputError(f"a document's id is a string (or a number, or what str() makes one of), not {value!r}")
    return str(value)


class ScoredSegment(NamedTuple):
    """A segment with its label and the probability that it is story."""

    segment: Segment
    label: Label
    score: float

    @property
    def text(self) -> str:
        return self.segment.text

    def to_record(self) -> dict:
        return {
            "start": self.segment.start,
            "end": self.segment.end,
            "text": self.segment.text,
            "label": str(self.label),
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class LabeledDocument:
    """A labelled page: its segments, story, topics and tags.

    ``text`` is the text the segments' offsets point into, carried by the
    record: set for a page that came as HTML (its rendering as text), and
    for a text page only when asked (``label --with-text``). ``title`` is
    the page's headline (an HTML page's ``<title>`` or first ``h1``, a text
    page's headline line) and ``language`` the ISO 639-1 code of the
    story's language; each None when there is none or it cannot be told.
    """

    id: str
    model: str
    segments: tuple[ScoredSegment, ...]
    topics: Mapping[str, float] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    story_text: str | None = field(default=None, repr=False)
    language: str | None = None
    title: str | None = None
    # Read back from a record written without its segments: written again without them.
    without_segments: bool = field(default=False, repr=False)

    @property
    def story(self) -> str:
        """The story segments joined by blank lines."""
        if self.story_text is not None:  # read back from a record written without segments
            return self.story_text
        return "\n\n".join(s.segment.text for s in self.segments if s.label is Label.STORY)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LabeledDocument:
        """A labelled document back from a record written by ``label``.

        Raises
        ------
        ValueError
            Saying which field is not as ``label`` writes it (segments a
            list of objects with text, start, end, label and score; story a
            string; topics an object of numbers; tags a list of strings).
        """
        story, topics, tags = record.get("story"), record.get("topics") or {}, record.get("tags") or []
        if not isinstance(story, str):
            raise ValueError("'story' must be a string")
        if not isinstance(topics, Mapping) or not all(_is_number(p) for p in topics.values()):
            raise ValueError("'topics' must be an object of numbers")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("'tags' must be a list of strings")
        text, language, title = record.get("text"), record.get("language"), record.get("title")
        if language is not None and not isinstance(language, str):
            raise ValueError("'language' must be a string or null")
        if title is not None and not isinstance(title, str):
            raise ValueError("'title' must be a string or null")
        return cls(
            id=str(record.get("id")),
            model=str(record.get("model", "")),
            segments=_segments_from_records(record.get("segments") or []),
            topics={str(name): float(p) for name, p in topics.items()},
            tags=tuple(tags),
            extra={k: v for k, v in record.items() if k not in RESERVED_FIELDS},
            text=text if isinstance(text, str) else None,
            story_text=story,
            language=language,
            title=title,
            without_segments="segments" not in record,
        )

    def carries(self, topics: str | Iterable[str], min_score: float | None = None) -> bool:
        """Whether the story carries any of the ``topics`` (a topic's name, or several), as ``Model.filter`` asks.

        With ``min_score``, a topic carried is one whose probability is at
        least that; without, one among the tags.

        Raises
        ------
        InputError
            As ``Model.filter`` (which gives an error record instead): for ``topics`` not topic names, a bad
            ``min_score``, or a story that carries none of them and was not scored on every one (a record
            without topics carries none).
        """
        wanted = wanted_topics(topics)
        check_min_score(min_score)
        verdict = self.judged(wanted, min_score)
        if isinstance(verdict, FailedDocument):  # the model scored every topic it tags: a name it did not is a mistake
            raise InputError(
                f"unknown topic(s) {', '.join(sorted(wanted.difference(self.topics)))}; "
                f"the story was scored on {', '.join(self.topics)}"
            )
        return verdict

    def judged(self, wanted: Set[str], min_score: float | None) -> bool | FailedDocument:
        """What ``filter`` makes of this record: whether it carries a wanted topic; or, when it carries none and
        the model that labelled it scored other topics than a wanted one (a record labelled elsewhere, passed
        through), an error record in its place: it could not be judged on a topic its model never scored, and
        leaving it out would drop it without a word. A record without topics (no topic stage, or a record
        giving only its tags) is judged by what it has, and carries none it does not show."""
        if self.carries_checked(wanted, min_score):
            return True
        missing = wanted.difference(self.topics)
        if not self.topics or not missing:
            return False
        hint = f", or without --topic {', --topic '.join(sorted(missing))}" if missing != wanted else ""
        return FailedDocument(
            self.id,
            "InputError",
            f"labelled by {self.model or 'a model'}, which did not score {', '.join(sorted(missing))} (it scored "
            f"{', '.join(sorted(self.topics))}): filter records with the model that labelled them (--model){hint}",
            self.extra,
        )

    def carries_checked(self, wanted: Set[str], min_score: float | None) -> bool:
        """:meth:`carries` for arguments checked already (``filter`` checks them once against the model's tags)."""
        if min_score is None:
            return not wanted.isdisjoint(self.tags)
        topics = self.topics  # a topic not scored (a record without topics) is not carried, whatever min_score
        return any(topic in topics and topics[topic] >= min_score for topic in wanted)

    def to_record(self, segments: bool = True) -> dict:
        """The output record of SPEC.md (``segments=False`` leaves them out, as does a record read without them)."""
        record, rest = self._record_parts()
        if segments and not self.without_segments:
            record["segments"] = [s.to_record() for s in self.segments]
        record.update(rest)
        return record

    def json_line(self, segments: bool = True) -> str:
        """The record as a line of JSON: ``json.dumps(self.to_record(segments), ensure_ascii=False, allow_nan=False)``
        and a newline, the same characters made faster.

        A page has hundreds of segments; their objects are written out here
        rather than built as dicts for the encoder to walk.

        Raises
        ------
        ValueError
            When a score or a field carried through holds NaN or Infinity, as ``json.dumps`` does.
        """
        record, rest = self._record_parts()
        if not segments or self.without_segments:
            record.update(rest)
            return _ENCODE(record) + "\n"
        items = ", ".join(map(_segment_json, self.segments))
        return f'{_ENCODE(record)[:-1]}, "segments": [{items}], {_ENCODE(rest)[1:]}\n'

    def _record_parts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The record's fields before its segments, and after them."""
        record: dict[str, Any] = {"id": self.id, "model": self.model, "title": self.title, "language": self.language}
        if self.text is not None:  # what the segment offsets point into: an HTML page's rendering, or --with-text
            record["text"] = self.text
        rest: dict[str, Any] = {
            "story": self.story,
            "topics": {name: round(float(p), 4) for name, p in self.topics.items()},
            "tags": list(self.tags),
        }
        for key, value in self.extra.items():
            if key not in RESERVED_FIELDS and key not in ("text", "html"):
                rest[key] = value
        return record, rest


# What json.dumps writes records with (ensure_ascii=False: the text as it is; allow_nan=False: valid JSON only).
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_LABEL_JSON = {label: encode_basestring(str(label)) for label in Label}


def _segment_json(scored: ScoredSegment) -> str:
    """A segment's object in a record, as json.dumps writes ``scored.to_record()``."""
    start, end, text = scored.segment.start, scored.segment.end, scored.segment.text
    if type(start) is not int or type(end) is not int or type(text) is not str:  # not as labelling makes them
        return _ENCODE(scored.to_record())
    return (
        f'{{"start": {start}, "end": {end}, "text": {encode_basestring(text)}, '
        f'"label": {_label_json(scored.label)}, "score": {_score_json(scored.score)}}}'
    )


def _label_json(label: Label) -> str:
    return _LABEL_JSON[label] if type(label) is Label else encode_basestring(str(label))


def _score_json(score: float) -> str:
    """A segment's score as its record writes it: rounded to 4 places, as json.dumps writes a float."""
    value = round(float(score), 4)
    if not math.isfinite(value):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return float.__repr__(value)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (JSON allows 10**400)
        return False


def _score(value: Any) -> float:
    if not _is_number(value):
        raise ValueError(f"a score must be a finite number, not {value!r}")
    return float(value)


def _segments_from_records(items: Any) -> tuple[ScoredSegment, ...]:
    if not isinstance(items, list):
        raise ValueError("'segments' must be a list")
    try:
        return tuple(
            ScoredSegment(
                Segment(str(s["text"]), int(s["start"]), int(s["end"])), Label.parse(s["label"]), _score(s["score"])
            )
            for s in items
        )
    except (KeyError, TypeError, ValueError, OverflowError, TrainingDataError) as error:
        raise ValueError(
            f"each segment needs text, start, end, label and score ({type(error).__name__}: {error})"
        ) from None


def is_label_record(record: Mapping[str, Any]) -> bool:
    """Whether a JSON object is a record written by ``label`` (not a page to label).

    ``label`` writes ``model`` (``name@version``), ``story``, ``topics`` and
    ``tags`` in every record, and never the page's ``html``. A line with a
    page whose own fields include a ``story`` and a ``model`` (a gold text,
    a CMS's product name) is a page to label when it holds ``html``, or
    ``text`` with a ``model`` not of that form or with neither ``topics``
    nor ``tags``.
    """
    if "story" not in record or "model" not in record or "html" in record:
        return False
    if "text" not in record:  # no page: nothing else it can be
        return True
    model = record["model"]
    return (
        ("topics" in record or "tags" in record) and isinstance(model, str) and _MODEL_ID.fullmatch(model) is not None
    )


# How ``label`` names the model in a record: ``name@version``.
_MODEL_ID = re.compile(r".+@[0-9]+", re.DOTALL)


def is_error_record(record: Mapping[str, Any]) -> bool:
    """Whether a JSON object is an error record written by ``label`` (no page, an error with type and message)."""
    error = record.get("error")
    return (
        record.get("text") is None
        and record.get("html") is None
        and isinstance(error, Mapping)
        and {"type", "message"} <= error.keys()
    )


@dataclass(frozen=True)
class FailedDocument:
    """A document that could not be processed, in its place in the output."""

    id: str | None
    error_type: str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_record(self, segments: bool = True) -> dict:
        record: dict[str, Any] = {"id": self.id, "error": {"type": self.error_type, "message": self.message}}
        for key, value in self.extra.items():
            if key not in RESERVED_FIELDS and key not in ("text", "html"):
                record[key] = value
        return record

    def json_line(self, segments: bool = True) -> str:
        """The error record as a line of JSON (see :meth:`LabeledDocument.json_line`)."""
        return _ENCODE(self.to_record()) + "\n"
