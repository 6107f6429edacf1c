"""The API documentation page, `/docs` (Swagger UI), with Swagger UI's scripts, styles and icon served
by Clientele itself: FastAPI's own page loads them from a CDN, so it stayed blank on a machine
without internet."""

from collections.abc import Awaitable, Callable
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

# fastapi-offline ships Swagger UI's released build (swagger-ui-bundle.js, swagger-ui.css) and an icon,
# updated with Swagger UI's releases; only these files of it are used.
SWAGGER_UI_FILES = files("fastapi_offline") / "static"

# Swagger UI's default asks validator.swagger.io to judge the description: a request to another host.
OFFLINE_PARAMETERS = {"validatorUrl": None}


def docs_page(app: FastAPI, prefix: str) -> Callable[[Request], Awaitable[HTMLResponse]]:
    """The page served at `{prefix}/docs`: its assets under the same prefix, the description where
    FastAPI's page looked for it (`/openapi.json` behind the proxy's `root_path`)."""

    async def page(request: Request) -> HTMLResponse:
        root_path = request.scope.get("root_path", "").rstrip("/")
        assets = f"{root_path}{prefix}/docs/assets"
        return get_swagger_ui_html(
            openapi_url=f"{root_path}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=OFFLINE_PARAMETERS,
        )

    return page


def serve_api_docs(app: FastAPI) -> None:
    """`/docs` and `/v5/docs` (every route is also served under `/v5`), each with its assets beside it."""
    assets = StaticFiles(directory=str(SWAGGER_UI_FILES))
    for prefix in ("", "/v5"):
        app.mount(f"{prefix}/docs/assets", assets)
        app.add_api_route(f"{prefix}/docs", docs_page(app, prefix), include_in_schema=False)
