"""``storyfilter train``: a model trained on labelled pages, saved with its model card."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, OutputError
from .exits import ctrl_c_held, exit_codes

# What a model's name may be: it goes into every record as NAME@VERSION, and into file names.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_model_out(out: Path, force: bool, also: str = "") -> None:
    """Refuse an ``--out`` that is not ``NAME.model``, or where a model or card is, unless ``force``."""
    from ..model.bundle import SUFFIX, card_path

    if out.suffix != SUFFIX:
        raise InputError(f"--out {out}: a model is written as NAME{SUFFIX} (its card as NAME.json)")
    existing = [p for p in (out, card_path(out)) if p.exists()]
    if existing and not force:
        raise InputError(f"{existing[0]} exists: pass --force to replace it, or choose another --out {also}".rstrip())


def check_writable_folder(out: Path) -> None:
    """Make ``out``'s folder if it is missing, and refuse it (before any fitting) if a file cannot be written there."""
    import tempfile

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(f"--out {out}: cannot write a model there ({reason}); choose another --out") from None


def train(
    data: Annotated[list[Path], typer.Argument(help="Labelled JSONL files and web-page corpus directories.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the model (NAME.model); its card goes beside it.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the model (and card) already at --out.")] = False,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The model's name in its records (NAME@VERSION); the file's name by default."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed of the learners (0 to 2**32-1).")
    ] = 0,
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
    with exit_codes():
        with ctrl_c_held():  # a Ctrl-C while native modules import stops the run once they have
            from ..cache import cache_folder
            from ..training.fit import TrainingOptions
            from ..training.fit import train as run_training

        for path in data:
            if not path.exists():
                raise InputError(f"training data not found: {path}")
        check_model_out(out, force, "(a model with the same --name still gets the next version)")
        if not MODEL_NAME.fullmatch(name or out.stem):
            raise InputError(
                f"model name {name or out.stem!r}: use ASCII letters, digits, '.', '_' and '-' "
                "(give one with --name; the version is added)"
            )
        check_writable_folder(out)
        options = TrainingOptions(
            sources=data, out=out, seed=seed, name=name, validate=validate, cache=cache or cache_folder(), html=html
        )
        try:
            model = run_training(options, progress=lambda message: typer.echo(message, err=True))
        except OutputError as error:  # the model could not be written after all (a full disk): no run to resume
            raise InputError(str(error)) from None
    for kind, validation in (
        ("text", model.card.get("validation")),
        ("HTML", model.card.get("html", {}).get("validation")),
    ):
        if validation and "story" in validation:
            story = validation["story"]
            typer.echo(
                f"{kind} validation: story F1 {story['f1']:.4f} (P {story['precision']:.4f}, "
                f"R {story['recall']:.4f}) on {story['pages']} pages, story threshold {validation['threshold']}",
                err=True,
            )
        elif validation is not None:
            typer.echo(f"{kind}: no validation figures: {validation.get('skipped', 'none measured')}", err=True)
    if model.html_classifier is None and html:  # (with --no-html it was asked for)
        typer.echo(
            "note: no HTML page trained this model: it labels plain text, and gives HTML pages an error record "
            "(train on HTML pages too, JSONL records with 'html' or web-page corpora, for an HTML classifier)",
            err=True,
        )
