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

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

# Character classes, as bit flags in a lookup table over code points.
UPPER, LOWER, DIGIT, SPACE, LETTER, PUNCT, STOP, CLOSER, ALNUM = (1 << i for i in range(9))
SENTENCE_END = ".!?\u2026\u3002\uff01\uff1f"
CLOSERS = "\"'\u201d\u2019)]\u00bb"

# Multiplier of the polynomial token hash and the largest position weighed
# separately (characters further into a very long token share a weight).
_BASE = np.uint32(0x01000193)
_MAX_POSITION = 64
with np.errstate(over="ignore"):
    _POWERS32 = np.cumprod(np.full(_MAX_POSITION, _BASE, dtype=np.uint32), dtype=np.uint32) * np.uint32(0x9E3779B1)


@lru_cache(maxsize=1)
def class_table() -> tuple[np.ndarray, np.ndarray]:
    """Class flags and lower-case code point for each code point of the basic plane.

    Built once per process (a fraction of a second).
    """
    flags = np.zeros(0x10000, dtype=np.uint16)
    lower = np.arange(0x10000, dtype=np.uint32)
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
        if char.isalpha():
            value |= LETTER
        if char.isspace() and char != "\n":
            value |= SPACE
        if not (char.isalnum() or char.isspace()) and char.isprintable():
            value |= PUNCT
        if char.isalnum():
            value |= ALNUM
        flags[code] = value
    for char in SENTENCE_END:
        flags[ord(char)] |= STOP
    for char in CLOSERS:
        flags[ord(char)] |= CLOSER
    return flags, lower


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

    @cached_property
    def flags(self) -> np.ndarray:
        """Class flags of each character; beyond the basic plane, a letter."""
        table, _ = class_table()
        if self.points.size == 0 or self.points.max() < 0x10000:
            return table[self.points]
        return np.where(self.points < 0x10000, table[np.minimum(self.points, 0xFFFF)], LETTER | ALNUM)

    def per_line(self, mask: np.ndarray) -> np.ndarray:
        """How many characters of each line ``mask`` marks."""
        if len(self.texts) == 0:
            return np.zeros(0)
        return np.add.reduceat(mask.astype(np.int64), self.starts).astype(np.float64)

    @cached_property
    def _line_of_char(self) -> np.ndarray:
        # Each line owns its characters and the newline after it.
        return np.repeat(np.arange(len(self.texts), dtype=np.int32), self.lengths + 1)[: len(self.points)]

    def line_of(self, positions: np.ndarray) -> np.ndarray:
        """The line each character position falls in."""
        if len(positions) < len(self.texts) // 4:
            return np.searchsorted(self.starts, positions, side="right") - 1
        return self._line_of_char[positions]

    @cached_property
    def word_starts(self) -> np.ndarray:
        """Mask of characters that begin a run of letters and digits."""
        wordish = (self.flags & ALNUM) != 0
        start = wordish.copy()
        start[1:] &= ~wordish[:-1]
        return start

    @cached_property
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

    @cached_property
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
