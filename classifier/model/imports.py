"""scikit-learn imported for labelling without scipy.stats, which labelling never calls.

Importing scikit-learn imports ``scipy.stats`` (its hundred distributions
built at import): about 0.45 s of the 0.9 s a labelling process spends on
imports, paid by every one-page run of the CLI, every worker and every
start of the service. The estimators a model is made of only name four of
its objects at import (``gmean``, ``rankdata``, ``spearmanr`` and the
``chi2`` distribution, for fitting and scoring, never for predicting), so
while the model package imports scikit-learn, ``scipy.stats`` is a
stand-in that hands out those four as stand-ins that import the real
module when first called or asked for an attribute. Any other
name asked of the stand-in imports the real module at once and is the real
attribute: a scikit-learn release that needs more from ``scipy.stats`` at
import is slower to start, never wrong. The stand-in leaves ``sys.modules``
once scikit-learn is imported, so an ``import scipy.stats`` afterwards, ours
or a user's, gets the real module. A process that has imported either
library already is left as it is.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
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
_STATS = "scipy.stats"
_lock = threading.Lock()


def _real_stats() -> types.ModuleType:
    """The real scipy.stats, imported now if it has not been (the stand-in out of the way first)."""
    module = sys.modules.get(_STATS)
    if isinstance(module, _StatsStandIn):
        del sys.modules[_STATS]
    return importlib.import_module(_STATS)


class _Deferred:
    """A scipy.stats name (a function, or a distribution such as ``chi2``) that imports it when used."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<scipy.stats.{self.__name__}, imported when first used>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(_real_stats(), self.__name__)(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(getattr(_real_stats(), self.__name__), attribute)


class _StatsStandIn(types.ModuleType):
    """What ``scipy.stats`` is while scikit-learn imports: the deferred functions, else the real module."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            # Not a package, no spec: the import system asks for these and must not get a function.
            raise AttributeError(name)
        if name in DEFERRED:
            return _Deferred(name)
        return getattr(_real_stats(), name)


def import_scikit_learn() -> None:
    """Import the estimators a model is made of, with ``scipy.stats`` put off until it is used."""
    with _lock:
        if _STATS in sys.modules or "sklearn" in sys.modules:
            _import_estimators()
            return
        sys.modules[_STATS] = _StatsStandIn(_STATS)
        try:
            _import_estimators()
        finally:
            if isinstance(sys.modules.get(_STATS), _StatsStandIn):
                del sys.modules[_STATS]


def _import_estimators() -> None:
    for module in ESTIMATOR_MODULES:
        importlib.import_module(module)
