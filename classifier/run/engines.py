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
from .ordered import Engine, InProcess, Isolation, Task, until_failure
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
    Closing the generator early cancels what is still queued. When reading
    ``chunks`` raises (a caller's feed that fails), the chunks read before
    are still run and their results yielded, and then the error is raised.
    """
    failures: list[Exception] = []
    chunks = until_failure(iter(chunks), failures)
    first: list[list] = []
    if scheduler is None and workers > 1:
        first = list(itertools.islice(chunks, 2))  # is there more than one chunk?
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
    if failures:
        raise failures[0]
