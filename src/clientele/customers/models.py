"""The customers table, and the counters PostgreSQL keeps of it."""

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from clientele.db.metadata import metadata

customers = Table(
    "customers",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("dial_code", Integer, nullable=False),
    Column("phone", String(32), nullable=False),
    Column("email", String(255), nullable=True),
    Column("gender", Integer, nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("house_account_limit", Integer, nullable=True),
    Column("house_account_balance", Numeric(14, 3), nullable=False, server_default=text("0")),
    Column("loyalty_balance", Numeric(14, 3), nullable=False, server_default=text("0")),
    Column("is_loyalty_enabled", Boolean, nullable=False, server_default=text("false")),
    Column("is_blacklisted", Boolean, nullable=False, server_default=text("false")),
    Column("is_house_account_enabled", Boolean, nullable=False, server_default=text("false")),
    Column("last_order_at", DateTime, nullable=True),
    Column("order_count", Integer, nullable=False, server_default=text("0")),
    Column("notes", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime, nullable=True),
    # What the case-insensitive substring filters search (docs/decisions.md, "Substring filters").
    # Never NULL, as `name` is not: what the list's sorts need to know.
    Column("name_lower", String(255), Computed("lower(name)"), nullable=False),
    Column("email_lower", String(255), Computed("lower(email)")),
    # How many entries each ledger holds of the customer, kept beside the balance by every writer of
    # entries: the total of one customer's ledger list (docs/decisions.md, "Ledgers"). Never shown.
    Column("house_account_entries", Integer, nullable=False, server_default=text("0")),
    Column("loyalty_entries", Integer, nullable=False, server_default=text("0")),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    # One active customer per phone: enforced here so that racing creates cannot both win.
    Index(
        "uq_customers_active_phone",
        "business_id",
        "dial_code",
        "phone",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index("ix_customers_business_id_created_at_id", "business_id", "created_at", "id"),
    Index("ix_customers_business_id_updated_at_id", "business_id", "updated_at", "id"),
    *(
        Index(f"ix_customers_business_id_{column}_id", "business_id", column, "id")
        for column in (
            "name_lower",
            "email_lower",
            "last_order_at",
            "order_count",
            "is_blacklisted",
            "house_account_balance",
        )
    ),
)

# A new customer's values where its create sends none (the columns' defaults above), for the create that
# must know its row before the database stores it: the fast path, whose event is in the same statement.
NEW_CUSTOMER: dict[str, Any] = {
    "email": None,
    "gender": None,
    "birth_date": None,
    "house_account_limit": None,
    "house_account_balance": Decimal(0),
    "loyalty_balance": Decimal(0),
    "is_loyalty_enabled": False,
    "is_blacklisted": False,
    "is_house_account_enabled": False,
    "last_order_at": None,
    "order_count": 0,
    "notes": None,
}

# Per business, in 16 slot rows that are summed, kept by triggers on PostgreSQL only (the initial
# migration), so on metadata of its own.
customer_counts = Table(
    "customer_counts",
    MetaData(),
    Column("business_id", Uuid, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    *(
        Column(name, BigInteger, nullable=False)
        for name in ("active", "deleted", "blacklisted", "house_account_enabled", "loyalty_enabled", "with_orders")
    ),
)
