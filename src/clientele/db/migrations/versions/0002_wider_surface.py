"""The platform's wider surface (SPEC §8): customer notes, address city and details, the branches a
delivery zone serves, and the indexes of the sorts it adds.

Revision ID: 0002_wider_surface
Revises: 0001_initial

Every new sort has an index that starts with `business_id` and ends with `id`, the tie-break, so
that a page of any sort is read in order from an index at any size; NULL sorts last ascending,
where PostgreSQL's indexes keep it (SPEC §8).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_wider_surface"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each new sort's column, by table (customers sort names and emails by their lowered copies).
SORTED = {
    "customers": [
        "name_lower",
        "email_lower",
        "last_order_at",
        "order_count",
        "is_blacklisted",
        "house_account_balance",
    ],
    "delivery_zones": ["name", "name_localized", "reference"],
    "addresses": ["name", "customer_id"],
}


def upgrade() -> None:
    op.add_column("customers", sa.Column("notes", sa.Text(), nullable=True))
    op.add_column("addresses", sa.Column("city_id", sa.String(64), nullable=True))
    op.add_column("addresses", sa.Column("details", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "delivery_zone_branches",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_zone_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id", "delivery_zone_id"],
            ["delivery_zones.business_id", "delivery_zones.id"],
            name="fk_delivery_zone_branches_delivery_zones",
        ),
        sa.PrimaryKeyConstraint("business_id", "delivery_zone_id", "branch_id", name="pk_delivery_zone_branches"),
    )
    op.create_index(
        "ix_delivery_zone_branches_business_id_branch_id",
        "delivery_zone_branches",
        ["business_id", "branch_id", "delivery_zone_id"],
    )
    # The customer_id sort's index also answers what the one it replaces did: a customer's addresses.
    op.drop_index("ix_addresses_business_id_customer_id", table_name="addresses")
    for table, columns in SORTED.items():
        for column in columns:
            op.create_index(f"ix_{table}_business_id_{column}_id", table, ["business_id", column, "id"])


def downgrade() -> None:
    for table, columns in SORTED.items():
        for column in columns:
            op.drop_index(f"ix_{table}_business_id_{column}_id", table_name=table)
    op.create_index("ix_addresses_business_id_customer_id", "addresses", ["business_id", "customer_id"])
    op.drop_index("ix_delivery_zone_branches_business_id_branch_id", table_name="delivery_zone_branches")
    op.drop_table("delivery_zone_branches")
    # SQLite drops an unindexed column in place (3.35 and later), as PostgreSQL does.
    op.drop_column("addresses", "details")
    op.drop_column("addresses", "city_id")
    op.drop_column("customers", "notes")
