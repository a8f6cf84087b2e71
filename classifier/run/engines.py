"""Where the labelling runs: in this process, in local worker processes, or on a Dask cluster.

:func:`run_chunks` picks the engine and runs a task over the chunks with
it. A page is labelled the same whatever else is in its chunk, and the
chunks are cut the same way for every engine, so every engine gives
identical results, in the same order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import InputError
from .ordered import Engine, InProcess, Isolation, Task
from .workers import WorkerPool


def run_chunks(
    model,
    task: Task,
    chunks: Iterable[list],
    *args: Any,
    workers: int = 1,
    scheduler: str | None = None,
    isolation: Isolation,
) -> Iterator[Any]:
    """Run ``task(model, chunk, *args)`` on every chunk; yield the results in chunk order.

    With ``scheduler``, on that Dask cluster; else with ``workers`` > 1, in
    that many worker processes; else here. Workers are started only when
    there is more than one chunk: a single page is labelled at once.
    ``isolation`` says what stands in for an item that kills its worker.
    Closing the generator early cancels what is still queued.
    """
    chunks = iter(chunks)
    first: list[list] = []
    if scheduler is None and workers > 1:
        first, chunks = _peek(chunks, 2)  # is there more than one chunk?
    if scheduler is not None:
        try:
            from .cluster import DaskCluster
        except ImportError:
            raise InputError("--scheduler needs Dask: pip install 'storyfilter[dask]'") from None
        engine: Engine = DaskCluster(model, scheduler, isolation)
    elif workers > 1 and len(first) > 1:
        engine = WorkerPool(model, workers, isolation)
    else:
        engine = InProcess(model)
    results = engine.map(task, itertools.chain(first, chunks), *args)
    try:
        yield from results
    finally:
        results.close()
        engine.close()


def _peek(chunks: Iterator[list], count: int) -> tuple[list[list], Iterator[list]]:
    """The first ``count`` chunks, and the rest; reading that raises is raised by the rest, once the first are run."""
    first: list[list] = []
    try:
        first.extend(itertools.islice(chunks, count))
    except Exception as error:  # noqa: BLE001 - raised again in its turn, after the chunks read before it
        return first, _raising(error)
    return first, chunks


def _raising(error: Exception) -> Iterator[list]:
    raise error
    yield  # a generator: it raises when the chunks before it are done
