"""A property computed on first use and kept in the object: ``functools.cached_property`` without its lock.

On Python 3.11 ``cached_property`` takes one lock per property, shared by
every object of the class: threads labelling at once wait on each other
at every batch's first use of it, and a process forked while another
thread held it (a service's thread labelling, a ``fork`` pool started
beside it) hangs in the child the first time it labels. Python 3.12
dropped the lock. The batches these properties belong to are each used
by one thread, so none is needed: computed twice at worst, by two
threads reading one batch at once, to the same value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class computed_once:
    """A read-only property whose value ``func(obj)`` is kept in ``obj.__dict__`` once computed."""

    def __init__(self, func: Callable[[Any], Any]):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value  # found there from now on: this descriptor defines no __set__
        return value
