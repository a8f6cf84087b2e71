"""``python -m classifier``: the storyfilter command line, as the ``storyfilter`` script runs it."""

from .cli import main

main()
