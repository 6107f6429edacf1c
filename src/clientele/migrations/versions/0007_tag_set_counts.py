"""PostgreSQL only: active customers per business and set of tags, for `filter[tags.id]` with several ids.

Revision ID: 0007
Revises: 0006

A customer has any of several tags when its set of tags meets them, so the total of
`filter[tags.id]=a,b,c` is the sum of the counts of the sets that hold a, b or c. A business
has far fewer distinct sets than customers (a few dozen tags, one to three per customer),
where counting the matching customers at a million reads and de-duplicates every link of
those tags (0.6–0.9 s with all 8 tags of the bench's business). Per-tag counts (migration
0005) cannot give this: a customer with two of the tags is in both.

A customer's set is every tag it is linked to, deleted tags included (the reader keeps only
the filter's active tags). Statement-level triggers move a customer from its set before the
statement to its set after, in the writing transaction, 16 slot rows per set as for the other
counters: when links are made or removed for an active customer, and when a customer with
links is deleted (leaves its set) or restored (joins it). Links change only with their
customer's row locked (customers are created, updated and deleted under that lock), so the
set a trigger reads is the customer's whole set; a customer with links cannot be removed for
good (the links' foreign key).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 16
SORTED_SET = "array_agg(tag_id ORDER BY tag_id)"


def add_deltas(source: str) -> str:
    """Add each set's delta (rows of business_id, tag_ids, sign in `source`) to a random slot."""
    return f"""
    INSERT INTO customer_tag_set_counts AS counts (business_id, tag_ids, slot, active)
    SELECT business_id, tag_ids, floor(random() * {SLOTS})::smallint, sum(sign)
    FROM ({source}) AS moved
    WHERE tag_ids IS NOT NULL
    GROUP BY business_id, tag_ids
    HAVING sum(sign) <> 0
    ON CONFLICT (business_id, tag_ids, slot) DO UPDATE SET active = counts.active + excluded.active;"""


def links_changed(changed: str) -> str:
    """Each affected active customer leaves its set before the statement and joins its set after.

    `changed` holds the statement's links with a change of 1 (made) or -1 (removed). Before the
    statement a customer had its current links less those made plus those removed.
    """
    return add_deltas(f"""
    WITH changed AS ({changed}),
    affected AS (SELECT DISTINCT business_id, customer_id FROM changed),
    links AS (
        SELECT link.business_id, link.customer_id, link.tag_id, coalesce(changed.change, 0) AS change
        FROM customer_tags AS link
        JOIN affected USING (business_id, customer_id)
        LEFT JOIN changed USING (business_id, customer_id, tag_id)
        UNION ALL
        SELECT business_id, customer_id, tag_id, change FROM changed WHERE change < 0
    ),
    sets AS (
        SELECT links.business_id,
               {SORTED_SET} FILTER (WHERE change <= 0) AS before,
               {SORTED_SET} FILTER (WHERE change >= 0) AS after
        FROM links
        JOIN customers ON customers.business_id = links.business_id AND customers.id = links.customer_id
        WHERE customers.deleted_at IS NULL
        GROUP BY links.business_id, links.customer_id
    )
    SELECT business_id, before AS tag_ids, -1 AS sign FROM sets
    UNION ALL
    SELECT business_id, after, 1 FROM sets""")


# Customers deleted (-1) or restored (+1), with their current set.
DELETED_OR_RESTORED = add_deltas(f"""
    SELECT new_rows.business_id, CASE WHEN new_rows.deleted_at IS NULL THEN 1 ELSE -1 END AS sign,
           (SELECT {SORTED_SET} FROM customer_tags AS link
            WHERE link.business_id = new_rows.business_id AND link.customer_id = new_rows.id) AS tag_ids
    FROM new_rows JOIN old_rows ON old_rows.business_id = new_rows.business_id AND old_rows.id = new_rows.id
    WHERE (old_rows.deleted_at IS NULL) <> (new_rows.deleted_at IS NULL)""")

TRIGGERS = {  # function: (table, {event: body})
    "customer_tag_set_counts_track_customers": ("customers", {"UPDATE": DELETED_OR_RESTORED}),
    "customer_tag_set_counts_track_links": ("customer_tags", {
        "INSERT": links_changed("SELECT business_id, customer_id, tag_id, 1 AS change FROM new_rows"),
        "DELETE": links_changed("SELECT business_id, customer_id, tag_id, -1 AS change FROM old_rows"),
    }),
}
TRANSITIONS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "DELETE": "OLD TABLE AS old_rows"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
    CREATE TABLE customer_tag_set_counts (
        business_id uuid NOT NULL REFERENCES businesses (id),
        tag_ids uuid[] NOT NULL,
        slot smallint NOT NULL,
        active bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_customer_tag_set_counts PRIMARY KEY (business_id, tag_ids, slot)
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
    op.execute(f"""
    INSERT INTO customer_tag_set_counts (business_id, tag_ids, slot, active)
    SELECT business_id, tag_ids, 0, count(*) FROM (
        SELECT link.business_id, {SORTED_SET} AS tag_ids FROM customer_tags AS link
        JOIN customers ON customers.business_id = link.business_id AND customers.id = link.customer_id
        WHERE customers.deleted_at IS NULL
        GROUP BY link.business_id, link.customer_id
    ) AS sets
    GROUP BY business_id, tag_ids""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function, (table, bodies) in TRIGGERS.items():
        for event in bodies:
            op.execute(f"DROP TRIGGER {function}_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("DROP TABLE customer_tag_set_counts")
