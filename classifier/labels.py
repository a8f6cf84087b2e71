"""The two segment labels, as values rather than bare strings."""

from __future__ import annotations

from enum import IntEnum

from .errors import TrainingDataError


class Label(IntEnum):
    """What a segment is. The integer value is the classifier's class."""

    CHROME = 0
    STORY = 1

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> "Label":
        """Read a label as written in data files ("story" or "chrome")."""
        try:
            return cls[value.strip().upper()]
        except (KeyError, AttributeError):
            raise TrainingDataError(f"unknown segment label {value!r}: use 'story' or 'chrome'") from None
