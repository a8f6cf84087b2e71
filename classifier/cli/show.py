"""``storyfilter show``: a page in the terminal, as the model reads it."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, OutputError
from ..inputs.formats import InputFormat
from .exits import EXIT_FAILED_DOCUMENTS, EXIT_OK, ctrl_c_held, exit_codes
from .options import FormatOption, ModelOption


class Only(str, Enum):
    STORY = "story"
    CHROME = "chrome"


def show(
    file: Annotated[
        str, typer.Argument(help="A text or HTML page, a JSONL file of pages or of records written by label, or -.")
    ],
    model: ModelOption = None,
    only: Annotated[Only | None, typer.Option("--only", help="Show only the story lines, or only the chrome.")] = None,
    format: FormatOption = InputFormat.AUTO,
    svg: Annotated[Path | None, typer.Option("--svg", help="Also save what is shown as an SVG picture.")] = None,
) -> None:
    """Show a page in the terminal: story lines as they are, chrome dimmed, each line's score in the margin, tags on top.

    Records written by `label` (with their segments) are shown as they are,
    without labelling them again; anything else is labelled with the model.
    """
    with exit_codes(), ctrl_c_held():  # a Ctrl-C while native modules import stops the run once they have
        from rich.console import Console

        from ..inputs.discovery import check_inputs, iter_documents
        from ..model.model import load_model
        from ..records import Document, FailedDocument, Label
        from .view import document_view

    console = Console(highlight=False)
    # What is shown is also drawn on a console of its own for the picture: through the pager, the
    # terminal's console keeps no record of it.
    picture = Console(highlight=False, record=True, file=io.StringIO(), width=console.width) if svg else None
    console.on_broken_pipe = _closed_pipe  # rich would exit 1 in silence
    wanted = Label.parse(only.value) if only else None
    failed = 0
    with exit_codes():
        check_inputs([file], format)
        if svg is not None and not svg.parent.is_dir():  # found before anything is shown
            raise InputError(f"cannot write {svg}: its directory does not exist")
        if svg is not None and svg.is_dir():
            raise InputError(f"cannot write {svg}: it is a directory; name the picture's file")
        loaded = None
        try:
            with _pager(console):
                for document in iter_documents([file], format):
                    if isinstance(document, Document):
                        loaded = loaded or load_model(model)
                        [document] = loaded.label_many([document])
                    failed += isinstance(document, FailedDocument)
                    # Thresholds are the model's: shown for what this model labelled, not for records of another.
                    same = loaded is not None and getattr(document, "model", None) == loaded.model_id
                    thresholds = loaded.topic_thresholds if same else None
                    view = document_view(document, wanted, thresholds)
                    for shown in (console, picture) if picture is not None else (console,):
                        shown.print(view)
                        shown.print()
        except BrokenPipeError:  # `storyfilter show page.html | head`: stop as label does
            raise OutputError("standard output was closed", closed=True) from None
        if picture is not None:
            try:
                picture.save_svg(str(svg), title=f"storyfilter show {Path(file).name}")
            except OSError as error:
                raise InputError(f"cannot write {svg}: {error.strerror or error}") from None
    raise typer.Exit(EXIT_FAILED_DOCUMENTS if failed else EXIT_OK)


def _pager(console):
    """Page what is shown through ``$PAGER`` (``less``) when it goes to a terminal, as git does; else nothing.

    ``less`` is given ``LESS=FRX`` unless the user has set ``LESS``: colours
    pass through (R), a page that fits the screen is not paged (F), and
    what was shown stays on the screen (X).
    """
    if not sys.stdout.isatty() or os.environ.get("PAGER", "less") in ("", "cat"):
        return contextlib.nullcontext()
    os.environ.setdefault("LESS", "FRX")
    return console.pager(styles=True)


def _closed_pipe() -> None:
    raise BrokenPipeError
