"""The tags table and the customer-tag links."""

from sqlalchemy import Column, DateTime, ForeignKeyConstraint, Index, String, Table, Uuid, text

from clientele.db.metadata import metadata

tags = Table(
    "tags",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("name_localized", String(255), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime, nullable=True),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    Index(
        "uq_tags_active_name",
        "business_id",
        "name",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index("ix_tags_business_id_created_at_id", "business_id", "created_at", "id"),
    Index("ix_tags_business_id_updated_at_id", "business_id", "updated_at", "id"),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("tag_id", Uuid, primary_key=True),
    ForeignKeyConstraint(["business_id", "customer_id"], ["customers.business_id", "customers.id"]),
    ForeignKeyConstraint(["business_id", "tag_id"], ["tags.business_id", "tags.id"]),
    Index("ix_customer_tags_business_id_tag_id", "business_id", "tag_id", "customer_id"),
)
