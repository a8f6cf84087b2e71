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
from typing import Any, ClassVar

from ..modelfile import MAGIC, unpack

PROTOCOL = 5
COMPRESSION_LEVEL = 6

# module -> names a model file may refer to. Classes only (and numpy's array and generator
# rebuilders): calling any of them builds an object, it runs nothing else. numpy.ndarray and
# _reconstruct get stand-ins (_STAND_INS) that build an array only as numpy pickles one.
ALLOWED: dict[str, frozenset[str]] = {
    module: frozenset(names)
    for module, names in {
        "classifier.features.dom": {"DomFeatures"},
        "classifier.features.lexical": {"LexicalFeatures"},
        "classifier.features.lines": {"LineFeatures"},
        "classifier.features.topics": {"TopicFeatures"},
        "classifier.model.segments": {"SegmentClassifier"},
        "classifier.model.topics": {"CompactLogistic", "NaiveBayesLogistic", "TopicClassifier"},
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
        "numpy": {"dtype"},
        "numpy._core.multiarray": {"scalar"},
        "numpy._core.numeric": {"_frombuffer"},
        "numpy.core.multiarray": {"scalar"},
        "numpy.core.numeric": {"_frombuffer"},
        "numpy.random._pcg64": {"PCG64"},
        "numpy.random._pickle": {"__bit_generator_ctor", "__generator_ctor"},
        "numpy.random.bit_generator": {"SeedSequence", "__pyx_unpickle_SeedSequence"},
    }.items()
}


class UnknownTypeError(pickle.UnpicklingError):
    """The file names something a storyfilter model is not made of."""


class _ArrayType:
    """What ``numpy.ndarray`` stands for in a model file: the first argument of ``_reconstruct``, never called.

    Called, ndarray would build an array of objects from raw bytes, that is
    from pointers the file chose.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise UnknownTypeError("numpy.ndarray, called")


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> Any:
    """An empty array for the state that follows, as numpy pickles every array (and in no other way)."""
    import numpy

    if subtype is not _ArrayType or shape != (0,) or typecode != b"b":
        raise UnknownTypeError("numpy._reconstruct, called otherwise than numpy pickles an array")
    return numpy.empty(0, dtype=numpy.int8)


# Names a model file may use that stand for something narrower than what they name.
_STAND_INS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _ArrayType,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
}


class _ClosedUnpickler(pickle._Unpickler):  # the Python unpickler: its BUILD can be refused for classes
    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str) -> Any:
        stand_in = _STAND_INS.get((module, name))
        if stand_in is not None:
            return stand_in
        if name in ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise UnknownTypeError(f"{module}.{name}")

    def load_build(self) -> None:
        """State for an object, never for a class (which would change that class for the whole process)."""
        if isinstance(self.stack[-2], type):
            raise UnknownTypeError(f"state for the class {self.stack[-2].__qualname__}")
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


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
    return unpickle(unpack(data))


def unpickle(inner: bytes) -> Any:
    """What the pickle inside a model file holds (:func:`loads` once the file is unpacked)."""
    return _ClosedUnpickler(io.BytesIO(inner)).load()
