"""Dense line features: the shape of each line and its layout in the page.

The input ``X`` of :class:`LineFeatures` is a sequence of
:class:`~classifier.segment.text.Segment` (one batch, pages contiguous).
Two kinds of columns, computed for the whole batch at once from the raw
counts of :func:`~classifier.features.shape.shape_table`:

* shape: length, words, capitals, digits, punctuation, sentence ends,
  stopwords, dates, links, list markers, repetition on the page;
* layout: position in the page, the blank-line block, neighbours' shape and
  windows of the page around the line.

The wording of the line is :mod:`classifier.features.lexical`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..segment.text import Segment
from .pages import PageIndex
from .shape import COUNTED, shape_table
from .tokens import LineBatch

# Lines at least this long (in words) read as prose paragraphs.
_PROSE_WORDS = 15
# Neighbour offsets whose shape the layout features include.
_OFFSETS = (-3, -2, -1, 1, 2, 3)
# Window half-widths (in lines) for the neighbourhood averages.
_WINDOWS = (2, 5, 15)
# Periods (in lines) of the records of a list looked for, and the window (each side) they are looked for in.
_PERIODS = (2, 3, 4)
_PERIOD_WINDOW = 8
# Cap for distances in lines ("none within reach").
_FAR = 50


def _line_kinds(words: np.ndarray, ends: np.ndarray, dated: np.ndarray, sentences: np.ndarray) -> np.ndarray:
    """A coarse kind of each line: a date, a short label, a title, a short sentence, a paragraph, or else."""
    kind = np.full(len(words), 5.0)
    kind[(words >= 4) & (words < _PROSE_WORDS) & (ends == 0)] = 2.0  # a title
    kind[(words < _PROSE_WORDS) & (ends > 0)] = 3.0  # a sentence or two
    kind[(words >= _PROSE_WORDS) & (sentences > 0)] = 4.0  # a paragraph
    kind[words <= 3] = 1.0  # a label, a name, a button
    kind[(dated > 0) & (words <= 8)] = 0.0  # a date
    return kind


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a / np.maximum(b, 1.0)


def line_features(
    segments: Sequence[Segment],
    batch: LineBatch | None = None,
    index: PageIndex | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Dense shape and layout features of a batch, with their names.

    This is the one function training and labelling both call, through
    :class:`LineFeatures`. ``batch`` and ``index`` may be passed in when
    the caller has them already (they are derived from ``segments``).
    """
    batch = batch if batch is not None else LineBatch.from_segments(segments)
    index = index if index is not None else PageIndex.from_segments(segments)
    raw = shape_table(segments, batch, index)
    names: list[str] = []
    # Filled row by row and handed out transposed: each feature is one
    # contiguous write.
    out = np.empty((_N_FEATURES, len(segments)), dtype=np.float64)

    def add(name: str, values: np.ndarray) -> None:
        out[len(names)] = values
        names.append(name)

    if not raw:
        return np.zeros((0, _N_FEATURES)), feature_names()

    words, chars = raw["words"], raw["chars"]
    log_words = np.log1p(words)
    prose = (words >= _PROSE_WORDS).astype(np.float64)
    stop_ratio = _ratio(raw["stopwords"], words)

    # Shape of the line itself.
    add("log_chars", np.log1p(chars))
    add("log_words", log_words)
    add("word_length", np.minimum(_ratio(raw["letters"] + raw["digits"], words), 20.0))
    add("letter_ratio", _ratio(raw["letters"], chars))
    add("upper_ratio", _ratio(raw["upper"], raw["letters"]))
    # How much of the line is in a script with case, and in one without spaces: what the
    # capital and word-length features can mean for it.
    add("cased_ratio", _ratio(raw["cased"], raw["letters"]))
    add("solo_ratio", _ratio(raw["solo"], raw["letters"]))
    add("digit_ratio", _ratio(raw["digits"], chars))
    add("punct_ratio", _ratio(raw["punct"], chars))
    add("cap_word_ratio", _ratio(raw["cap_words"], words))
    add("stop_ratio", stop_ratio)
    add("log_stopwords", np.log1p(raw["stopwords"]))
    add("log_sentences", np.log1p(raw["sentences"]))
    add("comma_ratio", _ratio(raw["comma"], words))
    for name in (
        "ends_sentence",
        "signoff",
        "ends_colon",
        "ends_digit",
        "starts_upper",
        "starts_digit",
        "starts_bullet",
        "dateline",
    ):
        add(name, raw[name])
    for name, _ in COUNTED:
        add(f"has_{name}", np.minimum(raw[name], 3.0))
    add("dates", np.minimum(raw["dates"], 3.0))
    add("date_only", ((raw["dates"] + raw["times"] > 0) & (words <= 8)).astype(np.float64))
    add("times", np.minimum(raw["times"], 3.0))
    add("links", np.minimum(raw["links"], 3.0))
    add("repeats", np.minimum(raw["repeats"], 5.0))
    add("earlier_copies", np.minimum(raw["earlier_copies"], 3.0))
    add("gap", np.minimum(raw["gap"], 3.0))
    add("log_indent", np.log1p(raw["indent"]))

    # Place in the page.
    position, size = index.position.astype(np.float64), index.size.astype(np.float64)
    page_words = index.page_sum(words)
    words_before = index.cumulative_before(words)
    add("rel_position", position / np.maximum(size - 1, 1.0))
    add("rel_word_position", _ratio(words_before, page_words))
    add("log_lines_before", np.log1p(position))
    add("log_lines_after", np.log1p(size - 1 - position))
    add("log_words_before", np.log1p(words_before))
    add("log_words_after", np.log1p(page_words - words_before - words))
    add("log_page_lines", np.log1p(size))
    add("log_page_words", np.log1p(page_words))
    add("page_prose_share", _ratio(index.page_sum(prose * words), page_words))
    add("words_vs_page_max", log_words - np.log1p(index.page_max(words)))
    prose_before = index.cumulative_before(prose)
    prose_total = index.page_sum(prose)
    add("prose_before_share", _ratio(prose_before, prose_total))
    add("prose_after_share", _ratio(prose_total - prose_before - prose, prose_total))

    # The blank-line block the line sits in.
    block_size = index.block_size()
    add("log_block_lines", np.log1p(block_size))
    add("log_block_words", np.log1p(index.block_sum(words)))
    add("block_position", _ratio(index.block_position().astype(np.float64), block_size - 1))
    add("block_prose_share", index.block_sum(prose) / block_size)

    # Neighbours' shape: missing neighbours (page edges) read as -1.
    ends = raw["ends_sentence"]
    short_cap = ((words <= 8) & (_ratio(raw["cap_words"], words) >= 0.5)).astype(np.float64)
    dated = ((raw["dates"] + raw["times"]) > 0).astype(np.float64)
    for offset in _OFFSETS:
        tag = f"{'next' if offset > 0 else 'prev'}{abs(offset)}"
        add(f"{tag}_log_words", index.shift(log_words, offset, fill=-1.0))
        add(f"{tag}_ends_sentence", index.shift(ends, offset, fill=-1.0))
        add(f"{tag}_stop_ratio", index.shift(stop_ratio, offset, fill=-1.0))
        add(f"{tag}_dated", index.shift(dated, offset, fill=-1.0))
        add(f"{tag}_short_caps", index.shift(short_cap, offset, fill=-1.0))
        add(f"{tag}_repeats", index.shift(np.minimum(raw["repeats"], 1.0), offset, fill=-1.0))
        add(f"{tag}_gap", index.shift(np.minimum(raw["gap"], 3.0), offset, fill=-1.0))

    # Neighbourhood averages, around, before and after the line.
    copied = index.running((raw["earlier_copies"] > 0).astype(np.float64))
    log_words_sums, prose_sums, ends_sums, dated_sums = map(index.running, (log_words, prose, ends, dated))
    for width in _WINDOWS:
        add(f"around{width}_copied", copied.window_mean(width, width))
        add(f"around{width}_log_words", log_words_sums.window_mean(width, width))
        add(f"around{width}_prose", prose_sums.window_mean(width, width))
        add(f"around{width}_ends_sentence", ends_sums.window_mean(width, width))
        add(f"around{width}_dated", dated_sums.window_mean(width, width))
        add(f"before{width}_prose", prose_sums.side_mean(width, -1))
        add(f"after{width}_prose", prose_sums.side_mean(width, 1))
        add(f"before{width}_dated", dated_sums.side_mean(width, -1))
        add(f"after{width}_dated", dated_sums.side_mean(width, 1))
    add("log_to_prose_before", np.log1p(index.nearest_distance(prose > 0, -1, _FAR)))
    add("log_to_prose_after", np.log1p(index.nearest_distance(prose > 0, 1, _FAR)))
    add("log_to_date_before", np.log1p(index.nearest_distance(dated > 0, -1, _FAR)))
    add("log_to_date_after", np.log1p(index.nearest_distance(dated > 0, 1, _FAR)))

    # Records repeated in a list (title, date, blurb; title, date; ...): the kinds of line
    # around repeat with a period of 2 to 4 lines, where a run of paragraphs (or of menu
    # items) repeats with a period of one.
    kind = _line_kinds(words, ends, dated, raw["sentences"])
    same = {k: (index.shift(kind, k, fill=-1.0) == kind).astype(np.float64) for k in (1, *_PERIODS)}
    flat = index.window_mean(same[1], _PERIOD_WINDOW, _PERIOD_WINDOW)
    periodic = [np.maximum(index.window_mean(same[k], _PERIOD_WINDOW, _PERIOD_WINDOW) - flat, 0.0) for k in _PERIODS]
    for k, values in zip(_PERIODS, periodic):
        add(f"periodic{k}", values)
    add("periodic_best", np.max(periodic, axis=0))
    if len(names) != _N_FEATURES:
        raise AssertionError(f"{len(names)} features computed, {_N_FEATURES} declared")
    return out.T, names


@lru_cache(maxsize=1)
def feature_names() -> list[str]:
    """Names of the dense line features, in column order."""
    probe = [Segment("Probe line.", 0, 11)]
    return line_features(probe)[1]


# Width of the dense features; line_features checks it fills exactly this many.
_N_FEATURES = 136


class LineFeatures(TransformerMixin, BaseEstimator):
    """Dense shape and layout features of each segment in a batch.

    ``X`` is a sequence of :class:`Segment`; pages must be contiguous.
    The features have no learned state, but the transformer is fitted like
    any other so that a pipeline can check its input width.
    """

    def fit(self, X: Sequence[Segment], y=None) -> LineFeatures:
        self.feature_names_out_ = np.array(feature_names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def transform(
        self, X: Sequence[Segment], batch: LineBatch | None = None, index: PageIndex | None = None
    ) -> np.ndarray:
        """Features of each segment; ``batch``/``index`` may be passed to share their work."""
        check_is_fitted(self, "feature_names_out_")
        values, _ = line_features(X, batch, index)
        return values

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_
