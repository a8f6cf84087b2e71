"""The model card's training part: what data trained a model, how it was held out, what it is made of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from ..corpus.documents import TrainingDocument
from .sources import Source


def describe(estimator) -> dict:
    """The estimator's class and its parameters, as text, for the model card."""
    return {
        "class": f"{type(estimator).__module__}.{type(estimator).__name__}",
        "params": {name: repr(value) for name, value in estimator.get_params(deep=False).items()},
    }


def training_card(
    options, sources: list[Source], documents: Sequence[TrainingDocument], metrics: dict, seconds: float
) -> dict:
    """The card of a model trained with ``options`` on ``sources`` (``documents`` its text pages)."""
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
                **(
                    {"pages_given": len(source.page_topics), "pages_found": source.pages_found}
                    if source.kind == "page-topics"
                    else {}
                ),
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
