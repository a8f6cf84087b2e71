"""scikit-learn imported for labelling without scipy.stats, which labelling never calls.

Importing scikit-learn imports ``scipy.stats`` (its hundred distributions
built at import): about 0.25 s of the 0.8 s a labelling process spent on
imports (SciPy 1.17), paid by every one-page run of the CLI, every worker
and every start of the service. The estimator modules a model is made of
take four names from it at import (``gmean``, ``rankdata``, ``spearmanr``
and the ``chi2`` distribution, for fitting and scoring, never for
predicting) and one takes the module itself (``from scipy import sparse,
stats`` in ``sklearn.preprocessing._data``). So while the model package
imports scikit-learn, ``scipy.stats`` is a stand-in: it hands out the four
as objects that import the real module when first called or asked for an
attribute (copied or pickled, they become the real ones), and anything
else asked of it is the real module's, imported then. The stand-in leaves
``sys.modules`` once scikit-learn is imported, so ``import scipy.stats``
afterwards, ours or a user's, gets the real module; the one module that
kept the stand-in reaches the real module through it.

This is done only for the scikit-learn releases it was checked on
(:data:`CHECKED_RELEASES`): another release imports as usual, and if
anything fails while the stand-in is in place, the stand-in goes and the
estimators are imported again with the real module. A process that has
imported SciPy's statistics or scikit-learn already is left as it is.
Import the model package before starting threads that import SciPy's
statistics: while it imports, such a thread would get the stand-in.

SciPy (1.16 and later) also rewrites the docstrings of about 340 of its
functions as their modules import, parsing each to append a table of the
array libraries it supports or a note on batched arrays: about 0.1 s of a
one-page run. While the model package imports scikit-learn, those
functions keep their docstrings as written (without the notes); a SciPy
module imported afterwards gets its notes as usual.

And SciPy's array-API layer copies numpy's namespace into its own
(``scipy._lib.array_api_compat.numpy``), taking every name numpy lists,
which imports numpy's Fortran wrapper generator (``numpy.f2py``) and its
test tools (``numpy.testing``, with ``unittest``): 0.02 s of a one-page
run, for names no array-API code reaches through that copy (SciPy's
assertions use ``numpy.testing`` itself). While the model package imports
scikit-learn, numpy lists neither (:data:`NUMPY_LEFT_OUT`); its list is
whole again afterwards, and ``numpy.f2py`` and ``numpy.testing`` import
as usual when asked for.

And scikit-learn's validation helpers (``sklearn.utils.validation``,
``sklearn.utils._indexing``, the column transformer) import narwhals
(``import narwhals.stable.v2 as nw``), the dataframe layer they ask
whether an input is a dataframe: 0.04 s of a one-page run, for a question
labelling never asks (the fitted estimators are applied to our own arrays,
:mod:`classifier.model.direct`). While the model package imports
scikit-learn, ``narwhals``, ``narwhals.stable`` and ``narwhals.stable.v2``
are stand-ins (:data:`PUT_OFF`) that hand out each other and import the
real module on the first name asked of them (the first time scikit-learn
checks an input: any estimator's own ``fit`` or ``predict``); they leave
``sys.modules`` once scikit-learn is imported, so ``import narwhals``
afterwards gets the real package, and a module that kept a stand-in
finds the real module's names in it from then on. As for SciPy's
statistics, a thread that imports narwhals while the model package
imports scikit-learn would get a stand-in.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

# The scipy.stats names scikit-learn's estimators import by name (sklearn._loss.link,
# sklearn.isotonic, sklearn.metrics._ranking, sklearn.model_selection._search, and chi2 in
# sklearn.covariance, which sklearn.ensemble imports); none is used while a model labels.
DEFERRED = frozenset({"chi2", "gmean", "rankdata", "spearmanr"})
# What the model package needs of scikit-learn: the estimators and the parts a model file names.
ESTIMATOR_MODULES = (
    "sklearn.base",
    "sklearn.calibration",
    "sklearn.ensemble",
    "sklearn.isotonic",
    "sklearn.linear_model",
    "sklearn.model_selection",
    "sklearn.preprocessing",
    "sklearn.utils.validation",
)
# The scikit-learn releases (major.minor) whose estimator modules take no more than the above from
# scipy.stats at import, and no submodule of it (the stand-in is no package).
CHECKED_RELEASES = ("1.9",)
_STATS = "scipy.stats"
# The SciPy modules whose decorators parse docstrings as other modules import (``xp_capabilities``, the
# batching and random-generator wrappers), and the parser they call.
_DOC_REWRITERS, _DOC_PARSER = ("scipy._lib._array_api", "scipy._lib._util"), "FunctionDoc"
# What numpy does not list while SciPy copies its namespace (see the module's docstring).
NUMPY_LEFT_OUT = frozenset({"f2py", "testing"})
# The modules put off until first used while scikit-learn imports (see the module's docstring).
PUT_OFF = ("narwhals", "narwhals.stable", "narwhals.stable.v2")
_lock = threading.Lock()


def _real_stats() -> types.ModuleType:
    """The real scipy.stats, imported now if it has not been (the stand-in out of the way first)."""
    if isinstance(sys.modules.get(_STATS), _StatsStandIn):
        sys.modules.pop(_STATS, None)
    return importlib.import_module(_STATS)


def _resolve(name: str) -> Any:
    """The real scipy.stats object called ``name`` (what a copied or unpickled deferred name becomes)."""
    return getattr(_real_stats(), name)


class _Deferred:
    """A scipy.stats name (a function, or a distribution such as ``chi2``) that imports it when used."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<scipy.stats.{self.__name__}, imported when first used>"

    def __reduce__(self) -> tuple:
        return _resolve, (self.__name__,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _resolve(self.__name__)(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        name = self.__dict__.get("__name__")
        if name is None:  # an instance not yet set up (a copy in the making)
            raise AttributeError(attribute)
        return getattr(_resolve(name), attribute)


class _StatsStandIn(types.ModuleType):
    """What ``scipy.stats`` is while scikit-learn imports: the deferred names, else the real module's.

    While scikit-learn imports, names the import system asks for
    (``__path__``, ``__spec__``, ...) are missing, as for a module that is
    no package; afterwards every name is the real module's.
    """

    importing = True

    def __getattr__(self, name: str) -> Any:
        if self.importing and name.startswith("__"):
            raise AttributeError(name)
        if self.importing and name in DEFERRED:
            return _Deferred(name)
        return getattr(_real_stats(), name)


class _PutOff(types.ModuleType):
    """A module of :data:`PUT_OFF` not imported yet: its put-off submodules, else the real module's names.

    While scikit-learn imports, names the import system asks for
    (``__path__``, ``__spec__``, ...) are missing, and a submodule is
    its stand-in (``import narwhals.stable.v2 as nw`` binds the stand-in);
    any other name, then or later, imports the real module, whose names
    the stand-in then takes on (read as fast as the real module's).
    """

    importing = True

    def __getattr__(self, name: str) -> Any:
        if self.importing:
            child = sys.modules.get(f"{self.__name__}.{name}")
            if isinstance(child, _PutOff):
                return child
            if name.startswith("__"):
                raise AttributeError(name)
        real = _real_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def _real_module(name: str) -> types.ModuleType:
    """The real module of :data:`PUT_OFF` called ``name``, imported now (the stand-ins out of the way first)."""
    for put_off in PUT_OFF:
        if isinstance(sys.modules.get(put_off), _PutOff):
            sys.modules.pop(put_off, None)
    return importlib.import_module(name)


@contextmanager
def _modules_put_off() -> Iterator[None]:
    """While in this block, the modules of :data:`PUT_OFF` are stand-ins, unless narwhals is imported already."""
    stand_ins = [_PutOff(name) for name in PUT_OFF] if PUT_OFF[0] not in sys.modules else []
    for stand_in in stand_ins:
        sys.modules[stand_in.__name__] = stand_in
    try:
        yield
    finally:
        for stand_in in stand_ins:
            stand_in.importing = False
            if sys.modules.get(stand_in.__name__) is stand_in:
                sys.modules.pop(stand_in.__name__, None)


class _DocAsWritten(dict):
    """What SciPy's array-library decorator gets for its docstring parser: the docstring as written.

    The decorator appends a note to the parsed docstring's ``Notes`` and
    writes back its text after the first line (a signature); this gives
    back the docstring unparsed, and the note goes nowhere.
    """

    def __init__(self, function: Any) -> None:
        super().__init__()
        self.text = getattr(function, "__doc__", None) or ""

    def __missing__(self, section: str) -> list:
        return []

    def __str__(self) -> str:
        return "\n" + self.text


@contextmanager
def _docstrings_as_written() -> Iterator[None]:
    """While in this block, SciPy's functions keep their docstrings unparsed (see the module's docstring)."""
    parsers = {}
    for name in _DOC_REWRITERS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # another SciPy: nothing to put off there
            continue
        if hasattr(module, _DOC_PARSER):
            parsers[module] = getattr(module, _DOC_PARSER)
            setattr(module, _DOC_PARSER, _DocAsWritten)
    try:
        yield
    finally:
        for module, parser in parsers.items():
            setattr(module, _DOC_PARSER, parser)


@contextmanager
def _numpy_listing_less() -> Iterator[None]:
    """While in this block, numpy's ``__all__`` and ``dir()`` leave out :data:`NUMPY_LEFT_OUT`."""
    import numpy

    listed, directory = numpy.__all__, numpy.__dict__.get("__dir__")
    numpy.__all__ = [name for name in listed if name not in NUMPY_LEFT_OUT]
    if directory is not None:
        numpy.__dir__ = lambda: [name for name in directory() if name not in NUMPY_LEFT_OUT]
    try:
        yield
    finally:
        numpy.__all__ = listed
        if directory is not None:
            numpy.__dir__ = directory


def defers_scipy_stats() -> bool:
    """Whether :func:`import_scikit_learn` would put scipy.stats off (a checked release, neither imported yet)."""
    if _STATS in sys.modules or "sklearn" in sys.modules:
        return False
    try:
        release = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        return False
    return ".".join(release.split(".")[:2]) in CHECKED_RELEASES


def import_scikit_learn() -> None:
    """Import the estimators a model is made of, ``scipy.stats`` and narwhals put off until used, SciPy's
    docstrings unparsed, numpy's compiler and test tools not copied into SciPy's namespace."""
    with _lock:
        if not defers_scipy_stats():
            _import_estimators()
            return
        stand_in = _StatsStandIn(_STATS)
        sys.modules[_STATS] = stand_in
        try:
            with _numpy_listing_less(), _docstrings_as_written(), _modules_put_off():
                _import_estimators()
        except Exception:  # noqa: BLE001 - whatever the stand-ins broke, the real modules mend
            stand_in.importing = False
            _real_stats()
            _import_estimators()
        finally:
            stand_in.importing = False
            if sys.modules.get(_STATS) is stand_in:
                sys.modules.pop(_STATS, None)


def _import_estimators() -> None:
    for module in ESTIMATOR_MODULES:
        importlib.import_module(module)
