"""Options that several commands share, typed once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..inputs.formats import InputFormat

OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Write records here instead of standard output.")]
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model file (.model, its card beside it); if omitted, $STORYFILTER_MODEL, else the shipped model.",
    ),
]
FormatOption = Annotated[
    InputFormat, typer.Option("--format", help="How to read the inputs; by file suffix when auto.")
]
NoSegmentsOption = Annotated[bool, typer.Option("--no-segments", help="Leave the per-segment list out of the records.")]
ChunkSizeOption = Annotated[
    int, typer.Option("--chunk-size", min=1, help="Documents labelled together (and handed to a worker at a time).")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Worker processes, each with one core and its own copy of the model (default: every core).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", help="Run on this Dask scheduler (e.g. tcp://10.0.0.5:8786) instead of local workers."),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume", help="Finish an interrupted run: keep the records in -o FILE, label only what is missing."
    ),
]
MaxSegmentsOption = Annotated[
    int,
    typer.Option(
        "--max-segments",
        min=1,
        help="Most segments (lines, HTML blocks) a document may have; one with more gets an error record (413 in serve).",
    ),
]
MaxCharsOption = Annotated[
    int,
    typer.Option(
        "--max-chars",
        min=1,
        help="Most characters (of text or HTML) a document may have; one with more gets an error record (413 in serve).",
    ),
]
