"""The exceptions storyfilter raises on purpose.

Each says what went wrong and what to do about it. The CLI maps them to exit
codes in one place (``cli.py``); the library never exits.
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
