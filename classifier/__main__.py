"""``python -m classifier``: the storyfilter command line, as the ``storyfilter`` script runs it."""

from .cli.entry import main

main()
