"""Businesses (the tenants) and the API tokens that act for them."""

from sqlalchemy import Column, DateTime, ForeignKeyConstraint, Index, String, Table, Text, Uuid

from clientele.db.metadata import metadata

businesses = Table(
    "businesses",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Tokens are looked up by hash before the business is known, so in a Citus layout this
# is a reference table; its key still leads with business_id like every other table.
tokens = Table(
    "tokens",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=True),
    Column("token_hash", String(64), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    Index("ix_tokens_token_hash", "token_hash", unique=True),
    Index("ix_tokens_id", "id", unique=True),
)
