"""``storyfilter label`` and ``storyfilter filter``: pages in, one JSON record per page out."""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from ..arguments import is_probability
from ..errors import InputError
from ..inputs.formats import InputFormat
from ..limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_SEGMENTS, DocumentLimits
from ..run.ordered import DEFAULT_CHUNK
from .exits import EXIT_FAILED_DOCUMENTS, EXIT_OK, ctrl_c_held, exit_codes
from .options import (
    ChunkSizeOption,
    FormatOption,
    MaxCharsOption,
    MaxSegmentsOption,
    ModelOption,
    NoSegmentsOption,
    OutOption,
    ResumeOption,
    SchedulerOption,
    WorkersOption,
)

if TYPE_CHECKING:
    from ..run.batch import RunSummary
    from ..run.positions import FirstDocuments
    from ..run.resume import Finished


@dataclass
class LabelJob:
    """The options label and filter share, gathered."""

    inputs: list[str]
    out: Path | None
    model: Path | None
    fmt: InputFormat
    segments: bool
    chunk_size: int
    workers: int | None
    scheduler: str | None
    resume: bool
    limits: DocumentLimits
    with_text: bool = False


def label(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files (text, HTML, JSONL, JSON, WARC), directories, or - for JSONL on standard input."),
    ],
    out: OutOption = None,
    model: ModelOption = None,
    format: FormatOption = InputFormat.AUTO,
    no_segments: NoSegmentsOption = False,
    chunk_size: ChunkSizeOption = DEFAULT_CHUNK,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    max_segments: MaxSegmentsOption = DEFAULT_MAX_SEGMENTS,
    max_chars: MaxCharsOption = DEFAULT_MAX_CHARS,
    with_text: Annotated[
        bool,
        typer.Option(
            "--with-text",
            help="Put each text page's text in its record (HTML pages' records hold their rendering anyway), "
            "so that a record with its labels corrected is a training record.",
        ),
    ] = False,
) -> None:
    """Label every segment of every page as story or chrome and write one JSON record per page."""
    limits = DocumentLimits(max_segments, max_chars)
    run(
        LabelJob(inputs, out, model, format, not no_segments, chunk_size, workers, scheduler, resume, limits, with_text)
    )


def filter_(
    inputs: Annotated[
        list[str], typer.Argument(help="Pages (files, directories, - for JSONL) or records written by label.")
    ],
    topic: Annotated[
        list[str], typer.Option("--topic", help="Keep documents whose story carries this topic (repeatable).")
    ],
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            min=0.0,
            max=1.0,
            help="Keep when a topic's probability is at least this; else use the tag thresholds.",
        ),
    ] = None,
    out: OutOption = None,
    model: ModelOption = None,
    format: FormatOption = InputFormat.AUTO,
    no_segments: NoSegmentsOption = False,
    chunk_size: ChunkSizeOption = DEFAULT_CHUNK,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    max_segments: MaxSegmentsOption = DEFAULT_MAX_SEGMENTS,
    max_chars: MaxCharsOption = DEFAULT_MAX_CHARS,
) -> None:
    """Write the records whose story carries any of the topics (raw pages are labelled on the way).

    Records already written by `label` are read back, not labelled again.
    Error records are written too, so that no failure goes unseen.
    """
    from ..run.tasks import TopicSelector

    if min_score is not None and not is_probability(min_score):  # NaN passes typer's range check
        raise typer.BadParameter(f"{min_score} is not a probability from 0 to 1", param_hint="'--min-score'")

    def selector(loaded):
        return TopicSelector(frozenset(loaded.check_topics(topic)), min_score)

    limits = DocumentLimits(max_segments, max_chars)
    run(LabelJob(inputs, out, model, format, not no_segments, chunk_size, workers, scheduler, resume, limits), selector)


def run(job: LabelJob, selector: Callable | None = None) -> None:
    """Shared body of ``label`` and ``filter``: check, load, stream, summarise, exit.

    ``selector`` gets the loaded model and returns the predicate that picks
    the documents to write (raising a usage or model error if it cannot).
    """
    from ..modelfile import read_ahead

    read_ahead(job.model)  # in a thread, while the labelling modules import (classifier/modelfile.py)
    with exit_codes(resumable=True):
        with ctrl_c_held():  # a Ctrl-C while native modules import stops the run once they have
            from ..inputs.discovery import check_inputs, check_output
            from ..model.labelling import freeze_loaded
            from ..model.model import load_model
            from ..run.batch import RunOptions, run_label, selection_of
            from ..run.positions import check_same_filter_run, side_file
            from ..run.resume import Finished, check_same_run
            from ..run.workers import available_cores

            check_inputs(job.inputs, job.fmt)
            check_output(job.out, job.inputs)
            loaded = load_model(job.model, limits=job.limits)  # (may import the rest of scikit-learn's modules)
        freeze_loaded(collect=False)  # with --workers 1 this process labels: the collector need not walk the model
        select = selector(loaded) if selector is not None else None
        # filter's output cannot say which inputs it has done: a side file keeps count, for --resume.
        positions = select is not None and job.out is not None and str(job.out) != "-"
        # Not beside -o /dev/null, nor beside -o /dev/stdout when the shell sends it to a file.
        positions = positions and (job.out.is_file() or not job.out.exists()) and not _device_name(job.out)
        if job.resume and job.out is not None and str(job.out) != "-":
            with _one_writer(job.out, create=False):  # (before reading it: a live run's file says nothing yet)
                pass
            if positions:
                check_same_filter_run(job.out, loaded.model_id, job.segments, selection_of(select))
            else:
                check_same_run(job.out, loaded.model_id, job.segments, job.with_text)
        with _output(job.out, job.resume, positions) as (handle, finished):
            options = RunOptions(
                inputs=job.inputs,
                fmt=job.fmt,
                segments=job.segments,
                with_text=job.with_text,
                chunk_size=job.chunk_size,
                workers=job.workers or available_cores(),
                scheduler=job.scheduler,
                finished=finished,
                # Not after a resume by the ids an output holds (it had no side file): reading runs ahead of
                # writing, and the documents skipped by id so far would be counted as done by position.
                position_file=side_file(job.out) if positions and not isinstance(finished, Finished) else None,
            )
            if finished is not None and finished.repaired:
                typer.echo(
                    f"storyfilter: cut a half-written last line ({finished.repaired} bytes) off {job.out}", err=True
                )
            display, update = _progress_reporter(job.inputs, job.fmt)
            with display if display is not None else nullcontext():
                summary = run_label(loaded, options, handle, update, select)
        # Still inside: a second Ctrl-C while the summary is written ends the same way.
        if isinstance(finished, Finished) and finished.records and not summary.skipped:
            typer.echo(
                f"storyfilter: warning: --resume found {finished.records} records in {job.out}, none of them of "
                "these inputs: the run was appended after them (another run's output, or other inputs?)",
                err=True,
            )
        line = summary_line(summary)
        if select is not None:
            line += f"; {summary.written - summary.failed} kept"
        before = getattr(finished, "errors", 0)  # a resumed run: the output's error records of the first part
        if before:
            line += f"; {before} error {'record' if before == 1 else 'records'} in {job.out} from before"
        if summary.interrupted is not None:
            for number in (signal.SIGINT, signal.SIGTERM):  # stopping already: a further Ctrl-C changes nothing
                signal.signal(number, signal.SIG_IGN)
            name = signal.Signals(summary.interrupted).name
            typer.echo(
                f"storyfilter: stopped by {name}: {line}. The output ends with a complete record; "
                "run the same command with --resume to finish.",
                err=True,
            )
            raise typer.Exit(128 + summary.interrupted)
        if summary.signalled_at_end is not None:
            line += f"; every document was done when {signal.Signals(summary.signalled_at_end).name} came"
        typer.echo(line, err=True)
        raise typer.Exit(EXIT_FAILED_DOCUMENTS if summary.failed or before else EXIT_OK)


def _device_name(path: Path) -> bool:
    """Whether ``path`` names a device or a descriptor (``/dev/stdout``, ``/proc/self/fd/1``), whatever it leads to:
    a name in /dev or /proc that is not a regular file of its own (``/dev/shm/out.jsonl`` is one)."""
    if path.absolute().parts[1:2] not in (("dev",), ("proc",)):
        return False
    try:
        return not stat.S_ISREG(path.lstat().st_mode)
    except OSError:  # not there yet: a file to be made
        return False


@contextmanager
def _output(
    path: Path | None, resume: bool = False, positions: bool = False
) -> Iterator[tuple[IO[str], Finished | FirstDocuments | None]]:
    """Where records go, and with ``resume`` what that file already holds.

    Standard output, or ``path`` opened once its directory is known to
    exist: for writing, or with ``resume`` repaired and opened for appending.
    With ``positions`` (``filter``), the side file beside ``path`` says how
    many input documents are done; a new run starts it at none.
    """
    if path is None or str(path) == "-":
        if resume:
            raise InputError("--resume needs the output file of the interrupted run: -o FILE")
        yield sys.stdout, None
        return
    if not path.parent.is_dir():
        raise InputError(f"output directory does not exist: {path.parent}")
    with _one_writer(path), _opened(path, resume, positions) as opened:
        yield opened


@contextmanager
def _opened(path: Path, resume: bool, positions: bool) -> Iterator[tuple[IO[str], Finished | FirstDocuments | None]]:
    """:func:`_output`'s file, once this run is its one writer."""
    from ..run.positions import Position, prepare_position_resume, side_file, write_position
    from ..run.resume import prepare_resume

    finished = None
    try:
        if resume and positions:
            finished = prepare_position_resume(path)
            if finished is None:
                typer.echo(
                    f"storyfilter: no {side_file(path).name} beside {path}: resuming by the ids it holds "
                    "(where an id repeats, a record may be written twice; this run keeps no side file either)",
                    err=True,
                )
        if resume and finished is None:
            finished = prepare_resume(path)
        handle = open(path, "a" if resume else "w", encoding="utf-8")  # noqa: SIM115 - closed by the `with` below
        if positions and not resume:
            write_position(side_file(path), Position(0, 0))
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    with handle:
        yield handle, finished


@contextmanager
def _one_writer(path: Path, create: bool = True) -> Iterator[None]:
    """Hold a lock on the output file for the run: a second run on the same ``-o`` (a retry while the first is
    still alive: its supervisor killed only a wrapper) would interleave its records with the first's.

    An advisory lock (flock) on the file itself, taken before anything is cut or written; the kernel
    drops it when the run ends, killed too. Where the system or the file system has no such locks, or
    the output is not a regular file, the run goes on without one. With ``create`` false, a file that is
    not there is not made: held and let go at once, it checks that no run is writing the file.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        fcntl = None
    if fcntl is None or (path.exists() and not path.is_file()) or not (create or path.exists()):
        yield  # no locks here; a device or a pipe (-o /dev/null); or no file yet to check
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | (os.O_CREAT if create else 0), 0o666)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"another run is writing {path} (a storyfilter still running?): wait for it to end or stop it, "
                "then run again (with --resume to finish its work)"
            ) from None
        except OSError:  # a file system without locks
            pass
        yield
    finally:
        os.close(descriptor)


def _progress_reporter(inputs: list[str], fmt: InputFormat):
    """A rich progress display on a terminal (nothing in a pipe), and its update function.

    The inputs' documents are counted on a thread while the run starts, so
    that the display can show the total and a time left once it is known.
    """
    if not sys.stderr.isatty():
        return None, lambda summary: None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ..inputs.discovery import count_documents

    display = Progress(
        SpinnerColumn(),
        MofNCompleteColumn(),
        TextColumn("documents"),
        BarColumn(),
        TextColumn("{task.fields[rate]:.0f} pages/s"),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = display.add_task("label", total=None, rate=0.0, failed=0)
    total: list[int | None] = [None]

    def count() -> None:
        try:
            total[0] = count_documents(inputs, fmt)
        except Exception:  # noqa: BLE001 - the total is a nicety; the run reports what it reads
            pass

    # A daemon thread: a run that ends (or is stopped) does not wait for the count.
    threading.Thread(target=count, name="storyfilter-count", daemon=True).start()

    def update(summary: RunSummary) -> None:
        known = total[0]
        if known is not None:
            known = max(known - summary.skipped, summary.documents)
        display.update(
            task, completed=summary.documents, total=known, rate=summary.pages_per_second, failed=summary.failed
        )

    return display, update


def summary_line(summary: RunSummary) -> str:
    """The closing line of a run: documents, time, speed, skipped, failures by kind."""
    noun = "document" if summary.documents == 1 else "documents"
    line = f"{summary.documents} {noun} in {summary.seconds:.1f}s ({summary.pages_per_second:.0f} pages/s)"
    if summary.skipped:
        line += f"; {summary.skipped} already done"
    if summary.records_skipped:
        line += f"; {summary.records_skipped.describe()}"
    if summary.passed_over:
        line += f"; {summary.passed_over.describe()}"
    if summary.failed:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.errors_by_type.items()))
        line += f"; {summary.failed} failed ({kinds}): see their error records"
    return line
