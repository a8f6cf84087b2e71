"""Model files that load without running code from them: a pickle read with a closed list of types.

Unpickling calls whatever the file names: a model file from elsewhere
could name ``os.system``. The loader here only hands out the types a
storyfilter model is made of (ours, the scikit-learn estimators we fit and
their parts, numpy arrays and random generators), each built by its class
as an estimator is; any other name stops the load before anything is
called. Every save reads its own bytes back through the same loader, so a
model that holds a type outside the list fails when it is written, not when
a user loads it.

Why not skops' secure format: it works on these models (same size, 0.2 s to
load), but importing it imports every scikit-learn estimator to build its
list of trusted types, 0.4 s more on every start of the CLI and of each
worker; the list here is the dozen types we use.
"""

from __future__ import annotations

import io
import pickle
import zlib
from typing import Any

# The first bytes of a model file (bundle format 3); then a zlib-compressed pickle.
MAGIC = b"storyfilter model\n"
PROTOCOL = 5
COMPRESSION_LEVEL = 6

# module -> names a model file may refer to. Classes only (and numpy's array and generator
# rebuilders): calling any of them builds an object, it runs nothing else.
ALLOWED: dict[str, frozenset[str]] = {
    module: frozenset(names)
    for module, names in {
        "classifier.features.dom": {"DomFeatures"},
        "classifier.features.lexical": {"LexicalFeatures"},
        "classifier.features.lines": {"LineFeatures"},
        "classifier.features.topics": {"TopicFeatures"},
        "classifier.model.segments": {"SegmentClassifier"},
        "classifier.model.topics": {"TopicClassifier"},
        "sklearn._loss._loss": {"CyHalfBinomialLoss"},
        "sklearn._loss.link": {"Interval", "LogitLink"},
        "sklearn._loss.loss": {"HalfBinomialLoss"},
        "sklearn.calibration": {"CalibratedClassifierCV", "_CalibratedClassifier", "_SigmoidCalibration"},
        "sklearn.ensemble._hist_gradient_boosting.binning": {"_BinMapper"},
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting": {"HistGradientBoostingClassifier"},
        "sklearn.ensemble._hist_gradient_boosting.predictor": {"TreePredictor"},
        "sklearn.isotonic": {"IsotonicRegression"},
        "sklearn.linear_model._logistic": {"LogisticRegression"},
        "sklearn.linear_model._stochastic_gradient": {"SGDClassifier"},
        "sklearn.preprocessing._label": {"LabelEncoder", "MultiLabelBinarizer"},
        "numpy": {"dtype", "ndarray"},
        "numpy._core.multiarray": {"_reconstruct", "scalar"},
        "numpy._core.numeric": {"_frombuffer"},
        "numpy.core.multiarray": {"_reconstruct", "scalar"},
        "numpy.core.numeric": {"_frombuffer"},
        "numpy.random._pcg64": {"PCG64"},
        "numpy.random._pickle": {"__bit_generator_ctor", "__generator_ctor"},
        "numpy.random.bit_generator": {"SeedSequence", "__pyx_unpickle_SeedSequence"},
    }.items()
}


class UnknownTypeError(pickle.UnpicklingError):
    """The file names something a storyfilter model is not made of."""


class _ClosedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise UnknownTypeError(f"{module}.{name}")


def dumps(payload: Any) -> bytes:
    """The bytes of a model file holding ``payload``."""
    return MAGIC + zlib.compress(pickle.dumps(payload, protocol=PROTOCOL), COMPRESSION_LEVEL)


def loads(data: bytes) -> Any:
    """What a model file's bytes hold.

    Raises
    ------
    UnknownTypeError
        When the file names a type outside :data:`ALLOWED` (nothing it names is called).
    ValueError
        When the bytes are not a model file (no :data:`MAGIC`, damaged compression).
    pickle.UnpicklingError, EOFError
        When the pickle inside is damaged.
    """
    if not data.startswith(MAGIC):
        raise ValueError("not a storyfilter model file")
    try:
        inner = zlib.decompress(memoryview(data)[len(MAGIC) :])
    except zlib.error as error:
        raise ValueError(f"damaged compression ({error})") from None
    return _ClosedUnpickler(io.BytesIO(inner)).load()


def is_model_file(head: bytes) -> bool:
    """Whether a file starting with ``head`` is in this format."""
    return head.startswith(MAGIC)
