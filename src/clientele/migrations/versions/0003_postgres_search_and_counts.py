"""PostgreSQL only: trigram indexes for substring filters, and per-business customer counters.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each counter and the customers it counts; customers/counts.py reads them.
COUNTED = {
    "active": "deleted_at IS NULL",
    "deleted": "deleted_at IS NOT NULL",
    "blacklisted": "deleted_at IS NULL AND is_blacklisted",
    "house_account_enabled": "deleted_at IS NULL AND is_house_account_enabled",
    "loyalty_enabled": "deleted_at IS NULL AND is_loyalty_enabled",
    "with_orders": "deleted_at IS NULL AND order_count > 0",
}
SLOTS = 16
TRIGRAM_INDEXES = {
    "ix_customers_name_trgm": ("customers", "name"),
    "ix_customers_email_trgm": ("customers", "email"),
    "ix_customers_phone_trgm": ("customers", "phone"),
    "ix_tags_name_trgm": ("tags", "name"),
}


def add_delta(source: str) -> str:
    """Add the counted change of the rows in `source` (each with a sign) to one random slot."""
    sums = {name: f"sum(sign * ({condition})::int)" for name, condition in COUNTED.items()}
    return f"""
    INSERT INTO customer_counts AS counts (business_id, slot, {", ".join(COUNTED)})
    SELECT business_id, floor(random() * {SLOTS})::smallint, {", ".join(sums.values())}
    FROM ({source}) AS changed
    GROUP BY business_id
    HAVING {" OR ".join(f"{total} <> 0" for total in sums.values())}
    ON CONFLICT (business_id, slot) DO UPDATE
    SET {", ".join(f"{name} = counts.{name} + excluded.{name}" for name in COUNTED)};"""


NEW_ROWS = "SELECT 1 AS sign, * FROM new_rows"
OLD_ROWS = "SELECT -1 AS sign, * FROM old_rows"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
    # Lists of deleted records walk this instead of every active row's entry.
    op.execute("CREATE INDEX ix_customers_deleted_created_at_id ON customers (business_id, created_at, id) "
               "WHERE deleted_at IS NOT NULL")

    op.execute(f"""
    CREATE TABLE customer_counts (
        business_id uuid NOT NULL REFERENCES businesses (id),
        slot smallint NOT NULL,
        {", ".join(f"{name} bigint NOT NULL DEFAULT 0" for name in COUNTED)},
        CONSTRAINT pk_customer_counts PRIMARY KEY (business_id, slot)
    )""")
    # Statement-level triggers see a whole COPY or INSERT ... SELECT at once, so a bulk
    # import adds its counts in one row write instead of one per customer.
    op.execute(f"""
    CREATE FUNCTION customer_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN {add_delta(NEW_ROWS)}
        ELSIF TG_OP = 'DELETE' THEN {add_delta(OLD_ROWS)}
        ELSE {add_delta(f"{NEW_ROWS} UNION ALL {OLD_ROWS}")}
        END IF;
        RETURN NULL;
    END $$""")
    for event, transition in (("INSERT", "NEW TABLE AS new_rows"),
                              ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                              ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"CREATE TRIGGER customer_counts_{event.lower()} AFTER {event} ON customers "
                   f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_track()")
    op.execute(f"""
    INSERT INTO customer_counts (business_id, slot, {", ".join(COUNTED)})
    SELECT business_id, 0, {", ".join(f"count(*) FILTER (WHERE {condition})" for condition in COUNTED.values())}
    FROM customers GROUP BY business_id""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER customer_counts_{event} ON customers")
    op.execute("DROP FUNCTION customer_counts_track()")
    op.execute("DROP TABLE customer_counts")
    op.execute("DROP INDEX ix_customers_deleted_created_at_id")
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX {name}")
