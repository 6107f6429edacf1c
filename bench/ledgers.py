"""The house-account ledger's runs (issue 20): who the charge runs charge, a customer with 100,000
entries for the listing run, the checks after the contended run, and the cleanup of what a run adds.

Every charge a run sends carries `user_id` CHARGE_USER and every seeded history entry HISTORY_USER
(`user_id` is indexed per business), so the harness finds its own entries without a scan. The
charges are deleted at the end of a run, and each charged customer's balance set back to the sum of
the entries left: the ledger's rule (SPEC §9) holds after a run as before it, no balance drifts from
run to run, and the ledger table does not grow with every run.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench import database
from bench.loadgen import Request
from bench.processes import BenchError

PATH = "/house_account_transactions"
TABLES = frozenset({"house_account_transactions"})  # what the listing's own statements read
CHARGE_USER = "bench"  # the user_id of every charge a run sends
HISTORY_USER = "bench-history"  # the user_id of the seeded history
BACKGROUND_USER = "bench-background"  # the user_id of the other customers' seeded entries
CHARGE_AMOUNT = "-0.010"
HISTORY_ENTRIES = 100_000
# Entries of every other house-account customer, so that the listed customer is one among many in
# the table (as in a business's real ledger) and the planner sees it so: at 1M customers, ~80,000
# of them have the account, so ~800,000 entries beside the 100,000.
BACKGROUND_PAIRS = 5
# A charge run rotates over customers with room for this much more debt: 10,000 charges each,
# far more than any run sends, so that no charge is refused for the limit.
ROOM = 100


def charge_request(customer_id: uuid.UUID) -> Request:
    """A charge of CHARGE_AMOUNT to a customer, marked as the harness's."""
    return Request(
        "POST",
        PATH,
        f'{{"customer_id": "{customer_id}", "amount": {CHARGE_AMOUNT}, "user_id": "{CHARGE_USER}"}}',
    )


def charge_customers(url: str, business_id: uuid.UUID, count: int, exclude: set[uuid.UUID]) -> list[uuid.UUID]:
    """`count` random active customers whose house account is enabled, with no limit or room for
    ROOM more debt (fewer where the business has fewer)."""
    rows = database.fetch(
        url,
        "SELECT id FROM customers WHERE business_id = $1 AND deleted_at IS NULL AND is_house_account_enabled "
        "AND (house_account_limit IS NULL OR house_account_balance + house_account_limit >= $2) "
        "AND id <> ALL($3::uuid[]) ORDER BY random() LIMIT $4",
        business_id,
        ROOM,
        list(exclude),
        count,
    )
    return [row["id"] for row in rows]


async def remove_entries(connection: asyncpg.Connection, business_ids: list[uuid.UUID], user_id: str) -> int:
    """Delete the harness's entries marked `user_id` and set each customer they were of back to the
    sum and the count of the entries left, in one transaction; how many entries went."""
    async with connection.transaction():
        gone = await connection.fetch(
            "DELETE FROM house_account_transactions WHERE business_id = ANY($1::uuid[]) AND user_id = $2 "
            "RETURNING business_id, id, customer_id, created_at",
            business_ids,
            user_id,
        )
        touched = sorted({(row["business_id"], row["customer_id"]) for row in gone})
        if touched:
            # And the events the API wrote with them (seeded entries have none): each entry's, and its
            # customer's balance change, which is every update of a charged customer since the first
            # charge (the update run leaves them alone); a second of slack, as the event is stamped by
            # the database's clock, the entry by the server's.
            await connection.execute(
                "DELETE FROM events e USING unnest($1::uuid[], $2::uuid[]) AS made(business_id, id) "
                "WHERE e.business_id = made.business_id AND e.record_id = made.id",
                [row["business_id"] for row in gone],
                [row["id"] for row in gone],
            )
            await connection.execute(
                "DELETE FROM events e USING (SELECT business_id, customer_id, min(created_at) AS since "
                "FROM unnest($1::uuid[], $2::uuid[], $3::timestamp[]) AS made(business_id, customer_id, created_at) "
                "GROUP BY business_id, customer_id) AS charged WHERE e.business_id = charged.business_id "
                "AND e.record_id = charged.customer_id AND e.type = 'customer.updated' "
                "AND e.created_at >= charged.since - interval '1 second'",
                [row["business_id"] for row in gone],
                [row["customer_id"] for row in gone],
                [row["created_at"] for row in gone],
            )
            await connection.execute(
                "UPDATE customers c SET house_account_balance = coalesce(s.total, 0), house_account_entries = s.n "
                "FROM unnest($1::uuid[], $2::uuid[]) AS touched(business_id, id) CROSS JOIN LATERAL "
                "(SELECT sum(t.amount) AS total, count(*) AS n FROM house_account_transactions t "
                "WHERE t.business_id = touched.business_id AND t.customer_id = touched.id) AS s "
                "WHERE c.business_id = touched.business_id AND c.id = touched.id",
                [business for business, _ in touched],
                [customer for _, customer in touched],
            )
    return len(gone)


def remove_charges(url: str, business_ids: list[uuid.UUID]) -> int:
    """Delete every charge a run sent (an interrupted run's too) and restore the balances; how many."""

    async def work() -> int:
        connection = await database.connect(url)
        try:
            return await remove_entries(connection, business_ids, CHARGE_USER)
        finally:
            await connection.close()

    return database.run(work)


def count_charges(url: str, business_id: uuid.UUID, customer_ids: list[uuid.UUID]) -> int:
    rows = database.fetch(
        url,
        "SELECT count(*) AS n FROM house_account_transactions WHERE business_id = $1 AND user_id = $2 "
        "AND customer_id = ANY($3::uuid[])",
        business_id,
        CHARGE_USER,
        customer_ids,
    )
    return int(rows[0]["n"])


def settled_count(url: str, business_id: uuid.UUID, customer_ids: list[uuid.UUID], timeout: float = 30) -> int:
    """The count of the harness's charges of these customers once it stops moving: a charge whose client
    has gone (wrk stopped with it in flight) may still be between two statements, which the wait for
    no active query does not see."""
    last = count_charges(url, business_id, customer_ids)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        time.sleep(0.5)
        now = count_charges(url, business_id, customer_ids)
        if now == last:
            break
        last = now
    return last


@dataclass(frozen=True)
class History:
    customer_id: uuid.UUID
    entries: int
    balance: str
    seconds: float | None  # how long seeding took; None when re-used
    background: int  # the other customers' entries


# A time-ordered id (UUIDv7) of the millisecond of `stamp`, as the API makes them.
STAMPED_ID = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send((extract(epoch FROM stamp) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), "
    "'hex')::uuid"
)


# One customer's history: in each block of four entries, three charges (0.01 to 20.00) and then a
# payment of the three, rounded up by 0.25 every other block (change left on the account). The
# balance never goes below -60 (every limit the seed sets is 500 or more) and ends in credit.
CHARGE_OF = "-((({i} * 37) % 2000) + 1) / 100.0"
HISTORY_SQL = f"""
INSERT INTO house_account_transactions
    (business_id, id, customer_id, amount, balance_after, order_id, user_id, payment_method_id, meta,
     created_at, updated_at)
SELECT $1, id, $2, amount, sum(amount) OVER (ORDER BY i), CASE WHEN amount < 0 THEN 'order-' || i END, $3,
       CASE WHEN amount > 0 THEN 'cash' END, '{{}}', stamp, stamp
FROM (
    SELECT i, stamp,
           CASE WHEN i % 4 = 0
                THEN -({CHARGE_OF.format(i="(i - 1)")} + {CHARGE_OF.format(i="(i - 2)")}
                       + {CHARGE_OF.format(i="(i - 3)")}) + CASE WHEN (i / 4) % 2 = 1 THEN 0.25 ELSE 0 END
                ELSE {CHARGE_OF.format(i="i")}
           END::numeric(14, 3) AS amount,
           {STAMPED_ID} AS id
    FROM (
        -- One entry a minute, the last a minute ago.
        SELECT i, date_trunc('second', now() AT TIME ZONE 'UTC') - ($4 + 1 - i) * interval '1 minute' AS stamp
        FROM generate_series(1, $4) AS i
    ) AS numbered
) AS entries
"""
# Every other active house-account customer with a zero balance and no entry: BACKGROUND_PAIRS
# charges (0.01 to 50.00), each paid an hour later, five days apart, the first within 90 to 65 days
# ago. Their balances stay 0, so the customers (and the lists that filter or sort by balance) are
# as the seed made them.
BACKGROUND_SQL = f"""
INSERT INTO house_account_transactions
    (business_id, id, customer_id, amount, balance_after, order_id, user_id, payment_method_id, meta,
     created_at, updated_at)
SELECT $1, {STAMPED_ID}, customer_id, amount, CASE WHEN paid THEN 0 ELSE amount END,
       CASE WHEN NOT paid THEN 'order-' || rank || '-' || pair END, $3, CASE WHEN paid THEN 'cash' END, '{{}}',
       stamp, stamp
FROM (
    SELECT customer_id, rank, pair, paid,
           (CASE WHEN paid THEN 1 ELSE -1 END * (((rank * 31 + pair * 17) % 5000) + 1) / 100.0)::numeric(14, 3)
               AS amount,
           date_trunc('second', now() AT TIME ZONE 'UTC') - interval '90 days'
               + ((rank * 7919) % 25000) * interval '1 minute' * 1.44
               + (pair - 1) * interval '5 days' + CASE WHEN paid THEN interval '1 hour' ELSE interval '0' END
               AS stamp
    FROM (
        SELECT c.id AS customer_id, row_number() OVER (ORDER BY c.id) AS rank
        FROM customers c
        WHERE c.business_id = $1 AND c.deleted_at IS NULL AND c.is_house_account_enabled AND c.id <> $2
          AND c.house_account_balance = 0
          AND NOT EXISTS (SELECT 1 FROM house_account_transactions t
                          WHERE t.business_id = c.business_id AND t.customer_id = c.id)
    ) AS holders, generate_series(1, $4) AS pair, (VALUES (false), (true)) AS kinds(paid)
) AS entries
"""


def seeded_history(url: str, business_id: uuid.UUID) -> History:
    """The business's customer with HISTORY_ENTRIES house-account entries, and the other house-account
    customers' few, seeded in SQL when missing (or incomplete), all in one transaction: consistent
    running `balance_after`, and each customer's balance their sum."""

    async def work() -> History:
        connection = await database.connect(url)
        try:
            found = await connection.fetch(
                "SELECT t.customer_id, count(*) AS n, sum(t.amount) AS total, max(c.house_account_balance) AS balance, "
                "max(c.house_account_entries) AS kept "
                "FROM house_account_transactions t JOIN customers c "
                "ON c.business_id = t.business_id AND c.id = t.customer_id AND c.deleted_at IS NULL "
                "WHERE t.business_id = $1 AND t.user_id = $2 GROUP BY t.customer_id",
                business_id,
                HISTORY_USER,
            )
            background = await connection.fetchval(
                "SELECT count(*) FROM house_account_transactions WHERE business_id = $1 AND user_id = $2",
                business_id,
                BACKGROUND_USER,
            )
            if (
                len(found) == 1
                and found[0]["n"] == HISTORY_ENTRIES
                and found[0]["total"] == found[0]["balance"]
                and found[0]["kept"] == HISTORY_ENTRIES
                and background
            ):
                row = found[0]
                return History(row["customer_id"], row["n"], str(row["balance"]), None, background)
            started = time.monotonic()
            await remove_entries(connection, [business_id], HISTORY_USER)
            await remove_entries(connection, [business_id], BACKGROUND_USER)
            customer_id = await connection.fetchval(
                "SELECT id FROM customers WHERE business_id = $1 AND deleted_at IS NULL AND is_house_account_enabled "
                "ORDER BY id LIMIT 1",
                business_id,
            )
            if customer_id is None:
                raise BenchError("No customer with the house account enabled to give a history to")
            print(
                f"Seeding {HISTORY_ENTRIES:,} house-account entries of customer {customer_id}, and "
                f"{2 * BACKGROUND_PAIRS} of every other house-account customer…",
                flush=True,
            )
            async with connection.transaction():
                await connection.execute(HISTORY_SQL, business_id, customer_id, HISTORY_USER, HISTORY_ENTRIES)
                await connection.execute(BACKGROUND_SQL, business_id, customer_id, BACKGROUND_USER, BACKGROUND_PAIRS)
                balance = await connection.fetchval(
                    "UPDATE customers c SET house_account_balance = s.total, house_account_entries = s.n, "
                    "updated_at = greatest(c.updated_at, s.last) FROM (SELECT sum(amount) AS total, count(*) AS n, "
                    "max(created_at) AS last FROM house_account_transactions WHERE business_id = $1 "
                    "AND customer_id = $2) AS s WHERE c.business_id = $1 AND c.id = $2 "
                    "RETURNING c.house_account_balance",
                    business_id,
                    customer_id,
                )
                # The others' balances stay 0 (each charge is paid); their counts are their entries.
                await connection.execute(
                    "UPDATE customers c SET house_account_entries = s.n FROM (SELECT customer_id, count(*) AS n "
                    "FROM house_account_transactions WHERE business_id = $1 AND user_id = $2 GROUP BY customer_id) "
                    "AS s WHERE c.business_id = $1 AND c.id = s.customer_id",
                    business_id,
                    BACKGROUND_USER,
                )
                background = await connection.fetchval(
                    "SELECT count(*) FROM house_account_transactions WHERE business_id = $1 AND user_id = $2",
                    business_id,
                    BACKGROUND_USER,
                )
            seconds = round(time.monotonic() - started, 1)
            return History(customer_id, HISTORY_ENTRIES, str(balance), seconds, background)
        finally:
            await connection.close()

    history = database.run(work)
    # Fresh statistics and an all-visible map (the count reads the index alone); also after the
    # last run's charges were deleted.
    database.execute(url, "VACUUM (ANALYZE) house_account_transactions")
    return history


def check_ledgers(url: str, business_id: uuid.UUID, customer_ids: list[uuid.UUID]) -> dict[str, Any]:
    """For each customer: its balance against the sum of its entries, and each entry's
    `balance_after` against the running sum (in the order the entries were made)."""
    rows = database.fetch(
        url,
        """
        SELECT c.id, c.house_account_balance AS balance, coalesce(e.total, 0) AS total,
               coalesce(e.entries, 0) AS entries, coalesce(e.wrong_after, 0) AS wrong_after
        FROM customers c
        LEFT JOIN (
            SELECT customer_id, sum(amount) AS total, count(*) AS entries,
                   count(*) FILTER (WHERE balance_after <> running) AS wrong_after
            FROM (
                SELECT customer_id, amount, balance_after,
                       sum(amount) OVER (PARTITION BY customer_id ORDER BY created_at, id) AS running
                FROM house_account_transactions
                WHERE business_id = $1 AND customer_id = ANY($2::uuid[])
            ) AS entries
            GROUP BY customer_id
        ) AS e ON e.customer_id = c.id
        WHERE c.business_id = $1 AND c.id = ANY($2::uuid[])
        """,
        business_id,
        customer_ids,
    )
    off = [str(row["id"]) for row in rows if row["balance"] != row["total"]]
    wrong_after = [str(row["id"]) for row in rows if row["wrong_after"]]
    return {
        "customers": len(rows),
        "entries": sum(row["entries"] for row in rows),
        "balances_off": off,
        "balance_after_off": wrong_after,
        "consistent": len(rows) == len(customer_ids) and not off and not wrong_after,
    }
