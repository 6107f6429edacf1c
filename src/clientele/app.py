"""Builds the FastAPI application: routers, error handlers, the engine's lifetime."""

import asyncio
import gc
import importlib.metadata
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import Receive, Scope, Send

from clientele.addresses.router import router as addresses_router
from clientele.config import Settings, load_settings
from clientele.customers.fast_paths import FAST_PATHS as CUSTOMER_FAST_PATHS
from clientele.customers.router import router as customers_router
from clientele.db.engine import create_engine, create_key_pool, is_sqlite
from clientele.delivery_zones.router import router as delivery_zones_router
from clientele.events import service as events_service
from clientele.events.router import router as events_router
from clientele.ledgers.fast_paths import FAST_PATHS as LEDGER_FAST_PATHS
from clientele.ledgers.router import ROUTERS as LEDGER_ROUTERS
from clientele.tags.router import router as tags_router
from clientele.web.api_docs import serve_api_docs
from clientele.web.errors import error_responses, install_error_handlers
from clientele.web.fast_paths import FastPathMiddleware
from clientele.web.list_requests import signing_key
from clientele.web.openapi_clients import for_generated_clients, operation_id
from clientele.web.openapi_links import with_links
from clientele.web.rate_limits import RateLimitMiddleware, add_rate_limit_responses, rate_limiter_for
from clientele.web.request_context import install_request_context
from clientele.web.transaction import Connection
from clientele.web.wire import JSONResponse
from clientele.webhooks import service as webhooks_service
from clientele.webhooks.deliverer import delivering
from clientele.webhooks.router import router as webhooks_router

DESCRIPTION = """\
Clientele serves the Customers API of a point-of-sale platform: a client written for that
platform works by changing only its base URL. Every route is also served under `/v5`.

Authenticate with `Authorization: Bearer <token>`; each route names the scope it needs.
Errors are `{"message": "…", "errors": {"field": ["…"]}}`. Timestamps are UTC
`YYYY-MM-DD HH:MM:SS`.
"""

# Included into the app one by one rather than through a parent router: each level of
# nesting is walked again on every request.
DOMAIN_ROUTERS = (
    customers_router,
    tags_router,
    addresses_router,
    delivery_zones_router,
    *LEDGER_ROUTERS,
    events_router,
    webhooks_router,
)

YOUNGEST_COLLECTED_AFTER = 10_000

probes = APIRouter(tags=["operations"])


class ProbeStatus(BaseModel):
    status: str


@probes.get(
    "/healthz",
    summary="Process is up",
    description="No token needed.",
    response_model=ProbeStatus,
    operation_id="checkHealth",
)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@probes.get(
    "/readyz",
    summary="Database is reachable",
    description="No token needed.",
    response_model=ProbeStatus,
    responses=error_responses(503),
    operation_id="checkReadiness",
)
async def readyz(connection: Connection) -> JSONResponse:
    await connection.execute(text("SELECT 1"))
    return JSONResponse({"status": "ready"})


FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")


def without_framework_validation_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the 422 FastAPI documents for every route with parameters.

    Routes parse their own input, and the rare framework-level validation error is answered
    with 400 (see `errors.handle_request_validation`), so that 422 is never sent; where a
    route does answer 422, it declares it with the error body.
    """
    framework_422 = {"$ref": f"#/components/schemas/{FRAMEWORK_SCHEMAS[0]}"}
    for operations in document["paths"].values():
        for described in operations.values():
            unprocessable = described["responses"].get("422", {})
            if unprocessable.get("content", {}).get("application/json", {}).get("schema") == framework_422:
                del described["responses"]["422"]
    for name in FRAMEWORK_SCHEMAS:
        document.get("components", {}).get("schemas", {}).pop(name, None)
    return document


def settle_garbage_collector() -> None:
    """Leave the objects a started app holds out of every later garbage collection, and collect the
    youngest objects less often (docs/decisions.md, "Benchmarks")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNGEST_COLLECTED_AFTER, *gc.get_threshold()[1:])


def serve_paths_with_a_trailing_slash(router: APIRouter) -> None:
    """Answer `/customers/` as `/customers`, as the platform's router does, where Starlette would
    redirect: a 307 has no JSON body, and a client that does not follow redirects takes it for an
    error. Only a path no route matched is tried again, so the others pay nothing."""
    not_found = router.default

    async def without_trailing_slash(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["type"] == "http" and path != "/" and path.endswith("/"):
            await router.app({**scope, "path": path.rstrip("/") or "/"}, receive, send)
            return
        await not_found(scope, receive, send)

    router.redirect_slashes = False
    router.default = without_trailing_slash


def serve_the_description_under_v5(app: FastAPI) -> None:
    """`/v5/openapi.json`, the same as without the prefix, for a client whose base URL ends in `/v5`
    (SPEC: every route is also served there)."""

    @app.get("/v5/openapi.json", include_in_schema=False)
    async def openapi_under_v5() -> JSONResponse:
        return JSONResponse(app.openapi())


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for these settings (from the environment by default)."""
    settings = settings or load_settings()
    rate_limiter = rate_limiter_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        if settings.fast_paths and not is_sqlite(app.state.engine):
            app.state.key_pool = await create_key_pool(settings.database_url, size=settings.database_pool_size)
        # Read the cursor key at start rather than in some first list request; if the
        # database is down now, the first list request reads it instead.
        with suppress(SQLAlchemyError, OSError):
            async with app.state.engine.connect() as connection:
                await signing_key(app.state, connection)
        settle_garbage_collector()
        purging = asyncio.create_task(
            events_service.purge_periodically(
                app.state.engine, [events_service.purge_expired, webhooks_service.purge_expired_log]
            )
        )
        try:
            async with AsyncExitStack() as background:
                if settings.deliver_webhooks:
                    # Every worker runs one; they share the work through the database (docs/decisions.md, "Webhooks").
                    await background.enter_async_context(
                        delivering(
                            database_url=settings.database_url,
                            allow_private=settings.webhook_allow_private_networks,
                        )
                    )
                yield
        finally:
            purging.cancel()
            with suppress(asyncio.CancelledError):
                await purging
            if app.state.key_pool is not None:
                await app.state.key_pool.close()
                app.state.key_pool = None
            await app.state.engine.dispose()
            if rate_limiter is not None:
                await rate_limiter.close()

    app = FastAPI(
        title="Clientele",
        version=importlib.metadata.version("clientele"),
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        generate_unique_id_function=operation_id,
        docs_url=None,
    )
    app.state.settings = settings
    app.state.key_pool = None
    install_error_handlers(app)
    serve_paths_with_a_trailing_slash(app.router)
    for prefix in ("", "/v5"):
        for domain_router in (probes, *DOMAIN_ROUTERS):
            app.include_router(domain_router, prefix=prefix, include_in_schema=not prefix)
    serve_the_description_under_v5(app)
    serve_api_docs(app)
    app.state.rate_limiter = rate_limiter
    if settings.fast_paths:
        app.add_middleware(
            FastPathMiddleware,
            paths=[*CUSTOMER_FAST_PATHS, *LEDGER_FAST_PATHS],
            state=app.state,
            max_body_bytes=settings.max_body_bytes,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
    if rate_limiter is not None:
        app.add_middleware(RateLimitMiddleware, limiter=rate_limiter)
    install_request_context(app)

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = for_generated_clients(
                with_links(without_framework_validation_errors(generate_openapi()))
            )
            if rate_limiter is not None:
                add_rate_limit_responses(app.openapi_schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
