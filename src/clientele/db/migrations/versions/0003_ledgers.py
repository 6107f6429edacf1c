"""The house-account and loyalty ledgers (SPEC §9).

Revision ID: 0003_ledgers
Revises: 0002_wider_surface

Append-only entries whose sums are the customers' balances; the balances stay on `customers`,
kept in the same transaction as each entry, so that reading a customer never sums a ledger.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ledgers"
down_revision: str | Sequence[str] | None = "0002_wider_surface"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each ledger and the references to the point of sale's records it holds beside `order_id`.
LEDGERS = {"house_account_transactions": ("user_id", "payment_method_id"), "loyalty_transactions": ()}


def upgrade() -> None:
    for name, references in LEDGERS.items():
        op.create_table(
            name,
            sa.Column("business_id", sa.Uuid(), nullable=False),
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("customer_id", sa.Uuid(), nullable=False),
            sa.Column("amount", sa.Numeric(14, 3), nullable=False),
            sa.Column("balance_after", sa.Numeric(14, 3), nullable=False),
            sa.Column("order_id", sa.String(64), nullable=True),
            *(sa.Column(reference, sa.String(64), nullable=True) for reference in references),
            sa.Column("meta", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["business_id", "customer_id"], ["customers.business_id", "customers.id"], name=f"fk_{name}_customers"
            ),
            sa.PrimaryKeyConstraint("business_id", "id", name=f"pk_{name}"),
        )
        for column in ("created_at", "updated_at", "amount"):
            op.create_index(f"ix_{name}_business_id_{column}_id", name, ["business_id", column, "id"])
        # Named without business_id, which it starts with too: PostgreSQL's names stop at 63 bytes.
        op.create_index(
            f"ix_{name}_customer_id_created_at_id", name, ["business_id", "customer_id", "created_at", "id"]
        )
        for reference in ("order_id", *references):
            op.create_index(f"ix_{name}_business_id_{reference}", name, ["business_id", reference])


def downgrade() -> None:
    for name in LEDGERS:
        op.drop_table(name)
