"""The model on a Dask cluster: a worker plugin that every worker, also one started later, receives.

Kept apart from ``parallel.py`` so that importing storyfilter does not import
Dask. The scheduler holds the plugin (the pickled model) for as long as the
run lasts and hands it to each worker as it joins: a worker restarted after
a crash gets the model again, which data scattered to the workers would
not give it (data held only by dead workers is lost for good).
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from . import parallel


# Model plugins are named this and their run's Dask client id.
PLUGIN_PREFIX = "storyfilter-model-"


class ModelPlugin(WorkerPlugin):
    """Leaves a run's pickled model (with the library versions it was made with) on each worker.

    The model is unpickled on the worker by the first task that needs it
    (:func:`classifier.parallel._run_on_dask`), after the versions are checked.
    ``key`` is the run's Dask client id: a later run drops the plugins of
    clients that are gone (a run killed before it could unregister its own).
    """

    def __init__(self, key: str, libraries: dict, payload: bytes) -> None:
        self.key, self.libraries, self.payload = key, libraries, payload
        self.name = PLUGIN_PREFIX + key

    def setup(self, worker) -> None:
        parallel._dask_payloads[self.key] = (self.libraries, self.payload)

    def teardown(self, worker) -> None:
        parallel._dask_payloads.pop(self.key, None)
        parallel._dask_models.pop(self.key, None)
