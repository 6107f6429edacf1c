"""The addresses table: a customer's places, each optionally in a delivery zone."""

from sqlalchemy import JSON, Column, DateTime, ForeignKeyConstraint, Index, String, Table, Text, Uuid, text

from clientele.db.metadata import metadata

addresses = Table(
    "addresses",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("delivery_zone_id", Uuid, nullable=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("latitude", String(32), nullable=True),
    Column("longitude", String(32), nullable=True),
    Column("city_id", String(64), nullable=True),
    Column("details", JSON, nullable=False, server_default=text("'[]'")),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime, nullable=True),
    ForeignKeyConstraint(["business_id", "customer_id"], ["customers.business_id", "customers.id"]),
    ForeignKeyConstraint(["business_id", "delivery_zone_id"], ["delivery_zones.business_id", "delivery_zones.id"]),
    Index("ix_addresses_business_id_created_at_id", "business_id", "created_at", "id"),
    Index("ix_addresses_business_id_updated_at_id", "business_id", "updated_at", "id"),
    Index("ix_addresses_business_id_name_id", "business_id", "name", "id"),
    # Also a customer's addresses, for includes.
    Index("ix_addresses_business_id_customer_id_id", "business_id", "customer_id", "id"),
)
