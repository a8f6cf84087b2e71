"""The tasks an engine runs on a chunk of documents, and what stands in for a document that kills its worker.

:func:`label_chunk_task` gives the labelled documents (``Model.label_many``);
:func:`records_of_chunk` gives them as the finished JSON lines ``label``
and ``filter`` write, so that worker processes send back bytes ready for
the output and the main process only writes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..records import Document, FailedDocument, LabeledDocument
from .ordered import Isolation


class ChunkLabeller(Protocol):
    """What the tasks need of a model (:class:`~classifier.model.model.Model` is one)."""

    def label_chunk(self, chunk: Sequence) -> list[LabeledDocument | FailedDocument]: ...


def label_chunk_task(model: ChunkLabeller, chunk: list) -> list[LabeledDocument | FailedDocument]:
    """The task :meth:`~classifier.model.model.Model.label_many` runs on each chunk, wherever it runs."""
    return model.label_chunk(chunk)


def _probe() -> Document:
    """A document any working labeller labels: to tell a deadly document from failing workers."""
    return Document(id="probe", text="A probe of one line.")


def _killed_its_worker(item: Any) -> FailedDocument:
    """The error record that stands for a document whose labelling kills the worker process."""
    return FailedDocument(
        getattr(item, "id", None),
        "WorkerError",
        "the worker process labelling this document died (a crash or the out-of-memory killer); it was not labelled",
        getattr(item, "extra", {}),
    )


# How the engines isolate documents that kill their workers.
DOCUMENT_ISOLATION = Isolation(probe=_probe, stand_in=_killed_its_worker)


@dataclass(frozen=True)
class TopicSelector:
    """Picks the labelled documents whose story carries any of the wanted topics.

    A plain object rather than a closure, so that worker processes can be
    sent it.
    """

    wanted: frozenset[str]
    min_score: float | None = None

    def __call__(self, document: LabeledDocument) -> bool | FailedDocument:
        return document.judged(self.wanted, self.min_score)


@dataclass
class ChunkRecords:
    """A labelled chunk as the JSON lines to write (UTF-8), with its counts.

    Bytes rather than text: they cross from a worker and go to the file
    without being decoded and encoded again on the way. Parts of a chunk
    add up (``+``) to the whole, as every task's results must.
    """

    lines: bytes
    documents: int
    failed: int
    written: int
    errors_by_type: dict[str, int]

    def __add__(self, other: ChunkRecords) -> ChunkRecords:
        """The records of this part of a chunk followed by the next part's, as for the chunk whole."""
        return ChunkRecords.joined([self, other])

    @classmethod
    def joined(cls, parts: Sequence[ChunkRecords]) -> ChunkRecords:
        """Parts of a chunk, in order, as one (joined at once: adding many parts in turn copies their lines each time)."""
        errors: dict[str, int] = {}
        for part in parts:
            for kind, count in part.errors_by_type.items():
                errors[kind] = errors.get(kind, 0) + count
        return cls(
            b"".join(p.lines for p in parts),
            sum(p.documents for p in parts),
            sum(p.failed for p in parts),
            sum(p.written for p in parts),
            errors,
        )


def records_of_chunk(
    model: ChunkLabeller,
    chunk: list,
    segments: bool,
    select: Callable[[LabeledDocument], bool | FailedDocument] | None,
    with_text: bool = False,
) -> ChunkRecords:
    """Label a chunk and turn it into JSON lines: the task every engine runs.

    With ``select``, only the labelled documents it accepts are kept (error
    records always are, so that no failure goes unseen, and so is the error
    record ``select`` gives for a document it cannot judge). With
    ``with_text``, a text page's record carries its text (an HTML page's
    carries its rendering anyway).
    """
    results = model.label_chunk(chunk)
    if with_text:
        results = [with_page_text(result, document) for result, document in zip(results, chunk)]
    return records_of_results(results, segments, select)


def with_page_text(result: LabeledDocument | FailedDocument, document: object) -> LabeledDocument | FailedDocument:
    """A labelled text page with its text, so that its record holds what the segment offsets point into."""
    text = document.text if isinstance(document, Document) else None
    if isinstance(result, LabeledDocument) and result.text is None and isinstance(text, str):
        return dataclasses.replace(result, text=text)
    return result


def selected(
    result: LabeledDocument | FailedDocument, select: Callable[[LabeledDocument], bool | FailedDocument] | None
) -> LabeledDocument | FailedDocument | None:
    """What takes ``result``'s place when ``select`` picks (``filter``): the document it keeps, the error record it
    gives for one it cannot judge, or None for one it leaves out; an error record stays, so that no failure goes
    unseen."""
    if isinstance(result, FailedDocument) or select is None:
        return result
    verdict = select(result)
    if isinstance(verdict, FailedDocument):
        return verdict
    return result if verdict else None


def records_of_results(
    results: list[LabeledDocument | FailedDocument],
    segments: bool,
    select: Callable[[LabeledDocument], bool | FailedDocument] | None,
) -> ChunkRecords:
    """Labelled documents as the JSON lines ``label`` (or, with ``select``, ``filter``) writes for them."""
    lines: list[str] = []
    failed = 0
    errors: dict[str, int] = {}
    for result in results:
        result = selected(result, select)
        if result is None:
            continue
        line = _json_line(result, segments)
        if line is None:  # a field carried through that JSON cannot hold: an error record, without the fields
            if isinstance(result, FailedDocument):  # its own error stays
                result = FailedDocument(result.id, result.error_type, result.message)
            else:
                result = FailedDocument(
                    result.id,
                    "OutputError",
                    "its record cannot be written as JSON: a field carried "
                    "through holds NaN or Infinity, or is nested too deeply",
                )
            line = _json_line(result, segments)
        if isinstance(result, FailedDocument):
            failed += 1
            errors[result.error_type] = errors.get(result.error_type, 0) + 1
        lines.append(line)
    # A lone surrogate (JSON accepts "\\ud800") is written as that same escape, so the line stays valid.
    return ChunkRecords(
        "".join(lines).encode("utf-8", errors="backslashreplace"), len(results), failed, len(lines), errors
    )


def _json_line(result: LabeledDocument | FailedDocument, segments: bool) -> str | None:
    """The result's record as a JSON line; None when JSON cannot hold it (fields of the input carried through)."""
    try:
        return result.json_line(segments=segments)
    except (ValueError, RecursionError):
        return None
