"""storyfilter: label scraped news pages as story or site chrome, and tag stories by topic.

>>> from classifier import load_model
>>> model = load_model()                      # the shipped default
>>> doc = model.label(text)                   # a LabeledDocument
>>> doc.story, doc.segments, doc.topics, doc.tags
"""

from .bundle import Model, load_model
from .documents import Document, FailedDocument, LabeledDocument, ScoredSegment
from .errors import InputError, ModelError, OutputError, StoryfilterError, TrainingDataError, WorkerError
from .labels import Label
from .segments import Segment, split_text

__all__ = [
    "Document",
    "FailedDocument",
    "InputError",
    "Label",
    "LabeledDocument",
    "Model",
    "ModelError",
    "ScoredSegment",
    "Segment",
    "StoryfilterError",
    "TrainingDataError",
    "OutputError",
    "WorkerError",
    "load_model",
    "split_text",
]
__version__ = "0.1.0"
