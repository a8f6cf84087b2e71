"""storyfilter: label scraped news pages as story or site chrome, and tag stories by topic.

>>> from classifier import load_model
>>> model = load_model()                      # the shipped default
>>> doc = model.label(text)                   # a LabeledDocument
>>> doc.story, doc.segments, doc.topics, doc.tags

The path a page takes, a package each: ``inputs`` (find and read
documents) -> ``segment`` (lines or HTML blocks) -> ``features`` ->
``model`` (segment classifier, context, topics; the bundle) -> ``records``
(what is written) -> ``run`` (chunks, workers, Dask, resume). Around them:
``corpus`` and ``training`` (labelled data, fitting), ``evaluation``,
``service`` (HTTP) and ``cli``.

The names below are loaded when first used, so that importing the package
(or running ``storyfilter --help``) does not load scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it.
_PUBLIC = {
    "Document": ".records",
    "FailedDocument": ".records",
    "LabeledDocument": ".records",
    "Label": ".records",
    "ScoredSegment": ".records",
    "Segment": ".segment.text",
    "split_text": ".segment.text",
    "Model": ".model.model",
    "load_model": ".model.model",
    "DocumentLimits": ".limits",
    "HtmlAsTextWarning": ".errors",
    "InputError": ".errors",
    "ModelError": ".errors",
    "OutputError": ".errors",
    "StoryfilterError": ".errors",
    "TooLargeError": ".errors",
    "TrainingDataError": ".errors",
    "WorkerError": ".errors",
}

__all__ = [
    "Document",
    "DocumentLimits",
    "FailedDocument",
    "HtmlAsTextWarning",
    "InputError",
    "Label",
    "LabeledDocument",
    "Model",
    "ModelError",
    "OutputError",
    "ScoredSegment",
    "Segment",
    "StoryfilterError",
    "TooLargeError",
    "TrainingDataError",
    "WorkerError",
    "__version__",
    "load_model",
    "split_text",
]

if TYPE_CHECKING:
    from .errors import (
        HtmlAsTextWarning,
        InputError,
        ModelError,
        OutputError,
        StoryfilterError,
        TooLargeError,
        TrainingDataError,
        WorkerError,
    )
    from .limits import DocumentLimits
    from .model.model import Model, load_model
    from .records import Document, FailedDocument, Label, LabeledDocument, ScoredSegment
    from .segment.text import Segment, split_text


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the package metadata when asked: importing the package stays instant
        from .versions import package_version

        value = globals()["__version__"] = package_version()
        return value
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
