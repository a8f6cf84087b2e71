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
def _identifier():
    """py3langid's identifier, its arrays read from the cache folder (its own file is LZMA: most of a second to read).

    The automaton's transition tables are handed over as views of the mapped
    arrays (a memoryview reads an item as fast as the ``array.array``
    py3langid makes for them), not copied: copying their 40 MB cost a
    one-page run 25 ms and each labelling process 40 MB of its own memory.
    """
    from py3langid import langid

    try:
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

        arrays = cached_arrays("langid", stamp, unpack)
        return langid.LanguageIdentifier(
            arrays["ptc"],
            arrays["pc"],
            arrays["classes"].tolist(),
            memoryview(np.ascontiguousarray(arrays["nextmove"])),
            np.asarray(arrays["output"]).tolist(),  # read once a state: a list reads fastest (1 ms to make)
            norm_probs=True,
            tk_row=memoryview(np.ascontiguousarray(arrays["row"])),
        )
    except (ImportError, AttributeError, TypeError, ValueError, KeyError, OSError):  # another py3langid: its own way
        return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


def language_of(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None."""
    text = text[:READ_CHARS]
    if len(text.strip()) < MIN_CHARS:
        return None
    code, probability = _identifier().classify(text)
    code = _VARIETIES.get(code, code)
    return code if probability >= MIN_PROBABILITY and len(code) == 2 else None


def languages_of(texts: Sequence[str]) -> list[str | None]:
    """:func:`language_of` of each text."""
    return [language_of(text) for text in texts]
