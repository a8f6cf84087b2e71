"""Batch labelling: stream documents through a model into JSONL records.

The runner reads inputs lazily, labels them a chunk at a time and writes
each record as soon as it is done, in input order, so memory stays flat
however many documents there are. A document that fails becomes an error
record in its place and the run goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import IO, Callable, Iterator

from .bundle import DEFAULT_CHUNK, Model
from .documents import FailedDocument, LabeledDocument
from .io import InputFormat, iter_documents, write_records


@dataclass
class RunOptions:
    """What a labelling run was asked to do."""

    inputs: list[str]
    fmt: InputFormat = InputFormat.AUTO
    segments: bool = True
    chunk_size: int = DEFAULT_CHUNK


@dataclass
class RunSummary:
    """Counts of a finished run, for the closing line and the exit code."""

    documents: int = 0
    failed: int = 0
    written: int = 0
    seconds: float = 0.0
    errors_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0


def run_label(
    model: Model,
    options: RunOptions,
    out: IO[str],
    progress: Callable[[RunSummary], None] = lambda _: None,
    select: Callable[[LabeledDocument], bool] | None = None,
) -> RunSummary:
    """Label every input document and write its record to ``out``.

    With ``select``, only the labelled documents it accepts are written
    (error records always are, so that no failure goes unseen).
    """
    summary = RunSummary()
    started = time.perf_counter()
    documents = iter_documents(options.inputs, options.fmt)

    def records() -> Iterator[dict]:
        for result in model.label_many(documents, options.chunk_size):
            summary.documents += 1
            if isinstance(result, FailedDocument):
                summary.failed += 1
                summary.errors_by_type[result.error_type] = summary.errors_by_type.get(result.error_type, 0) + 1
            summary.seconds = time.perf_counter() - started
            progress(summary)
            if select is None or isinstance(result, FailedDocument) or select(result):
                summary.written += 1
                yield result.to_record(segments=options.segments)

    write_records(records(), out)
    summary.seconds = time.perf_counter() - started
    return summary
