"""Lexical line features: hashed words and word pairs of each line.

Tokens come from :class:`~classifier.features.tokens.LineBatch` (stable
hashes, the same in every process), so a model fitted in one process
labels identically in another.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..segment.text import Segment
from .tokens import LineBatch


class LexicalFeatures(TransformerMixin, BaseEstimator):
    """Hashed word unigrams and bigrams of each segment.

    Tokens are words and punctuation marks, case ignored; the first and the
    last token of a line also count as features of their own ("starts with
    Share", "ends with ..."). Counts are scaled to unit length per line.

    Parameters
    ----------
    n_features : int, default=2**18
        Width of the hashed feature space.
    bigrams : bool, default=True
        Whether pairs of adjacent tokens count too.
    """

    def __init__(self, n_features: int = 2**18, bigrams: bool = True):
        self.n_features = n_features
        self.bigrams = bigrams

    def fit(self, X: Sequence[Segment], y=None) -> LexicalFeatures:
        if self.n_features < 16:
            raise ValueError(f"n_features must be at least 16, got {self.n_features}")
        self.n_features_out_ = self.n_features
        return self

    def transform(self, X: Sequence[Segment], batch: LineBatch | None = None) -> sparse.csr_matrix:
        """Hashed token counts, one row per segment; ``batch`` may be passed to share its work."""
        check_is_fitted(self, "n_features_out_")
        batch = batch if batch is not None else LineBatch.from_segments(X)
        return token_matrix(batch, self.n_features, self.bigrams)


def token_matrix(batch: LineBatch, n_features: int, bigrams: bool) -> sparse.csr_matrix:
    """Rows of hashed token counts (unigrams, first and last token, bigrams), unit length."""
    n = len(batch)
    line, hashes, _ = batch.tokens
    rows, keys = [line], [hashes]
    if hashes.size:
        first = np.ones(len(line), dtype=bool)
        first[1:] = line[1:] != line[:-1]
        last = np.ones(len(line), dtype=bool)
        last[:-1] = line[1:] != line[:-1]
        rows += [line[first], line[last]]
        keys += [hashes[first] ^ _FIRST_SALT, hashes[last] ^ _LAST_SALT]
        if bigrams:
            same = ~first[1:]
            with np.errstate(over="ignore"):
                rows.append(line[1:][same])
                keys.append(hashes[:-1][same] * np.uint64(31) + hashes[1:][same])
    row = np.concatenate(rows)
    column = (np.concatenate(keys) % np.uint64(n_features)).astype(np.int32)
    # Duplicates within a row are left to add up; the norm counts every
    # token once, which is close enough and spares a sort.
    counts = np.bincount(row, minlength=n).astype(np.float32)
    values = (1.0 / np.sqrt(np.maximum(counts, 1.0)))[row]
    order = np.argsort(row, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return sparse.csr_matrix((values[order], column[order], indptr), shape=(n, n_features))


# Salts that set a line's first and last tokens apart from the same tokens elsewhere.
_FIRST_SALT = np.uint64(0x9E3779B97F4A7C15)
_LAST_SALT = np.uint64(0xD1B54A32D192ED03)
