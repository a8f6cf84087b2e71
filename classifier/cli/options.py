"""Options that several commands share, typed once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


def _limit_option(name: str, what: str, over: str) -> Any:
    return typer.Option(name, min=1, help=f"Most {what} a document may have; {over}.")


_REFUSED = "one with more gets an error record (413 in serve)"
MaxSegmentsOption = Annotated[int, _limit_option("--max-segments", "segments (lines, HTML blocks)", _REFUSED)]
MaxCharsOption = Annotated[int, _limit_option("--max-chars", "characters (of text or HTML)", _REFUSED)]
# evaluate scores every page it is given: one over a limit stops it (exit 2), it gets no error record
_STOPS = "one with more stops the evaluation (exit 2)"
EvaluateMaxSegmentsOption = Annotated[int, _limit_option("--max-segments", "segments (lines, HTML blocks)", _STOPS)]
EvaluateMaxCharsOption = Annotated[int, _limit_option("--max-chars", "characters (of text or HTML)", _STOPS)]
