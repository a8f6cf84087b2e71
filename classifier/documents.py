"""Documents in and records out.

A :class:`Document` is one page to label, as read from a file or a JSONL
line. A :class:`LabeledDocument` is the result: every segment with its
label and story probability, the story, the topic probabilities and tags.
A :class:`FailedDocument` stands in the output for a document that could not
be processed, so that no document is ever silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

from .labels import Label
from .segments import Segment

# Fields of an output record that a document's own fields may not overwrite.
RESERVED_FIELDS = frozenset({"id", "model", "segments", "story", "topics", "tags", "error"})


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
    """A labelled page: its segments, story, topics and tags."""

    id: str
    model: str
    segments: tuple[ScoredSegment, ...]
    topics: Mapping[str, float] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None

    @property
    def story(self) -> str:
        """The story segments joined by blank lines."""
        return "\n\n".join(s.segment.text for s in self.segments if s.label is Label.STORY)

    def to_record(self, segments: bool = True) -> dict:
        """The output record of SPEC.md (``segments=False`` leaves them out)."""
        record: dict[str, Any] = {"id": self.id, "model": self.model}
        if segments:
            record["segments"] = [s.to_record() for s in self.segments]
        record["story"] = self.story
        record["topics"] = {name: round(float(p), 4) for name, p in self.topics.items()}
        record["tags"] = list(self.tags)
        for key, value in self.extra.items():
            if key not in RESERVED_FIELDS and key not in ("text", "html"):
                record[key] = value
        return record


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
