"""A batch of lines as numpy arrays: code points, character classes, tokens.

Everything per character or per word is computed here with array
operations over the whole batch at once: the lines are joined by newlines
and encoded as UTF-32, character classes come from a lookup table, and
tokens (runs of letters and digits, and single punctuation marks) are found
and hashed without a Python loop over characters or words. The token hashes
are stable across processes and platforms (unlike Python's salted ``hash``),
so a model fitted in one process labels identically in another.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..cache import cached_arrays
from .once import computed_once

# Character classes, as bit flags in a lookup table over code points. SOLO marks the
# characters of scripts written without spaces between words (Han, kana, Thai, ...):
# each is a word of its own, so that lengths, word counts and word features mean
# about the same in every script.
UPPER, LOWER, DIGIT, SPACE, LETTER, PUNCT, STOP, CLOSER, ALNUM, SOLO, WIDE_STOP = (1 << i for i in range(11))
# Sentence ends of every script; WIDE_STOPS end a sentence with no space after them.
SENTENCE_END = (
    ".!?\u2026\u3002\uff01\uff1f\uff61\u061f\u06d4\u0964\u0965\u0589\u1362\u1367\u037e\u203c\u2047\u2048\u2049"
)
WIDE_STOPS = "\u3002\uff01\uff1f\uff61"
CLOSERS = "\"'\u201d\u2019)]\u00bb\u203a\u300d\u300f\u300b\u3009\u3011\u3015\uff09"
# Blocks of scripts written without spaces: CJK ideographs (and extension A, compatibility),
# hiragana, katakana (and half-width), Thai, Lao, Tibetan, Myanmar, Khmer.
SOLO_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x3040, 0x30FF),
    (0xFF66, 0xFF9F),
    (0x0E00, 0x0E7F),
    (0x0E80, 0x0EFF),
    (0x0F00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
)
# The supplementary planes of CJK ideographs (extensions B and later).
_SUPPLEMENTARY_IDEOGRAPHS = (0x20000, 0x3FFFF)
# Joiners that sit inside words (Persian, Indic scripts).
_JOINERS = "\u200c\u200d"
# Value of each digit of any script (0-9), else 255.
NOT_A_DIGIT = 255

# Multiplier of the polynomial token hash and the largest position weighed
# separately (characters further into a very long token share a weight).
_BASE = np.uint32(0x01000193)
_MAX_POSITION = 64
with np.errstate(over="ignore"):
    _POWERS32 = np.cumprod(np.full(_MAX_POSITION, _BASE, dtype=np.uint32), dtype=np.uint32) * np.uint32(0x9E3779B1)


@lru_cache(maxsize=1)
def _tables() -> dict[str, np.ndarray]:
    """The character tables, from the cache folder (see :mod:`classifier.cache`) or made now."""
    # This module's source says what the tables are made from (and not where it is installed).
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return cached_arrays("characters", f"{unicodedata.unidata_version}-{key}", _make_tables)


def class_table() -> tuple[np.ndarray, np.ndarray]:
    """Class flags and lower-case code point for each code point of the basic plane.

    Made once (a fraction of a second) and kept in the cache folder.
    Combining marks (the vowel signs of Devanagari, Arabic vowel marks)
    count as letters, so that they do not cut their word in two.
    """
    tables = _tables()
    return tables["flags"], tables["lower"]


def digit_values() -> np.ndarray:
    """The value (0-9) of each digit of the basic plane, of any script; :data:`NOT_A_DIGIT` elsewhere."""
    return _tables()["digits"]


def _make_tables() -> dict[str, np.ndarray]:
    flags = np.zeros(0x10000, dtype=np.uint16)
    lower = np.arange(0x10000, dtype=np.uint32)
    digits = np.full(0x10000, NOT_A_DIGIT, dtype=np.uint8)
    for code in range(0x10000):
        char = chr(code)
        value = 0
        if char.isupper():
            value |= UPPER
            folded = char.lower()
            if len(folded) == 1:
                lower[code] = ord(folded)
        if char.islower():
            value |= LOWER
        if char.isdigit():
            value |= DIGIT
            digit = unicodedata.digit(char, None)
            if digit is not None:
                digits[code] = digit
        if char.isalpha():
            value |= LETTER
        if char.isspace() and char != "\n":
            value |= SPACE
        if not (char.isalnum() or char.isspace()) and char.isprintable():
            value |= PUNCT
        if char.isalnum():
            value |= ALNUM
        if unicodedata.category(char).startswith("M") or char in _JOINERS:
            value = (value & ~PUNCT) | LETTER | ALNUM
        flags[code] = value
    for low, high in SOLO_RANGES:
        span = slice(low, high + 1)
        flags[span] = np.where((flags[span] & ALNUM) != 0, flags[span] | SOLO, flags[span])
    for char in SENTENCE_END:
        flags[ord(char)] |= STOP
    for char in WIDE_STOPS:
        flags[ord(char)] |= WIDE_STOP
    for char in CLOSERS:
        flags[ord(char)] |= CLOSER
    return {"flags": flags, "lower": lower, "digits": digits}


def mix(h: np.ndarray) -> np.ndarray:
    """Scramble hash bits so that any slice of them is evenly spread."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(33))
        h = h * np.uint64(0xFF51AFD7ED558CCD)
        h = h ^ (h >> np.uint64(33))
        h = h * np.uint64(0xC4CEB9FE1A85EC53)
        return h ^ (h >> np.uint64(33))


# Long lines are seen through their first and last characters only: what
# marks a line as chrome or story shows at its ends and in its proportions,
# and the cost of the features then no longer grows with paragraph length.
CLIP_HEAD = 160
CLIP_TAIL = 60


def clip(text: str) -> str:
    """The head and tail of a long line, joined by a space; short lines whole."""
    if len(text) <= CLIP_HEAD + CLIP_TAIL + 1:
        return text
    return text[:CLIP_HEAD] + " " + text[-CLIP_TAIL:]


@dataclass(frozen=True)
class LineBatch:
    """Lines of a batch as arrays.

    Attributes
    ----------
    texts : list of str
        The lines as the arrays hold them (long lines clipped, see :func:`clip`).
    joined : str
        The lines joined by newlines.
    points : ndarray of uint32
        Code points of ``joined``.
    starts, lengths : ndarray of int64
        Where each line starts in ``points`` and how long it is there.
    full_texts : list of str
        The lines, whole.
    scale : ndarray of float64
        Full length over held length: counts over a clipped line are
        multiplied by it to estimate counts over the whole line.
    """

    texts: Sequence[str]
    joined: str
    points: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    full_texts: Sequence[str] = ()
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> LineBatch:
        joined = "\n".join(texts)
        points = np.frombuffer(joined.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.zeros(len(texts), dtype=np.int64)
        if len(texts) > 1:
            starts[1:] = np.cumsum(lengths + 1)[:-1]
        return cls(
            texts=texts,
            joined=joined,
            points=points,
            starts=starts,
            lengths=lengths,
            full_texts=texts,
            scale=np.ones(len(texts)),
        )

    @classmethod
    def from_segments(cls, segments) -> LineBatch:
        """The batch of segments' texts, long lines clipped."""
        full = [s.text for s in segments]
        held = [clip(t) for t in full]
        batch = cls.from_texts(held)
        full_lengths = np.fromiter(map(len, full), dtype=np.int64, count=len(full))
        scale = full_lengths / np.maximum(batch.lengths, 1)
        return cls(batch.texts, batch.joined, batch.points, batch.starts, batch.lengths, full, scale)

    def __len__(self) -> int:
        return len(self.texts)

    @computed_once
    def flags(self) -> np.ndarray:
        """Class flags of each character; beyond the basic plane, a letter (a word of its own among the ideographs)."""
        table, _ = class_table()
        points = self.points
        if points.size == 0 or points.max() < 0x10000:
            return table[points]
        beyond = np.where(
            (points >= _SUPPLEMENTARY_IDEOGRAPHS[0]) & (points <= _SUPPLEMENTARY_IDEOGRAPHS[1]),
            LETTER | ALNUM | SOLO,
            LETTER | ALNUM,
        )
        return np.where(points < 0x10000, table[np.minimum(points, 0xFFFF)], beyond).astype(np.uint16)

    def per_line(self, mask: np.ndarray) -> np.ndarray:
        """How many characters of each line ``mask`` marks."""
        if len(self.texts) == 0:
            return np.zeros(0)
        return np.add.reduceat(mask.astype(np.int64), self.starts).astype(np.float64)

    @computed_once
    def _line_of_char(self) -> np.ndarray:
        # Each line owns its characters and the newline after it.
        return np.repeat(np.arange(len(self.texts), dtype=np.int32), self.lengths + 1)[: len(self.points)]

    def line_of(self, positions: np.ndarray) -> np.ndarray:
        """The line each character position falls in."""
        if len(positions) < len(self.texts) // 4:
            return np.searchsorted(self.starts, positions, side="right") - 1
        return self._line_of_char[positions]

    @computed_once
    def word_starts(self) -> np.ndarray:
        """Mask of characters that begin a word: a run of letters and digits, or one character of a script without spaces."""
        flags = self.flags
        wordish = (flags & ALNUM) != 0
        solo = (flags & SOLO) != 0
        start = wordish.copy()
        start[1:] &= ~wordish[:-1] | solo[1:] | solo[:-1]
        return start

    @computed_once
    def tokens(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tokens of the batch: (line, hash, is_word) per token, in order.

        A token is a run of letters and digits (a word) or one punctuation
        mark. Hashes ignore case.
        """
        first, hashes, is_word = self._token_arrays
        return self.line_of(first), hashes, is_word

    @property
    def token_positions(self) -> np.ndarray:
        """Where each token starts in ``points``."""
        return self._token_arrays[0]

    @computed_once
    def _token_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flags = self.flags
        punct = (flags & PUNCT) != 0
        start = self.word_starts | punct
        member = ((flags & ALNUM) != 0) | punct
        chars = np.flatnonzero(member)
        if chars.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool)
        begins = start[chars]
        boundaries = np.flatnonzero(begins)
        # 32-bit arithmetic: half the memory traffic of 64-bit, ample for hashing.
        token_of_char = np.cumsum(begins, dtype=np.int32) - 1
        position = np.arange(len(chars), dtype=np.int32) - boundaries.astype(np.int32)[token_of_char]
        np.minimum(position, _MAX_POSITION - 1, out=position)
        _, lower = class_table()
        points = self.points[chars]
        if points.max() < 0x10000:
            folded = lower[points]
        else:
            folded = np.where(points < 0x10000, lower[np.minimum(points, 0xFFFF)], points)
        with np.errstate(over="ignore"):
            weighted = (folded + np.uint32(1)) * _POWERS32[position]
            sums = np.add.reduceat(weighted, boundaries, dtype=np.uint32)
            lengths = np.diff(np.append(boundaries, len(chars))).astype(np.uint64)
            hashes = mix(sums.astype(np.uint64) | (lengths << np.uint64(32)))
        first = chars[boundaries]
        return first, hashes, ~punct[first]


def hash_words(words: Sequence[str]) -> np.ndarray:
    """Hashes of single words, as :attr:`LineBatch.tokens` computes them."""
    _, hashes, _ = LineBatch.from_texts(list(words)).tokens
    return hashes


class HashSet(NamedTuple):
    """A small set of word hashes, sorted, and which values of their low 16 bits occur among them."""

    sorted: np.ndarray
    low_bits: np.ndarray

    @classmethod
    def of(cls, hashes: np.ndarray) -> HashSet:
        members = np.unique(hashes)
        low_bits = np.zeros(1 << 16, dtype=bool)
        low_bits[(members & np.uint64(0xFFFF)).astype(np.intp)] = True
        return cls(members, low_bits)


def is_member(values: np.ndarray, members: HashSet) -> np.ndarray:
    """``np.isin`` for a small set of hashes: only the values whose low bits match one (under 1% of
    other words') are looked up in the sorted set, which costs a binary search each."""
    maybe = np.flatnonzero(members.low_bits[(values & np.uint64(0xFFFF)).astype(np.intp)])
    candidates = values[maybe]
    at = np.minimum(np.searchsorted(members.sorted, candidates), len(members.sorted) - 1)
    found = np.zeros(len(values), dtype=bool)
    found[maybe] = members.sorted[at] == candidates
    return found
