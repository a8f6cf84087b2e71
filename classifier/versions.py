"""Versions: storyfilter's own (from the package metadata) and those of the libraries a model is pickled with.

Imports nothing of ours but the errors, and no library until asked, so that
``storyfilter --version``, the Dask worker code and the model bundle can all
use it without importing each other.
"""

from __future__ import annotations

import sys
from importlib import metadata

from .errors import ModelError

DISTRIBUTION = "storyfilter"


def package_version() -> str:
    """The installed storyfilter's version, as its package metadata (``pyproject.toml``) says."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose objects are pickled in a model bundle."""
    import joblib
    import numpy
    import sklearn

    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "joblib": joblib.__version__,
    }


def check_library_versions(recorded: dict, what: str) -> None:
    """Refuse a bundle pickled by another scikit-learn (or numpy major) than the running one.

    ``recorded`` is the card's ``libraries``; ``what`` names the bundle in the message.

    Raises
    ------
    ModelError
        Saying which library differs and what to install or do.
    """
    running = library_versions()
    recorded = recorded if isinstance(recorded, dict) else {}
    sk_then, sk_now = recorded.get("scikit-learn"), running["scikit-learn"]
    if sk_then is None or recorded.get("numpy") is None:
        raise ModelError(
            f"{what}'s card does not say which scikit-learn and numpy made it ('libraries'): restore the card that "
            "came with the model, or retrain"
        )
    if sk_then != sk_now:
        raise ModelError(
            f"{what} was made with scikit-learn {sk_then}, this is {sk_now}: "
            f"install scikit-learn=={sk_then} or retrain the model with `storyfilter train`"
        )
    np_then = str(recorded.get("numpy", ""))
    if np_then.split(".")[0] != running["numpy"].split(".")[0]:
        raise ModelError(
            f"{what} was made with numpy {np_then}, this is {running['numpy']}: "
            f"install numpy=={np_then} or retrain the model"
        )
