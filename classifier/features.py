"""Segment features, as scikit-learn transformers over batches of segments.

The input ``X`` of every transformer here is a sequence of
:class:`~classifier.segments.Segment` (one batch, pages contiguous). The
features are computed for the whole batch at once: the batch's text is
turned into one array of code points, character classes are looked up in a
table, and per-line counts are sums over line slices; regular expressions
run once over the joined text. No Python loop runs per character or per
word.

Three kinds of features:

* shape: length, words, capitals, digits, punctuation, sentence ends,
  stopwords, dates, links, list markers, repetition on the page;
* layout: position in the page, the blank-line block, neighbours' shape and
  windows of the page around the line;
* lexical: hashed words from the head and tail of the line.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .pages import PageIndex
from .segments import Segment
from .tokens import ALNUM, CLOSER, DIGIT, LETTER, PUNCT, SPACE, STOP, UPPER, LineBatch, hash_words

_BULLETS = "*\u2022\u00b7\u25aa\u25cf\u25ba\u2023\u2043\u2013-+>\u203a\u00bb"
# Characters counted one by one: (name, characters).
_COUNTED = (
    ("comma", ","),
    ("colon", ":"),
    ("pipe", "|"),
    ("at", "@"),
    ("hash", "#"),
    ("copyright", "\u00a9\u00ae\u2122"),
    ("arrow", "\u00bb\u203a>\u2192\u25b8\u25ba"),
    ("bullet", "\u2022\u00b7\u25aa\u25cf"),
    ("paren", "()[]"),
    ("currency", "$\u20ac\u00a3\u00a5"),
    ("slash", "/\\"),
    ("dash", "-\u2013\u2014"),
    ("quote", "\"\u201c\u201d\u00ab\u00bb"),
)

# Shape columns about the line's ends, which clipping keeps whole.
_LINE_ENDS = frozenset(
    {"ends_sentence", "ends_colon", "ends_digit", "starts_upper", "starts_digit", "starts_bullet"}
)
# Function words ("the", "of", "and", "in", "to") mark running prose; short
# lower-case words stand in for them in any language written in cases.
_FUNCTION_WORD_LETTERS = 3
# Month names and their abbreviations, as a date's tell-tale words.
_MONTHS = (
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december"
).split()
# A wire story's last line may end with the agency after the full stop:
# "...said on Monday.—Agency", "...on Monday. (Agency)". The sentence still ends.
_SIGNOFF = re.compile(
    r"[.!?\"\u201d\u2019]\s*(?:[-\u2013\u2014]+\s*|\(\s*)[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3}\)?$"
)
# How far from the line end a sign-off is looked for.
_SIGNOFF_CHARS = 60
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,}(?:,\s*[A-Z][\w .]*)?\s*(?:[,:(\u2014\u2013-]|$)")

# Lines at least this long (in words) read as prose paragraphs.
_PROSE_WORDS = 15
# Neighbour offsets whose shape the layout features include.
_OFFSETS = (-3, -2, -1, 1, 2, 3)
# Window half-widths (in lines) for the neighbourhood averages.
_WINDOWS = (2, 5, 15)
# Cap for distances in lines ("none within reach").
_FAR = 50


@lru_cache(maxsize=1)
def _group_table() -> np.ndarray:
    """For each code point of the basic plane, its counted group (1-based), or 0."""
    groups = np.zeros(0x10000, dtype=np.uint8)
    for number, (_, chars) in enumerate(_COUNTED, 1):
        for char in chars:
            groups[ord(char)] = number
    return groups


@lru_cache(maxsize=1)
def _month_hashes() -> np.ndarray:
    return np.unique(hash_words(_MONTHS))


def _is_member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin`` for a small sorted set, without sorting the large array."""
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _date_parts(batch: LineBatch) -> tuple[np.ndarray, np.ndarray]:
    """Per line, how many date parts (years 1900-2099, month names) and clock times it holds."""
    n = len(batch)
    points, flags = batch.points, batch.flags
    is_digit = (flags & DIGIT) != 0
    # Runs of exactly four digits that read 19xx or 20xx.
    run_start = is_digit.copy()
    run_start[1:] &= ~is_digit[:-1]
    firsts = np.flatnonzero(run_start)
    firsts = firsts[firsts + 4 <= len(points)]
    four = is_digit[firsts + 1] & is_digit[firsts + 2] & is_digit[firsts + 3]
    four &= (firsts + 4 == len(points)) | ~is_digit[np.minimum(firsts + 4, len(points) - 1)]
    century = (points[firsts] - 48) * 10 + (points[firsts + 1] - 48)
    years = firsts[four & ((century == 19) | (century == 20))]
    line, hashes, is_word = batch.tokens
    months = line[is_word & _is_member(hashes, _month_hashes())]
    parts = np.bincount(batch.line_of(years), minlength=n) + np.bincount(months, minlength=n)
    # Clock times: a colon between digits ("9:30", "14:05").
    colons = np.flatnonzero(points == ord(":"))
    colons = colons[(colons > 0) & (colons + 2 < len(points))]
    clock = is_digit[colons - 1] & is_digit[colons + 1] & is_digit[colons + 2]
    times = np.bincount(batch.line_of(colons[clock]), minlength=n)
    return parts.astype(np.float64), times.astype(np.float64)


def _function_word_counts(batch: LineBatch) -> np.ndarray:
    """Short all-lower-case words in each line: a cheap, language-light stopword count."""
    flags = batch.flags
    starts = np.flatnonzero(batch.word_starts)
    wordish = (flags & ALNUM) != 0
    ends_mask = wordish.copy()
    ends_mask[:-1] &= ~wordish[1:]
    ends = np.flatnonzero(ends_mask)
    # Words holding a capital or a digit: find those characters' words.
    marked = np.flatnonzero(flags & (UPPER | DIGIT))
    lower_only = np.ones(len(starts), dtype=bool)
    lower_only[np.searchsorted(starts, marked, side="right") - 1] = False
    short = (ends - starts) < _FUNCTION_WORD_LETTERS
    chosen = starts[lower_only & short]
    return np.bincount(batch.line_of(chosen), minlength=len(batch)).astype(np.float64)


def _page_repeats(texts: Sequence[str], index: PageIndex) -> tuple[np.ndarray, np.ndarray]:
    """For each line, how many other lines of its page have the same text, and how many come before it.

    Pages often carry a block twice (a teaser list in the header and the
    footer, or the whole article in a second, hidden copy); the later copy
    is not part of the story.
    """
    keys = np.fromiter((hash(t) for t in texts), dtype=np.int64, count=len(texts))
    # Mix the page into the key; int64 wrap-around is harmless for grouping.
    with np.errstate(over="ignore"):
        keys = keys * np.int64(1_000_003) + index.page
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    group_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    earlier = np.empty(len(texts), dtype=np.float64)
    earlier[order] = np.arange(len(texts)) - group_start[inverse[order]]
    return counts[inverse].astype(np.float64) - 1.0, earlier


def shape_table(segments: Sequence[Segment], batch: LineBatch, index: PageIndex) -> dict[str, np.ndarray]:
    """Raw per-line shape measurements of a batch, as named columns."""
    texts = batch.texts
    n = len(texts)
    if n == 0:
        return {}
    points, flags, starts = batch.points, batch.flags, batch.starts
    word_start = batch.word_starts
    # A sentence ends at . ! ? followed by a space, a closing quote or the line end.
    stops = np.flatnonzero(flags & STOP)
    following = np.minimum(stops + 1, len(points) - 1)
    ends_here = ((flags[following] & (SPACE | CLOSER)) != 0) | (points[following] == 10) | (stops + 1 == len(points))
    sentence_ends = np.bincount(batch.line_of(stops[ends_here]), minlength=n).astype(np.float64)
    last = starts + batch.lengths - 1
    last_flags = flags[last]
    before_last = flags[np.maximum(last - 1, starts)]
    words = batch.per_line(word_start)
    digits = batch.per_line((flags & DIGIT) != 0)
    columns: dict[str, np.ndarray] = {
        "words": words,
        "upper": batch.per_line((flags & UPPER) != 0),
        "letters": batch.per_line((flags & LETTER) != 0),
        "digits": digits,
        "punct": batch.per_line((flags & PUNCT) != 0),
        "sentences": sentence_ends,
        "cap_words": batch.per_line(word_start & ((flags & UPPER) != 0)),
        "ends_sentence": (
            ((last_flags & STOP) != 0) | (((last_flags & CLOSER) != 0) & ((before_last & STOP) != 0))
        ).astype(np.float64),
        "ends_colon": (points[last] == ord(":")).astype(np.float64),
        "ends_digit": ((last_flags & DIGIT) != 0).astype(np.float64),
        "starts_upper": ((flags[starts] & UPPER) != 0).astype(np.float64),
        "starts_digit": ((flags[starts] & DIGIT) != 0).astype(np.float64),
        "starts_bullet": np.isin(points[starts], [ord(c) for c in _BULLETS]).astype(np.float64),
    }
    groups = np.where(points < 0x10000, _group_table()[np.minimum(points, 0xFFFF)], 0)
    marked = np.flatnonzero(groups)
    width = len(_COUNTED)
    counted = np.bincount(batch.line_of(marked) * width + groups[marked] - 1, minlength=n * width)
    counted = counted.reshape(n, width).astype(np.float64)
    for column, (name, _) in enumerate(_COUNTED):
        columns[name] = counted[:, column]
    columns["stopwords"] = _function_word_counts(batch)
    # Counts over a clipped line stand for counts over the whole line.
    for name in list(columns):
        if name not in _LINE_ENDS:
            columns[name] = columns[name] * batch.scale
    columns["chars"] = batch.lengths * batch.scale
    columns["dates"], columns["times"] = _date_parts(batch)
    # Dots inside words (example.com, file.html) betray links and addresses.
    dots = stops[(points[stops] == ord(".")) & (stops > 0) & (stops + 1 < len(points))]
    inner = ((flags[dots - 1] & ALNUM) != 0) & ((flags[dots + 1] & LETTER) != 0)
    columns["links"] = np.bincount(batch.line_of(dots[inner]), minlength=n) + columns["at"]
    # A sign-off can only follow a sentence end in a line that does not end one.
    has_stop = np.bincount(batch.line_of(stops), minlength=n) > 0
    open_ended = np.flatnonzero((columns["ends_sentence"] == 0) & has_stop)
    signed = np.fromiter(
        (_SIGNOFF.search(texts[i][-_SIGNOFF_CHARS:]) is not None for i in open_ended), dtype=bool, count=len(open_ended)
    )
    columns["signoff"] = np.zeros(n)
    columns["signoff"][open_ended[signed]] = 1.0
    columns["ends_sentence"] = np.maximum(columns["ends_sentence"], columns["signoff"])
    # A dateline opens with a word in capitals ("AMARA, June 14:").
    capital_start = np.flatnonzero(
        ((flags[starts] & UPPER) != 0) & ((flags[np.minimum(starts + 1, len(points) - 1)] & UPPER) != 0)
    )
    columns["dateline"] = np.zeros(n)
    opened = np.fromiter((_DATELINE.match(texts[i]) is not None for i in capital_start), dtype=bool, count=len(capital_start))
    columns["dateline"][capital_start[opened]] = 1.0
    columns["repeats"], columns["earlier_copies"] = _page_repeats(batch.full_texts, index)
    columns["gap"] = index.gap.astype(np.float64)
    columns["indent"] = index.indent.astype(np.float64)
    return columns


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
    add("digit_ratio", _ratio(raw["digits"], chars))
    add("punct_ratio", _ratio(raw["punct"], chars))
    add("cap_word_ratio", _ratio(raw["cap_words"], words))
    add("stop_ratio", stop_ratio)
    add("log_stopwords", np.log1p(raw["stopwords"]))
    add("log_sentences", np.log1p(raw["sentences"]))
    add("comma_ratio", _ratio(raw["comma"], words))
    for name in (
        "ends_sentence", "signoff", "ends_colon", "ends_digit", "starts_upper", "starts_digit", "starts_bullet", "dateline"
    ):
        add(name, raw[name])
    for name, _ in _COUNTED:
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
    copied = (raw["earlier_copies"] > 0).astype(np.float64)
    for width in _WINDOWS:
        add(f"around{width}_copied", index.window_mean(copied, width, width))
        add(f"around{width}_log_words", index.window_mean(log_words, width, width))
        add(f"around{width}_prose", index.window_mean(prose, width, width))
        add(f"around{width}_ends_sentence", index.window_mean(ends, width, width))
        add(f"around{width}_dated", index.window_mean(dated, width, width))
        add(f"before{width}_prose", _side_mean(index, prose, width, -1))
        add(f"after{width}_prose", _side_mean(index, prose, width, 1))
        add(f"before{width}_dated", _side_mean(index, dated, width, -1))
        add(f"after{width}_dated", _side_mean(index, dated, width, 1))
    add("log_to_prose_before", np.log1p(index.nearest_distance(prose > 0, -1, _FAR)))
    add("log_to_prose_after", np.log1p(index.nearest_distance(prose > 0, 1, _FAR)))
    add("log_to_date_before", np.log1p(index.nearest_distance(dated > 0, -1, _FAR)))
    add("log_to_date_after", np.log1p(index.nearest_distance(dated > 0, 1, _FAR)))
    if len(names) != _N_FEATURES:
        raise AssertionError(f"{len(names)} features computed, {_N_FEATURES} declared")
    return out.T, names


def _side_mean(index: PageIndex, values: np.ndarray, width: int, side: int) -> np.ndarray:
    """Mean of ``values`` over ``width`` lines strictly before (-1) or after (+1) each line.

    Lines with nothing on that side within the page get -1.
    """
    if side < 0:
        total = index.window_sum(values, width, 0) - values
        count = index.window_count(width, 0) - 1.0
    else:
        total = index.window_sum(values, 0, width) - values
        count = index.window_count(0, width) - 1.0
    return np.where(count > 0, total / np.maximum(count, 1.0), -1.0)


@lru_cache(maxsize=1)
def feature_names() -> list[str]:
    """Names of the dense line features, in column order."""
    probe = [Segment("Probe line.", 0, 11)]
    return line_features(probe)[1]


# Width of the dense features; line_features checks it fills exactly this many.
_N_FEATURES = 130


class LineFeatures(TransformerMixin, BaseEstimator):
    """Dense shape and layout features of each segment in a batch.

    ``X`` is a sequence of :class:`Segment`; pages must be contiguous.
    The features have no learned state, but the transformer is fitted like
    any other so that a pipeline can check its input width.
    """

    def fit(self, X: Sequence[Segment], y=None) -> "LineFeatures":
        self.feature_names_out_ = np.array(feature_names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def transform(self, X: Sequence[Segment], batch: LineBatch | None = None, index: PageIndex | None = None) -> np.ndarray:
        """Features of each segment; ``batch``/``index`` may be passed to share their work."""
        check_is_fitted(self, "feature_names_out_")
        values, _ = line_features(X, batch, index)
        return values

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_


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

    def fit(self, X: Sequence[Segment], y=None) -> "LexicalFeatures":
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
