"""The ``storyfilter`` command line.

Each command parses its options into one options object, calls the library
and renders the result. JSONL goes to standard output or ``-o``;
diagnostics and progress go to standard error. Exit codes are decided here
and only here: 0 every document done, 1 some documents failed (each has an
error record), 2 usage error, 3 model missing, corrupt or incompatible,
4 the run stopped early because a worker died (resume it); a run stopped
by a signal exits 128 + its number (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Annotated, Callable, Iterator, Optional

import typer

from .batch import RunOptions, RunSummary, TopicSelector, run_label
from .bundle import DEFAULT_CHUNK, load_model
from .errors import InputError, ModelError, OutputError, StoryfilterError, TrainingDataError, WorkerError
from .documents import Document, FailedDocument
from .io import InputFormat, check_inputs, count_documents, iter_documents
from .parallel import available_cores
from .resume import Finished, prepare_resume

EXIT_OK, EXIT_FAILED_DOCUMENTS, EXIT_USAGE, EXIT_MODEL, EXIT_UNFINISHED = 0, 1, 2, 3, 4

app = typer.Typer(
    help="Label scraped news pages as story or site chrome, return the clean story, tag it by topic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"storyfilter: {message}", err=True)
    return typer.Exit(code)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that Python's own flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (under a test runner): nothing to silence
        pass


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Turn the library's expected errors into one line on stderr and an exit code."""
    try:
        yield
    except ModelError as error:
        raise _fail(str(error), EXIT_MODEL) from None
    except WorkerError as error:
        raise _fail(str(error), EXIT_UNFINISHED) from None
    except OutputError as error:
        if error.closed:  # `storyfilter label ... | head`: stop as a program killed by SIGPIPE would
            _silence_stdout()
            raise _fail(str(error), 128 + signal.SIGPIPE) from None
        raise _fail(str(error), EXIT_UNFINISHED) from None
    except (InputError, TrainingDataError) as error:
        raise _fail(str(error), EXIT_USAGE) from None
    except StoryfilterError as error:
        raise _fail(str(error), EXIT_USAGE) from None
    except KeyboardInterrupt:  # a Ctrl-C before the run began, or a second one during it
        raise _fail(
            "interrupted by Ctrl-C (for label and filter: the output's last line may be half-written; "
            "the same command with --resume repairs it and finishes the run)",
            128 + signal.SIGINT,
        ) from None


@contextmanager
def _output(path: Optional[Path], resume: bool = False) -> Iterator[tuple[IO[str], Optional[Finished]]]:
    """Where records go, and with ``resume`` what that file already holds.

    Standard output, or ``path`` opened once its directory is known to
    exist: for writing, or with ``resume`` repaired and opened for appending.
    """
    if path is None or str(path) == "-":
        if resume:
            raise InputError("--resume needs the output file of the interrupted run: -o FILE")
        yield sys.stdout, None
        return
    if not path.parent.is_dir():
        raise InputError(f"output directory does not exist: {path.parent}")
    finished = None
    try:
        if resume:
            finished = prepare_resume(path)
        handle = open(path, "a" if resume else "w", encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    with handle:
        yield handle, finished


def _progress_reporter(inputs: list[str], fmt: InputFormat):
    """A rich progress display on a terminal (nothing in a pipe), and its update function.

    The inputs' documents are counted on a thread while the run starts, so
    that the display can show the total and a time left once it is known.
    """
    if not sys.stderr.isatty():
        return None, lambda summary: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

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
    total: list[Optional[int]] = [None]

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
        display.update(task, completed=summary.documents, total=known, rate=summary.pages_per_second, failed=summary.failed)

    return display, update


def _summary_line(summary: RunSummary) -> str:
    noun = "document" if summary.documents == 1 else "documents"
    line = f"{summary.documents} {noun} in {summary.seconds:.1f}s ({summary.pages_per_second:.0f} pages/s)"
    if summary.skipped:
        line += f"; {summary.skipped} already done"
    if summary.failed:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.errors_by_type.items()))
        line += f"; {summary.failed} failed ({kinds}): see their error records"
    return line


# Options that label and filter share.
OutOption = Annotated[Optional[Path], typer.Option("--out", "-o", help="Write records here instead of standard output.")]
ModelOption = Annotated[Optional[Path], typer.Option("--model", help="Model bundle (.joblib); the shipped default if omitted.")]
FormatOption = Annotated[InputFormat, typer.Option("--format", help="How to read the inputs; by file suffix when auto.")]
NoSegmentsOption = Annotated[bool, typer.Option("--no-segments", help="Leave the per-segment list out of the records.")]
ChunkSizeOption = Annotated[int, typer.Option("--chunk-size", min=1, help="Documents labelled together (and handed to a worker at a time).")]
WorkersOption = Annotated[
    Optional[int], typer.Option("--workers", min=1, help="Worker processes, each with one core and its own copy of the model [default: all cores].")
]
SchedulerOption = Annotated[
    Optional[str], typer.Option("--scheduler", help="Run on this Dask scheduler (e.g. tcp://10.0.0.5:8786) instead of local workers.")
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Finish an interrupted run: keep the records in -o FILE, label only what is missing.")
]


@dataclass
class _Job:
    """The options label and filter share, gathered."""

    inputs: list[str]
    out: Optional[Path]
    model: Optional[Path]
    fmt: InputFormat
    segments: bool
    chunk_size: int
    workers: Optional[int]
    scheduler: Optional[str]
    resume: bool


def _run(job: _Job, selector: Optional[Callable] = None) -> None:
    """Shared body of ``label`` and ``filter``: check, load, stream, summarise, exit.

    ``selector`` gets the loaded model and returns the predicate that picks
    the documents to write (raising a usage or model error if it cannot).
    """
    with _exit_codes():
        check_inputs(job.inputs)
        loaded = load_model(job.model)
        select = selector(loaded) if selector is not None else None
        with _output(job.out, job.resume) as (handle, finished):
            options = RunOptions(
                inputs=job.inputs,
                fmt=job.fmt,
                segments=job.segments,
                chunk_size=job.chunk_size,
                workers=job.workers or available_cores(),
                scheduler=job.scheduler,
                finished=finished,
            )
            if finished is not None and finished.repaired:
                typer.echo(f"storyfilter: cut a half-written last line ({finished.repaired} bytes) off {job.out}", err=True)
            display, update = _progress_reporter(job.inputs, job.fmt)
            with display if display is not None else nullcontext():
                summary = run_label(loaded, options, handle, update, select)
        # Still inside: a second Ctrl-C while the summary is written ends the same way.
        line = _summary_line(summary)
        if select is not None:
            line += f"; {summary.written - summary.failed} kept"
        if summary.interrupted is not None:
            for number in (signal.SIGINT, signal.SIGTERM):  # stopping already: a further Ctrl-C changes nothing
                signal.signal(number, signal.SIG_IGN)
            name = signal.Signals(summary.interrupted).name
            typer.echo(f"storyfilter: stopped by {name}: {line}. The output ends with a complete record; "
                       "run the same command with --resume to finish.", err=True)
            raise typer.Exit(128 + summary.interrupted)
        typer.echo(line, err=True)
        raise typer.Exit(EXIT_FAILED_DOCUMENTS if summary.failed else EXIT_OK)


@app.command()
def label(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories, or - for JSONL on standard input.")],
    out: OutOption = None,
    model: ModelOption = None,
    format: FormatOption = InputFormat.AUTO,
    no_segments: NoSegmentsOption = False,
    chunk_size: ChunkSizeOption = DEFAULT_CHUNK,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
) -> None:
    """Label every segment of every page as story or chrome and write one JSON record per page."""
    _run(_Job(inputs, out, model, format, not no_segments, chunk_size, workers, scheduler, resume))


@app.command("filter")
def filter_(
    inputs: Annotated[list[str], typer.Argument(help="Pages (files, directories, - for JSONL) or records written by label.")],
    topic: Annotated[list[str], typer.Option("--topic", help="Keep documents whose story carries this topic (repeatable).")],
    min_score: Annotated[Optional[float], typer.Option("--min-score", min=0.0, max=1.0, help="Keep when a topic's probability is at least this; else use the tag thresholds.")] = None,
    out: OutOption = None,
    model: ModelOption = None,
    format: FormatOption = InputFormat.AUTO,
    no_segments: NoSegmentsOption = False,
    chunk_size: ChunkSizeOption = DEFAULT_CHUNK,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
) -> None:
    """Write the records whose story carries any of the topics (raw pages are labelled on the way).

    Records already written by `label` are read back, not labelled again.
    Error records are written too, so that no failure goes unseen.
    """
    def selector(loaded):
        return TopicSelector(frozenset(loaded.check_topics(topic)), min_score)

    _run(_Job(inputs, out, model, format, not no_segments, chunk_size, workers, scheduler, resume), selector)


class Only(str, Enum):
    STORY = "story"
    CHROME = "chrome"


@app.command()
def show(
    file: Annotated[str, typer.Argument(help="A text or HTML page, a JSONL file of pages or of records written by label, or -.")],
    model: ModelOption = None,
    only: Annotated[Optional[Only], typer.Option("--only", help="Show only the story lines, or only the chrome.")] = None,
    format: FormatOption = InputFormat.AUTO,
    svg: Annotated[Optional[Path], typer.Option("--svg", help="Also save what is shown as an SVG picture.")] = None,
) -> None:
    """Show a page in the terminal: story lines as they are, chrome dimmed, each line's score in the margin, tags on top.

    Records written by `label` (with their segments) are shown as they are,
    without labelling them again; anything else is labelled with the model.
    """
    from rich.console import Console

    from .labels import Label
    from .show import render

    console = Console(highlight=False, record=svg is not None)
    wanted = Label.parse(only.value) if only else None
    failed = 0
    with _exit_codes():
        check_inputs([file])
        loaded = None
        for document in iter_documents([file], format):
            if isinstance(document, Document):
                loaded = loaded or load_model(model)
                [document] = loaded.label_many([document])
            failed += isinstance(document, FailedDocument)
            # Thresholds are the model's: shown for what this model labelled, not for records of another.
            same = loaded is not None and getattr(document, "model", None) == loaded.model_id
            thresholds = loaded.topic_thresholds if same else None
            console.print(render(document, wanted, thresholds))
            console.print()
        if svg is not None:
            try:
                console.save_svg(str(svg), title=f"storyfilter show {Path(file).name}")
            except OSError as error:
                raise InputError(f"cannot write {svg}: {error.strerror or error}") from None
    raise typer.Exit(EXIT_FAILED_DOCUMENTS if failed else EXIT_OK)


@app.command()
def train(
    data: Annotated[list[Path], typer.Argument(help="Labelled JSONL files and web-page corpus directories.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the bundle; its card goes beside it.")] = Path("models/default.joblib"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the learners.")] = 0,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Measure on a validation split of sites first.")] = True,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="Where rendered web pages are cached.")] = None,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Also train the HTML classifier on the HTML of web-page corpora.")] = True,
) -> None:
    """Train a model on labelled pages and save it with its model card.

    Text pages train the text classifier; HTML pages (JSONL records with
    ``html``, and the HTML of web-page corpora) train the HTML classifier.
    """
    from .corpus import default_cache
    from .training import TrainingOptions, train as run_training

    with _exit_codes():
        for path in data:
            if not path.exists():
                raise InputError(f"training data not found: {path}")
        if not out.parent.exists():
            out.parent.mkdir(parents=True)
        options = TrainingOptions(
            sources=data, out=out, seed=seed, validate=validate, cache=cache or default_cache(), html=html
        )
        model = run_training(options, progress=lambda message: typer.echo(message, err=True))
    for kind, validation in (("text", model.card.get("validation")), ("HTML", model.card.get("html", {}).get("validation"))):
        if validation:
            story = validation["story"]
            typer.echo(
                f"{kind} validation: story F1 {story['f1']:.4f} (P {story['precision']:.4f}, "
                f"R {story['recall']:.4f}) on {story['pages']} pages",
                err=True,
            )


class Sites(str, Enum):
    """Which sites of a web-page corpus to evaluate on."""

    HELD_OUT = "held-out"
    ALL = "all"


@app.command()
def evaluate(
    data: Annotated[list[Path], typer.Argument(help="Labelled JSONL files and web-page corpus directories.")],
    model: Annotated[Optional[Path], typer.Option("--model", help="Model bundle; the shipped default if omitted.")] = None,
    sites: Annotated[Sites, typer.Option("--sites", help="Web-page corpora: only the held-out sites, or all.")] = Sites.HELD_OUT,
    page_type: Annotated[Optional[list[str]], typer.Option("--page-type", help="Keep only web pages of this type (repeatable); documents without a type stay.")] = None,
    renderer: Annotated[Optional[list[str]], typer.Option("--renderer", help="Web-page corpora: html-text, inscriptis, or html (the HTML classifier on the markup); repeatable.")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write DIR/report.html with its plots, and DIR/report.json.")] = None,
    redact: Annotated[bool, typer.Option("--redact", help="Keep the pages' text and site names out of the report.")] = False,
) -> None:
    """Score a model against gold: story F1, precision, recall, line accuracy; per-tag topic scores."""
    from .corpus import RENDERERS, default_cache, is_held_out, is_web_page_corpus, read_training_jsonl, read_web_pages
    from .evaluation import evaluate_documents, evaluate_topics, has_story_gold

    with _exit_codes():
        if report is not None:
            from .report import check_plotting

            check_plotting()
        loaded = load_model(model)
        documents = []
        for path in data:
            if is_web_page_corpus(path):
                for document in read_web_pages(path, renderers=renderer or RENDERERS[:1], cache=default_cache()):
                    if sites is Sites.ALL or is_held_out(document.site):
                        documents.append(document)
            elif path.is_file():
                documents.extend(read_training_jsonl(path))
            else:
                raise InputError(f"evaluation data not found: {path}")
        if page_type:  # pages of web-page corpora; documents without a page type (news items) stay
            documents = [d for d in documents if d.page_type is None or d.page_type in set(page_type)]
        if not documents:
            raise InputError("no documents to evaluate")
        summary: dict = {"model": loaded.model_id}
        result, outcome = None, None
        story_documents = [d for d in documents if has_story_gold(d)]
        if story_documents:
            result = evaluate_documents(loaded, story_documents)
            story = result.story
            typer.echo(
                f"pages {story.pages}  story F1 {story.f1:.4f}  precision {story.precision:.4f}  "
                f"recall {story.recall:.4f}  line accuracy {result.line_accuracy:.4f} ({result.lines} lines)"
            )
            summary.update(
                story_f1=story.f1, precision=story.precision, recall=story.recall, line_accuracy=result.line_accuracy,
                pages=[
                    {"id": p.id, "site": p.site, "f1": round(p.score.f1, 4), "precision": round(p.score.precision, 4),
                     "recall": round(p.score.recall, 4), "lines": p.lines, "line_errors": p.errors}
                    for p in result.pages
                ],
            )
        if any(d.topics is not None for d in documents):
            if not loaded.tag_names:
                raise ModelError(f"{loaded.model_id} has no topic stage to evaluate")
            topics = evaluate_topics(loaded, documents)
            outcome = topics.pop("outcome")
            typer.echo(f"topics: {topics['documents']} documents  micro-F1 {topics['micro_f1']:.4f}")
            for name, row in topics["per_tag"].items():
                ap = "-" if row["average_precision"] is None else f"{row['average_precision']:.4f}"
                typer.echo(
                    f"  {name:20} precision {row['precision']:.4f}  recall {row['recall']:.4f}  "
                    f"F1 {row['f1']:.4f}  AP {ap}  ({row['support']} positive)"
                )
            summary["topics"] = topics
        if report is not None:
            from .report import write_report

            page = write_report(report, summary, result, loaded.story_threshold, outcome, loaded.topic_thresholds, redact)
            typer.echo(f"report: {page}")


_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def _byte_size(value: str) -> int:
    """``16M``, ``512K``, ``1000000`` as a number of bytes."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
    number = text[: len(text) - len(unit)]
    try:
        size = int(float(number) * _SIZE_UNITS[unit])
    except (ValueError, OverflowError):
        raise InputError(f"--max-body: not a size: {value!r} (say e.g. 16M, 512K or a number of bytes)") from None
    if size < 1:
        raise InputError(f"--max-body must be at least one byte, not {value!r}")
    return size


def _check_port_free(host: str, port: int) -> None:
    """Fail now, in one line, rather than in a worker's log, when the address cannot be served on."""
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as error:
        raise InputError(f"cannot serve on {host}:{port}: {error.strerror or error} (choose another --port or --host)") from None


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface (set --token-file then).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8080,
    model: ModelOption = None,
    workers: WorkersOption = None,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", help="Require 'Authorization: Bearer TOKEN' with the token in this file.")] = None,
    max_body: Annotated[str, typer.Option("--max-body", help="Largest request body; larger ones get 413.")] = "16M",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Most documents labelled together in a worker.")] = DEFAULT_CHUNK,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request to standard output.")] = True,
) -> None:
    """Serve the model over HTTP: POST /label and /filter take JSON documents and answer the records label and filter write.

    GET /health and /model say what is served; /docs has the API. Each
    worker process loads the model once. Ctrl-C (or SIGTERM) stops it once
    the requests in hand are answered.
    """
    with _exit_codes():
        try:
            import uvicorn

            from .serve import OPTIONS_VARIABLE, ServeOptions, create_app, read_token
        except ImportError as error:
            raise InputError(f"serve needs the serve extra ({error.name} is missing): pip install 'storyfilter[serve]'") from None
        options = ServeOptions(
            model=str(model) if model else None,
            token_file=str(token_file) if token_file else None,
            max_body=_byte_size(max_body),
            batch_size=batch_size,
        )
        if options.token_file:
            read_token(options.token_file)
        _check_port_free(host, port)
        count = workers or available_cores()
        # A model that does not load stops here, in one line, not in each worker's log. One worker
        # is this process, with this model; else the workers load their own and this copy goes.
        loaded = load_model(options.model)
        model_id = loaded.model_id
        if count > 1:
            loaded = None
    typer.echo(f"storyfilter: serving {model_id} on http://{host}:{port} with {count} worker(s); API at /docs", err=True)
    if token_file is None and not _is_loopback(host):
        typer.echo(f"storyfilter: warning: {host} is reachable from other machines and no --token-file is set: anyone who reaches it can use it", err=True)
    server = dict(host=host, port=port, access_log=access_log, timeout_graceful_shutdown=30)
    if loaded is not None:  # one worker: this process, with the model it has loaded
        uvicorn.run(create_app(options, model=loaded), **server)
        return
    os.environ[OPTIONS_VARIABLE] = options.to_environment()
    uvicorn.run("classifier.serve:app_from_environment", factory=True, workers=count, **server)


def main() -> None:  # pragma: no cover - console entry point
    app()
