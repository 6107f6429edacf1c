"""The change events' outbox (SPEC §10).

Revision ID: 0004_events
Revises: 0003_ledgers

Every committed change writes one row here in its own transaction; `GET /events` reads it and
the deliverer hands each row out to the webhook endpoints that want it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_events"
down_revision: str | Sequence[str] | None = "0003_ledgers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], name="fk_events_business_id_businesses"),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_events"),
    )
    op.create_index("ix_events_business_id_created_at_id", "events", ["business_id", "created_at", "id"])
    op.create_index(
        "ix_events_business_id_record_id_created_at_id", "events", ["business_id", "record_id", "created_at", "id"]
    )
    op.create_index(
        "ix_events_undispatched",
        "events",
        ["created_at", "id"],
        sqlite_where=sa.text("dispatched_at IS NULL"),
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("events")
