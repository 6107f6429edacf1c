"""PostgreSQL only: a business's customer list versioned in 256 segments, so that a write makes
only its own segment's totals be counted again.

Revision ID: 0009
Revises: 0008

Migration 0008 gave each business one list version, and a remembered total was counted again
whole after any write: a filter matching half of a million customers costs ~250 ms to count,
and a business taking orders writes every few seconds. Now each customer belongs to one of 256
segments, fixed by its id (its last byte, random in a UUID), and a slot of
`customer_list_versions` is that segment's version: a statement writing customers or their tag
links moves the versions of the segments it wrote in, and a tag's update or delete (which
changes what `filter[tags.id]` matches anywhere) moves them all. A total is remembered per
segment, and after a write only the moved segments are counted again, from the expression
index below: ~4,000 rows of a million-customer business instead of all of them. (With 64
segments, counting one again took 33–124 ms, median 58, at a million customers, as its rows
lie all over the table; with 256, 10–28 ms, median 17.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENTS = 256
# customers/counts.py's `list_segment` writes the same expression: the index serves it only then.
SEGMENT_OF_ID = "get_byte(uuid_send({id}), 15)"
# Tables and the writes to them that can change a customer total, with the written rows' segments.
WRITES = {
    "customers": (("INSERT", "UPDATE", "DELETE"), SEGMENT_OF_ID.format(id="id")),
    "customer_tags": (("INSERT", "DELETE"), SEGMENT_OF_ID.format(id="customer_id")),
    "tags": (("UPDATE", "DELETE"), None),
}
TRANSITIONS = {"INSERT": "NEW TABLE AS written_rows", "UPDATE": "NEW TABLE AS written_rows",
               "DELETE": "OLD TABLE AS written_rows"}


def segments_moved(table: str) -> str:
    """The statement that adds 1 to the version of every segment the written rows are in (in slot
    order, so that two statements lock the same rows in the same order)."""
    segment = WRITES[table][1]
    written = (f"SELECT DISTINCT business_id, {segment} AS slot FROM written_rows" if segment else
               f"SELECT business_id, slot FROM (SELECT DISTINCT business_id FROM written_rows) AS written, "
               f"generate_series(0, {SEGMENTS - 1}) AS slot")
    return f"""
    CREATE FUNCTION customer_list_segments_move_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_list_versions AS versions (business_id, slot, version)
        SELECT business_id, slot, 1 FROM ({written}) AS moved ORDER BY business_id, slot
        ON CONFLICT (business_id, slot) DO UPDATE SET version = versions.version + 1;
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (events, _) in WRITES.items():
        for event in events:
            op.execute(f"DROP TRIGGER customer_list_versions_{table}_{event.lower()} ON {table}")
    op.execute("DROP FUNCTION customer_list_versions_move()")
    op.execute(f"CREATE INDEX ix_customers_list_segment ON customers (business_id, ({SEGMENT_OF_ID.format(id='id')}))")
    for table, (events, _) in WRITES.items():
        op.execute(segments_moved(table))
        for event in events:
            op.execute(f"CREATE TRIGGER customer_list_segments_{table}_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION customer_list_segments_move_{table}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (events, _) in WRITES.items():
        for event in events:
            op.execute(f"DROP TRIGGER customer_list_segments_{table}_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION customer_list_segments_move_{table}()")
    op.execute("DROP INDEX ix_customers_list_segment")
    # 0008's single version per business: a random slot of 16 per statement.
    op.execute("""
    CREATE FUNCTION customer_list_versions_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_list_versions AS versions (business_id, slot, version)
        SELECT business_id, floor(random() * 16)::smallint, 1
        FROM (SELECT DISTINCT business_id FROM written_rows) AS written
        ON CONFLICT (business_id, slot) DO UPDATE SET version = versions.version + 1;
        RETURN NULL;
    END $$""")
    for table, (events, _) in WRITES.items():
        for event in events:
            op.execute(f"CREATE TRIGGER customer_list_versions_{table}_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION customer_list_versions_move()")
