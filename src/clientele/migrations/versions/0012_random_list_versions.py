"""PostgreSQL only: a write gives the list segments it moves a new random version, not the next number.

Revision ID: 0012
Revises: 0011

A worker remembers, per filter and list segment, the rows it counted and the segment's
version then (migration 0009), and takes them as still true while the version is the same.
With versions counted up one by one, a database restored from a backup under running workers
went back to earlier numbers, and its next writes handed out numbers the workers had already
seen for other rows: they answered totals of the lost writes until restarted. A version drawn
at random (52 bits, never 0: a segment never written) names one committed state and no other,
so a restored database's writes are told apart from the ones it lost, and a version the backup
still holds still means the rows it holds. Existing versions stay as they are.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENT_OF_ID = "(get_byte(uuid_send({id}), 14) & 3) * 256 + get_byte(uuid_send({id}), 15)"
# The writes that move segments (migration 0009's triggers), with the customer id of a written row.
WRITTEN_CUSTOMER = {"customers": "id", "customer_tags": "customer_id", "tags": None}
NEW_VERSION = {"random": ("1 + floor(random() * 4503599627370495)::bigint", "EXCLUDED.version"),
               "counted": ("1", "versions.version + 1")}


def segments_moved(table: str, versions: str) -> str:
    """The trigger function for writes to `table`, giving each segment it moves a new version."""
    customer = WRITTEN_CUSTOMER[table]
    written = (f"SELECT DISTINCT business_id, {SEGMENT_OF_ID.format(id=customer)} AS slot FROM written_rows"
               if customer else
               "SELECT business_id, slot FROM (SELECT DISTINCT business_id FROM written_rows) AS written, "
               "generate_series(0, 1023) AS slot")
    first, next_one = NEW_VERSION[versions]
    return f"""
    CREATE OR REPLACE FUNCTION customer_list_segments_move_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_list_versions AS versions (business_id, slot, version)
        SELECT business_id, slot, {first} FROM ({written}) AS moved ORDER BY business_id, slot
        ON CONFLICT (business_id, slot) DO UPDATE SET version = {next_one};
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WRITTEN_CUSTOMER:
            op.execute(segments_moved(table, "random"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WRITTEN_CUSTOMER:
            op.execute(segments_moved(table, "counted"))
