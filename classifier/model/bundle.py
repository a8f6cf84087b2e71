"""The model bundle on disk: the fitted classifiers and thresholds, and their model card.

A bundle is two files: ``NAME.model`` (the fitted objects) and
``NAME.json`` (the model card: version, training data, metrics, thresholds,
library versions and the sha256 of the ``.model``). Reading checks the
file against the card's hash and the card's library versions against the
running ones before reading the objects, and raises :class:`ModelError`
with what to do when they differ.

The ``.model`` file is read with a closed list of types
(:mod:`~classifier.model.unpickling`): a file that names anything else is
refused before it runs. Older bundles
(``NAME.joblib``, format 2 or before) are plain pickles, which run whatever code they
hold: they load only when asked (``allow_pickle=True``), to be converted
once (``storyfilter convert``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

from ..errors import ModelError, OutputError
from ..modelfile import SUFFIX, ReadAhead, card_path, is_model_file, take
from ..versions import check_library_versions, library_versions
from . import unpickling

# Version of the bundle layout; a loader refuses layouts it does not know. Format 1 (storyfilter
# 0.1) pickled its classes under module paths that no longer exist; format 2 (0.2) is a joblib
# pickle, read only when pickles are allowed; format 3 is a pickle read with a closed list of types.
BUNDLE_FORMAT = 3
PICKLE_FORMAT = 2
# What every bundle holds; the HTML and topic stages are optional.
REQUIRED_KEYS = frozenset({"text_classifier", "name", "version", "story_threshold"})


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bundle(path: Path, payload: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """Write ``payload`` to ``path`` (.model) and ``card`` beside it; return the card as written.

    The card gains the library versions, the bundle format, and the file's
    name, sha256 and size. The bytes are read back before they are written,
    so that a model holding a type the loader refuses is never written.
    """
    path = Path(path)
    data = unpickling.dumps({"format": BUNDLE_FORMAT, **payload})
    try:
        unpickling.loads(data)
    except unpickling.UnknownTypeError as error:
        raise ModelError(
            f"the model holds {error}, which a storyfilter model file may not name (classifier/model/unpickling.py)"
        ) from None
    except ValueError as error:
        raise ModelError(f"the model cannot be written as a model file: {error}") from None
    card = dict(card)
    card.update(
        {
            "libraries": library_versions(),
            "bundle_format": BUNDLE_FORMAT,
            "file": path.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
        }
    )
    # Both written whole beside their places first, then put in place one right after the other: a run
    # stopped while writing (the slow part) leaves the model and card before it; only a stop between the
    # two renames leaves a new model beside the old card, which loading then refuses (the sha256 differs).
    tmp, card_tmp = path.with_name(path.name + ".tmp"), card_path(path).with_name(card_path(path).name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        card_tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        os.replace(card_tmp, card_path(path))
    except OSError as error:  # a full disk, a folder made unwritable since the run began
        raise OutputError(f"the model could not be written to {path}: {error.strerror or error}") from None
    finally:
        for left in (tmp, card_tmp):
            left.unlink(missing_ok=True)
    return card


def read_card(path: Path, ahead: ReadAhead | None = None) -> tuple[dict[str, Any], bytes]:
    """The model card of the bundle at ``path`` and the bundle's bytes, once they are known to match.

    The file is read once: its sha256 is that of the bytes returned (``ahead``'s, when it was read
    ahead: :mod:`classifier.modelfile`).

    Raises
    ------
    ModelError
        When the file or its card is missing, the card is not a JSON object,
        the file does not match the card's sha256, the card's library
        versions differ from the running ones, or the bundle is of a format
        this storyfilter does not read.
    """
    if path.is_dir():
        raise ModelError(f"{path} is a directory: give the model file (NAME{SUFFIX}, its card NAME.json beside it)")
    if not path.is_file():
        beside = path.with_name(path.name + SUFFIX)
        hint = f"did you mean {beside}?" if beside.is_file() else "train one with `storyfilter train`"
        raise ModelError(f"model file not found: {path} ({hint})")
    if path.suffix == ".json" and path.with_suffix(SUFFIX).is_file():
        raise ModelError(f"{path} is the model card: give the model file beside it, {path.with_suffix(SUFFIX)}")
    card_file = card_path(path)
    if not card_file.is_file():
        raise ModelError(f"model card not found: {card_file} (a bundle is NAME{SUFFIX} with NAME.json beside it)")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"model card {card_file} is not readable JSON ({error})") from None
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_file} is not a JSON object: restore it with its model or retrain")
    if ahead is not None:
        data, actual = ahead.data, ahead.sha256
    else:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read {path} ({error.strerror or error})") from None
        actual = hashlib.sha256(data).hexdigest()
    expected = card.get("sha256")
    if not isinstance(expected, str):
        raise ModelError(
            f"model card {card_file} holds no sha256 of its model file: restore the card that came with {path}, "
            "or retrain"
        )
    if expected != actual:
        raise ModelError(
            f"{path} does not match its card: sha256 is {actual[:12]}..., the card says "
            f"{str(expected)[:12]}...; the file was changed or damaged: retrain it or restore both files together"
        )
    if card.get("bundle_format", BUNDLE_FORMAT) not in (BUNDLE_FORMAT, PICKLE_FORMAT):
        raise ModelError(
            f"{path} is a bundle of format {card.get('bundle_format')}, made by another storyfilter; this one reads "
            f"format {BUNDLE_FORMAT}: retrain it with `storyfilter train`"
        )
    check_library_versions(card.get("libraries", {}), str(path))
    return card, data


def read_bundle(path: Path, *, allow_pickle: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fitted objects of the bundle at ``path`` (a dict) and its card, checked first (see :func:`read_card`).

    A pickled bundle of an older storyfilter (format 2) is read only with
    ``allow_pickle``; anything else that is not a model file is refused
    without being run.
    """
    ahead = take(path)
    card, data = read_card(path, ahead)
    if is_model_file(data):
        try:
            if ahead is not None and ahead.unpack_error is not None:
                raise ValueError(ahead.unpack_error)
            payload = unpickling.unpickle(ahead.inner) if ahead and ahead.inner else unpickling.loads(data)
        except unpickling.UnknownTypeError as error:
            raise ModelError(
                f"{path} names {error}, which a storyfilter model is not made of: refused without running it"
            ) from None
        except Exception as error:  # noqa: BLE001 - any failure to read means an unusable bundle
            raise ModelError(f"cannot load {path}: {type(error).__name__}: {error}") from None
        expected = BUNDLE_FORMAT
    elif allow_pickle:
        payload = _read_pickle(path, data)
        expected = PICKLE_FORMAT
    else:
        raise ModelError(
            f"{path} is not a storyfilter model file (format {BUNDLE_FORMAT}): an older bundle is a pickle, which "
            f"runs any code it holds when loaded. If you trust where it came from, convert it once: `storyfilter "
            f"convert {path} --out NAME{SUFFIX}` (or load_model(path, allow_pickle=True)); else retrain"
        )
    if not isinstance(payload, dict) or payload.get("format") != expected or not payload.keys() >= REQUIRED_KEYS:
        raise ModelError(f"{path} is not a storyfilter bundle of format {expected}: retrain it")
    _check_card_settings(card, payload, path)
    return payload, card


# The settings a card repeats from its model file: the file's are the ones used.
CARD_SETTINGS = ("name", "version", "story_threshold", "html_story_threshold", "html_text_share", "topic_thresholds")


def _check_card_settings(card: dict[str, Any], payload: dict[str, Any], path: Path) -> None:
    """Refuse a card that says other settings than its model file holds (a card edited by hand): it would
    describe one model while another labels."""
    for key in CARD_SETTINGS:
        if key in card and key in payload and card[key] != payload[key]:
            raise ModelError(
                f"{card_path(path)} says {key} {card[key]!r}, but {path} holds {payload[key]!r}: a model's settings "
                "are read from its file, and the card only describes them. Restore the card that came with the "
                "model; to change a setting, set it on the loaded model and save it (docs/python.md, 'Settings')"
            )


def _read_pickle(path: Path, data: bytes) -> Any:
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable bundle
        raise ModelError(f"cannot load {path}: {type(error).__name__}: {error}") from None
