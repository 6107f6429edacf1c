"""PostgreSQL only: a version of each business's customer list, moved by every write that can change a total.

Revision ID: 0008
Revises: 0007

A filter no counter answers (`filter[name]=a`, `filter[updated_after]=…`) is counted row by
row, and a client paging through it, or a sync walking a million customers by cursor, asks
for the same total on every page. customers/counts.py remembers such a total with the
version it was counted at and reuses it while the version has not moved. The version is the
sum of 16 slot rows (as the counters, to spread concurrent writers), and every statement that
writes customers, their tag links or tags adds 1 to one of its business's slots, in the
writing transaction: a reader that sees the same sum sees the same committed writes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 16
# Tables and the writes to them that can change a customer total. A new tag has no links yet.
WRITES = {"customers": ("INSERT", "UPDATE", "DELETE"), "customer_tags": ("INSERT", "DELETE"),
          "tags": ("UPDATE", "DELETE")}
TRANSITIONS = {"INSERT": "NEW TABLE AS written_rows", "UPDATE": "NEW TABLE AS written_rows",
               "DELETE": "OLD TABLE AS written_rows"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
    CREATE TABLE customer_list_versions (
        business_id uuid NOT NULL REFERENCES businesses (id),
        slot smallint NOT NULL,
        version bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_customer_list_versions PRIMARY KEY (business_id, slot)
    )""")
    op.execute(f"""
    CREATE FUNCTION customer_list_versions_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_list_versions AS versions (business_id, slot, version)
        SELECT business_id, floor(random() * {SLOTS})::smallint, 1
        FROM (SELECT DISTINCT business_id FROM written_rows) AS written
        ON CONFLICT (business_id, slot) DO UPDATE SET version = versions.version + 1;
        RETURN NULL;
    END $$""")
    for table, events in WRITES.items():
        for event in events:
            op.execute(f"CREATE TRIGGER customer_list_versions_{table}_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION customer_list_versions_move()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, events in WRITES.items():
        for event in events:
            op.execute(f"DROP TRIGGER customer_list_versions_{table}_{event.lower()} ON {table}")
    op.execute("DROP FUNCTION customer_list_versions_move()")
    op.execute("DROP TABLE customer_list_versions")
