"""Training: from labelled documents to a saved, validated model bundle.

``storyfilter train`` and ``python -m training.train`` both call
:func:`train`. It reads every source (labelled JSONL files and web-page
corpora with gold text), keeps the held-out sites of web-page corpora out of
training, fits the segment classifier on the rest, measures it on a
validation split of sites, refits on all training sites and writes the
bundle with its model card.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..corpus.documents import TrainingDocument
from ..corpus.sites import HELD_OUT_FRACTION, site_bucket
from ..corpus.webpages import MARKUP, RENDERERS, default_cache
from ..errors import TrainingDataError
from ..evaluation.evaluate import score_documents
from ..evaluation.metrics import StoryScore
from ..model.model import Model
from ..model.segments import build_segment_classifier
from ..records import UNLABELLED
from ..segment.text import Segment
from .sources import Source, read_sources
from .topics import train_topics

# Page types whose pages are what users label; they weigh more in training.
USER_PAGE_TYPES = frozenset({None, "article", "blog", "news"})
USER_PAGE_WEIGHT = 3.0
# Sites of web-page corpora whose bucket falls in this range validate the
# model for its card (after the held-out range, which is never touched).
VALIDATION_BUCKETS = (HELD_OUT_FRACTION, HELD_OUT_FRACTION + 0.15)


@dataclass
class TrainingOptions:
    """Everything ``train`` can be told; one object instead of many arguments."""

    sources: Sequence[Path]
    out: Path = Path("models/default.joblib")
    seed: int = 0
    name: str = "default"
    version: int = 1
    validate: bool = True
    cache: Path | None = field(default_factory=default_cache)
    held_out_fraction: float = HELD_OUT_FRACTION
    html: bool = True


@dataclass
class TrainingSet:
    """Documents flattened into the classifier's inputs."""

    segments: list[Segment]
    labels: np.ndarray
    groups: np.ndarray
    weights: np.ndarray


def assemble(documents: Sequence[TrainingDocument]) -> TrainingSet:
    """Flatten documents into one batch with labels, site groups and weights.

    Each page weighs the same in total (its labelled lines share the page's
    weight by their word counts, as the story F1 weighs them), and pages of
    the kinds users label (articles, blogs, news) weigh more.
    """
    segments: list[Segment] = []
    labels: list[int] = []
    groups: list[int] = []
    weights: list[np.ndarray] = []
    site_ids: dict[str, int] = {}
    for number, document in enumerate(documents):
        site = site_ids.setdefault(document.site, len(site_ids))
        for segment in document.segments:
            segments.append(segment._replace(page=number))
        page_labels = np.asarray(document.labels, dtype=np.int64)
        words = np.array([max(1, len(s.text.split())) for s in document.segments], dtype=np.float64)
        words[page_labels == UNLABELLED] = 0.0
        page_weight = USER_PAGE_WEIGHT if document.page_type in USER_PAGE_TYPES else 1.0
        weights.append(words / max(words.sum(), 1.0) * page_weight * 100.0)
        labels.extend(page_labels.tolist())
        groups.extend([site] * len(document.segments))
    if not segments:
        raise TrainingDataError("no labelled segments in the training data")
    return TrainingSet(
        segments=segments,
        labels=np.asarray(labels, dtype=np.int64),
        groups=np.asarray(groups),
        weights=np.concatenate(weights) if weights else np.zeros(0),
    )


def is_validation_site(site: str) -> bool:
    low, high = VALIDATION_BUCKETS
    return low <= site_bucket(site) < high


def train(options: TrainingOptions, progress: Callable[[str], None] = lambda _: None) -> Model:
    """Train, validate and save a model; returns it with its card filled in.

    Text pages train the text classifier; HTML pages (if any) train the HTML
    classifier, the same pipeline with DOM features. Each is validated on
    its own split of sites, then refitted on all its training sites.
    """
    started = time.time()
    sources = read_sources(
        options.sources,
        cache=options.cache,
        html=options.html,
        held_out_fraction=options.held_out_fraction,
        progress=progress,
    )
    documents = [d for source in sources for d in source.documents]
    labelled = [d for d in documents if any(label != UNLABELLED for label in d.labels)]
    texts = [d for d in labelled if not d.is_html]
    pages = [d for d in labelled if d.is_html]
    if not texts:
        raise TrainingDataError("the training data has no labelled segments of plain-text pages")

    classifier, metrics = _fit_validated(texts, options, progress, "text")
    model = Model(text_classifier=classifier, name=options.name, version=options.version)
    model.card = _card(options, sources, texts, metrics, 0.0)
    model.card["segment_model"] = describe(classifier)
    if pages:
        model.html_classifier, html_metrics = _fit_validated(pages, options, progress, "HTML", html=True)
        model.card["html"] = {
            "validation": html_metrics,
            "documents": len(pages),
            "sites": len({d.site for d in pages}),
            "segments_trained": sum(len(d.segments) for d in pages),
            "segment_model": describe(model.html_classifier),
        }
    topic_documents = [d for d in documents if d.topics is not None]
    if topic_documents:
        progress(f"fitting the topic model on {len(topic_documents)} topic-labelled documents")
        model.topic_classifier, model.topic_thresholds, model.card["topics"] = train_topics(
            topic_documents, options.seed
        )
        model.card["topic_model"] = describe(model.topic_classifier)
    model.card["training_seconds"] = round(time.time() - started)
    model.save(options.out)
    progress(f"wrote {options.out} and its card")
    return model


def _fit_validated(documents, options: TrainingOptions, progress, kind: str, html: bool = False):
    """Fit on the validation split's training side, measure, then refit on everything."""
    metrics: dict = {}
    if options.validate:
        held = [d for d in documents if d.source in _VALIDATED and is_validation_site(d.site)]
        fitting = [d for d in documents if not (d.source in _VALIDATED and is_validation_site(d.site))]
        if held and fitting:
            progress(f"{kind}: fitting on {len(fitting)} documents to validate on {len(held)}")
            metrics = validation_metrics(_fit(fitting, options.seed, html), held)
            metrics["rule"] = (
                f"web-page corpus sites with hash bucket in [{VALIDATION_BUCKETS[0]}, {VALIDATION_BUCKETS[1]})"
            )
            progress(f"{kind}: validation story F1 {metrics['story']['f1']:.4f}")
    progress(f"{kind}: fitting the model on {len(documents)} documents")
    return _fit(documents, options.seed, html), metrics


# Sources whose pages can validate: the renderings of web-page corpora.
_VALIDATED = frozenset(RENDERERS) | {MARKUP}


def _fit(documents: Sequence[TrainingDocument], seed: int, html: bool = False):
    data = assemble(documents)
    classifier = build_segment_classifier(random_state=seed, html=html)
    return classifier.fit(data.segments, data.labels, groups=data.groups, sample_weight=data.weights)


def validation_metrics(classifier, documents: Sequence[TrainingDocument]) -> dict:
    """Story F1 on the user page types, and line accuracy, of a fitted classifier."""
    model = Model(text_classifier=classifier, html_classifier=classifier)
    users = [d for d in documents if d.page_type in USER_PAGE_TYPES]
    story = score_documents(model, users)
    data = assemble(documents)
    predicted = classifier.predict(data.segments)
    known = data.labels != UNLABELLED
    return {
        "story": _score_dict(story),
        "story_page_types": sorted(str(t) for t in USER_PAGE_TYPES if t),
        "line_accuracy_all_page_types": round(float((predicted[known] == data.labels[known]).mean()), 4),
        "documents": len(documents),
        "sites": len({d.site for d in documents}),
    }


def _score_dict(score: StoryScore) -> dict:
    return {
        "f1": round(score.f1, 4),
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "pages": score.pages,
    }


def describe(estimator) -> dict:
    """The estimator's class and its parameters, as text, for the model card."""
    return {
        "class": f"{type(estimator).__module__}.{type(estimator).__name__}",
        "params": {name: repr(value) for name, value in estimator.get_params(deep=False).items()},
    }


def _card(options: TrainingOptions, sources: list[Source], documents, metrics: dict, seconds: float) -> dict:
    return {
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_seconds": round(seconds),
        "seed": options.seed,
        "training_data": [
            {
                "name": source.path.name,
                "kind": source.kind,
                "documents": len(source.documents),
                "sites": len({d.site for d in source.documents}),
                "sha256": source.sha256,
            }
            for source in sources
        ],
        "held_out": {
            "rule": "web-page corpora: sites whose sha256 (first 4 bytes) falls below this fraction are never trained on",
            "fraction": options.held_out_fraction,
        },
        "validation": metrics,
        "segments_trained": sum(len(d.segments) for d in documents),
    }
