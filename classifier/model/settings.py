"""What a user may set on a loaded model (``Model.threads``, ``story_threshold`` ...), and the check of each.

Each is checked when it is set, as ``load_model`` checks its arguments: a
bad value is an :class:`~classifier.errors.InputError` at once, not a
failure of every document labelled after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..arguments import is_probability, is_whole_number
from ..errors import InputError
from ..limits import DocumentLimits


def check_threads(threads: object) -> None:
    if threads is not None and not is_whole_number(threads):
        raise InputError(f"threads is a number of native threads (1 or more) or None, not {threads!r}")


def check_limits(limits: object) -> None:
    if limits is not None and not isinstance(limits, DocumentLimits):  # None: the defaults (limits_of)
        raise InputError(f"limits is a DocumentLimits or None, not {limits!r}")


def _check_probability(name: str, none: bool = False) -> Callable[[object], None]:
    def check(value: object) -> None:
        if not (is_probability(value) or (none and value is None)):
            also = " or None" if none else ""
            raise InputError(f"{name} is a number from 0 to 1{also}, not {value!r}")

    return check


def _check_topic_thresholds(thresholds: object) -> None:
    if not isinstance(thresholds, Mapping) or not all(
        isinstance(tag, str) and is_probability(value) for tag, value in thresholds.items()
    ):
        raise InputError(f"topic_thresholds maps each tag to a number from 0 to 1, not {thresholds!r}")


# What a user may set on a loaded model, and the check of each (as load_model checks its arguments): checked
# when set, so that a bad value is an error at once and not a failure of every document labelled after.
RUN_SETTINGS = {
    "threads": check_threads,
    "limits": check_limits,
    "story_threshold": _check_probability("story_threshold"),
    "html_story_threshold": _check_probability("html_story_threshold", none=True),
    "html_text_share": _check_probability("html_text_share"),
    "topic_thresholds": _check_topic_thresholds,
}


def check_tag_thresholds(thresholds: Mapping[str, float], tags: tuple[str, ...]) -> None:
    """A loaded model's thresholds name each of its tags, and nothing else (a tag left out would be cut at 0.5)."""
    unknown, missing = sorted(set(thresholds) - set(tags)), [tag for tag in tags if tag not in thresholds]
    if unknown or missing:
        said = [f"{', '.join(unknown)}: not a tag of this model"] if unknown else []
        said += [f"{', '.join(missing)}: left out"] if missing else []
        raise InputError(
            f"topic_thresholds gives every tag its threshold ({', '.join(tags) or 'this model has no tags'}); "
            f"{'; '.join(said)}. To change one, keep the others: "
            "model.topic_thresholds = {**model.topic_thresholds, 'politics': 0.5}"
        )
