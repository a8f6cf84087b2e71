import itertools

import numpy as np
import pytest

from classifier.features.pages import PageIndex
from classifier.segment.text import Segment


def batch(pages):
    """Segments for pages given as lists of gaps."""
    return [Segment("x", 0, 1, page=p, gap=g) for p, gaps in enumerate(pages) for g in gaps]


def test_shift_stays_inside_the_page():
    index = PageIndex.from_segments(batch([[0, 0, 0], [0, 0]]))
    values = np.arange(5, dtype=float)
    assert index.shift(values, 1, fill=-1).tolist() == [1, 2, -1, 4, -1]
    assert index.shift(values, -1, fill=-1).tolist() == [-1, 0, 1, -1, 3]


def test_windows_and_page_sums_do_not_leak_across_pages():
    index = PageIndex.from_segments(batch([[0, 0, 0], [0, 0]]))
    values = np.array([1.0, 2.0, 3.0, 10.0, 20.0])
    assert index.window_sum(values, 1, 1).tolist() == [3, 6, 5, 30, 30]
    assert index.page_sum(values).tolist() == [6, 6, 6, 30, 30]
    assert index.cumulative_before(values).tolist() == [0, 1, 3, 0, 10]


def test_blocks_split_at_blank_lines():
    index = PageIndex.from_segments(batch([[0, 0, 1, 0], [0]]))
    assert index.block.tolist() == [0, 0, 1, 1, 2]
    assert index.block_size().tolist() == [2, 2, 2, 2, 1]
    assert index.block_position().tolist() == [0, 1, 0, 1, 0]


def test_nearest_distance_looks_only_within_the_page():
    index = PageIndex.from_segments(batch([[0, 0, 0, 0], [0, 0]]))
    mask = np.array([True, False, False, False, False, True])
    assert index.nearest_distance(mask, -1, cap=9).tolist() == [9, 1, 2, 3, 9, 9]
    assert index.nearest_distance(mask, 1, cap=9).tolist() == [9, 9, 9, 9, 1, 9]


def test_a_page_gets_the_same_sums_whatever_pages_come_before_it():
    # Running sums restart at each page: a batch-wide running sum would round
    # the second page's windows differently than the page alone.
    rng = np.random.default_rng(3)
    alone_values = rng.normal(size=40) * 1e3
    alone = PageIndex.from_segments(batch([[0] * 40]))
    before = rng.normal(size=500) * 1e6
    joined = PageIndex.from_segments(batch([[0] * 500, [0] * 40]))
    values = np.concatenate([before, alone_values])
    for width in (2, 5, 15):
        assert (joined.window_sum(values, width, width)[500:] == alone.window_sum(alone_values, width, width)).all()
    assert (joined.cumulative_before(values)[500:] == alone.cumulative_before(alone_values)).all()


def _pages_of(sizes):
    from classifier.segment.text import Segment

    return [Segment("x", 0, 1, page, 0, 0) for page, size in enumerate(sizes) for _ in range(size)]


@pytest.mark.parametrize("seed", range(5))
def test_batch_wide_running_sums_and_windows_match_page_by_page_ones(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, size=12)
    index = PageIndex.from_segments(_pages_of(sizes))
    values = rng.normal(size=len(index)) * 10
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    expected_sum, expected_min, expected_window = [], [], []
    for start, stop in itertools.pairwise(bounds):
        page = values[start:stop]
        expected_sum.extend(np.cumsum(page))
        expected_min.extend(np.minimum.accumulate(page))
        for i in range(len(page)):
            expected_window.append(page[max(0, i - 3) : i + 2 + 1].sum())
    assert np.allclose(index.accumulate(np.add, values), expected_sum)
    assert np.array_equal(index.accumulate(np.minimum, values), expected_min)
    assert np.allclose(index.window_sum(values, 3, 2), expected_window)
    assert np.allclose(index.cumulative_before(values), np.array(expected_sum) - values)
