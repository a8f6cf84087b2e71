"""The API's documentation page (``/docs``), served from files the package installs, never from a CDN.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, which is a blank page
on a machine without internet. Here the page's script, style sheet and icon
come from the ``swagger-ui-bundle`` package (part of the ``serve`` extra),
mounted under :data:`ASSETS`; ReDoc, which has no such package, is off.
Without the bundle installed there is no ``/docs`` (``/openapi.json`` stays).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` with Swagger UI from the installed bundle (nothing when it is not installed)."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title}: API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
