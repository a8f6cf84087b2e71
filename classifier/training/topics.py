"""Training the topic stage: examples from labelled documents, thresholds from out-of-fold probabilities.

Each tag's threshold is the cut that maximises its F1 on probabilities the
model gave to examples it was not fitted on (shuffled k-fold, a story's
near-duplicates kept in its fold); the card keeps those cross-validated
figures and a reliability table per tag.
"""

from __future__ import annotations

import heapq
import re
import zlib
from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from ..corpus.documents import TrainingDocument
from ..evaluation.metrics import reliability_bins, topic_metrics
from ..model.topics import build_topic_classifier, topic_text
from ..records import UNLABELLED, Label


def topic_examples(documents: Sequence[TrainingDocument]) -> tuple[list[str], list[list[str]]]:
    """What the topic model learns from: each story as labelling will show it, with its tags.

    A page with labelled story lines gives its headline and gold story, as
    :func:`~classifier.model.topics.topic_text` reads a labelled page; a news item
    without segment labels is all story; a page whose labelled lines hold no
    story (a section front, a gallery: labelling finds no story there to tag)
    gives none. Repeated stories count once.
    """
    texts, tags, seen = [], [], set()
    for document in documents:
        lines = [s.text for s in document.segments]
        if any(label == Label.STORY for label in document.labels):
            reading = topic_text(lines, document.labels)
        elif any(label != UNLABELLED for label in document.labels):
            continue  # all chrome: its menus and teasers would teach the tags as if they were the story
        else:
            reading = document.text.strip()
        story_key = reading.split("\n\n", 1)[-1]
        if not reading or story_key in seen:
            continue
        seen.add(story_key)
        texts.append(reading)
        tags.append(list(document.topics or ()))
    return texts, tags


# Shuffled folds whose out-of-fold probabilities choose each tag's threshold.
THRESHOLD_FOLDS = 5
# Two stories are near-duplicates when their sets of word 5-grams overlap by half or more (Jaccard).
_SHINGLE_WORDS = 5
_NEAR_DUPLICATE = 0.5
# A story is compared with those that share one of its 8 lowest 5-gram hashes (a bottom-k sketch: stories
# that overlap by half share one almost always); a hash that more stories share than this is passed over.
_SKETCH = 8
_CROWDED = 64


def tag_matrix(tags: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """The tags named in ``tags``, sorted, and which example carries each (a boolean matrix, a column a tag)."""
    names = sorted({t for row in tags for t in row})
    return names, np.array([[name in row for name in names] for row in tags], dtype=bool).reshape(len(tags), len(names))


def story_groups(texts: Sequence[str]) -> np.ndarray:
    """For each example, the first example of its group of near-duplicates (itself when it has none).

    The same story on two pages (another headline, a byline or a caption
    more) is two examples; in two folds, the fold that holds one is scored
    on a story it was fitted on, and the thresholds come out optimistic.
    Groups join stories whose word 5-grams overlap by half or more, and
    whatever those join in turn.
    """
    grams = [_word_grams(text) for text in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sharing: dict[int, list[int]] = {}
    for i, mine in enumerate(grams):
        for gram in heapq.nsmallest(_SKETCH, mine):
            others = sharing.setdefault(gram, [])
            if len(others) > _CROWDED:
                continue
            for j in others:
                theirs = grams[j]
                if root(i) != root(j) and len(mine & theirs) >= _NEAR_DUPLICATE * len(mine | theirs):
                    parent[max(root(i), root(j))] = min(root(i), root(j))
            others.append(i)
    return np.array([root(i) for i in range(len(texts))], dtype=np.int64)


def _word_grams(text: str) -> set[int]:
    words = re.findall(r"\w+", text.lower())
    return {
        zlib.crc32(" ".join(words[i : i + _SHINGLE_WORDS]).encode())
        for i in range(max(1, len(words) - _SHINGLE_WORDS + 1))
    }


def threshold_splits(groups: np.ndarray, seed: int, folds: int = THRESHOLD_FOLDS):
    """The (training rows, test rows) of each fold the thresholds are chosen on, a story's near-duplicates
    (``groups``, as :func:`story_groups` gives them) in one fold. Without near-duplicates, shuffled
    k-fold's folds (``KFold``)."""
    return GroupKFold(folds, shuffle=True, random_state=seed).split(np.zeros((len(groups), 1)), groups=groups)


def train_topics(texts: Sequence[str], tags: Sequence[Sequence[str]], seed: int, folds: int = THRESHOLD_FOLDS):
    """Fit the topic model on examples (as :func:`topic_examples` makes them); choose each tag's threshold on out-of-fold probabilities.

    Returns the fitted model, the thresholds, and the card section with the
    cross-validated metrics and reliability table those thresholds rest on.
    """
    model = build_topic_classifier()
    names, truth = tag_matrix(tags)
    out_of_fold = np.zeros(truth.shape)
    for train_rows, test_rows in threshold_splits(story_groups(texts), seed, folds):
        fold = clone(model).fit([texts[i] for i in train_rows], [tags[i] for i in train_rows])
        columns = [list(fold.classes_).index(name) for name in names]
        out_of_fold[test_rows] = fold.predict_proba([texts[i] for i in test_rows])[:, columns]
    thresholds = {name: best_threshold(truth[:, j], out_of_fold[:, j]) for j, name in enumerate(names)}
    fitted = model.fit(texts, tags)
    card = {
        "tags": names,
        "examples": len(texts),
        "positives": {name: int(truth[:, j].sum()) for j, name in enumerate(names)},
        "thresholds": thresholds,
        "cross_validation": topic_metrics(truth, out_of_fold, [thresholds[n] for n in names], names)
        | {
            "folds": folds,
            "rule": "shuffled k-fold over the training examples, near-duplicate stories in one fold; thresholds maximise each tag's F1 here",
        },
        "reliability": tag_reliability(truth, out_of_fold, names),
    }
    return fitted, thresholds, card


def best_threshold(truth: np.ndarray, probability: np.ndarray) -> float:
    """The cut that maximises F1 (the lowest such cut on ties)."""
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = [f1_score(truth, probability >= c, zero_division=0.0) for c in candidates]
    return float(candidates[int(np.argmax(scores))])


def tag_reliability(truth: np.ndarray, probability: np.ndarray, names: Sequence[str], bins: int = 10) -> dict:
    """Per tag and probability bin (tenths): mean predicted probability, observed rate, count (the card's table)."""
    table = {}
    for j, name in enumerate(names):
        table[name] = [
            {
                "bin": [round(row.low, 2), round(row.high, 2)],
                "predicted": round(row.mean_score, 4),
                "observed": round(row.positive_share, 4),
                "count": row.count,
            }
            for row in reliability_bins(truth[:, j], probability[:, j], bins)
        ]
    return table
