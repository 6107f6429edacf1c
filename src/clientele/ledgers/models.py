"""The two ledgers (SPEC §9): house-account and loyalty entries, append-only, whose sums are the
customer's balances."""

from sqlalchemy import JSON, Column, DateTime, ForeignKeyConstraint, Index, Numeric, String, Table, Uuid, text

from clientele.db.metadata import metadata

# Exact to the thousandth, as the customer's balance columns are.
MONEY = Numeric(14, 3)


def ledger_table(name: str, *references: str) -> Table:
    """A ledger: each entry's amount and the balance it left, with references to the point of
    sale's records (`order_id`, and `references`) and free `meta`."""
    return Table(
        name,
        metadata,
        Column("business_id", Uuid, primary_key=True),
        Column("id", Uuid, primary_key=True),
        Column("customer_id", Uuid, nullable=False),
        Column("amount", MONEY, nullable=False),
        Column("balance_after", MONEY, nullable=False),
        Column("order_id", String(64), nullable=True),
        *(Column(reference, String(64), nullable=True) for reference in references),
        Column("meta", JSON, nullable=False, server_default=text("'{}'")),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        ForeignKeyConstraint(["business_id", "customer_id"], ["customers.business_id", "customers.id"]),
        Index(f"ix_{name}_business_id_created_at_id", "business_id", "created_at", "id"),
        Index(f"ix_{name}_business_id_updated_at_id", "business_id", "updated_at", "id"),
        Index(f"ix_{name}_business_id_amount_id", "business_id", "amount", "id"),
        # One customer's entries, newest or oldest first: a statement, a till's history.
        Index(f"ix_{name}_customer_id_created_at_id", "business_id", "customer_id", "created_at", "id"),
        *(
            Index(f"ix_{name}_business_id_{reference}", "business_id", reference)
            for reference in ("order_id", *references)
        ),
    )


house_account_transactions = ledger_table("house_account_transactions", "user_id", "payment_method_id")
loyalty_transactions = ledger_table("loyalty_transactions")
