"""The HTTP service behind ``storyfilter serve``: the same model and records as the CLI, over JSON.

:func:`create_app` builds the FastAPI app (the routes of
:mod:`classifier.service.routes`, the error answers of
:mod:`classifier.service.errors`) for any ASGI server; it loads the model
and starts its :class:`~classifier.service.batcher.Labeller` when it starts.
:func:`app_from_environment` is the factory the ``serve`` command hands to
uvicorn's workers (its options travel in the environment, as workers are
separate processes). The app needs the ``serve`` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

import dataclasses
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..model.labelling import freeze_loaded
from ..model.model import Model, load_model
from ..versions import package_version
from .batcher import Labeller
from .docs import install_docs
from .errors import install_error_handlers
from .options import ServeOptions, check_same_as_served, read_token
from .routes import router


def create_app(options: ServeOptions = ServeOptions(), model: Model | None = None, freeze: bool = False) -> FastAPI:
    """The service's ASGI app; it loads ``options.model`` (or uses ``model``) when it starts.

    With ``freeze``, once the model is loaded, what the process holds is left
    out of the garbage collector's full passes
    (:func:`~classifier.model.labelling.freeze_loaded`): ``storyfilter
    serve`` asks for it, its processes being the service's alone; an app
    embedded in a program of one's own leaves that program's heap alone.

    Raises (at start-up)
    --------------------
    ModelError, InputError
        A model that cannot be loaded, a token file that cannot be read.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        served = model if model is not None else load_model(options.model)
        # The service's limits, on a copy: a model handed in is left as it was.
        app.state.model = dataclasses.replace(served, limits=options.limits) if isinstance(served, Model) else served
        app.state.token = read_token(options.token_file) if options.token_file else None
        check_same_as_served(options, getattr(served, "card", {}).get("sha256"), app.state.token)
        app.state.labeller = Labeller(app.state.model, options.batch_size, options.gather)
        if freeze:
            freeze_loaded()
        app.state.labeller.start()
        try:
            yield
        finally:
            app.state.stopped = True  # (an answer cut short from here on was cut by the server, not its client)
            await app.state.labeller.stop()

    app = FastAPI(
        title="storyfilter",
        version=package_version(),
        summary="Label scraped news pages as story or site chrome, return the clean story, tag it by topic.",
        lifespan=lifespan,
        docs_url=None,  # served from the installed bundle by install_docs, not from a CDN
        redoc_url=None,
        redirect_slashes=False,  # /label/ is not /label: a JSON 404, not an empty redirect
    )
    app.state.options = options
    install_error_handlers(app)
    app.include_router(router)
    install_docs(app)
    return app


def app_from_environment() -> FastAPI:
    """The app with the options ``storyfilter serve`` put in the environment (uvicorn's factory)."""
    return create_app(ServeOptions.from_environment(), freeze=True)
