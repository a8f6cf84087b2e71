"""Evaluation: a model labels documents with gold, and is scored against it.

:func:`evaluate_documents` labels each page (its HTML when it came as HTML,
else its text) and scores the story against the gold story, line by line
against the gold labels too; :func:`evaluate_topics` runs the whole
pipeline on documents with gold tags and scores each tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..corpus.documents import TrainingDocument, read_training_jsonl, source_names
from ..corpus.sites import is_held_out
from ..corpus.webpages import RENDERERS, is_web_page_corpus, read_web_pages
from ..errors import InputError, ModelError
from ..model.language import language_of
from ..records import UNLABELLED, Document, FailedDocument, Label, LabeledDocument
from ..segment.text import line_number
from .metrics import PageScore, StoryScore, average_scores, score_page, topic_metrics

if TYPE_CHECKING:
    from ..model.model import Model


class Mistake(NamedTuple):
    """A line the model labelled otherwise than the gold: where it is, what it says, its score."""

    line: int  # the line of the page's text (the rendering, for HTML) the segment starts on, from 1
    text: str
    score: float
    gold: Label


@dataclass(frozen=True)
class PageResult:
    """One evaluated page: its score, its line errors and the lines it got wrong."""

    id: str
    site: str
    score: PageScore
    lines: int
    errors: int
    mistakes: tuple[Mistake, ...] = ()
    corpus: str = ""
    language: str | None = None
    reading: str = "text"  # how it was read: "html", "text", or a web page's renderer ("html-text", "inscriptis")


@dataclass(frozen=True)
class Evaluation:
    """What ``storyfilter evaluate`` reports.

    ``scores`` and ``gold`` hold every line with a gold label: its story
    probability and whether it is story, for curves over the segment scores.
    """

    story: StoryScore
    line_accuracy: float
    lines: int
    pages: tuple[PageResult, ...] = field(default=())
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gold: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def as_input(document: TrainingDocument) -> Document:
    """The page to label for a training document: its HTML when it came as HTML, else its text."""
    if document.is_html:
        return Document(id=document.id, html=document.html)
    return Document(id=document.id, text=document.text)


def gold_story(document: TrainingDocument) -> str:
    """The gold story of a training document: its ``story`` field, else its story lines."""
    if document.story is not None:
        return document.story
    return "\n\n".join(s.text for s, label in zip(document.segments, document.labels) if label == Label.STORY)


def _story_of_known_lines(document: TrainingDocument, result: LabeledDocument) -> str:
    """The story to score against gold lines: of the lines the gold labels (a line it leaves unknown is neither
    story nor chrome, and is not scored); the whole story where every line is labelled or the gold is a text."""
    if document.story is not None or UNLABELLED not in document.labels:
        return result.story
    known = zip(result.segments, document.labels)
    return "\n\n".join(s.text for s, label in known if label != UNLABELLED and s.label == Label.STORY)


def evaluate_documents(model: Model, documents: Iterable[TrainingDocument]) -> Evaluation:
    """Label each document's text with ``model`` and score it against its gold."""
    documents = list(documents)
    inputs = map(as_input, documents)
    pages: list[PageResult] = []
    scores: list[float] = []
    gold: list[bool] = []
    right = total = 0
    for document, result in zip(documents, model.label_many(inputs)):
        _check_labelled(document, result)
        mistakes = []
        known = 0
        page_text = result.text if result.text is not None else document.text
        for scored, label in zip(result.segments, document.labels):
            if label == UNLABELLED:
                continue
            known += 1
            scores.append(float(scored.score))
            gold.append(label == Label.STORY)
            if int(scored.label) != label:
                line = line_number(page_text, scored.segment.start)
                mistakes.append(Mistake(line, scored.text, float(scored.score), Label(label)))
        right += known - len(mistakes)
        total += known
        gold_text = gold_story(document)
        score = score_page(_story_of_known_lines(document, result), gold_text)
        language = document.language or language_of(gold_text)
        pages.append(
            PageResult(
                document.id,
                document.site,
                score,
                known,
                len(mistakes),
                tuple(mistakes),
                document.corpus,
                language,
                "html" if document.is_html else document.source if document.source in RENDERERS else "text",
            )
        )
    return Evaluation(
        story=average_scores([p.score for p in pages]),
        line_accuracy=right / total if total else 0.0,
        lines=total,
        pages=tuple(pages),
        scores=np.array(scores, dtype=float),
        gold=np.array(gold, dtype=bool),
    )


def score_documents(model: Model, documents: Iterable[TrainingDocument]) -> StoryScore:
    """Story F1 of ``model`` over ``documents``."""
    return evaluate_documents(model, documents).story


def has_story_gold(document: TrainingDocument) -> bool:
    """Whether a document can be scored for its story (gold text or labelled lines)."""
    return document.story is not None or any(label != UNLABELLED for label in document.labels)


class TopicOutcome(NamedTuple):
    """Each document's gold tags and topic probabilities, a column per tag name, for curves."""

    names: tuple[str, ...]
    truth: np.ndarray
    probability: np.ndarray


def _check_labelled(document: TrainingDocument, result: LabeledDocument | FailedDocument) -> None:
    """Refuse an evaluation with a page the model could not label: every page given is scored, or none."""
    if not isinstance(result, LabeledDocument):
        raise InputError(
            f"{document.id}: the model cannot label this page ({result.error_type}: {result.message}); "
            "evaluate scores every page it is given: leave it out"
        )


def evaluate_topics(model: Model, documents: Iterable[TrainingDocument]) -> dict:
    """Per-tag precision, recall, F1, average precision and micro-F1 of the full pipeline.

    Each document's text is labelled as a page (segments, then topics on the
    story), and its tags and topic probabilities are compared with the gold
    tags. Tags the model does not know count as missed. The returned dict
    also holds the :class:`TopicOutcome` under ``"outcome"``.
    """
    documents = [d for d in documents if d.topics is not None]
    names = sorted(set(model.tag_names) | {t for d in documents for t in d.topics})
    truth = np.array([[name in d.topics for name in names] for d in documents], dtype=bool).reshape(-1, len(names))
    probability = np.zeros(truth.shape)
    predicted = np.zeros(truth.shape, dtype=bool)
    inputs = map(as_input, documents)
    known = model.topic_languages
    untagged = 0
    for row, (document, result) in enumerate(zip(documents, model.label_many(inputs))):
        _check_labelled(document, result)
        probability[row] = [result.topics.get(name, 0.0) for name in names]
        predicted[row] = [name in result.tags for name in names]
        untagged += known is not None and result.language is not None and result.language not in known
    metrics = topic_metrics(truth, probability, [0.5] * len(names), names, predicted=predicted)
    metrics["documents"] = len(documents)
    metrics["unknown_tags"] = [name for name in names if name not in model.tag_names]
    for name in metrics["unknown_tags"]:  # never scored: no ranking to take the precision of
        metrics["per_tag"][name]["average_precision"] = None
    metrics["untagged_languages"] = int(untagged)
    metrics["outcome"] = TopicOutcome(tuple(names), truth, probability)
    return metrics


def read_gold(
    paths: Sequence[Path],
    *,
    all_sites: bool = False,
    page_types: Sequence[str] | None = None,
    renderers: Sequence[str] | None = None,
    cache: Path | None = None,
) -> list[TrainingDocument]:
    """The documents with gold to evaluate on: labelled JSONL files and web-page corpora.

    Of a web-page corpus, only the held-out sites unless ``all_sites``, each
    page once per renderer (html-text by default; ``html`` for the HTML
    classifier on the markup). With ``page_types``, only web pages of those
    types (documents without a type, news items, stay).

    Raises
    ------
    InputError
        When a path is neither, or nothing is left to evaluate.
    """
    documents: list[TrainingDocument] = []
    names = source_names(paths)
    renderers = tuple(renderers or RENDERERS[:1])
    wanted_types = set(page_types or ())
    read = 0  # documents of the sites evaluated, before --page-type
    seen_types: set[str] = set()

    def typed(page_type: object) -> bool:  # kept by --page-type: a document without a type (or none that is a
        if not isinstance(page_type, str):  # string: an index may hold anything, a list say) stays
            return True
        seen_types.add(page_type)
        return not wanted_types or page_type in wanted_types

    def wanted(site: str, page_type: str | None) -> bool:  # asked before a web page is read: reading is the slow part
        nonlocal read
        if not (all_sites or is_held_out(site)):
            return False
        read += len(renderers)
        return typed(page_type)

    for path in paths:
        if is_web_page_corpus(path):
            documents.extend(read_web_pages(path, renderers, cache, keep=wanted, name=names[Path(path)]))
        elif path.is_file():
            labelled = list(read_training_jsonl(path, names[Path(path)]))
            read += len(labelled)
            documents.extend(d for d in labelled if typed(d.page_type))
        elif path.is_dir():
            raise InputError(
                f"{path} is a folder but not a web-page corpus (its pages.jsonl and html/ folder): "
                "give the corpus's folder or labelled JSONL files"
            )
        else:
            raise InputError(f"evaluation data not found: {path}")
    if not documents:
        there = f"; their types: {', '.join(sorted(seen_types))}" if seen_types else ""
        kinds = f" (--page-type {', '.join(page_types)} left out all {read} read{there})" if read else ""
        raise InputError(f"no documents to evaluate{kinds}")
    return documents


@dataclass
class Findings:
    """What ``storyfilter evaluate`` found: the summary it prints and reports, and the details behind it."""

    summary: dict
    story: Evaluation | None = None
    topics: TopicOutcome | None = None


def evaluate(model: Model, documents: Sequence[TrainingDocument]) -> Findings:
    """Score ``model`` on the story of every document with story gold, and on the tags of every document with gold tags.

    Raises
    ------
    InputError
        When no document has story gold or gold tags: there is nothing to evaluate.
    ModelError
        When there are gold tags, no story gold and the model has no topic stage (with story gold, the story
        is scored and ``topics_not_scored`` says why the tags are not), or HTML pages with gold (story or
        tags) and the model has no HTML classifier.
    """
    tagged = any(d.topics is not None for d in documents)
    story_documents = [d for d in documents if has_story_gold(d)]
    if not tagged and not story_documents:
        raise InputError(
            "nothing to evaluate: the data hold no gold story (segment labels or a story) and no gold topics"
        )
    skipped = None
    if tagged and not model.tag_names:  # found before the story is scored, which takes a while
        if not story_documents:
            raise ModelError(f"{model.model_id} has no topic stage to evaluate")
        tagged, skipped = False, f"{model.model_id} has no topic stage: the data's gold tags are not scored"
    html_pages = sum(d.is_html and (has_story_gold(d) or (tagged and d.topics is not None)) for d in documents)
    if html_pages and model.html_classifier is None:
        raise ModelError(
            f"{model.model_id} has no HTML classifier (it was trained without HTML pages) to label the data's "
            f"{html_pages} HTML pages: evaluate a web-page corpus as text (--renderer html-text, the default), "
            "or retrain with HTML pages"
        )
    findings = Findings({"model": model.model_id})
    if skipped:
        findings.summary["topics_not_scored"] = skipped
    if story_documents:
        result = findings.story = evaluate_documents(model, story_documents)
        story = result.story
        findings.summary.update(
            story_f1=story.f1,
            precision=story.precision,
            recall=story.recall,
            line_accuracy=result.line_accuracy,
            pages=[
                {
                    "id": p.id,
                    "site": p.site,
                    "f1": round(p.score.f1, 4),
                    "precision": round(p.score.precision, 4),
                    "recall": round(p.score.recall, 4),
                    "lines": p.lines,
                    "line_errors": p.errors,
                }
                for p in result.pages
            ],
            by_source=breakdown(result.pages, lambda p: p.corpus or "-"),
            by_language=breakdown(result.pages, lambda p: p.language or "unknown"),
            by_reading=breakdown(result.pages, lambda p: p.reading),
        )
    if tagged:
        topics = evaluate_topics(model, documents)
        findings.topics = topics.pop("outcome")
        findings.summary["topics"] = topics
    return findings


def breakdown(pages: Sequence[PageResult], key: Callable[[PageResult], str]) -> dict[str, dict]:
    """Story F1, precision and recall of the pages of each group (a source, a language), averaged as overall."""
    groups: dict[str, list[PageResult]] = {}
    for page in pages:
        groups.setdefault(key(page), []).append(page)
    table = {}
    for name in sorted(groups):
        score = average_scores([p.score for p in groups[name]])
        table[name] = {
            "pages": score.pages,
            "f1": round(score.f1, 4),
            "precision": round(score.precision, 4),
            "recall": round(score.recall, 4),
        }
    return table
