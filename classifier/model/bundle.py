"""The model bundle on disk: the fitted classifiers and thresholds, and their model card.

A bundle is two files: ``NAME.joblib`` (the fitted objects) and
``NAME.json`` (the model card: version, training data, metrics, thresholds,
library versions and the sha256 of the ``.joblib``). Reading checks the
file against the card's hash and the card's library versions against the
running ones before unpickling anything, and raises :class:`ModelError`
with what to do when they differ.

A joblib file is a pickle: loading one runs code from it. Load only models
you trust; the hash check guards against a changed or damaged file, not
against a malicious card.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..versions import check_library_versions, library_versions

# Version of the bundle layout; a loader refuses layouts it does not know. Format 1 (storyfilter
# 0.1) pickled its classes under module paths that no longer exist.
BUNDLE_FORMAT = 2
# What every bundle holds; the HTML and topic stages are optional.
REQUIRED_KEYS = frozenset({"text_classifier", "name", "version", "story_threshold"})


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(path: Path) -> Path:
    """The model card beside a bundle: ``NAME.json`` for ``NAME.joblib``."""
    return Path(path).with_suffix(".json")


def default_model_path() -> Path:
    """Where the shipped model is: ``$STORYFILTER_MODEL``, the source tree, or the install prefix."""
    configured = os.environ.get("STORYFILTER_MODEL")
    if configured:
        return Path(configured)
    candidates = [
        Path(__file__).resolve().parents[2] / "models" / "default.joblib",
        Path(sys.prefix) / "share" / "storyfilter" / "models" / "default.joblib",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def write_bundle(path: Path, payload: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """Write ``payload`` to ``path`` (.joblib) and ``card`` beside it; return the card as written.

    The card gains the library versions, the bundle format, and the file's
    name, sha256 and size.
    """
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".joblib.tmp")
    joblib.dump({"format": BUNDLE_FORMAT, **payload}, tmp, compress=("zlib", 6))
    os.replace(tmp, path)
    card = dict(card)
    card.update(
        {
            "libraries": library_versions(),
            "bundle_format": BUNDLE_FORMAT,
            "file": path.name,
            "sha256": sha256_of(path),
            "size_bytes": path.stat().st_size,
        }
    )
    card_path(path).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card


def read_card(path: Path) -> dict[str, Any]:
    """The model card of the bundle at ``path``, once the bundle is known to match it.

    Raises
    ------
    ModelError
        When the file or its card is missing, the card is not a JSON object,
        the file does not match the card's sha256, the card's library
        versions differ from the running ones, or the bundle is of a format
        this storyfilter does not read.
    """
    if not path.is_file():
        raise ModelError(f"model file not found: {path} (train one with `storyfilter train`)")
    card_file = card_path(path)
    if not card_file.is_file():
        raise ModelError(f"model card not found: {card_file} (a bundle is NAME.joblib with NAME.json beside it)")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"model card {card_file} is not readable JSON ({error})") from None
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_file} is not a JSON object: restore it with its model or retrain")
    expected = card.get("sha256")
    actual = sha256_of(path)
    if expected != actual:
        raise ModelError(
            f"{path} does not match its card: sha256 is {actual[:12]}..., the card says "
            f"{str(expected)[:12]}...; the file was changed or damaged: retrain it or restore both files together"
        )
    if card.get("bundle_format", BUNDLE_FORMAT) != BUNDLE_FORMAT:
        raise ModelError(
            f"{path} is a bundle of format {card.get('bundle_format')}, made by another storyfilter; this one reads "
            f"format {BUNDLE_FORMAT}: retrain it with `storyfilter train`"
        )
    check_library_versions(card.get("libraries", {}), str(path))
    return card


def read_bundle(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fitted objects of the bundle at ``path`` (a dict) and its card, checked first (see :func:`read_card`)."""
    import joblib

    card = read_card(path)
    try:
        payload = joblib.load(path)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable bundle
        raise ModelError(f"cannot load {path}: {type(error).__name__}: {error}") from None
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT or not payload.keys() >= REQUIRED_KEYS:
        raise ModelError(f"{path} is not a storyfilter bundle of format {BUNDLE_FORMAT}: retrain it")
    return payload, card
