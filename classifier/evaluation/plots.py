"""Drawing the report's figures with matplotlib (an optional dependency: ``pip install 'storyfilter[report]'``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def check_plotting() -> None:
    """Fail before a long evaluation, not after it, when matplotlib is missing."""
    pyplot()


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--report draws its plots with matplotlib: pip install 'storyfilter[report]'") from None
    plt.rcParams.update(
        {
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "figure.dpi": 100,
            "savefig.bbox": "tight",
        }
    )
    return plt


def _pr_axes(plt, title: str):
    figure, axes = plt.subplots(figsize=(6, 4.5))
    axes.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    return figure, axes


def draw_story_curve(plt, curve: dict, path: Path) -> None:
    figure, axes = _pr_axes(plt, "Segments: precision and recall of story")
    axes.plot(curve["recall"], curve["precision"], lw=2, label=f"all thresholds (AP {curve['average_precision']:.3f})")
    point = curve["point"]
    axes.plot(
        point["recall"],
        point["precision"],
        "o",
        ms=9,
        color="C3",
        label=f"model's threshold {point['threshold']:.2f}: P {point['precision']:.3f}, R {point['recall']:.3f}",
    )
    axes.legend(loc="lower left")
    figure.savefig(path)
    plt.close(figure)


def draw_reliability(plt, table: dict, path: Path) -> None:
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    rows = table["bins"]
    top.plot([0, 1], [0, 1], ls="--", color="grey", label="perfectly calibrated")
    top.plot([r["mean_score"] for r in rows], [r["story_share"] for r in rows], "o-", lw=2, label="segments")
    top.set(ylim=(0, 1.02), ylabel="share that is story", title="Segments: calibration of the story score")
    top.legend(loc="upper left")
    bottom.bar([(r["low"] + r["high"]) / 2 for r in rows], [r["lines"] for r in rows], width=0.09, color="C0")
    bottom.set(xlim=(0, 1), xlabel="story score (mean in each tenth)", ylabel="lines")
    bottom.set_yscale("log")
    figure.savefig(path)
    plt.close(figure)


def draw_page_f1(plt, histogram: dict, mean_f1: float, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6, 4))
    edges = histogram["edges"]
    axes.bar(edges[:-1], histogram["counts"], width=edges[1] - edges[0], align="edge", color="C0", edgecolor="white")
    axes.axvline(mean_f1, color="C3", lw=2, label=f"story F1 overall {mean_f1:.3f}")
    axes.set(xlim=(0, 1), xlabel="story F1 of the page", ylabel="pages", title="Pages by story F1")
    axes.legend(loc="upper left")
    figure.savefig(path)
    plt.close(figure)


def draw_tag_curves(plt, curves: dict, path: Path) -> None:
    figure, axes = _pr_axes(plt, "Topics: precision and recall of each tag")
    for number, (name, curve) in enumerate(curves.items()):
        colour = f"C{number}"
        axes.plot(
            curve["recall"],
            curve["precision"],
            lw=2,
            color=colour,
            label=f"{name} (AP {curve['average_precision']:.3f}, {curve['positives']} positive)",
        )
        point = curve["point"]
        axes.plot(point["recall"], point["precision"], "o", ms=9, color=colour, markeredgecolor="black")
    axes.plot([], [], "o", color="white", markeredgecolor="black", label="each tag's threshold")
    axes.legend(loc="lower left", fontsize=9)
    figure.savefig(path)
    plt.close(figure)
