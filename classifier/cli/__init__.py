"""The command line: ``storyfilter`` and its commands (``app``), each thin: parse options, call the library, map errors."""
