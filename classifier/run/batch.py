"""Batch labelling: stream documents through a model into JSONL records.

The runner reads inputs lazily, cuts them into chunks, has each chunk
labelled (here, in worker processes or on a Dask cluster; see
:mod:`classifier.run.engines`) and writes each chunk's records as soon as it
and every chunk before it are done, so records come out in input order and
memory stays flat however many documents there are. The workers turn their
chunk into finished JSON lines, so the main process only reads and writes.

A document that fails becomes an error record in its place and the run goes
on. SIGINT and SIGTERM stop the run after the chunk being written: the
output then ends with a complete record, and the same command with
``--resume`` (see :mod:`classifier.run.resume`) finishes the job.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import OutputError, RunStoppedError, WorkerError
from ..inputs.discovery import PassedOver, iter_documents
from ..inputs.formats import InputFormat
from ..inputs.warc import SkippedRecords
from ..limits import document_cost, limits_of
from ..records import Document, FailedDocument, LabeledDocument
from .engines import run_chunks
from .ordered import DEFAULT_CHUNK, chunked
from .positions import FirstDocuments, IdTally, Position, write_position
from .resume import Finished
from .tasks import DOCUMENT_ISOLATION, ChunkLabeller, ChunkRecords, TopicSelector, records_of_chunk


@dataclass
class RunOptions:
    """What a labelling run was asked to do.

    ``workers`` > 1 labels in that many processes; ``scheduler`` (a Dask
    scheduler address) on a cluster instead. ``finished`` holds the ids
    already in the output of an interrupted run, to be skipped.
    ``with_text`` puts each text page's text in its record.
    ``position_file``, when set, is rewritten after each chunk with how
    many input documents the output accounts for (``filter``'s side file;
    never with ``finished`` by ids: those skipped may be anywhere in the
    input, and none is counted by position).
    """

    inputs: list[str]
    fmt: InputFormat = InputFormat.AUTO
    segments: bool = True
    with_text: bool = False
    chunk_size: int = DEFAULT_CHUNK
    workers: int = 1
    scheduler: str | None = None
    finished: Finished | FirstDocuments | None = None
    position_file: Path | None = None


@dataclass
class RunSummary:
    """Counts of a run, for the progress display, the closing line and the exit code.

    ``interrupted`` is the number of the signal that stopped the run early;
    ``signalled_at_end`` that of one that came when the last chunk was under
    way and the input was known to be read to its end (every document done:
    nothing to resume; a last chunk that came out full is not known to be
    the last, as the input is not read ahead);
    ``records_skipped`` counts the WARC records read that are not pages,
    ``passed_over`` the entries of input directories not read.
    """

    documents: int = 0
    failed: int = 0
    written: int = 0
    skipped: int = 0
    records_skipped: SkippedRecords = field(default_factory=SkippedRecords)
    passed_over: PassedOver = field(default_factory=PassedOver)
    seconds: float = 0.0
    errors_by_type: dict[str, int] = field(default_factory=dict)
    interrupted: int | None = None
    signalled_at_end: int | None = None

    @property
    def pages_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    def add(self, chunk: ChunkRecords) -> None:
        self.documents += chunk.documents
        self.failed += chunk.failed
        self.written += chunk.written
        for kind, count in chunk.errors_by_type.items():
            self.errors_by_type[kind] = self.errors_by_type.get(kind, 0) + count


class _Counted:
    """The documents of a run, counted as they are read: ``done`` is their number once all are read, else None."""

    def __init__(self, documents: Iterable):
        self._documents = documents
        self.done: int | None = None

    def __iter__(self) -> Iterator:
        count = 0
        for document in self._documents:
            count += 1
            yield document
        self.done = count


class _Stop:
    """Set by SIGINT or SIGTERM: the run ends after the chunk being written."""

    signal: int | None = None


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """Turn the first SIGINT/SIGTERM into a request to stop; a second one acts as usual."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield stop
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def request(number, frame) -> None:
        stop.signal = number
        for other, handler in previous.items():
            signal.signal(other, handler)
        # Said at once: the chunk being labelled (or read: an idle standard input) may take a while.
        again = "" if previous[number] == signal.SIG_IGN else " (again to stop at once)"
        try:  # straight to the descriptor: a handler may run inside another write to sys.stderr
            os.write(
                2,
                f"storyfilter: {signal.Signals(number).name}: stopping once the chunk under way is written"
                f"{again}\n".encode(),
            )
        except OSError:  # no stderr to say it on: the stop stands
            pass

    for number in previous:
        signal.signal(number, request)
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _unfinished(documents: Iterable, finished: Finished | FirstDocuments, summary: RunSummary) -> Iterator:
    """The documents whose records are not in the output yet."""
    for document in documents:
        if finished.take(document.id):
            summary.skipped += 1
        else:
            yield document
    if isinstance(finished, FirstDocuments):
        finished.check_all_taken()


def _byte_writer(out: IO[str]) -> Callable[[bytes], None]:
    """Write UTF-8 bytes to a text stream and flush: to its binary buffer when it has one.

    JSONL is UTF-8 whatever the stream's own encoding (a console's, or
    PYTHONIOENCODING's): its text layer could not write every record.
    """
    buffer = getattr(out, "buffer", None)
    if buffer is None:

        def write(data: bytes) -> None:
            out.write(data.decode("utf-8"))
            out.flush()

        return write
    out.flush()  # anything written as text so far goes first

    def write(data: bytes) -> None:
        buffer.write(data)
        buffer.flush()

    return write


def selection_of(select: object) -> dict | None:
    """What a :class:`TopicSelector` keeps, as the side file of ``filter`` records it (None for anything else)."""
    if not isinstance(select, TopicSelector):
        return None
    return {"topics": sorted(select.wanted), "min_score": select.min_score}


def _write_or_stop(write: Callable[[bytes], None], data: bytes, summary: RunSummary) -> None:
    """Write one chunk's records; a write that fails stops the run with an :class:`OutputError`."""
    try:
        write(data)
    except BrokenPipeError:
        raise OutputError(f"the output was closed by its reader after {summary.written} records", closed=True) from None
    except OSError as error:
        raise OutputError(
            f"cannot write the output ({error.strerror or error}) after {summary.written} records; "
            "its last record may be cut short: make room and run the same command with --resume "
            "(with -o) to repair it and go on"
        ) from None


def run_label(
    model: ChunkLabeller,
    options: RunOptions,
    out: IO[str],
    progress: Callable[[RunSummary], None] = lambda _: None,
    select: Callable[[LabeledDocument], bool] | None = None,
) -> RunSummary:
    """Label every input document and write its record to ``out``, in input order.

    With ``select``, only the labelled documents it accepts are written
    (error records always are). Each chunk's records are written and
    flushed together. A signal stops the run cleanly: the summary's
    ``interrupted`` says which.

    Raises
    ------
    WorkerError
        When a worker process (or Dask worker) dies; what was written stands.
    RunStoppedError
        When anything else stops the run once records are written (its
        input failing to be read, say); what was written stands.
    OutputError
        When the output cannot be written (a full disk, a closed pipe).
    """
    summary = RunSummary()
    started = time.perf_counter()
    documents: Iterable[Document | LabeledDocument | FailedDocument] = iter_documents(
        options.inputs, options.fmt, summary.records_skipped, limits_of(model).max_chars, summary.passed_over
    )
    # The side file's digest of the ids accounted for: of the documents a side file said were done too (a
    # resumed run skips them first, and asks for no digest below them).
    tally = None
    if options.position_file is not None:
        resumed = options.finished
        tally = IdTally(floor=resumed.records if isinstance(resumed, FirstDocuments) else 0)
        documents = tally.counted(documents)
    if options.finished is not None:
        documents = _unfinished(documents, options.finished, summary)
    source = _Counted(documents)
    with _stop_on_signals() as stop:
        chunks = run_chunks(
            model,
            records_of_chunk,
            chunked(source, options.chunk_size, limits_of(model).max_segments, document_cost),
            options.segments,
            select,
            options.with_text,
            workers=options.workers,
            scheduler=options.scheduler,
            isolation=DOCUMENT_ISOLATION,
        )
        write = _byte_writer(out)
        labeller = getattr(model, "model_id", None)  # the side file says it: what --resume checks the next run against
        try:
            for chunk in chunks:
                _write_or_stop(write, chunk.lines, summary)
                summary.add(chunk)
                if options.position_file is not None:
                    size = os.fstat(out.fileno()).st_size  # flushed: what is on disk
                    done = summary.skipped + summary.documents
                    position = Position(
                        done, size, labeller, options.segments, selection_of(select), tally.at(done) if tally else None
                    )
                    write_position(options.position_file, position)
                summary.seconds = time.perf_counter() - started
                progress(summary)
                if stop.signal is not None and source.done == summary.documents:  # that chunk was the last
                    summary.signalled_at_end = stop.signal
                elif stop.signal is not None:
                    summary.interrupted = stop.signal
                    break
        except WorkerError as error:
            summary.interrupted = stop.signal
            if stop.signal is None:  # not a Ctrl-C that reached a starting worker
                raise WorkerError(
                    f"{error} after {summary.documents} documents; "
                    "the output ends with a complete record: run the same command with --resume to go on"
                ) from None
        except OutputError:
            raise
        except Exception as error:  # past the first records: say that the output is partial
            if not summary.documents:
                raise
            raise RunStoppedError(
                f"the run stopped after {summary.documents} documents: {type(error).__name__}: {error}; "
                "the output ends with a complete record: run the same command with --resume to go on"
            ) from error
        finally:
            chunks.close()
    summary.seconds = time.perf_counter() - started
    return summary
