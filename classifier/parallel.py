"""Where the labelling runs: in this process, in worker processes, or on a Dask cluster.

Work is cut into chunks of documents in input order. An engine runs a
*task* (a plain function of the model, a chunk and fixed arguments) on each
chunk and gives the results back in the order the chunks went in, with at
most a few chunks per worker in flight, so that memory stays flat however
long the input and records come out in input order. A page is labelled
the same whatever else is in its chunk, and the chunks are cut the same
way for every engine, so every engine writes identical records.

Worker processes receive the model once, when they start; a Dask cluster
receives it once, in a worker plugin every worker (also one that restarts) runs.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import multiprocessing
import operator
import os
import pickle
import signal
import tempfile
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Protocol

from .errors import InputError, WorkerError

# Chunks handed out ahead of the one being written, per worker: enough to
# keep every worker busy while the main process writes.
AHEAD_PER_WORKER = 2
# Seconds to wait for a Dask scheduler, and for its first worker.
DASK_TIMEOUT = 30

Task = Callable[..., Any]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter), read lazily."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
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


def _in_order(
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
        for _, future in pending:
            future.cancel()


# The model of a worker process, set once when the process starts.
_worker_model = None


def _start_worker(model_file: str) -> None:
    """Worker process start: load the model, one native thread, leave Ctrl-C to the main process."""
    global _worker_model
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(model_file, "rb") as handle:
        _worker_model = pickle.load(handle)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # the processes are the parallelism; more threads would fight over the cores


def _run_in_worker(task: Task, chunk: list, *args: Any) -> Any:
    return task(_worker_model, chunk, *args)


# Times a document must kill its worker, labelled alone, to be taken for the cause.
DEATHS_TO_BLAME = 2


def isolate(chunk: list, run_alone: Callable[[list], Any], lost: tuple[type[BaseException], ...]) -> Any:
    """The result of a chunk that was in flight when a worker died, without the documents that kill workers.

    The chunk runs again alone. If it kills a worker by itself (one of the
    ``lost`` exceptions), each of its documents runs alone, and the chunk's
    result is put together from theirs (a task's results for parts of a
    chunk add up to its result for the chunk): a chunk too big for memory as
    a whole still gets through. A document that kills its worker alone
    :data:`DEATHS_TO_BLAME` times gets an error record (type ``WorkerError``)
    in its place, once a small probe document has shown that the workers can
    still label at all; if the probe dies too, the workers are failing, not
    the documents: :class:`WorkerError`.
    """
    try:
        return run_alone(chunk)
    except lost:
        pass
    parts = [_one_alone(item, run_alone, lost) for item in chunk]
    return functools.reduce(operator.add, parts) if parts else run_alone(chunk)


def _one_alone(item: Any, run_alone: Callable[[list], Any], lost: tuple[type[BaseException], ...]) -> Any:
    for _ in range(DEATHS_TO_BLAME):
        try:
            return run_alone([item])
        except lost:
            pass
    try:
        run_alone([_probe()])
    except lost:
        raise WorkerError("workers die whatever they label, a probe of one line included") from None
    return run_alone([_killed_its_worker(item)])


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
    """

    def __init__(self, model, workers: int) -> None:
        self.ahead = workers * AHEAD_PER_WORKER
        self._workers = workers
        self._generation = 0
        handle = tempfile.NamedTemporaryFile(prefix="storyfilter-model-", suffix=".pickle", delete=False)
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
        return isolate(chunk, lambda part: self._alone(task, part, args), (BrokenProcessPool,))

    def map(self, task: Task, chunks: Iterable[list], *args: Any) -> Iterator[Any]:
        return _in_order(
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


def _probe() -> Any:
    """A document any working labeller labels: to tell a deadly document from failing workers."""
    from .documents import Document

    return Document(id="probe", text="A probe of one line.")


def _killed_its_worker(item: Any) -> Any:
    """The error record that stands for a document whose labelling kills the worker process."""
    from .documents import FailedDocument

    return FailedDocument(
        getattr(item, "id", None),
        "WorkerError",
        "the worker process labelling this document died (a crash or the out-of-memory killer); it was not labelled",
        getattr(item, "extra", {}),
    )


# Pickled models (with the library versions they were made with) left on this
# Dask worker process by each run's plugin, and the models unpickled from them.
_dask_payloads: dict[str, tuple[dict, bytes]] = {}
_dask_models: dict[str, Any] = {}
# glibc's mallopt parameter for the size above which blocks are mmap-ed, and ours.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20


def _keep_large_blocks_on_the_heap() -> None:
    """Undo a side effect of Dask's memory setting that slows labelling by a third.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which
    also freezes glibc's mmap threshold at 128 kB: every feature array of a
    batch is then mapped, zeroed and unmapped again. Raising the mmap
    threshold (only when the trim threshold was set and the mmap one was
    not) keeps those arrays on the heap; the trim threshold still returns
    freed memory to the system.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    except (OSError, AttributeError):  # not glibc: nothing to undo
        pass


def _run_on_dask(task: Task, key: str, chunk: list, *args: Any) -> Any:
    """A task on a Dask worker: the run's model unpickled once per worker process, and run."""
    model = _dask_models.get(key)
    if model is None:
        from .bundle import check_library_versions

        if key not in _dask_payloads:
            raise WorkerError("this Dask worker did not receive the model (its plugin did not run)")
        libraries, payload = _dask_payloads[key]
        check_library_versions(libraries, "the model (on a Dask worker)")
        _keep_large_blocks_on_the_heap()
        model = _dask_models[key] = pickle.loads(payload)
    return task(model, chunk, *args)


class DaskCluster:
    """The task run on the workers of a Dask distributed scheduler.

    The pickled model goes to every worker once, in a worker plugin (so a
    worker that joins or restarts mid-run gets it too), and is unpickled
    once per worker process, after checking that the worker runs the same
    scikit-learn as the model was made with. Workers need storyfilter
    installed (the tasks are its functions). Dask runs a task again on
    another worker when its worker dies; a chunk that kills workers until
    Dask gives up (``KilledWorker``) goes through :func:`isolate`.
    """

    def __init__(self, model, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise InputError("--scheduler needs Dask: pip install 'storyfilter[dask]'") from None
        try:
            self._client = Client(address, timeout=DASK_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        try:
            self._client.wait_for_workers(1, timeout=DASK_TIMEOUT)
        except (OSError, TimeoutError) as error:
            self._client.close()
            raise InputError(f"the Dask scheduler at {address} has no workers ({error})") from None
        from .bundle import library_versions

        try:
            threads = sum(self._client.nthreads().values())
            self.ahead = max(2, threads * AHEAD_PER_WORKER)
            from .daskplugin import PLUGIN_PREFIX, ModelPlugin

            self._drop_stale_models(PLUGIN_PREFIX)
            self._key = self._client.id
            plugin = ModelPlugin(self._key, library_versions(), pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
            self._plugin_name = plugin.name  # the scheduler keeps the plugin; this process need not
            self._client.register_plugin(plugin, name=plugin.name)
            del plugin
        except Exception as error:  # noqa: BLE001 - whatever went wrong, close the client and say so
            self.close()
            raise WorkerError(f"cannot send the model to the Dask workers at {address}: {type(error).__name__}: {error}") from None

    def _drop_stale_models(self, prefix: str) -> None:
        """Unregister the model plugins of earlier runs whose client is gone (killed before it could).

        Each run's plugin is named after its client; the scheduler knows
        which clients are connected. Best effort: a scheduler that refuses
        to run the check keeps them.
        """
        def stale(dask_scheduler) -> list:  # runs on the scheduler, sent by value
            return [name for name in dask_scheduler.worker_plugins
                    if name.startswith(prefix) and name[len(prefix):] not in dask_scheduler.clients]

        try:
            for name in self._client.run_on_scheduler(stale):
                self._client.unregister_worker_plugin(name)
        except Exception:  # noqa: BLE001 - a cleanup of others' leftovers must not stop this run
            pass

    def map(self, task: Task, chunks: Iterable[list], *args: Any) -> Iterator[Any]:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        def submit(chunk: list) -> Any:
            return self._client.submit(_run_on_dask, task, self._key, chunk, *args, pure=False)

        def recover(chunk: list, future: Any, error: BaseException) -> Any:
            if not isinstance(error, KilledWorker):  # the scheduler is gone: nothing to retry on
                raise WorkerError(f"lost the Dask cluster ({type(error).__name__}: {error})") from error
            return isolate(chunk, lambda part: submit(part).result(), (KilledWorker,))

        return _in_order(
            submit,
            chunks,
            self.ahead,
            # A lost scheduler cancels every future; a closed client refuses new ones.
            (KilledWorker, CommClosedError, CancelledError, asyncio.CancelledError, OSError),
            recover,
        )

    def close(self) -> None:
        try:
            if getattr(self, "_plugin_name", None) and self._client.status == "running":
                self._client.unregister_worker_plugin(self._plugin_name)  # the workers drop the model
        except Exception:  # noqa: BLE001 - a cluster already gone has nothing to drop
            pass
        finally:
            self._client.close()


def run_chunks(
    model, task: Task, chunks: Iterable[list], *args: Any, workers: int = 1, scheduler: str | None = None
) -> Iterator[Any]:
    """Run ``task(model, chunk, *args)`` on every chunk; yield the results in chunk order.

    With ``scheduler``, on that Dask cluster; else with ``workers`` > 1, in
    that many worker processes; else here. Workers are started only when
    there is more than one chunk: a single page is labelled at once.
    Closing the generator early cancels what is still queued.
    """
    chunks = iter(chunks)
    first: list[list] = []
    if scheduler is None and workers > 1:
        first = list(itertools.islice(chunks, 2))  # is there more than one chunk?
    if scheduler is not None:
        engine: Engine = DaskCluster(model, scheduler)
    elif workers > 1 and len(first) > 1:
        engine = WorkerPool(model, workers)
    else:
        engine = InProcess(model)
    results = engine.map(task, itertools.chain(first, chunks), *args)
    try:
        yield from results
    finally:
        results.close()
        engine.close()

