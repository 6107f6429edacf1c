"""Businesses and tokens: creation, lookup, expiry and revocation."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.models import businesses, tokens
from clientele.auth.scopes import ALL_SCOPES
from clientele.db.clock import utcnow
from clientele.db.ids import new_id

TOKEN_PREFIX = "clt_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the business a token acts for, and what it may do."""

    business_id: uuid.UUID
    token_id: uuid.UUID
    scopes: frozenset[str]


@dataclass(frozen=True)
class IssuedToken:
    id: uuid.UUID
    token: str


def hash_token(token: str) -> str:
    """SHA-256 of the token: 256 random bits need no slow hash, and the table holds no secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [scope for scope in scopes if scope not in ALL_SCOPES]


async def create_business(*, connection: AsyncConnection, name: str) -> uuid.UUID:
    """Create a business (tenant) and return its id."""
    business_id = new_id()
    await connection.execute(insert(businesses).values(id=business_id, name=name, created_at=utcnow()))
    return business_id


async def business_exists(*, connection: AsyncConnection, business_id: uuid.UUID) -> bool:
    found = await connection.scalar(select(businesses.c.id).where(businesses.c.id == business_id))
    return found is not None


async def count_businesses(*, connection: AsyncConnection) -> int:
    return await connection.scalar(select(func.count()).select_from(businesses)) or 0


async def list_businesses(*, connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every business, oldest first."""
    rows = await connection.execute(
        select(businesses.c.id, businesses.c.name, businesses.c.created_at).order_by(
            businesses.c.created_at, businesses.c.id
        )
    )
    return [dict(row._mapping) for row in rows]


async def create_token(
    *,
    connection: AsyncConnection,
    business_id: uuid.UUID,
    scopes: list[str],
    name: str | None = None,
    expires_days: int | None = None,
) -> IssuedToken:
    """Issue a token; its text is returned once and only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = new_id()
    now = utcnow()
    await connection.execute(
        insert(tokens).values(
            business_id=business_id,
            id=token_id,
            name=name,
            token_hash=hash_token(token),
            scopes=" ".join(dict.fromkeys(scopes)),
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
        )
    )
    return IssuedToken(id=token_id, token=token)


async def list_tokens(*, connection: AsyncConnection, business_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every token of a business, newest last, without any secret."""
    rows = await connection.execute(
        select(
            tokens.c.id, tokens.c.name, tokens.c.scopes, tokens.c.created_at, tokens.c.expires_at, tokens.c.revoked_at
        )
        .where(tokens.c.business_id == business_id)
        .order_by(tokens.c.created_at, tokens.c.id)
    )
    return [dict(row._mapping) for row in rows]


async def revoke_token(*, connection: AsyncConnection, token_id: uuid.UUID) -> bool:
    """Revoke a token; False where no such token exists. Revoking twice keeps the first time."""
    found = await connection.scalar(select(tokens.c.id).where(tokens.c.id == token_id))
    if found is None:
        return False
    await connection.execute(
        update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return True


def usable_token(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """The token rule (SPEC §2): a token acts only while it is neither revoked nor expired at `now`.

    Every reader of a token states it with this condition: the routes' `authenticate` and the fast
    paths' statements (clientele.customers.fast_paths).
    """
    return and_(tokens.c.revoked_at.is_(None), or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > now))


def same_token(found_hash: str, token_hash: str) -> bool:
    """The hash found by the index lookup compared again in constant time, so that no comparison of
    secret material depends on where two values first differ."""
    return hmac.compare_digest(found_hash, token_hash)


def scopes_of(stored: str) -> frozenset[str]:
    """A token's scopes, as stored (space-separated)."""
    return frozenset(stored.split())


async def authenticate(*, connection: AsyncConnection, token: str, now: datetime | None = None) -> Principal | None:
    """The principal a bearer token stands for, or None if it is unknown, expired or revoked."""
    token_hash = hash_token(token)
    row = (
        await connection.execute(
            select(tokens.c.business_id, tokens.c.id, tokens.c.token_hash, tokens.c.scopes).where(
                tokens.c.token_hash == token_hash, usable_token(now or utcnow())
            )
        )
    ).first()
    if row is None or not same_token(row.token_hash, token_hash):
        return None
    return Principal(business_id=row.business_id, token_id=row.id, scopes=scopes_of(row.scopes))
