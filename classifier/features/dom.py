"""DOM features of HTML segments, added to the text features.

Every segment of an HTML page carries :class:`~classifier.segment.html.BlockFacts`.
:class:`DomFeatures` turns a batch of them into

* dense columns: the tag of the block, the kinds of elements around it
  (link, nav, footer, list, heading, hidden, ...), depth, link density of
  the block, of its element, of its parent element and of all blocks on
  the same DOM path, how much text those groups hold, markup density, how
  the block sits relative to the page's longest paragraph, and what its
  class and id names say (``nav``, ``footer``, ``related``, ``comment``,
  ``content``, ...);
* sparse hashed class/id tokens, which join the wording model's tokens;
* group ids (element, parent element, DOM path), over which the context
  stage averages first-pass scores: a paragraph in the same container as
  other story paragraphs is story.

Segments without DOM facts (plain text) get zeros and groups of their own.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..segment.tags import ANCESTORS, OWNER_TAGS
from ..segment.text import Segment
from .pages import PageIndex

# Families of class/id words, each a dense column: a segment is in the
# family when any of its class/id tokens contains one of the stems.
CLASS_FAMILIES = (
    ("nav", ("nav", "menu", "breadcrumb", "pagination", "pager", "skip")),
    ("header", ("header", "masthead", "topbar", "toolbar", "logo", "brand")),
    ("footer", ("footer", "copyright", "legal", "bottom")),
    ("sidebar", ("sidebar", "aside", "widget", "rail", "secondary")),
    ("related", ("related", "recommend", "more", "popular", "trending", "teaser", "promo", "recirc", "next", "prev")),
    ("comment", ("comment", "reply", "discuss", "disqus", "respond")),
    ("share", ("share", "social", "follow", "facebook", "twitter", "whatsapp", "print", "email")),
    ("ad", ("advert", "sponsor", "banner", "dfp", "adslot", "ads")),
    (
        "subscribe",
        ("subscribe", "newsletter", "signup", "paywall", "login", "register", "cookie", "consent", "modal", "popup"),
    ),
    ("meta", ("meta", "byline", "author", "date", "time", "posted", "dateline", "info")),
    ("tags", ("tag", "categor", "topic", "label", "keyword")),
    ("caption", ("caption", "credit", "figure", "photo", "image", "img", "media", "gallery")),
    ("title", ("title", "headline", "heading", "h1")),
    ("content", ("content", "article", "story", "entry", "post", "body", "text", "main", "prose", "rich")),
    ("list", ("list", "card", "item", "grid", "feed", "tile")),
    ("hidden", ("hidden", "hide", "invisible", "visually")),
)
# Class/id tokens nearer the text than this (in tokens) count as the block's own.
_OWN_TOKENS = 3
_OWN_SALT = "own:"
_ANY_SALT = "cls:"
_TAG_SALT = "tag:"


class DomParts(NamedTuple):
    """What :meth:`DomFeatures.parts` gives: dense columns, sparse tokens, group ids."""

    dense: np.ndarray
    tokens: sparse.csr_matrix
    groups: np.ndarray


def _group_ids(page: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Dense ids 0..g-1 for the distinct (page, key) pairs."""
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(over="ignore"):  # wrap-around only mixes the bits
        mixed = key * np.int64(0x9E3779B97F4A7C1) + page
    _, inverse = np.unique(mixed, return_inverse=True)
    return inverse.ravel().astype(np.int64)


def group_mean(groups: np.ndarray, values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of ``values`` over each row's group (weighted when ``weights`` is given)."""
    if weights is None:
        weights = np.ones(len(values))
    total = np.bincount(groups, weights=values * weights)
    mass = np.bincount(groups, weights=weights)
    return (total / np.maximum(mass, 1e-9))[groups]


def group_sum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.bincount(groups, weights=values)[groups]


class DomFeatures(TransformerMixin, BaseEstimator):
    """Dense DOM columns, hashed class/id tokens and container groups of HTML segments.

    Parameters
    ----------
    n_features : int, default=2**16
        Width of the hashed class/id token space.
    """

    def __init__(self, n_features: int = 2**16):
        self.n_features = n_features

    def fit(self, X: Sequence[Segment], y=None) -> DomFeatures:
        self.feature_names_out_ = np.array(dense_names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def transform(self, X: Sequence[Segment], index: PageIndex | None = None) -> np.ndarray:
        """The dense DOM columns (see :meth:`parts` for all of it)."""
        return self.parts(X, index).dense

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_

    def parts(self, X: Sequence[Segment], index: PageIndex | None = None) -> DomParts:
        """Dense columns, hashed tokens and group ids (element, parent, path) of a batch."""
        check_is_fitted(self, "feature_names_out_")
        index = index if index is not None else PageIndex.from_segments(X)
        return dom_parts(X, index, self.n_features)


def dense_names() -> list[str]:
    names = [f"tag_{tag}" for tag in OWNER_TAGS]
    names += [f"in_{kind}" for kind in ANCESTORS]
    names += [f"class_{family}" for family, _ in CLASS_FAMILIES]
    names += [f"own_class_{family}" for family, _ in CLASS_FAMILIES]
    names += [
        "has_dom",
        "log_depth",
        "depth_vs_longest",
        "same_parent_as_longest",
        "same_path_as_longest",
        "link_density",
        "log_element_size",
        "markup_density",
        "log_path_records",
    ]
    for group in ("element", "parent", "path"):
        names += [f"{group}_log_lines", f"{group}_log_chars", f"{group}_link_density", f"{group}_char_share"]
    return names


@lru_cache(maxsize=1 << 16)
def _token_families(token: str) -> int:
    """Bit set of the class families whose stems a class/id token contains."""
    bits = 0
    for bit, (_, stems) in enumerate(CLASS_FAMILIES):
        if any(stem in token for stem in stems):
            bits |= 1 << bit
    return bits


@lru_cache(maxsize=1 << 16)
def _token_hash(token: str) -> int:
    """A stable hash of a salted token (the same in every process, unlike ``hash``)."""
    return zlib.crc32(token.encode("utf-8"))


def _families(classes: tuple[str, ...]) -> tuple[int, int]:
    """Family bits of all the class/id tokens, and of the block's own (innermost) ones."""
    own = every = 0
    for position, token in enumerate(classes):
        bits = _token_families(token)
        every |= bits
        if position < _OWN_TOKENS:
            own |= bits
    return every, own


def dom_parts(X: Sequence[Segment], index: PageIndex, n_features: int) -> DomParts:
    """The DOM features of a batch of segments (see the module docstring)."""
    n = len(X)
    width = len(dense_names())
    facts = [s.dom for s in X]
    has = np.fromiter((f is not None for f in facts), dtype=bool, count=n)
    out = np.zeros((n, width))
    if n == 0:
        return DomParts(out, sparse.csr_matrix((0, n_features), dtype=np.float32), np.zeros((0, 3), dtype=np.int64))
    blank = (0, 0, 0, 0, -1, -1, 1, "", ())
    rows = [f if f is not None else blank for f in facts]
    # The facts' fields as columns (one pass in C over the rows, not one Python loop a field).
    fields = list(zip(*rows))
    tag = np.fromiter(fields[0], dtype=np.int64, count=n)
    bits = np.fromiter(fields[1], dtype=np.int64, count=n)
    depth = np.fromiter(fields[2], dtype=np.float64, count=n)
    link_chars = np.fromiter(fields[3], dtype=np.float64, count=n)
    owner = np.fromiter(fields[4], dtype=np.int64, count=n)
    parent = np.fromiter(fields[5], dtype=np.int64, count=n)
    size = np.fromiter(fields[6], dtype=np.float64, count=n)
    path_hash = np.fromiter(map(hash, fields[7]), dtype=np.int64, count=n)
    chars = np.fromiter(map(len, [s.text for s in X]), dtype=np.float64, count=n)
    # Segments without DOM facts are each their own group.
    solo = np.arange(n, dtype=np.int64)
    owner = np.where(has, owner, -1 - solo)
    parent = np.where(has, parent, -1 - solo)
    path_hash = np.where(has, path_hash, -1 - solo)
    page = index.page
    groups = np.column_stack([_group_ids(page, key) for key in (owner, parent, path_hash)])

    column = 0
    out[np.arange(n), tag] = has  # one-hot tag
    column += len(OWNER_TAGS)
    for bit in range(len(ANCESTORS)):
        out[:, column + bit] = (bits >> bit) & 1
    column += len(ANCESTORS)
    cache: dict[tuple[str, ...], tuple[int, int]] = {}
    every = np.zeros(n, dtype=np.int64)
    own = np.zeros(n, dtype=np.int64)
    for i, r in enumerate(rows):
        found = cache.get(r[8])
        if found is None:
            found = cache[r[8]] = _families(r[8])
        every[i], own[i] = found
    for family_bits in (every, own):
        for bit in range(len(CLASS_FAMILIES)):
            out[:, column + bit] = (family_bits >> bit) & 1
        column += len(CLASS_FAMILIES)

    # The page's longest segment stands for its main text.
    longest = _page_argmax(index, chars)
    values = [
        has.astype(np.float64),
        np.log1p(depth),
        np.clip(depth - depth[longest], -10, 10),
        (parent == parent[longest]).astype(np.float64),
        (path_hash == path_hash[longest]).astype(np.float64),
        link_chars / np.maximum(chars, 1.0),
        np.log1p(size),
        np.log1p(group_sum(groups[:, 0], chars) / np.maximum(size, 1.0)),
        np.log1p(_records_on_path(groups)),
    ]
    page_chars = index.page_sum(chars)
    for g in range(3):
        ids = groups[:, g]
        group_chars = group_sum(ids, chars)
        values += [
            np.log(group_sum(ids, np.ones(n))),
            np.log1p(group_chars),
            group_sum(ids, link_chars) / np.maximum(group_chars, 1.0),
            group_chars / np.maximum(page_chars, 1.0),
        ]
    for value in values:
        out[:, column] = value
        column += 1
    out[~has] = 0.0
    return DomParts(out, _class_tokens(rows, has, n_features), groups)


def _records_on_path(groups: np.ndarray) -> np.ndarray:
    """For each segment, how many parent elements hold segments on its DOM path: the records of a list.

    A story's paragraphs share one path and one parent (the article body);
    a list of teasers repeats one structure, title and blurb in each item:
    every title is on one path, under as many parents as the list has items.
    """
    path, parent = groups[:, 2], groups[:, 1]
    pairs = np.unique(path * np.int64(parent.max() + 1) + parent)
    per_path = np.bincount(pairs // np.int64(parent.max() + 1), minlength=int(path.max()) + 1)
    return per_path[path].astype(np.float64)


def _page_argmax(index: PageIndex, values: np.ndarray) -> np.ndarray:
    """For each segment, the batch index of its page's largest value (the first on ties)."""
    best = index.page_max(values)
    candidate = np.where(values == best, np.arange(len(values)), len(values))
    first_best = np.full(index.page[-1] + 1, len(values))
    np.minimum.at(first_best, index.page, candidate)
    return first_best[index.page]


def _class_tokens(rows: list, has: np.ndarray, n_features: int) -> sparse.csr_matrix:
    """Hashed class/id tokens (own and any), and the block's tag path, unit length per row."""
    n = len(rows)
    cache: dict[tuple, list[int]] = {}
    columns: list[list[int]] = []
    for i, r in enumerate(rows):
        if not has[i]:
            columns.append([])
            continue
        key = (r[8], r[0], r[7])
        found = cache.get(key)
        if found is None:
            classes, tag, path = key
            tail = ">".join(step.split(".", 1)[0] for step in path.rsplit(">", 2)[-2:])
            found = [_token_hash(_ANY_SALT + c) for c in classes]
            found += [_token_hash(_OWN_SALT + c) for c in classes[:_OWN_TOKENS]]
            found.append(_token_hash(_TAG_SALT + OWNER_TAGS[tag] + "|" + tail))
            cache[key] = found
        columns.append(found)
    lengths = np.fromiter(map(len, columns), dtype=np.int64, count=n)
    col = np.fromiter(chain.from_iterable(columns), dtype=np.int64, count=int(lengths.sum())) % n_features
    values = np.repeat((1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32), lengths)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return sparse.csr_matrix((values, col.astype(np.int32), indptr), shape=(n, n_features))
