"""The list engine at the HTTP edge: a route's parsed list query and includes, as dependencies."""

from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import State

from clientele.db.cursors import cursor_key
from clientele.listing.query import ListQuery, parse_includes, parse_list_query, query_values
from clientele.listing.spec import ListSpec
from clientele.web.authentication import Authenticated
from clientele.web.transaction import Connection


async def signing_key(state: State, connection: AsyncConnection) -> bytes:
    """The key that signs list cursors, read once per process and kept on the app's state."""
    key: bytes | None = getattr(state, "cursor_key", None)
    if key is None:
        key = state.cursor_key = await cursor_key(secret_key=state.settings.secret_key, connection=connection)
    return key


def list_query_dependency(spec: ListSpec) -> Callable[..., Awaitable[ListQuery]]:
    """The route dependency; after the caller's own (401, 403), since cursors are tied to its business."""

    async def list_query(request: Request, principal: Authenticated, connection: Connection) -> ListQuery:
        key = await signing_key(request.app.state, connection)
        return parse_list_query(
            query_values(request.query_params.multi_items()),
            spec,
            business_id=principal.business_id,
            signing_key=key,
            scopes=principal.scopes,
        )

    return list_query


def include_dependency(spec: ListSpec) -> Callable[[Request], Awaitable[frozenset[str]]]:
    """The parsed `include` of a single-record route; sent more than once, its values are joined."""

    # Async although it awaits nothing: FastAPI runs a plain function in a worker thread.
    async def includes(request: Request) -> frozenset[str]:
        return parse_includes(",".join(request.query_params.getlist("include")) or None, spec)

    return includes
