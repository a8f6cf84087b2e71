"""Checks of what a Python caller asks for: topics and a least score (``filter``, ``carries``), counts, probabilities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral, Real

from .errors import InputError


def wanted_topics(topics: str | Iterable[str]) -> set[str]:
    """The topics asked for, as a set (a string is one topic's name)."""
    if isinstance(topics, Mapping):  # its keys would be taken, its values (a score per topic?) dropped
        raise InputError(
            f"topics is a topic's name or several, not a mapping ({topics!r}): give the least score as min_score"
        )
    try:
        wanted = {topics} if isinstance(topics, str) else set(topics)
    except TypeError:
        raise InputError(f"topics is a topic's name or several, not {topics!r}") from None
    if not wanted or not all(isinstance(topic, str) and topic.strip() for topic in wanted):
        raise InputError(f"topics is a topic's name or several (at least one, none empty), not {topics!r}")
    return wanted


def check_min_score(min_score: float | None) -> None:
    """Refuse a ``min_score`` that is neither None nor a probability."""
    if min_score is not None and not is_probability(min_score):
        raise InputError(f"min_score is a probability (a number from 0 to 1) or None, not {min_score!r}")


def is_probability(value: object) -> bool:
    """Whether ``value`` is a number from 0 to 1 (numpy's floats and integers too; not a bool)."""
    return isinstance(value, Real) and not isinstance(value, bool) and 0 <= value <= 1


def is_whole_number(value: object) -> bool:
    """Whether ``value`` is a whole number of at least 1 (numpy's integers too; not a bool)."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1
