"""Each customer's count of entries in each ledger, kept on its row beside the balance.

Revision ID: 0006_ledger_entry_counts
Revises: 0005_webhooks

One customer's ledger list reads its total from here instead of counting the entries
(docs/decisions.md, "Ledgers"); existing customers get the counts of the entries they have.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_ledger_entry_counts"
down_revision: str | Sequence[str] | None = "0005_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = {"house_account_entries": "house_account_transactions", "loyalty_entries": "loyalty_transactions"}


def upgrade() -> None:
    for column, ledger in COUNTS.items():
        op.add_column("customers", sa.Column(column, sa.Integer(), nullable=False, server_default=sa.text("0")))
        # Only customers with entries are written: most have none, and a write rewrites the row.
        op.execute(
            f"UPDATE customers SET {column} = (SELECT count(*) FROM {ledger} e "
            f"WHERE e.business_id = customers.business_id AND e.customer_id = customers.id) "
            f"WHERE EXISTS (SELECT 1 FROM {ledger} e "
            f"WHERE e.business_id = customers.business_id AND e.customer_id = customers.id)"
        )


def downgrade() -> None:
    for column in reversed(COUNTS):
        op.drop_column("customers", column)
