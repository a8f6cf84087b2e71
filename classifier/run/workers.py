"""Labelling in local worker processes, each with its own copy of the model.

The model goes to the workers once, as they start; each runs its native
thread pools (OpenMP, BLAS) at one thread, as the processes are the
parallelism. A worker process that dies does not stop the run: the pool is
started again and the chunks it held go through :func:`~classifier.run.ordered.isolate`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from typing import Any

from ..errors import WorkerError
from .ordered import AHEAD_PER_WORKER, Isolation, Task, in_order, isolate


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# The model of a worker process, set once when the process starts.
_worker_model = None


def _start_worker(model_file: str) -> None:
    """Worker process start: load the model, one native thread, leave Ctrl-C to the main process."""
    global _worker_model
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(model_file)
    with open(model_file, "rb") as handle:
        _worker_model = pickle.load(handle)
    from threadpoolctl import threadpool_limits

    from ..model.labelling import freeze_loaded

    threadpool_limits(1)  # the processes are the parallelism; more threads would fight over the cores
    freeze_loaded()


def _end_with_parent(model_file: str) -> None:
    """Exit, removing the model file, when the main process dies without closing the pool (``kill -9``,
    the out-of-memory killer): a worker waiting for work would never hear of it, and live on."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a spawned worker
        return

    def watch() -> None:
        wait([parent.sentinel])
        with contextlib.suppress(OSError):
            os.unlink(model_file)
        os._exit(1)

    threading.Thread(target=watch, name="storyfilter-parent-watch", daemon=True).start()


def _run_in_worker(task: Task, chunk: list, *args: Any) -> Any:
    return task(_worker_model, chunk, *args)


class WorkerPool:
    """The task run in ``workers`` processes, each with its own copy of the model.

    The model goes to the workers as a pickle in a temporary file, which
    each reads as it starts: handing it over through the start-up pipe
    would make each start wait for the one before.

    A worker process that dies (a crash in a parser, the kernel's
    out-of-memory killer) breaks the pool: every chunk in flight is lost. The
    pool is then started again and those chunks run again, one at a time,
    through :func:`isolate`: a page that crashes the labeller gets an
    error record and cannot stop a run (nor meet a resumed run again).
    Workers whose main process dies without closing the pool exit, and
    remove the model file.
    """

    def __init__(self, model, workers: int, isolation: Isolation) -> None:
        if multiprocessing.current_process().daemon:  # a multiprocessing.Pool's worker, say: it may not have children
            raise WorkerError(
                "cannot start worker processes from a daemonic process (a multiprocessing pool's worker): "
                "label with workers=1 there"
            )
        self.ahead = workers * AHEAD_PER_WORKER
        self._isolation = isolation
        self._workers = workers
        self._generation = 0
        handle = tempfile.NamedTemporaryFile(prefix="storyfilter-model-", suffix=".pickle", delete=False)  # noqa: SIM115
        self._model_file = handle.name
        try:
            with handle:
                pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
            self._executor = self._start()
        except OSError as error:
            os.unlink(self._model_file)
            raise WorkerError(f"cannot start worker processes: {error.strerror or error}") from None

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            # Spawned, not forked: the main process may run threads (progress
            # display, input counting) that a fork would copy mid-flight.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._model_file,),
        )

    def _submit(self, task: Task, chunk: list, args: tuple) -> Future:
        """The chunk's future, marked with the pool it went to (a pool already broken gives a failed one)."""
        try:
            future = self._executor.submit(_run_in_worker, task, chunk, *args)
        except BrokenProcessPool as error:
            future = Future()
            future.set_exception(error)
        future.generation = self._generation  # type: ignore[attr-defined]
        return future

    def _alone(self, task: Task, chunk: list, args: tuple) -> Any:
        """Run one chunk and wait for it; if it breaks the pool, start a new pool and raise BrokenProcessPool."""
        future = self._submit(task, chunk, args)
        try:
            return future.result()
        except BrokenProcessPool:
            self._restart_after(future)
            raise

    def _restart_after(self, future: Future) -> None:
        """Start a new pool if the one ``future`` ran in is the current one (else that was done already)."""
        if future.generation != self._generation:  # type: ignore[attr-defined]
            return
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._generation += 1
        try:
            self._executor = self._start()
        except OSError as error:
            raise WorkerError(f"cannot start worker processes again: {error.strerror or error}") from None

    def _recover(self, task: Task, args: tuple, chunk: list, future: Future) -> Any:
        """The result of a chunk that was in flight when a worker died."""
        self._restart_after(future)
        return isolate(chunk, lambda part: self._alone(task, part, args), (BrokenProcessPool,), self._isolation)

    def map(self, task: Task, chunks: Iterable[list], *args: Any) -> Iterator[Any]:
        return in_order(
            lambda chunk: self._submit(task, chunk, args),
            chunks,
            self.ahead,
            (BrokenProcessPool,),
            lambda chunk, future, _: self._recover(task, args, chunk, future),
        )

    def close(self) -> None:
        try:
            self._executor.shutdown(wait=True, cancel_futures=True)
        finally:
            os.unlink(self._model_file)
