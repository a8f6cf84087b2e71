"""The ``storyfilter`` script's entry point: the commands of ``app``, and a Ctrl-C that comes before they run."""

import sys


def main() -> None:  # pragma: no cover - console entry point
    """``storyfilter``: a Ctrl-C that comes before a command has taken it over (while the modules import, or
    the options are read) ends with one line and 130, as a command's own does."""
    try:
        from .app import main as run

        run()
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:  # what Python makes of an interrupt inside a class's making (__set_name__)
        if not isinstance(error.__cause__, KeyboardInterrupt):
            raise
    else:
        return
    sys.stderr.write("storyfilter: interrupted by Ctrl-C\n")
    raise SystemExit(130)
