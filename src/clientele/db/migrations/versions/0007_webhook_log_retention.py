"""Finished deliveries are found by endpoint and age, for the purge that keeps them 30 days.

Revision ID: 0007_webhook_log_retention
Revises: 0006_ledger_entry_counts

The index by (business, endpoint, status) it replaces served only the failing of an endpoint's pending
deliveries, which the partial index of pending deliveries serves as well (docs/decisions.md, "Webhooks").
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_webhook_log_retention"
down_revision: str | Sequence[str] | None = "0006_ledger_entry_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_endpoint_created_at",
        "webhook_deliveries",
        ["business_id", "endpoint_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint_created_at", table_name="webhook_deliveries")
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["business_id", "endpoint_id", "status"])
