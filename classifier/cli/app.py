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
import sys
from typing import Annotated

import typer

from . import convert, evaluate, label, serve, show, train

# click's errors as typer raises them (typer 0.26 and later carry their own copy of click, as typer._click).
_ClickException = next(kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "ClickException")

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
    try:
        code = app(standalone_mode=False)
    except _ClickException as error:  # an unknown command or option, a value an option does not take
        if error.format_message():
            sys.stderr.write(usage_error_line(error) + "\n")
        else:  # no command at all: the help
            error.show()
        raise SystemExit(error.exit_code) from None
    except typer.Abort:  # end of input at a prompt (there is none) or typer's own Ctrl-C
        sys.stderr.write("storyfilter: stopped\n")
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def usage_error_line(error: Exception) -> str:
    """A usage error as the commands' own errors read: one line, ``storyfilter: ...``, with where help is."""
    message = " ".join(error.format_message().split()).rstrip(".")
    if message[1:2].islower():
        message = message[0].lower() + message[1:]  # "Missing option", as the commands' errors: "missing option"
    context = getattr(error, "ctx", None)
    where = f" (see '{context.command_path if context is not None else _command_of_argv()} --help')"
    return f"storyfilter: {message}{where}"


def _command_of_argv() -> str:
    """``storyfilter COMMAND`` for the command the arguments name (an error raised without its context), else
    ``storyfilter``."""
    first = next((argument for argument in sys.argv[1:] if not argument.startswith("-")), None)
    commands = getattr(typer.main.get_command(app), "commands", {})
    return f"storyfilter {first}" if first in commands else "storyfilter"
