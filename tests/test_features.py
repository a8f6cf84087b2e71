import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from classifier.features.lexical import LexicalFeatures
from classifier.features.lines import LineFeatures, feature_names, line_features
from classifier.features.tokens import hash_words
from classifier.segment.text import split_text


def features_of(text):
    segments = split_text(text)
    values, names = line_features(segments)
    return {name: values[:, i] for i, name in enumerate(names)}


def test_shape_features_read_prose_and_chrome_apart():
    f = features_of("He said the talks would go on. Then he left.\nHome | News | Sport\n19 Sep, 2024")
    assert f["ends_sentence"].tolist() == [1, 0, 0]
    assert f["log_sentences"][0] == pytest.approx(np.log1p(2))
    assert f["has_pipe"][1] == 2
    assert f["dates"][2] >= 1 and f["date_only"][2] == 1
    assert f["stop_ratio"][0] > f["stop_ratio"][1]


def test_a_wire_signoff_still_ends_the_sentence():
    f = features_of("Troops left the town on Friday.\u2014Meridian Press\nRead more")
    assert f["signoff"].tolist() == [1, 0]
    assert f["ends_sentence"].tolist() == [1, 0]


def test_repeated_lines_count_their_earlier_copies():
    f = features_of("Teaser title\n1 May 2024\nTeaser title\nOther")
    assert f["repeats"].tolist() == [1, 0, 1, 0]
    assert f["earlier_copies"].tolist() == [0, 0, 1, 0]


def test_line_features_have_fixed_names_and_width():
    values, names = line_features(split_text("a\nb"))
    assert names == feature_names()
    assert values.shape == (2, len(names))
    assert np.isfinite(values).all()


def test_transformers_follow_the_scikit_learn_contract():
    segments = split_text("One line.\nTwo")
    for transformer in (LineFeatures(), LexicalFeatures(n_features=1024)):
        with pytest.raises(NotFittedError):
            transformer.transform(segments)
        fitted = clone(transformer).fit(segments)
        first = fitted.transform(segments)
        again = pickle.loads(pickle.dumps(fitted)).transform(segments)
        assert (first != again).nnz == 0 if hasattr(first, "nnz") else np.array_equal(first, again)
    assert LexicalFeatures(n_features=64).get_params()["n_features"] == 64


def test_token_hashes_do_not_depend_on_the_process():
    here = hash_words(["Army", "army", "offensive"]).tolist()
    code = (
        "from classifier.features.tokens import hash_words; print(hash_words(['Army', 'army', 'offensive']).tolist())"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"}
    )
    assert str(here) == there.stdout.strip()
    assert here[0] == here[1] != here[2]


def test_lexical_rows_have_unit_length():
    matrix = LexicalFeatures(n_features=2**12).fit([]).transform(split_text("share this story\nA"))
    counts = np.asarray((matrix.multiply(matrix)).sum(axis=1)).ravel()
    assert matrix.shape == (2, 2**12)
    assert counts[1] == pytest.approx(1.0)


def test_the_shape_features_set_lookups_find_what_isin_finds():
    from classifier.features.shape import _where_among
    from classifier.features.tokens import HashSet, is_member

    rng = np.random.default_rng(0)
    members = rng.integers(0, 2**63, size=300, dtype=np.uint64)
    # Values that share a member's low 16 bits without being it, members themselves, and others.
    twins = (members[:100] & ~np.uint64(0xFFFF)) ^ np.uint64(1 << 40) | (members[:100] & np.uint64(0xFFFF))
    values = np.concatenate([rng.integers(0, 2**63, size=5000, dtype=np.uint64), members[::3], twins])
    rng.shuffle(values)
    assert (is_member(values, HashSet.of(members)) == np.isin(values, members)).all()
    assert not is_member(values[:0], HashSet.of(members)).size
    points = rng.choice(np.array([65, 0x3044, 0x5E74, 0x6708, 0xC77C, 0x1F600, 32], dtype=np.uint32), size=2000)
    for chars in ("年月日년월일", "の は が".replace(" ", "")):
        codes = [ord(c) for c in chars]
        assert _where_among(points, chars).tolist() == np.flatnonzero(np.isin(points, codes)).tolist()


def test_a_batch_property_is_computed_once_and_holds_no_lock_shared_by_objects():
    # functools.cached_property on Python 3.11 locks each property for every object of its class: threads
    # labelling at once waited on each other, and a process forked while one held it hung in the child.
    import threading

    from classifier.features.once import computed_once

    inside, calls = threading.Event(), []

    class Batch:
        def __init__(self, first: bool):
            self.first = first

        @computed_once
        def value(self):
            calls.append(self.first)
            if self.first:
                inside.set()
                release.wait(10)
            return len(calls)

    release = threading.Event()
    held = threading.Thread(target=lambda: Batch(True).value)
    held.start()
    assert inside.wait(10)
    other = Batch(False)
    reader = threading.Thread(target=lambda: other.value)
    reader.start()
    reader.join(5)
    done = not reader.is_alive()  # another object's value while the first is being computed: no waiting
    release.set()
    held.join(10)
    assert done
    assert other.value == other.value == 2 and calls == [True, False]  # kept: computed once
