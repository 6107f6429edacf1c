"""The schema: businesses and their tokens, customers, tags, delivery zones, addresses, and the
tables the service keeps for itself (instance settings, idempotency keys, customer counters).

Revision ID: 0001_initial
Revises:

Every table's key starts with `business_id`: all data belongs to one business (SPEC §2).
PostgreSQL also gets the trigram indexes of the substring filters and the customer counters
that answer the unfiltered and single-boolean totals (docs/decisions.md, "Totals").
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("deleted_at IS NULL")

# Each counter of `customer_counts` and the customers it counts (clientele.customers.totals reads them).
COUNTED = {
    "active": "deleted_at IS NULL",
    "deleted": "deleted_at IS NOT NULL",
    "blacklisted": "deleted_at IS NULL AND is_blacklisted",
    "house_account_enabled": "deleted_at IS NULL AND is_house_account_enabled",
    "loyalty_enabled": "deleted_at IS NULL AND is_loyalty_enabled",
    "with_orders": "deleted_at IS NULL AND order_count > 0",
}
# Concurrent writers of one business add to one of this many rows each, chosen at random.
COUNTER_SLOTS = 16
TRIGRAM_INDEXES = {
    "ix_customers_name_lower_trgm": ("customers", "name_lower"),
    "ix_customers_email_lower_trgm": ("customers", "email_lower"),
    "ix_customers_phone_trgm": ("customers", "phone"),
    "ix_tags_name_trgm": ("tags", "name"),
}


def timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
    ]


def of_business(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], name=f"fk_{table}_business_id_businesses")


def sort_indexes(table: str) -> None:
    """The indexes a list walks for `sort=created_at` and `sort=updated_at` (ties by id)."""
    for column in ("created_at", "updated_at"):
        op.create_index(f"ix_{table}_business_id_{column}_id", table, ["business_id", column, "id"])


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Lowered copies for the substring filters: stored on PostgreSQL, computed when read on SQLite.
    lowered = {"persisted": True} if postgresql else {}
    op.create_table(
        "businesses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_businesses"),
    )
    op.create_table(
        "tokens",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        of_business("tokens"),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_tokens"),
    )
    op.create_index("ix_tokens_id", "tokens", ["id"], unique=True)
    op.create_index("ix_tokens_token_hash", "tokens", ["token_hash"], unique=True)

    op.create_table(
        "customers",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("dial_code", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("gender", sa.Integer(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("house_account_limit", sa.Integer(), nullable=True),
        sa.Column("house_account_balance", sa.Numeric(14, 3), server_default=sa.text("0"), nullable=False),
        sa.Column("loyalty_balance", sa.Numeric(14, 3), server_default=sa.text("0"), nullable=False),
        sa.Column("is_loyalty_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_blacklisted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_house_account_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_order_at", sa.DateTime(), nullable=True),
        sa.Column("order_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        *timestamps(),
        # What the case-insensitive substring filters search (docs/decisions.md, "Substring filters").
        sa.Column("name_lower", sa.String(length=255), sa.Computed("lower(name)", **lowered)),
        sa.Column("email_lower", sa.String(length=255), sa.Computed("lower(email)", **lowered)),
        of_business("customers"),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_customers"),
    )
    sort_indexes("customers")
    # One active customer per phone; also the index of `filter[dial_code]`.
    op.create_index(
        "uq_customers_active_phone",
        "customers",
        ["business_id", "dial_code", "phone"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    op.create_table(
        "tags",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_localized", sa.String(length=255), nullable=True),
        *timestamps(),
        of_business("tags"),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_tags"),
    )
    sort_indexes("tags")
    op.create_index(
        "uq_tags_active_name",
        "tags",
        ["business_id", "name"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "customer_tags",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id", "customer_id"],
            ["customers.business_id", "customers.id"],
            name="fk_customer_tags_business_id_customer_id_customers",
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "tag_id"], ["tags.business_id", "tags.id"], name="fk_customer_tags_business_id_tag_id_tags"
        ),
        sa.PrimaryKeyConstraint("business_id", "customer_id", "tag_id", name="pk_customer_tags"),
    )
    op.create_index("ix_customer_tags_business_id_tag_id", "customer_tags", ["business_id", "tag_id", "customer_id"])

    op.create_table(
        "delivery_zones",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_localized", sa.String(length=255), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("coordinates", sa.JSON(), nullable=True),
        *timestamps(),
        of_business("delivery_zones"),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_delivery_zones"),
    )
    sort_indexes("delivery_zones")
    active_reference = sa.text("deleted_at IS NULL AND reference IS NOT NULL")
    op.create_index(
        "uq_delivery_zones_active_reference",
        "delivery_zones",
        ["business_id", "reference"],
        unique=True,
        sqlite_where=active_reference,
        postgresql_where=active_reference,
    )

    op.create_table(
        "addresses",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_zone_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("latitude", sa.String(length=32), nullable=True),
        sa.Column("longitude", sa.String(length=32), nullable=True),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["business_id", "customer_id"],
            ["customers.business_id", "customers.id"],
            name="fk_addresses_business_id_customer_id_customers",
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "delivery_zone_id"],
            ["delivery_zones.business_id", "delivery_zones.id"],
            name="fk_addresses_business_id_delivery_zone_id_delivery_zones",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_addresses"),
    )
    sort_indexes("addresses")
    op.create_index("ix_addresses_business_id_customer_id", "addresses", ["business_id", "customer_id"])

    # One random secret per installation, made here once: every worker and restart signs list
    # cursors with it (unless SECRET_KEY is set).
    instance_settings = op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_instance_settings"),
    )
    op.bulk_insert(instance_settings, [{"key": "secret_key", "value": secrets.token_urlsafe(32)}])

    op.create_table(
        "idempotency_keys",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        of_business("idempotency_keys"),
        sa.PrimaryKeyConstraint("business_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_business_id_created_at", "idempotency_keys", ["business_id", "created_at"])

    if postgresql:
        create_postgresql_search_indexes()
        create_customer_counters()


def create_postgresql_search_indexes() -> None:
    """Trigram indexes for the substring filters, and partial indexes for the lists they serve."""
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
    # A filter too common for its trigrams counts these instead of the table: an index-only scan.
    for column in ("name_lower", "email_lower"):
        op.execute(
            f"CREATE INDEX ix_customers_active_{column} ON customers (business_id, {column}) WHERE deleted_at IS NULL"
        )
    # Lists of deleted customers walk this instead of every active customer's entry.
    op.execute(
        "CREATE INDEX ix_customers_deleted_created_at_id ON customers (business_id, created_at, id) "
        "WHERE deleted_at IS NOT NULL"
    )


def add_delta(rows: str) -> str:
    """Add what the rows in `rows` (each with a sign: +1 new, -1 old) change in each counter to one
    random slot of their business."""
    sums = {name: f"sum(sign * ({condition})::int)" for name, condition in COUNTED.items()}
    return f"""
        INSERT INTO customer_counts AS counts (business_id, slot, {", ".join(COUNTED)})
        SELECT business_id, floor(random() * {COUNTER_SLOTS})::smallint, {", ".join(sums.values())}
        FROM ({rows}) AS changed
        GROUP BY business_id
        HAVING {" OR ".join(f"{total} <> 0" for total in sums.values())}
        ON CONFLICT (business_id, slot) DO UPDATE
        SET {", ".join(f"{name} = counts.{name} + excluded.{name}" for name in COUNTED)};"""


def create_customer_counters() -> None:
    """Per business, the counts of `COUNTED`, kept by statement-level triggers in the writing
    transaction: a bulk insert adds its counts in one row write, not one per customer."""
    op.execute(f"""
    CREATE TABLE customer_counts (
        business_id uuid NOT NULL REFERENCES businesses (id),
        slot smallint NOT NULL,
        {", ".join(f"{name} bigint NOT NULL DEFAULT 0" for name in COUNTED)},
        CONSTRAINT pk_customer_counts PRIMARY KEY (business_id, slot)
    )""")
    new_rows = "SELECT 1 AS sign, * FROM new_rows"
    old_rows = "SELECT -1 AS sign, * FROM old_rows"
    op.execute(f"""
    CREATE FUNCTION customer_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN {add_delta(new_rows)}
        ELSIF TG_OP = 'DELETE' THEN {add_delta(old_rows)}
        ELSE {add_delta(f"{new_rows} UNION ALL {old_rows}")}
        END IF;
        RETURN NULL;
    END $$""")
    for event, transition in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER customer_counts_{event.lower()} AFTER {event} ON customers "
            f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_track()"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.drop_table("customer_counts")
    for table in (
        "idempotency_keys",
        "instance_settings",
        "addresses",
        "delivery_zones",
        "customer_tags",
        "tags",
        "customers",
        "tokens",
        "businesses",
    ):
        op.drop_table(table)
    if postgresql:
        op.execute("DROP FUNCTION customer_counts_track()")
