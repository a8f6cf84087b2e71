"""Chunks in, results out in the same order: what every engine shares.

Work is cut into chunks of documents in input order. An engine runs a
*task* (a plain function of the model, a chunk and fixed arguments) on each
chunk and gives the results back in the order the chunks went in, with at
most a few chunks in flight (:func:`in_order`), so that memory stays flat
however long the input. When a worker dies, the chunks it held are run
again without the items that kill workers (:func:`isolate`).

Nothing here knows what a chunk holds: what stands in for an item that
kills its worker, and the probe that tells a deadly item from failing
workers, come from the caller in an :class:`Isolation`.
"""

from __future__ import annotations

import collections
import functools
import itertools
import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

from ..errors import WorkerError

# Documents labelled together: the features and trees run once per chunk.
DEFAULT_CHUNK = 64
# Chunks handed out ahead of the one being written, per worker: enough to
# keep every worker busy while the main process writes.
AHEAD_PER_WORKER = 2
# Times an item must kill its worker, run alone, to be taken for the cause.
DEATHS_TO_BLAME = 2

Task = Callable[..., Any]


def chunked(
    items: Iterable, size: int, budget: int | None = None, cost: Callable[[Any], int] | None = None
) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter), read lazily.

    With a ``budget``, a list also ends before the ``cost`` of its items
    would pass it (a list holds one item at least), so that a run of large
    items is cut into smaller lists. When reading ``items`` raises (a
    caller's generator that fails), the items read before it are given
    first, as the last list, and then the error is raised: none is lost.
    """
    failures: list[Exception] = []
    iterator = until_failure(iter(items), failures)
    yield from _lists(iterator, size, budget, cost)
    if failures:
        raise failures[0]


def until_failure(iterator: Iterator, failures: list[Exception]) -> Iterator:
    """The items of ``iterator`` until reading one raises; the error is kept in ``failures`` (for the caller to
    raise once the items before it are done: :func:`chunked`, ``run_chunks``). Only reading is guarded: closing
    this leaves ``iterator`` as it is."""
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - raised again by the caller in its turn
            failures.append(error)
            return
        yield item


def _lists(iterator: Iterator, size: int, budget: int | None, cost: Callable[[Any], int] | None) -> Iterator[list]:
    if budget is None or cost is None:
        while chunk := list(itertools.islice(iterator, size)):
            yield chunk
        return
    chunk, spent = [], 0
    for item in iterator:
        price = cost(item)
        if chunk and spent + price > budget:
            yield chunk
            chunk, spent = [], 0
        chunk.append(item)
        spent += price
        if len(chunk) == size:  # given at once: the next item is not read before it is needed
            yield chunk
            chunk, spent = [], 0
    if chunk:
        yield chunk


class Engine(Protocol):
    """Runs a task over chunks and yields the results in chunk order."""

    def map(self, task: Task, chunks: Iterable[list], *args: Any) -> Iterator[Any]: ...

    def close(self) -> None: ...


class InProcess:
    """The task run here, one chunk after another."""

    def __init__(self, model) -> None:
        self.model = model

    def map(self, task: Task, chunks: Iterable[list], *args: Any) -> Iterator[Any]:
        for chunk in chunks:
            yield task(self.model, chunk, *args)

    def close(self) -> None:
        pass


class Isolation(NamedTuple):
    """What :func:`isolate` needs to know of the items it runs.

    ``probe()`` makes an item any working task handles (to tell a deadly
    item from workers that fail whatever they run); ``stand_in(item)`` makes
    what runs in place of an item that killed its worker (an error record).
    """

    probe: Callable[[], Any]
    stand_in: Callable[[Any], Any]


def in_order(
    submit: Callable[[list], Any],
    chunks: Iterable[list],
    ahead: int,
    lost: tuple[type[BaseException], ...],
    recover: Callable[[list, Any, BaseException], Any] | None = None,
) -> Iterator[Any]:
    """Submit chunks, keeping at most ``ahead`` in flight, and yield their results in order.

    Futures still pending when the consumer stops (or fails) are cancelled.
    A chunk whose future raises one of the ``lost`` exceptions (a worker
    died) is handed to ``recover`` with its future and the exception, which
    returns its result; without ``recover``, or when recovering loses a
    worker again, the loss is a :class:`WorkerError`.
    """
    pending: collections.deque = collections.deque()

    def result(chunk: list, future: Any) -> Any:
        try:
            return future.result()
        except lost as error:
            if recover is None:
                raise WorkerError(f"a worker died ({type(error).__name__}: {error})") from error
            try:
                return recover(chunk, future, error)
            except lost as again:
                raise WorkerError(f"a worker died ({type(again).__name__}: {again})") from again

    try:
        for chunk in chunks:
            pending.append((chunk, submit(chunk)))
            if len(pending) >= ahead:
                yield result(*pending.popleft())
        while pending:
            yield result(*pending.popleft())
    finally:
        # At the interpreter's exit (a generator left open by a script), the futures go with the process; a Dask
        # client can no longer cancel them then (its loop has stopped) and would wait for it forever.
        if not sys.is_finalizing():
            for _, future in pending:
                future.cancel()


def isolate(
    chunk: list, run_alone: Callable[[list], Any], lost: tuple[type[BaseException], ...], isolation: Isolation
) -> Any:
    """The result of a chunk that was in flight when a worker died, without the items that kill workers.

    The chunk runs again alone. If it kills a worker by itself (one of the
    ``lost`` exceptions), each of its items runs alone, and the chunk's
    result is put together from theirs (a task's results for parts of a
    chunk add up to its result for the chunk): a chunk too big for memory as
    a whole still gets through. An item that kills its worker alone
    :data:`DEATHS_TO_BLAME` times is replaced by its stand-in, once the
    probe has shown that the workers can still run anything at all; if the
    probe dies too, the workers are failing, not the items: :class:`WorkerError`.
    """
    try:
        return run_alone(chunk)
    except lost:
        pass
    parts = [_one_alone(item, run_alone, lost, isolation) for item in chunk]
    return functools.reduce(operator.add, parts) if parts else run_alone(chunk)


def _one_alone(
    item: Any, run_alone: Callable[[list], Any], lost: tuple[type[BaseException], ...], isolation: Isolation
) -> Any:
    for _ in range(DEATHS_TO_BLAME):
        try:
            return run_alone([item])
        except lost:
            pass
    try:
        run_alone([isolation.probe()])
    except lost:
        raise WorkerError(
            "workers die whatever they label, a probe of one line included (from Python, with workers > 1: do they "
            'start? A script must call label_many or filter under `if __name__ == "__main__":`, and be a file, '
            "not read from standard input, for its worker processes to start)"
        ) from None
    return run_alone([isolation.stand_in(item)])
