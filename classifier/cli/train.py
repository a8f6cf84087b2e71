"""``storyfilter train``: a model trained on labelled pages, saved with its model card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .exits import exit_codes


def train(
    data: Annotated[list[Path], typer.Argument(help="Labelled JSONL files and web-page corpus directories.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the bundle; its card goes beside it.")] = Path(
        "models/default.joblib"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the learners.")] = 0,
    validate: Annotated[
        bool, typer.Option("--validate/--no-validate", help="Measure on a validation split of sites first.")
    ] = True,
    cache: Annotated[Path | None, typer.Option("--cache", help="Where rendered web pages are cached.")] = None,
    html: Annotated[
        bool, typer.Option("--html/--no-html", help="Also train the HTML classifier on the HTML of web-page corpora.")
    ] = True,
) -> None:
    """Train a model on labelled pages and save it with its model card.

    Text pages train the text classifier; HTML pages (JSONL records with
    ``html``, and the HTML of web-page corpora) train the HTML classifier.
    """
    from ..cache import cache_folder
    from ..training.fit import TrainingOptions
    from ..training.fit import train as run_training

    with exit_codes():
        for path in data:
            if not path.exists():
                raise InputError(f"training data not found: {path}")
        if not out.parent.exists():
            out.parent.mkdir(parents=True)
        options = TrainingOptions(
            sources=data, out=out, seed=seed, validate=validate, cache=cache or cache_folder(), html=html
        )
        model = run_training(options, progress=lambda message: typer.echo(message, err=True))
    for kind, validation in (
        ("text", model.card.get("validation")),
        ("HTML", model.card.get("html", {}).get("validation")),
    ):
        if validation:
            story = validation["story"]
            typer.echo(
                f"{kind} validation: story F1 {story['f1']:.4f} (P {story['precision']:.4f}, "
                f"R {story['recall']:.4f}) on {story['pages']} pages",
                err=True,
            )
