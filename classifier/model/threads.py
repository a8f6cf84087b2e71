"""How many threads the native libraries (OpenMP, BLAS) use while a model labels: one, unless asked.

A labelling process is one of many: the CLI's workers, a Dask cluster's,
the service's, or a user's program that labels among other work. Native
thread pools sized to every core spin at each barrier against whatever
else runs there; the gradient-boosted trees hit thousands of barriers per
chunk. So labelling runs them at one thread. ``load_model(threads=N)`` (or
``Model.threads``) allows more, and ``STORYFILTER_THREADS`` in the
environment sets the default of every process (the CLI's, the service's).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from ..errors import InputError

ENVIRONMENT = "STORYFILTER_THREADS"


def default_threads() -> int:
    """The native threads a labelling call may use: ``$STORYFILTER_THREADS``, else (unset or empty) one.

    Raises
    ------
    InputError
        When the variable holds anything but a whole number of 1 or more.
    """
    value = os.environ.get(ENVIRONMENT, "").strip()
    if not value:
        return 1
    if not value.isdecimal() or int(value) < 1:
        raise InputError(f"${ENVIRONMENT} is a number of native threads (1 or more), not {value!r}")
    return int(value)


@lru_cache(maxsize=1)
def _controller():
    """The native libraries loaded in this process, found once (finding them takes milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


# BLAS pools are the process's: calls that label at once from several threads share one limit of
# them, the first to start records the pools' own settings and the last to end puts them back (a call
# that ended in between would put back another call's limit, and leave the process at one thread).
# OpenMP's setting is each thread's own: every call limits it in its thread and puts it back there.
_lock = threading.Lock()
_calls = 0
_first = None


@contextmanager
def native_threads(count: int | None = None) -> Iterator[None]:
    """Limit the native thread pools to ``count`` threads (the default when None) while inside.

    Calls may overlap (threads of one program labelling at once): the BLAS
    pools' own settings come back when the last of them ends, and each
    thread's OpenMP setting when its own call ends. (So a call nested in
    another with another count leaves BLAS at its count until the outer
    call ends; the library's own calls nest with the same count.)
    """
    global _calls, _first
    limit = count or default_threads()
    with _lock:
        shared = _controller().select(user_api="blas").limit(limits=limit)
        if _calls == 0:
            _first = shared
        _calls += 1
    own = None
    try:
        own = _controller().select(user_api="openmp").limit(limits=limit)
        yield
    finally:
        if own is not None:
            own.restore_original_limits()
        with _lock:
            _calls -= 1
            if _calls == 0:
                _first.restore_original_limits()
                _first = None
