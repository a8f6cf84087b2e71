"""What training needs of its data, checked before any fitting.

A run that would fail after minutes of fitting (a tag too rare to learn, a
label that never appears) fails here instead, at once, with one line that
names the count it found and the least it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..corpus.documents import TrainingDocument
from ..errors import TrainingDataError
from ..records import Label

# The least number of labelled segments of each label (story, chrome) a segment classifier learns from.
MIN_SEGMENTS_PER_LABEL = 10
# The least number of examples with a tag, and without it, the topic stage learns a tag from: its
# thresholds come from 5 folds, each fitted with 5-fold calibration, so every fold needs some of each.
MIN_TAG_EXAMPLES = 10


def check_segment_labels(documents: Sequence[TrainingDocument], kind: str) -> None:
    """Refuse ``kind`` (text or HTML) pages that do not hold enough story and chrome segments to learn from."""
    counts = {Label.STORY: 0, Label.CHROME: 0}
    for document in documents:
        for label in document.labels:
            if label in counts:
                counts[label] += 1
    for label, count in counts.items():
        if count < MIN_SEGMENTS_PER_LABEL:
            hint = " (or leave HTML out with --no-html)" if kind == "HTML" else ""
            raise TrainingDataError(
                f"the {kind} pages of the training data have {count} segments labelled "
                f"{label.name.lower()}; at least {MIN_SEGMENTS_PER_LABEL} of each label are needed: "
                f"add labelled pages{hint}"
            )


def check_tags(tags: Sequence[Sequence[str]]) -> None:
    """Refuse tags with too few examples (or too few without them) for the topic stage to learn and calibrate.

    ``tags`` holds the tag list of each topic example, as the topic stage
    will see them (each story once).
    """
    names = sorted({tag for row in tags for tag in row})
    for name in names:
        positives = sum(name in row for row in tags)
        negatives = len(tags) - positives
        if positives < MIN_TAG_EXAMPLES or negatives < MIN_TAG_EXAMPLES:
            raise TrainingDataError(
                f"tag {name!r} is on {positives} of the {len(tags)} topic-labelled stories; "
                f"the topic stage needs at least {MIN_TAG_EXAMPLES} stories with each tag and "
                f"{MIN_TAG_EXAMPLES} without it: add examples, or leave the tag out of the data"
            )
