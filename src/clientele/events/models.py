"""The outbox (SPEC §10): one row per committed change, written in the change's own transaction."""

from sqlalchemy import JSON, Column, DateTime, ForeignKeyConstraint, Index, String, Table, Uuid, text

from clientele.db.metadata import metadata

events = Table(
    "events",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("record_id", Uuid, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("data", JSON, nullable=False),
    Column("changes", JSON, nullable=True),
    # Set once the deliverer has made this event's deliveries: the outbox rows still to hand out.
    Column("dispatched_at", DateTime, nullable=True),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    Index("ix_events_business_id_created_at_id", "business_id", "created_at", "id"),
    # One record's events in the order they committed: `filter[record_id]`, and per-record delivery order.
    Index("ix_events_business_id_record_id_created_at_id", "business_id", "record_id", "created_at", "id"),
    Index(
        "ix_events_undispatched",
        "created_at",
        "id",
        sqlite_where=text("dispatched_at IS NULL"),
        postgresql_where=text("dispatched_at IS NULL"),
    ),
)
