"""Training: from labelled documents to a saved, validated model bundle.

``storyfilter train`` and ``python -m training.train`` both call
:func:`train`. It reads every source (labelled JSONL files and web-page
corpora with gold text), keeps the held-out sites of web-page corpora out of
training, fits the segment classifier on the rest, measures it on a
validation split of sites, refits on all training sites and writes the
bundle with its model card.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from .bundle import Model
from .corpus import (
    HELD_OUT_FRACTION,
    MARKUP,
    RENDERERS,
    UNKNOWN,
    TrainingDocument,
    default_cache,
    is_held_out,
    is_web_page_corpus,
    read_training_jsonl,
    read_web_pages,
    site_bucket,
)
from .errors import TrainingDataError
from .evaluation import StoryScore, score_documents, topic_metrics
from .labels import Label
from .pipelines import build_segment_pipeline
from .segments import Segment
from .topics import build_topic_pipeline, topic_text

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
class Source:
    """One training source and the documents read from it."""

    path: Path
    kind: str
    documents: list[TrainingDocument]
    sha256: str


def read_sources(options: TrainingOptions, progress: Callable[[str], None] = lambda _: None) -> list[Source]:
    """Read every source: web-page corpora (held-out sites dropped) and JSONL files."""
    sources = []
    for path in options.sources:
        path = Path(path)
        if is_web_page_corpus(path):
            progress(f"rendering and aligning {path} (cached in {options.cache})")
            renderers = RENDERERS + ((MARKUP,) if options.html else ())
            documents = [
                d
                for d in read_web_pages(path, renderers=renderers, cache=options.cache)
                if not is_held_out(d.site, options.held_out_fraction)
            ]
            sources.append(Source(path, "web-pages", documents, _hash_tree(path)))
        elif path.is_file():
            progress(f"reading {path}")
            sources.append(Source(path, "jsonl", list(read_training_jsonl(path)), _hash_file(path)))
        else:
            raise TrainingDataError(f"{path}: not a JSONL file or a web-page corpus directory")
    return sources


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hash_tree(root: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


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
        words[page_labels == UNKNOWN] = 0.0
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
    sources = read_sources(options, progress)
    documents = [d for source in sources for d in source.documents]
    labelled = [d for d in documents if any(label != UNKNOWN for label in d.labels)]
    texts = [d for d in labelled if not d.is_html]
    pages = [d for d in labelled if d.is_html]
    if not texts:
        raise TrainingDataError("the training data has no labelled segments of plain-text pages")

    classifier, metrics = _fit_validated(texts, options, progress, "text")
    model = Model(segments=classifier, name=options.name, version=options.version)
    model.card = _card(options, sources, texts, metrics, 0.0)
    model.card["segment_model"] = describe(classifier)
    if pages:
        model.html_segments, html_metrics = _fit_validated(pages, options, progress, "HTML", html=True)
        model.card["html"] = {
            "validation": html_metrics,
            "documents": len(pages),
            "sites": len({d.site for d in pages}),
            "segments_trained": sum(len(d.segments) for d in pages),
            "segment_model": describe(model.html_segments),
        }
    topic_documents = [d for d in documents if d.topics is not None]
    if topic_documents:
        progress(f"fitting the topic model on {len(topic_documents)} topic-labelled documents")
        model.topics, model.topic_thresholds, model.card["topics"] = train_topics(topic_documents, options.seed)
        model.card["topic_model"] = describe(model.topics)
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
            metrics["rule"] = f"web-page corpus sites with hash bucket in [{VALIDATION_BUCKETS[0]}, {VALIDATION_BUCKETS[1]})"
            progress(f"{kind}: validation story F1 {metrics['story']['f1']:.4f}")
    progress(f"{kind}: fitting the model on {len(documents)} documents")
    return _fit(documents, options.seed, html), metrics


# Sources whose pages can validate: the renderings of web-page corpora.
_VALIDATED = frozenset(RENDERERS) | {MARKUP}


def _fit(documents: Sequence[TrainingDocument], seed: int, html: bool = False):
    data = assemble(documents)
    classifier = build_segment_pipeline(random_state=seed, html=html)
    return classifier.fit(data.segments, data.labels, groups=data.groups, sample_weight=data.weights)


def validation_metrics(classifier, documents: Sequence[TrainingDocument]) -> dict:
    """Story F1 on the user page types, and line accuracy, of a fitted classifier."""
    model = Model(segments=classifier, html_segments=classifier)
    users = [d for d in documents if d.page_type in USER_PAGE_TYPES]
    story = score_documents(model, users)
    data = assemble(documents)
    predicted = classifier.predict(data.segments)
    known = data.labels != UNKNOWN
    return {
        "story": _score_dict(story),
        "story_page_types": sorted(str(t) for t in USER_PAGE_TYPES if t),
        "line_accuracy_all_page_types": round(float((predicted[known] == data.labels[known]).mean()), 4),
        "documents": len(documents),
        "sites": len({d.site for d in documents}),
    }


def _score_dict(score: StoryScore) -> dict:
    return {"f1": round(score.f1, 4), "precision": round(score.precision, 4), "recall": round(score.recall, 4), "pages": score.pages}


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


def topic_examples(documents: Sequence[TrainingDocument]) -> tuple[list[str], list[list[str]]]:
    """What the topic model learns from: each story as labelling will show it, with its tags.

    A page with labelled story lines gives its headline and gold story, as
    :func:`~classifier.topics.topic_text` reads a labelled page; a news item
    without segment labels is all story. Repeated stories count once.
    """
    texts, tags, seen = [], [], set()
    for document in documents:
        lines = [s.text for s in document.segments]
        if any(label == Label.STORY for label in document.labels):
            reading = topic_text(lines, document.labels)
        else:
            reading = document.text.strip()
        story_key = reading.split("\n\n", 1)[-1]
        if not reading or story_key in seen:
            continue
        seen.add(story_key)
        texts.append(reading)
        tags.append(list(document.topics or ()))
    return texts, tags


def train_topics(documents: Sequence[TrainingDocument], seed: int, folds: int = 5):
    """Fit the topic model; choose each tag's threshold on out-of-fold probabilities.

    Returns the fitted model, the thresholds, and the card section with the
    cross-validated metrics and reliability table those thresholds rest on.
    """
    texts, tags = topic_examples(documents)
    model = build_topic_pipeline()
    names = sorted({t for row in tags for t in row})
    truth = np.array([[name in row for name in names] for row in tags], dtype=bool)
    out_of_fold = np.zeros(truth.shape)
    for train_rows, test_rows in KFold(folds, shuffle=True, random_state=seed).split(texts):
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
        | {"folds": folds, "rule": "shuffled k-fold over the training examples; thresholds maximise each tag's F1 here"},
        "reliability": reliability(truth, out_of_fold, names),
    }
    return fitted, thresholds, card


def best_threshold(truth: np.ndarray, probability: np.ndarray) -> float:
    """The cut that maximises F1 (the lowest such cut on ties)."""
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = [f1_score(truth, probability >= c, zero_division=0.0) for c in candidates]
    return float(candidates[int(np.argmax(scores))])


def reliability(truth: np.ndarray, probability: np.ndarray, names: Sequence[str], bins: int = 10) -> dict:
    """Per tag and probability bin: mean predicted probability, observed rate, count."""
    table = {}
    edges = np.linspace(0.0, 1.0, bins + 1)
    for j, name in enumerate(names):
        which = np.clip(np.digitize(probability[:, j], edges[1:-1]), 0, bins - 1)
        rows = []
        for b in range(bins):
            inside = which == b
            if inside.any():
                rows.append({
                    "bin": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
                    "predicted": round(float(probability[inside, j].mean()), 4),
                    "observed": round(float(truth[inside, j].mean()), 4),
                    "count": int(inside.sum()),
                })
        table[name] = rows
    return table
