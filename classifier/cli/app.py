"""The ``storyfilter`` command line: one Typer app, a command per module of this package.

Each command parses its options, calls the library and renders the result;
exit codes are decided in :mod:`classifier.cli.exits`. JSONL goes to
standard output or ``-o``; diagnostics and progress go to standard error.
The command modules import the library inside the commands, so that
``storyfilter --help`` and ``--version`` start without loading it.
"""

from __future__ import annotations

import atexit
import gc
from typing import Annotated

import typer

from . import convert, evaluate, label, serve, show, train

app = typer.Typer(
    help="Label scraped news pages as story or site chrome, return the clean story, tag it by topic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from ..versions import package_version

        typer.echo(f"storyfilter {package_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print storyfilter's version and exit."),
    ] = False,
) -> None:
    """Label scraped news pages as story or site chrome, return the clean story, tag it by topic."""


app.command()(label.label)
app.command("filter")(label.filter_)
app.command()(show.show)
app.command()(train.train)
app.command()(evaluate.evaluate)
app.command()(serve.serve)
app.command()(convert.convert)


def main() -> None:  # pragma: no cover - console entry point
    # At exit, the interpreter's last garbage collections walk every object of scikit-learn, SciPy
    # and the model: about 0.3 s of a one-page run (docs/benchmarks.md). Frozen, they are left to
    # the process's end; files are closed by the commands themselves, and the standard streams
    # flushed as ever.
    atexit.register(gc.freeze)
    app()
