"""PostgreSQL only: counts of broad filters per list segment, shared by every worker.

Revision ID: 0010
Revises: 0009

customers/counts.py remembers, in each worker, what a filter no counter answers matched in
each list segment and at which segment version (migrations 0008, 0009). A worker that has not
counted a filter yet (just started, or the request went to another worker) counted it whole:
for `filter[name]=a` at a million customers that is a few hundred milliseconds, once per worker
and filter. A count that found many customers now leaves the worker's counts of the filter here
too, and another worker starts from them, recounting only the segments whose version has moved
since.

The table is UNLOGGED: it holds nothing that cannot be counted again, and a crash, which
empties it, only costs the next counts. An entry not written for a week is deleted by the
next count the business shares.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
    CREATE UNLOGGED TABLE customer_list_counts (
        business_id uuid NOT NULL REFERENCES businesses (id),
        filters text NOT NULL,
        versions bigint[] NOT NULL,
        matches bigint[] NOT NULL,
        counted_at timestamp NOT NULL,
        CONSTRAINT pk_customer_list_counts PRIMARY KEY (business_id, filters)
    )""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE customer_list_counts")
