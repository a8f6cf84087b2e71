"""``storyfilter convert``: an older, pickled model bundle rewritten as a model file that runs no code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .exits import exit_codes
from .train import check_model_out


def convert(
    old: Annotated[Path, typer.Argument(help="An older bundle (NAME.joblib, format 2 or before; its card beside it).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the model (NAME.model); its card goes beside it.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the model (and card) already at --out.")] = False,
) -> None:
    """Rewrite an older model bundle (a pickle) in today's format, which loads without running code.

    Loading the old file runs whatever code it holds: convert only a file
    you trust (your own, or the shipped model of an older storyfilter). Its
    sha256 and library versions are checked against its card first, as for
    any load; the new card keeps the old one's figures.
    """
    from ..model.bundle import BUNDLE_FORMAT
    from ..model.model import load_model

    with exit_codes():
        check_model_out(out, force)
        model = load_model(old, allow_pickle=True)
        if model.card.get("bundle_format") == BUNDLE_FORMAT:
            raise InputError(f"{old} is a model file of today's format already: there is nothing to convert")
        model.card["converted_from"] = {key: model.card.get(key) for key in ("file", "bundle_format", "sha256")}
        model.save(out)
    typer.echo(f"{out}: {model.name}@{model.version}, {out.stat().st_size / 1e6:.1f} MB", err=True)
