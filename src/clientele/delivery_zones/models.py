"""The delivery zones table."""

from sqlalchemy import JSON, Column, DateTime, ForeignKeyConstraint, Index, String, Table, Uuid, text

from clientele.db.metadata import metadata

delivery_zones = Table(
    "delivery_zones",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("name_localized", String(255), nullable=True),
    Column("reference", String(255), nullable=True),
    Column("coordinates", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime, nullable=True),
    ForeignKeyConstraint(["business_id"], ["businesses.id"]),
    Index(
        "uq_delivery_zones_active_reference",
        "business_id",
        "reference",
        unique=True,
        sqlite_where=text("deleted_at IS NULL AND reference IS NOT NULL"),
        postgresql_where=text("deleted_at IS NULL AND reference IS NOT NULL"),
    ),
    Index("ix_delivery_zones_business_id_created_at_id", "business_id", "created_at", "id"),
    Index("ix_delivery_zones_business_id_updated_at_id", "business_id", "updated_at", "id"),
    *(
        Index(f"ix_delivery_zones_business_id_{column}_id", "business_id", column, "id")
        for column in ("name", "name_localized", "reference")
    ),
)

# The point of sale's branches a zone serves: references to records Clientele does not hold.
delivery_zone_branches = Table(
    "delivery_zone_branches",
    metadata,
    Column("business_id", Uuid, primary_key=True),
    Column("delivery_zone_id", Uuid, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    ForeignKeyConstraint(["business_id", "delivery_zone_id"], ["delivery_zones.business_id", "delivery_zones.id"]),
    Index("ix_delivery_zone_branches_business_id_branch_id", "business_id", "branch_id", "delivery_zone_id"),
)
