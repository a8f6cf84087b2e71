"""Exit codes, decided here and only here.

0 every document done; 1 some documents failed (each has an error
record); 2 usage error; 3 model missing, corrupt or incompatible; 4 the run
stopped early (a worker kept dying, the Dask scheduler was lost, the output
could not be written: resume it); a run stopped by a signal exits 128 + its
number (130 SIGINT, 143 SIGTERM); 141 when the reader of standard output
went away, as for a program killed by SIGPIPE. Each failure ends with one
line on standard error, never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ..errors import (
    InputError,
    ModelError,
    OutputError,
    RunStoppedError,
    StoryfilterError,
    TrainingDataError,
    WorkerError,
)

EXIT_OK, EXIT_FAILED_DOCUMENTS, EXIT_USAGE, EXIT_MODEL, EXIT_UNFINISHED = 0, 1, 2, 3, 4


def fail(message: str, code: int) -> typer.Exit:
    """Say ``message`` on standard error; the exit to raise with ``code``."""
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
def ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) until the block ends, then raise it as :class:`KeyboardInterrupt`.

    For the start of a run, while native modules import: an interrupt inside
    one's initialisation can be turned into an ImportError that a retry
    swallows (the run then goes on) or leaves the module half made. Held, it
    stops the run as any early Ctrl-C does, a moment later. A process that
    ignores SIGINT (started in the background by a shell) keeps ignoring it.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextmanager
def exit_codes(resumable: bool = False) -> Iterator[None]:
    """Turn the library's expected errors into one line on stderr and an exit code (``resumable``: for a
    run that ``--resume`` finishes, which a Ctrl-C's line then names)."""
    try:
        yield
    except ModelError as error:
        raise fail(str(error), EXIT_MODEL) from None
    except (WorkerError, RunStoppedError) as error:
        raise fail(str(error), EXIT_UNFINISHED) from None
    except OutputError as error:
        if error.closed:  # `storyfilter label ... | head`: stop as a program killed by SIGPIPE would
            _silence_stdout()
            raise fail(str(error), 128 + signal.SIGPIPE) from None
        raise fail(str(error), EXIT_UNFINISHED) from None
    except (InputError, TrainingDataError) as error:
        raise fail(str(error), EXIT_USAGE) from None
    except StoryfilterError as error:
        raise fail(str(error), EXIT_USAGE) from None
    except KeyboardInterrupt:  # a Ctrl-C before the run began, or a second one during it
        hint = (
            " (the output's last line may be half-written; the same command with --resume repairs it and finishes"
            " the run)"
        )
        raise fail("interrupted by Ctrl-C" + (hint if resumable else ""), 128 + signal.SIGINT) from None
