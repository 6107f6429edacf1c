"""The dependencies every route uses: who is calling (401), and may they do this (403)."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clientele.auth.service import Principal, authenticate
from clientele.errors import Forbidden, Unauthenticated
from clientele.web.transaction import Connection

bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="A Clientele API token.")


async def authenticated(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    connection: Connection,
) -> Principal:
    """The caller behind the bearer token; 401 if there is none or it is not valid now."""
    if credentials is None:
        raise Unauthenticated()
    principal = await authenticate(connection=connection, token=credentials.credentials)
    if principal is None:
        raise Unauthenticated()
    return principal


Authenticated = Annotated[Principal, Depends(authenticated)]


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks the route's scope."""

    async def principal_with_scope(principal: Authenticated) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"This action requires the {scope} scope.")
        return principal

    return principal_with_scope
