"""Labelling on a Dask distributed cluster: the model in a worker plugin, chunks as tasks.

Imported only for ``--scheduler`` (it imports Dask). The scheduler holds
the plugin (the pickled model) for as long as the run lasts and hands it to
each worker as it joins: a worker restarted after a crash gets the model
again, which data scattered to the workers would not give it (data held
only by dead workers is lost for good).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError
from typing import Any

from distributed import Client, KilledWorker
from distributed.comm import resolve_address
from distributed.comm.core import CommClosedError
from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import InputError, WorkerError
from ..versions import check_library_versions, library_versions
from .ordered import AHEAD_PER_WORKER, Isolation, Task, in_order, isolate

# Seconds to wait for a Dask scheduler, and for its first worker.
DASK_TIMEOUT = 30

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
        if key not in _dask_payloads:
            raise WorkerError("this Dask worker did not receive the model (its plugin did not run)")
        libraries, payload = _dask_payloads[key]
        check_library_versions(libraries, "the model (on a Dask worker)")
        _keep_large_blocks_on_the_heap()
        model = _dask_models[key] = pickle.loads(payload)
    return task(model, chunk, *args)


# Model plugins are named this and their run's Dask client id.
PLUGIN_PREFIX = "storyfilter-model-"


class ModelPlugin(WorkerPlugin):
    """Leaves a run's pickled model (with the library versions it was made with) on each worker.

    The model is unpickled on the worker by the first task that needs it
    (:func:`_run_on_dask`), after the versions are checked.
    ``key`` is the run's Dask client id: a later run drops the plugins of
    clients that are gone (a run killed before it could unregister its own).
    """

    def __init__(self, key: str, libraries: dict, payload: bytes) -> None:
        self.key, self.libraries, self.payload = key, libraries, payload
        self.name = PLUGIN_PREFIX + key

    def setup(self, worker) -> None:
        _dask_payloads[self.key] = (self.libraries, self.payload)

    def teardown(self, worker) -> None:
        _dask_payloads.pop(self.key, None)
        _dask_models.pop(self.key, None)


# Dask's client logs a lost scheduler as errors with their tracebacks (two, before a run's own one line, which
# says it): quiet while any run of this process holds a client, as it was once none does.
_CLIENT_LOG = logging.getLogger("distributed.client")
_quiet_runs = {"count": 0, "level": logging.NOTSET}
_quiet_lock = threading.Lock()


def _quiet_client_log() -> bool:
    with _quiet_lock:
        if _quiet_runs["count"] == 0:
            _quiet_runs["level"] = _CLIENT_LOG.level
            _CLIENT_LOG.setLevel(logging.CRITICAL)
        _quiet_runs["count"] += 1
    return True


def _restore_client_log() -> None:
    with _quiet_lock:
        _quiet_runs["count"] -= 1
        if _quiet_runs["count"] == 0:
            _CLIENT_LOG.setLevel(_quiet_runs["level"])


def _check_tls(address: str) -> None:
    """Refuse a ``tls://`` address when Dask has no TLS settings to connect with (its configuration's
    ``distributed.comm.tls``), before a Client is made: a Client that fails on it is left half made, and held
    the program for a minute at exit."""
    if not address.lower().startswith("tls://"):
        return
    from distributed.security import Security

    if Security().get_connection_args("client").get("ssl_context") is None:
        raise ValueError(
            "tls:// needs Dask's TLS settings (distributed.comm.tls in Dask's configuration); none are set"
        )


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

    def __init__(self, model, address: str, isolation: Isolation) -> None:
        self._isolation = isolation
        self._quiet = _quiet_client_log()
        try:
            self._start(model, address)
        except BaseException:
            self._unquiet()
            raise

    def _unquiet(self) -> None:
        if self._quiet:
            self._quiet = False
            _restore_client_log()

    def _start(self, model, address: str) -> None:
        try:
            # An address that does not parse or resolve is refused here: a Client that fails to start on it
            # is left half made, and its clean-up held the program for a minute at exit.
            resolve_address(address)
            _check_tls(address)
            self._client = Client(address, timeout=DASK_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        except Exception as error:  # noqa: BLE001 - whatever else Dask raises on an address it cannot use (a peer
            # that is not a scheduler: a frame length of exabytes, MemoryError)
            raise InputError(
                f"cannot reach the Dask scheduler at {address}: {type(error).__name__}: {error}"[:1000]
            ) from None
        try:
            self._client.wait_for_workers(1, timeout=DASK_TIMEOUT)
        except (OSError, TimeoutError) as error:
            self.close()
            raise InputError(f"the Dask scheduler at {address} has no workers ({error})") from None
        try:
            threads = sum(self._client.nthreads().values())
            self.ahead = max(2, threads * AHEAD_PER_WORKER)
            self._drop_stale_models(PLUGIN_PREFIX)
            self._key = self._client.id
            plugin = ModelPlugin(self._key, library_versions(), pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
            self._plugin_name = plugin.name  # the scheduler keeps the plugin; this process need not
            self._client.register_plugin(plugin, name=plugin.name)
            del plugin
        except Exception as error:  # noqa: BLE001 - whatever went wrong, close the client and say so
            self.close()
            raise WorkerError(
                f"cannot send the model to the Dask workers at {address}: {type(error).__name__}: {error}"
            ) from None

    def _drop_stale_models(self, prefix: str) -> None:
        """Unregister the model plugins of earlier runs whose client is gone (killed before it could).

        Each run's plugin is named after its client; the scheduler knows
        which clients are connected. Best effort: a scheduler that refuses
        to run the check keeps them.
        """

        def stale(dask_scheduler) -> list:  # runs on the scheduler, sent by value
            return [
                name
                for name in dask_scheduler.worker_plugins
                if name.startswith(prefix) and name[len(prefix) :] not in dask_scheduler.clients
            ]

        try:
            for name in self._client.run_on_scheduler(stale):
                self._client.unregister_worker_plugin(name)
        except Exception:  # noqa: BLE001 - a cleanup of others' leftovers must not stop this run
            pass

    def map(self, task: Task, chunks: Iterable[list], *args: Any) -> Iterator[Any]:
        def submit(chunk: list) -> Any:
            return self._client.submit(_run_on_dask, task, self._key, chunk, *args, pure=False)

        def recover(chunk: list, future: Any, error: BaseException) -> Any:
            if not isinstance(error, KilledWorker):  # the scheduler is gone: nothing to retry on
                raise WorkerError(f"lost the Dask cluster ({type(error).__name__}: {error})") from error
            return isolate(chunk, lambda part: submit(part).result(), (KilledWorker,), self._isolation)

        return in_order(
            submit,
            chunks,
            self.ahead,
            # A lost scheduler cancels every future; a closed client refuses new ones.
            (KilledWorker, CommClosedError, CancelledError, asyncio.CancelledError, OSError),
            recover,
        )

    def close(self) -> None:
        if sys.is_finalizing():
            # A run left open by a script, closed as the interpreter exits: the client's loop has stopped, and
            # closing it would wait 60 s for it. The connection goes with the process; the scheduler drops this
            # client's tasks, and the next run drops its model (_drop_stale_models).
            return
        try:
            if getattr(self, "_plugin_name", None) and self._client.status == "running":
                self._client.unregister_worker_plugin(self._plugin_name)  # the workers drop the model
        except Exception:  # noqa: BLE001 - a cluster already gone has nothing to drop
            pass
        finally:
            try:
                self._client.close()
            finally:
                self._unquiet()
