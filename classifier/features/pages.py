"""Vectorised operations over a batch of segments grouped by page.

A batch is a flat sequence of segments in which each page's segments are
contiguous and in reading order. :class:`PageIndex` records where each page
and each blank-line block starts, so that neighbour shifts, windowed sums and
block aggregates run as numpy operations over the whole batch, with no loop
over lines and nothing leaking across page boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..segment.text import Segment
from .once import computed_once


@dataclass(frozen=True)
class PageIndex:
    """Where pages and blocks start and end in a flat batch of segments.

    Attributes
    ----------
    page : ndarray of int, shape (n,)
        Page number of each segment, renumbered 0..p-1 in batch order.
    first, stop : ndarray of int, shape (n,)
        For each segment, the batch index of its page's first segment and one
        past its page's last segment.
    block : ndarray of int, shape (n,)
        Block number of each segment: a block is a run of lines with no blank
        line between them, within one page.
    gap, indent : ndarray of int, shape (n,)
        The segments' blank lines before them and indentation.
    """

    page: np.ndarray
    first: np.ndarray
    stop: np.ndarray
    block: np.ndarray
    gap: np.ndarray
    indent: np.ndarray

    @classmethod
    def from_segments(cls, segments: Sequence[Segment]) -> PageIndex:
        n = len(segments)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, empty, empty, empty)
        raw = np.array([s.page for s in segments], dtype=np.int64)
        gap = np.array([s.gap for s in segments], dtype=np.int64)
        indent = np.array([s.indent for s in segments], dtype=np.int64)
        new_page = np.ones(n, dtype=bool)
        new_page[1:] = raw[1:] != raw[:-1]
        page = np.cumsum(new_page) - 1
        starts = np.flatnonzero(new_page)
        ends = np.append(starts[1:], n)
        block = np.cumsum(new_page | (gap > 0)) - 1
        return cls(page=page, first=starts[page], stop=ends[page], block=block, gap=gap, indent=indent)

    def __len__(self) -> int:
        return len(self.page)

    @property
    def position(self) -> np.ndarray:
        """Index of each segment within its page (0-based)."""
        return np.arange(len(self.page)) - self.first

    @property
    def size(self) -> np.ndarray:
        """Number of segments in each segment's page."""
        return self.stop - self.first

    def shift(self, values: np.ndarray, offset: int, fill: float = 0.0) -> np.ndarray:
        """The value of the segment ``offset`` places later in the same page.

        ``offset`` may be negative (earlier segments). Where that segment
        would fall outside the page, ``fill`` is used.
        """
        n = len(self.page)
        out = np.full(values.shape, fill, dtype=np.float64)
        source = np.arange(n) + offset
        inside = (source >= self.first) & (source < self.stop)
        out[inside] = values[source[inside]]
        return out

    @computed_once
    def page_bounds(self) -> np.ndarray:
        """Batch index of each page's first segment, then the batch's length."""
        return np.append(np.unique(self.first), len(self.page)) if len(self.page) else np.zeros(1, dtype=np.int64)

    def accumulate(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        """``ufunc.accumulate`` over each page on its own (a running sum, minimum, ...)."""
        values = np.asarray(values, dtype=np.float64)
        out = np.empty_like(values)
        bounds = self.page_bounds
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            ufunc.accumulate(values[start:stop], out=out[start:stop])
        return out

    def _running_sums(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sums over each segment's page up to and including it, and up to it excluded."""
        inclusive = self.accumulate(np.add, values)
        exclusive = np.empty_like(inclusive)
        exclusive[1:] = inclusive[:-1]
        exclusive[self.page_bounds[:-1]] = 0.0
        return inclusive, exclusive

    def running(self, values: np.ndarray) -> RunningSums:
        """``values``' running sums over each page, from which any window's sum is two lookups.

        Ask once for values whose windows of several widths are wanted: each
        method below that takes ``values`` computes these sums again.
        """
        return RunningSums(self, values, *self._running_sums(values))

    def range_sum(self, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """For each segment, the sum of ``values`` over batch rows ``lo`` to ``hi - 1`` of its page."""
        return self.running(values).range_sum(lo, hi)

    def window_sum(self, values: np.ndarray, before: int, after: int) -> np.ndarray:
        """Sum of ``values`` over ``before`` segments before to ``after`` after, within the page."""
        return self.running(values).window_sum(before, after)

    def window_count(self, before: int, after: int) -> np.ndarray:
        """How many segments of the page fall in each segment's window."""
        lo, hi = self._window(before, after)
        return (hi - lo).astype(np.float64)

    def _window(self, before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
        """Each segment's window of the page: its first row and one past its last (kept: asked for again and again)."""
        found = self._windows.get((before, after))
        if found is None:
            rows = np.arange(len(self.page))
            found = self._windows[(before, after)] = (
                np.maximum(rows - before, self.first),
                np.minimum(rows + after + 1, self.stop),
            )
        return found

    @computed_once
    def _windows(self) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        return {}

    def window_mean(self, values: np.ndarray, before: int, after: int) -> np.ndarray:
        """Mean of ``values`` over a window of the page (the segment included)."""
        return self.running(values).window_mean(before, after)

    def side_mean(self, values: np.ndarray, width: int, side: int) -> np.ndarray:
        """Mean of ``values`` over the ``width`` segments strictly before (``side`` -1) or after (+1) each.

        Segments with nothing on that side within the page get -1.
        """
        return self.running(values).side_mean(width, side)

    def page_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each segment's page."""
        return np.bincount(self.page, weights=values)[self.page]

    def page_max(self, values: np.ndarray) -> np.ndarray:
        """Maximum of ``values`` over each segment's page."""
        out = np.full(self.page[-1] + 1 if len(self.page) else 0, -np.inf)
        np.maximum.at(out, self.page, values)
        return out[self.page]

    def cumulative_before(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over the earlier segments of the same page."""
        return self._running_sums(values)[1]

    def block_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each segment's block."""
        return np.bincount(self.block, weights=values)[self.block]

    def block_size(self) -> np.ndarray:
        """Number of segments in each segment's block."""
        return np.bincount(self.block).astype(np.float64)[self.block]

    def block_position(self) -> np.ndarray:
        """Index of each segment within its block (0-based)."""
        n = len(self.block)
        new_block = np.ones(n, dtype=bool)
        new_block[1:] = self.block[1:] != self.block[:-1]
        starts = np.flatnonzero(new_block)
        return np.arange(n) - starts[self.block]

    def nearest_distance(self, mask: np.ndarray, direction: int, cap: int) -> np.ndarray:
        """Segments to the nearest earlier (-1) or later (+1) segment in ``mask``.

        Only segments of the same page count; ``cap`` stands for "none".
        """
        n = len(self.page)
        index = np.arange(n)
        if direction < 0:
            last = np.where(mask, index, -1)
            last = np.maximum.accumulate(np.concatenate([[-1], last[:-1]]))
            ok = last >= self.first
            distance = np.where(ok, index - last, cap)
        else:
            nxt = np.where(mask, index, n)
            nxt = np.minimum.accumulate(np.concatenate([nxt[1:], [n]])[::-1])[::-1]
            ok = nxt < self.stop
            distance = np.where(ok, nxt - index, cap)
        return np.minimum(distance, cap).astype(np.float64)


@dataclass(frozen=True)
class RunningSums:
    """Running sums of one array over each page of a :class:`PageIndex` (:meth:`PageIndex.running`)."""

    index: PageIndex
    values: np.ndarray
    inclusive: np.ndarray  # over the page up to and including each segment
    exclusive: np.ndarray  # ... up to it, excluded

    def range_sum(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """For each segment, the sum over batch rows ``lo`` to ``hi - 1`` of its page."""
        top, bottom = self.inclusive[np.maximum(hi - 1, 0)], self.exclusive[np.minimum(lo, len(lo) - 1)]
        return np.where(hi > lo, top - bottom, 0.0)

    def window_sum(self, before: int, after: int) -> np.ndarray:
        """Sum over ``before`` segments before to ``after`` after, within the page."""
        return self.range_sum(*self.index._window(before, after))

    def window_mean(self, before: int, after: int) -> np.ndarray:
        """Mean over a window of the page (the segment included)."""
        return self.window_sum(before, after) / self.index.window_count(before, after)

    def side_mean(self, width: int, side: int) -> np.ndarray:
        """Mean over the ``width`` segments strictly before (``side`` -1) or after (+1) each; -1 where there are none."""
        if side < 0:
            total = self.window_sum(width, 0) - self.values
            count = self.index.window_count(width, 0) - 1.0
        else:
            total = self.window_sum(0, width) - self.values
            count = self.index.window_count(0, width) - 1.0
        return np.where(count > 0, total / np.maximum(count, 1.0), -1.0)
