"""PostgreSQL only: active customers per dial code and per tag, for the totals of those filters.

Revision ID: 0005
Revises: 0004

Most customers of a business share its country's dial code, and a tag may be on a large share
of them, so counting the rows of `filter[dial_code]=966` or `filter[tags.id]=…` at a million
customers reads most of the table. Statement-level triggers keep these counts as migration
0003 keeps the business's counters, in the writing transaction: each write adds its delta to
one of 16 slot rows chosen at random (customers/counts.py reads them).

A tag's count is of the active customers linked to it, whether or not the tag itself is
deleted (the filter's reader checks that). It changes when a link is made or removed for an
active customer, and when a linked customer is deleted or restored. A customer with links
cannot be removed for good (the links' foreign key), so a hard delete changes no tag count.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 16
RANDOM_SLOT = f"floor(random() * {SLOTS})::smallint"


def add_deltas(table: str, key: str, delta: str, source: str) -> str:
    """Add each key's delta, computed over `source` (a FROM clause), to a random slot of `table`."""
    return f"""
    INSERT INTO {table} AS counts (business_id, {key}, slot, active)
    SELECT business_id, {key}, {RANDOM_SLOT}, {delta}
    FROM {source}
    GROUP BY business_id, {key}
    HAVING {delta} <> 0
    ON CONFLICT (business_id, {key}, slot) DO UPDATE SET active = counts.active + excluded.active;"""


def dial_code_deltas(source: str) -> str:
    return add_deltas("customer_dial_code_counts", "dial_code", "sum(sign * (deleted_at IS NULL)::int)",
                      f"({source}) AS changed")


NEW_CUSTOMERS = "SELECT 1 AS sign, business_id, dial_code, deleted_at FROM new_rows"
OLD_CUSTOMERS = "SELECT -1 AS sign, business_id, dial_code, deleted_at FROM old_rows"

# Links made or removed (sign), counted where their customer is active.
LINK_DELTAS = """(SELECT {sign} AS sign, link.business_id, link.tag_id FROM {rows} AS link
      JOIN customers ON customers.business_id = link.business_id AND customers.id = link.customer_id
      WHERE customers.deleted_at IS NULL) AS changed"""
# Customers deleted (-1) or restored (+1), once per tag they are linked to.
DELETED_OR_RESTORED = """(SELECT CASE WHEN new_rows.deleted_at IS NULL THEN 1 ELSE -1 END AS sign,
      link.business_id, link.tag_id
      FROM new_rows JOIN old_rows ON old_rows.business_id = new_rows.business_id AND old_rows.id = new_rows.id
      JOIN customer_tags AS link ON link.business_id = new_rows.business_id AND link.customer_id = new_rows.id
      WHERE (old_rows.deleted_at IS NULL) <> (new_rows.deleted_at IS NULL)) AS changed"""


def tag_deltas(source: str) -> str:
    return add_deltas("customer_tag_counts", "tag_id", "sum(sign)", source)


TRIGGERS = {  # function: (table, {event: body})
    "customer_dial_code_counts_track": ("customers", {
        "INSERT": dial_code_deltas(NEW_CUSTOMERS),
        "UPDATE": dial_code_deltas(f"{NEW_CUSTOMERS} UNION ALL {OLD_CUSTOMERS}"),
        "DELETE": dial_code_deltas(OLD_CUSTOMERS),
    }),
    "customer_tag_counts_track_customers": ("customers", {"UPDATE": tag_deltas(DELETED_OR_RESTORED)}),
    "customer_tag_counts_track_links": ("customer_tags", {
        "INSERT": tag_deltas(LINK_DELTAS.format(sign=1, rows="new_rows")),
        "DELETE": tag_deltas(LINK_DELTAS.format(sign=-1, rows="old_rows")),
    }),
}
TRANSITIONS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "DELETE": "OLD TABLE AS old_rows"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, key, key_type in (("customer_dial_code_counts", "dial_code", "integer"),
                                 ("customer_tag_counts", "tag_id", "uuid")):
        op.execute(f"""
        CREATE TABLE {table} (
            business_id uuid NOT NULL REFERENCES businesses (id),
            {key} {key_type} NOT NULL,
            slot smallint NOT NULL,
            active bigint NOT NULL DEFAULT 0,
            CONSTRAINT pk_{table} PRIMARY KEY (business_id, {key}, slot)
        )""")
    for function, (table, bodies) in TRIGGERS.items():
        branches = "\n        ELS".join(f"IF TG_OP = '{event}' THEN {body}" for event, body in bodies.items())
        op.execute(f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {branches}
            END IF;
            RETURN NULL;
        END $$""")
        for event in bodies:
            op.execute(f"CREATE TRIGGER {function}_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    op.execute("""
    INSERT INTO customer_dial_code_counts (business_id, dial_code, slot, active)
    SELECT business_id, dial_code, 0, count(*) FROM customers WHERE deleted_at IS NULL
    GROUP BY business_id, dial_code""")
    op.execute("""
    INSERT INTO customer_tag_counts (business_id, tag_id, slot, active)
    SELECT link.business_id, link.tag_id, 0, count(*) FROM customer_tags AS link
    JOIN customers ON customers.business_id = link.business_id AND customers.id = link.customer_id
    WHERE customers.deleted_at IS NULL
    GROUP BY link.business_id, link.tag_id""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function, (table, bodies) in TRIGGERS.items():
        for event in bodies:
            op.execute(f"DROP TRIGGER {function}_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("DROP TABLE customer_tag_counts")
    op.execute("DROP TABLE customer_dial_code_counts")
