"""The language of a story: an ISO 639-1 code, or None when it cannot be told.

py3langid (whose model ships with it) reads the first part of the story.
A story too short, or of a language it is not sure of, or of one without
a two-letter code, has no language.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata

import numpy as np
from scipy import sparse

from ..cache import cached_arrays

# Characters of the story read: enough to tell any language, and the cost stays flat.
READ_CHARS = 300
# Fewer characters than this (a headline, a caption) tell too little.
MIN_CHARS = 20
# The identifier's probability under which a story has no language.
MIN_PROBABILITY = 0.5
# Codes of the identifier for varieties of a language with a two-letter code.
_VARIETIES = {"arz": "ar", "ary": "ar", "yue": "zh", "wuu": "zh", "uzs": "uz", "gug": "gn"}


@lru_cache(maxsize=1)
def _model_arrays() -> dict[str, np.ndarray] | None:
    """py3langid's model as arrays, read from the cache folder (its own file is LZMA: most of a second to read).

    None when this py3langid's model cannot be read that way.
    """
    try:
        from py3langid import langid
        from py3langid.modelio import load_model

        model_file = langid.MODEL_DIR / langid.MODEL_FILE
        # The identifier's version and its model's size (not the file's time: each install has its own).
        stamp = f"{metadata.version('py3langid')}-{model_file.stat().st_size}"

        def unpack() -> dict:
            ptc, pc, classes, nextmove, row, output = load_model(model_file)
            return {
                "ptc": np.asarray(ptc),
                "pc": np.asarray(pc),
                "classes": np.asarray(classes),
                "nextmove": np.asarray(nextmove),
                "row": np.asarray(row),
                "output": np.asarray(output),
            }

        return cached_arrays("langid", stamp, unpack)
    except (ImportError, AttributeError, TypeError, ValueError, KeyError, OSError):
        return None


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's identifier over the cached arrays (:func:`_model_arrays`), else as py3langid reads its own file.

    The automaton's transition tables are handed over as views of the mapped
    arrays (a memoryview reads an item as fast as the ``array.array``
    py3langid makes for them), not copied: copying their 40 MB cost a
    one-page run 25 ms and each labelling process 40 MB of its own memory.
    """
    from py3langid import langid

    arrays = _model_arrays()
    if arrays is not None:
        try:
            return langid.LanguageIdentifier(
                arrays["ptc"],
                arrays["pc"],
                arrays["classes"].tolist(),
                memoryview(np.ascontiguousarray(arrays["nextmove"])),
                np.asarray(arrays["output"]).tolist(),  # read once a state: a list reads fastest (1 ms to make)
                norm_probs=True,
                tk_row=memoryview(np.ascontiguousarray(arrays["row"])),
            )
        except (AttributeError, TypeError, ValueError, KeyError):  # another py3langid: its own way
            pass
    return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


# What :func:`_classify_many` takes from the identifier: it scores as py3langid 0.4's does.
_IDENTIFIER_PARTS = ("_encode", "nb_ptc", "nb_pc", "nb_classes", "_alias_pairs", "_norm_probs", "min_confidence")
# The py3langid releases whose scoring :func:`_classify_many` repeats (another is let classify each text itself).
_KNOWN_RELEASES = ("0.4.",)
# How close to the probability cut, or to a tie, a text is classified again by the identifier itself: the sums
# taken together differ from its own in their last bits (by 4e-5 at most on the texts of our checks).
_NEAR = 1e-3


@lru_cache(maxsize=1)
def _walk_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The identifier's automaton for :func:`_walk`: next states, each state's row start, each state's feature.

    None unless the identifier is a release this module knows, made from
    the cached arrays, that works as expected (one feature or none, -1, per
    state; probabilities, no floor); then each text is classified by the
    identifier itself, one at a time.
    """
    arrays, identifier = _model_arrays(), _identifier()
    if arrays is None or not metadata.version("py3langid").startswith(_KNOWN_RELEASES):
        return None
    if not all(hasattr(identifier, name) for name in _IDENTIFIER_PARTS) or identifier.nb_ptc is not arrays["ptc"]:
        return None  # not the identifier made from these arrays
    output = np.asarray(arrays["output"])
    if not identifier._norm_probs or identifier.min_confidence is not None or output.ndim != 1:
        return None
    return np.asarray(arrays["nextmove"]), np.asarray(arrays["row"]).astype(np.int64) << 8, output.astype(np.int64)


def _walk(encoded: Sequence[bytes], tables: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The features the identifier's automaton meets in each text, as py3langid's ``visit_counts`` walks it: for
    every feature met, the text's number and the feature's.

    The texts walk side by side, a byte position at a time: one Python step
    per position for all of them (a few array operations), not one per byte
    of each text. The longest go first, so those still walking are a prefix.
    """
    nextmove, row_starts, output = tables
    lengths = np.array([len(data) for data in encoded], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    ranked = lengths[order]
    longest = int(ranked[0]) if len(ranked) else 0
    letters = np.zeros((len(encoded), longest), dtype=np.uint8)
    letters[np.arange(longest) < ranked[:, None]] = np.frombuffer(b"".join(encoded[i] for i in order), dtype=np.uint8)
    letters = np.ascontiguousarray(letters.T)  # a position's letters, one per text
    walking = np.searchsorted(-ranked, -np.arange(longest), side="left")  # texts longer than each position
    state = np.zeros(len(encoded), dtype=np.int64)
    met = np.full((longest, len(encoded)), -1, dtype=np.int32)
    for position, count in enumerate(walking.tolist()):
        state[:count] = nextmove[row_starts[state[:count]] + letters[position, :count]]
        met[position, :count] = output[state[:count]]
    positions, ranks = np.nonzero(met >= 0)
    return order[ranks].astype(np.int64), met[positions, ranks].astype(np.int64)


def _classify_many(texts: Sequence[str]) -> list[tuple[str, float]]:
    """The identifier's ``classify`` of each text, the texts walked and scored together.

    The same naive Bayes scores as the identifier's (each feature's log count
    times its per-language weights, plus the priors; a softmax at
    temperature sqrt(bytes); aliases folded), summed row by row as one
    sparse product rather than one small product per text. The sums so
    taken can differ from its own in their last bits; a text whose answer
    they could change (its probability within :data:`_NEAR` of the cut, or
    of the next language's) is classified by the identifier itself.
    """
    identifier, tables = _identifier(), _walk_tables()
    if tables is None:
        return [identifier.classify(text) for text in texts]
    if not texts:
        return []
    encoded = [identifier._encode(text) for text in texts]
    rows, features = _walk(encoded, tables)
    keys, counts = np.unique((rows << 32) | features, return_counts=True)  # (text, feature): times met
    used, columns = np.unique(keys & 0xFFFFFFFF, return_inverse=True)
    table = np.asarray(identifier.nb_ptc[used], dtype=np.float32)
    logs = sparse.csr_matrix(
        (np.log1p(counts.astype(np.float32)), columns, np.searchsorted(keys >> 32, np.arange(len(texts) + 1))),
        shape=(len(texts), len(used)),
    )
    scores = np.zeros((len(texts), len(identifier.nb_classes)), dtype=np.float32)
    found = np.bincount(rows, minlength=len(texts)) > 0  # a text with no feature scores 0 in every language
    scores[found] = (logs @ table)[found] + identifier.nb_pc
    scores *= (1.0 / np.sqrt(np.maximum([len(data) for data in encoded], 1))).astype(np.float32)[:, None]
    np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    for kept, folded in identifier._alias_pairs:
        scores[:, kept] += scores[:, folded]
        scores[:, folded] = 0.0
    ranked = np.sort(scores, axis=1)
    near = (np.abs(ranked[:, -1] - MIN_PROBABILITY) < _NEAR) | (ranked[:, -1] - ranked[:, -2] < _NEAR)
    best = scores.argmax(axis=1)
    return [
        identifier.classify(text) if again else (identifier.nb_classes[b], float(p))
        for text, again, b, p in zip(texts, near.tolist(), best.tolist(), ranked[:, -1].tolist())
    ]


def _language(code: str, probability: float) -> str | None:
    code = _VARIETIES.get(code, code)
    return code if probability >= MIN_PROBABILITY and len(code) == 2 else None


def _told(text: str) -> str | None:
    """The part of ``text`` the identifier reads, or None when it is too short to tell."""
    text = text[:READ_CHARS]
    return text if len(text.strip()) >= MIN_CHARS else None


def language_of(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None."""
    told = _told(text)
    return None if told is None else _language(*_identifier().classify(told))


def languages_of(texts: Sequence[str]) -> list[str | None]:
    """:func:`language_of` of each text, the texts read together (:func:`_classify_many`)."""
    told = [_told(text) for text in texts]
    rows = [i for i, text in enumerate(told) if text is not None]
    languages: list[str | None] = [None] * len(texts)
    for i, found in zip(rows, _classify_many([told[i] for i in rows])):
        languages[i] = _language(*found)
    return languages
