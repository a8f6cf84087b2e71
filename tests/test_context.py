import numpy as np

from classifier.features.pages import PageIndex
from classifier.model.context import main_span, score_context
from classifier.segment.text import Segment


def index_of(sizes):
    return PageIndex.from_segments([Segment("x", 0, 1, page=p) for p, n in enumerate(sizes) for _ in range(n)])


def test_main_span_is_the_best_run_of_each_page():
    index = index_of([6, 3])
    gain = np.array([-1, 2, 3, -1, 2, -5, -1, -1, -1], dtype=float)
    start, stop = main_span(index, gain)
    assert (start[0], stop[0]) == (1, 5)  # lines 1..4 of page 0: 2 + 3 - 1 + 2
    assert (start[6], stop[6]) == (6, 6)  # page 1 has no story-like line: empty span


def test_teaser_after_the_story_reads_as_outside_the_span():
    # A story of four lines, then a sidebar whose blurb scores like story alone.
    p = np.array([0.9, 0.95, 0.9, 0.9, 0.1, 0.1, 0.1, 0.8, 0.1])
    index = index_of([len(p)])
    features = score_context(index, p, words=np.full(len(p), 20.0))
    assert features.shape[0] == len(p)
    assert np.isfinite(features).all()
    start, stop = main_span(index, p - 0.5)
    assert start[0] == 0 and stop[0] == 4


def test_context_has_the_same_width_for_one_or_many_pages():
    one = score_context(index_of([3]), np.full(3, 0.5), np.ones(3))
    two = score_context(index_of([2, 4]), np.full(6, 0.5), np.ones(6))
    assert one.shape[1] == two.shape[1]


def brute_force_span(gain):
    """The best run by trying every (start, stop); ties go to the earliest stop, then start."""
    best, span = 0.0, (0, 0)
    for stop in range(1, len(gain) + 1):
        for start in range(stop):
            total = float(np.sum(gain[start:stop]))
            if total > best:
                best, span = total, (start, stop)
    return span


def test_main_span_agrees_with_brute_force_on_random_pages():
    rng = np.random.default_rng(7)
    for trial in range(200):
        sizes = rng.integers(1, 9, rng.integers(1, 5))
        index = index_of(sizes)
        gain = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=len(index)) if trial % 2 else rng.normal(size=len(index))
        start, stop = main_span(index, gain)
        first = 0
        for size in sizes:
            want = brute_force_span(gain[first : first + size])
            assert (start[first] - first, stop[first] - first) == want
            first += size


def test_context_of_a_page_does_not_depend_on_the_pages_batched_with_it():
    rng = np.random.default_rng(11)
    page = rng.random(60)
    others = rng.random(700)
    alone = score_context(index_of([60]), page, words=np.full(60, 12.0))
    joined = score_context(index_of([300, 400, 60]), np.concatenate([others, page]), words=np.full(760, 12.0))
    assert (joined[700:] == alone).all()
