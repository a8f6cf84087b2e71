"""The exceptions storyfilter raises on purpose.

Each says what went wrong and what to do about it. The CLI maps them to exit
codes in one place (``classifier/cli/exits.py``); the library never exits.
"""

from __future__ import annotations


class StoryfilterError(Exception):
    """Base class of every error storyfilter raises on purpose."""


class InputError(StoryfilterError):
    """A document or input path that cannot be read or understood."""


class ModelError(StoryfilterError):
    """A model bundle that is missing, corrupt, altered or incompatible."""


class TrainingDataError(StoryfilterError):
    """Training or evaluation data that does not follow the documented format."""


class WorkerError(StoryfilterError):
    """A worker process or Dask worker died mid-run; the records written so far stand."""


class RunStoppedError(StoryfilterError):
    """A run stopped partway by an error of its own (reading its input, say); the records written so far stand."""


class OutputError(StoryfilterError):
    """The output could not be written mid-run (a full disk, a closed pipe); the records written before stand.

    ``closed`` is true when the reader went away (a broken pipe, as when the
    output is piped into ``head``).
    """

    def __init__(self, message: str, closed: bool = False):
        super().__init__(message)
        self.closed = closed


class TooLargeError(InputError):
    """A document past a limit on its size (segments or characters): refused before it is labelled.

    ``limit`` names the limit passed (``"segments"`` or ``"characters"``).
    """

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


class HtmlAsTextWarning(UserWarning):
    """A page given as text whose text is an HTML document (it starts with ``<!doctype html`` or ``<html``).

    It is labelled as text, markup and all (its story holds tags and
    scripts); give it as ``html`` to have it read as a page. Shown once per
    place in the program, as Python shows warnings.
    """
