"""What training needs of its data, checked before any fitting.

A run that would fail after minutes of fitting (a tag too rare to learn, a
label that never appears) fails here instead, at once, with one line that
names the count it found and the least it needs.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.model_selection import GroupKFold

from ..corpus.documents import TrainingDocument, site_groups
from ..errors import TrainingDataError
from ..model.language import languages_of
from ..model.segments import build_segment_classifier
from ..model.topics import build_topic_classifier
from ..records import Label
from .topics import THRESHOLD_FOLDS, story_groups, tag_matrix, threshold_splits, topic_examples

# The least number of labelled segments of each label (story, chrome) a segment classifier learns from.
MIN_SEGMENTS_PER_LABEL = 10
# Every model has a text classifier (an HTML page's score is in part the text classifier's too): it needs text pages.
NO_TEXT_PAGES = (
    "the training data has no labelled segments of plain-text pages, and every model needs them (its text "
    "classifier also scores HTML pages in part): add labelled text pages, or HTML pages of a web-page corpus "
    "(their renderings train it), or the records `label --with-text` writes for your HTML pages with their "
    "segments labelled"
)
# The least number of examples with a tag, and without it, the topic stage learns a tag from: its
# thresholds come from 5 folds, each fitted with 5-fold calibration, so every fold needs some of each.
MIN_TAG_EXAMPLES = 10


def check_segment_labels(documents: Sequence[TrainingDocument], kind: str) -> None:
    """Refuse ``kind`` (text or HTML) pages that do not hold enough story and chrome segments to learn from."""
    if kind == "text" and not documents:
        raise TrainingDataError(NO_TEXT_PAGES)
    counts = {Label.STORY: 0, Label.CHROME: 0}
    for document in documents:
        for label in document.labels:
            if label in counts:
                counts[label] += 1
    for label, count in counts.items():
        if count < MIN_SEGMENTS_PER_LABEL:
            hint = " (or leave HTML out with --no-html)" if kind == "HTML" else ""
            if label == Label.CHROME:
                hint += "; lines no span lists are unknown, not chrome: label the chrome lines too, or give the story"
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
    counts = {name: sum(name in row for row in tags) for name in names}
    short = [name for name in names if min(counts[name], len(tags) - counts[name]) < MIN_TAG_EXAMPLES]
    if not short:
        return
    common = [name for name in names if name not in short]
    found = "; ".join(
        f"{name!r} on {counts[name]}{_like(name, common) if counts[name] < MIN_TAG_EXAMPLES else ''}" for name in short
    )
    raise TrainingDataError(
        f"of the {len(tags)} topic-labelled stories (each story once, however many pages repeat it), too few or too "
        f"many carry {'this tag' if len(short) == 1 else 'these tags'}: {found}; the topic stage needs at least "
        f"{MIN_TAG_EXAMPLES} stories with each tag and {MIN_TAG_EXAMPLES} without it: add examples, or leave the tag "
        "out of the data"
    )


def _like(name: str, names: Sequence[str]) -> str:
    """`` (a typo of 'militia'?)`` when ``name`` reads as one of ``names`` (tags the data has enough of) mistyped."""
    lowered = {other.lower(): other for other in names if other != name}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.8)
    return f" (a typo of {lowered[close[0]]!r}?)" if close else ""


def check_sites(documents: Sequence[TrainingDocument], kind: str) -> None:
    """Refuse ``kind`` pages whose sites cannot be split as the segment stage splits them.

    Its first pass is scored out of fold, in folds of whole sites (as many
    as the classifier's ``cv``): that needs as many sites, and story and
    chrome segments in the training part of every fold (pages of one site
    that are all story, and of another all chrome, can leave a fold with
    one label).
    """
    folds = build_segment_classifier().cv
    sites = {document.site for document in documents}
    if len(sites) < folds:
        raise TrainingDataError(
            f"the {kind} pages to fit on come from {len(sites)} site(s); the segment stage splits its data "
            f"by site into {folds} folds, so it needs pages of at least {folds} sites (a JSONL page's "
            "'site' field; without one, each page is a site of its own)"
        )
    labels = np.concatenate([np.asarray(d.labels, dtype=np.int64) for d in documents])
    for train, _ in GroupKFold(n_splits=folds).split(labels, labels, site_groups(documents)):
        found = set(labels[train].tolist())
        for label in (Label.STORY, Label.CHROME):
            if int(label) not in found:
                raise TrainingDataError(
                    f"the {kind} pages to fit on leave a fold of their {folds} (split by site) without "
                    f"{label.name.lower()} segments: too few sites label {label.name.lower()} lines; "
                    "add labelled pages of more sites"
                )


def check_topic_folds(texts: Sequence[str], tags: Sequence[Sequence[str]], seed: int) -> None:
    """Refuse tags that a fold of the topic stage's threshold split would leave with too few examples.

    The stage's thresholds come from shuffled folds of the stories ``texts``
    (the split ``--seed`` draws, a story's near-duplicates in its fold:
    :func:`~classifier.training.topics.threshold_splits`); each
    fold's fit needs as many stories with each tag, and without it, as the
    topic classifier's ``cv``. :func:`check_tags` asks for enough in all; a
    rare tag can still fall unevenly.
    """
    names, truth = tag_matrix(tags)
    if not names:
        return
    least = build_topic_classifier().cv
    groups = story_groups(texts)
    distinct = len(set(groups.tolist()))
    if distinct < THRESHOLD_FOLDS:
        raise TrainingDataError(
            f"the {len(texts)} topic-labelled stories are {distinct} distinct ones (the others repeat them "
            f"nearly word for word): the topic stage's thresholds need {THRESHOLD_FOLDS} at least"
        )
    for train, _ in threshold_splits(groups, seed):
        positives = truth[train].sum(axis=0)
        for name, count in zip(names, positives):
            if count < least or len(train) - count < least:
                raise TrainingDataError(
                    f"tag {name!r}: a fold of the topic stage's threshold split (seed {seed}) leaves "
                    f"{count} of its {len(train)} stories with it; each fold needs {least} with it and "
                    f"{least} without: add stories with the tag (or try another --seed)"
                )


def note_unmarked_languages(
    documents: Sequence[TrainingDocument], languages: Sequence[str], progress: Callable[[str], None]
) -> None:
    """Say (through ``progress``) how many stories of topic-labelled documents without a ``language`` read as
    another language than the topic stage's: they train it as if they were in one of ``languages``. What is
    read is what the topic stage learns from (:func:`~classifier.training.topics.topic_examples`: the headline
    and story of a labelled page, a news item whole)."""
    stories, _ = topic_examples([d for d in documents if d.language is None])
    found = Counter(code for code in languages_of(stories) if code not in (None, *languages))
    if found:
        count = sum(found.values())
        read = ", ".join(f"{n} {code}" for code, n in found.most_common())
        progress(
            f"note: {count} {'story' if count == 1 else 'stories'} of topic-labelled documents without a "
            f"'language' read as another language than the topic stage's ({read}): they train it as if in "
            f"{', '.join(languages)}; give those documents their 'language' to keep them out"
        )
