"""Webhook endpoints, the deliveries the deliverer owes them, and the log of every attempt (SPEC §10)."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    text,
)

from clientele.db.metadata import metadata

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(255), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(255), nullable=True),
    # The read scopes of the token that made the endpoint: its payloads show what they show.
    Column("scopes", JSON, nullable=False),
    # Kept as sent to the client: every delivery signs with it.
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_secret_expires_at", DateTime, nullable=True),
    # The first failed attempt since the last success: five days of that disables the endpoint.
    Column("failing_since", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    Index("ix_webhook_endpoints_business_id_created_at_id", "business_id", "created_at", "id"),
    Index("ix_webhook_endpoints_business_id_updated_at_id", "business_id", "updated_at", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("endpoint_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    # The event's record and time, copied so that one record's events are sent in the order they committed.
    Column("record_id", Uuid, nullable=True),
    Column("event_created_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=True),
    # A deliverer sending it holds it until then; one that died leaves it to another after that.
    Column("claimed_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    ForeignKeyConstraint(
        ["business_id", "endpoint_id"],
        ["webhook_endpoints.business_id", "webhook_endpoints.id"],
        name="fk_webhook_deliveries_endpoint",
        ondelete="CASCADE",
    ),
    # What the deliverer claims: pending deliveries by when they are due.
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    # An earlier pending event of the same record at the same endpoint holds a delivery back.
    Index(
        "ix_webhook_deliveries_pending_per_record",
        "business_id",
        "endpoint_id",
        "record_id",
        "event_created_at",
        "event_id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    # The purge finds an endpoint's finished deliveries past 30 days.
    Index("ix_webhook_deliveries_endpoint_created_at", "business_id", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("endpoint_id", Uuid, nullable=False),
    Column("delivery_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(255), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("result", String(16), nullable=False),
    Column("next_attempt_at", DateTime, nullable=True),
    ForeignKeyConstraint(
        ["business_id", "endpoint_id"],
        ["webhook_endpoints.business_id", "webhook_endpoints.id"],
        name="fk_webhook_attempts_endpoint",
        ondelete="CASCADE",
    ),
    Index("ix_webhook_attempts_endpoint_created_at_id", "business_id", "endpoint_id", "created_at", "id"),
)
