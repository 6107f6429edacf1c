"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 05:20:34.621182

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('businesses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_businesses'))
    )
    op.create_table('customers',
    sa.Column('business_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('dial_code', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('gender', sa.Integer(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('house_account_limit', sa.Integer(), nullable=True),
    sa.Column('house_account_balance', sa.Numeric(precision=14, scale=3), server_default=sa.text('0'), nullable=False),
    sa.Column('loyalty_balance', sa.Numeric(precision=14, scale=3), server_default=sa.text('0'), nullable=False),
    sa.Column('is_loyalty_enabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('is_blacklisted', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('is_house_account_enabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('last_order_at', sa.DateTime(), nullable=True),
    sa.Column('order_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_customers_business_id_businesses')),
    sa.PrimaryKeyConstraint('business_id', 'id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_business_id_created_at_id', ['business_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_customers_business_id_updated_at_id', ['business_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index('uq_customers_active_phone', ['business_id', 'dial_code', 'phone'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('delivery_zones',
    sa.Column('business_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_localized', sa.String(length=255), nullable=True),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('coordinates', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_delivery_zones_business_id_businesses')),
    sa.PrimaryKeyConstraint('business_id', 'id', name=op.f('pk_delivery_zones'))
    )
    with op.batch_alter_table('delivery_zones', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_zones_business_id_created_at_id', ['business_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_delivery_zones_business_id_updated_at_id', ['business_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index('uq_delivery_zones_active_reference', ['business_id', 'reference'], unique=True, sqlite_where=sa.text('deleted_at IS NULL AND reference IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NULL AND reference IS NOT NULL'))

    op.create_table('tags',
    sa.Column('business_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_localized', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_tags_business_id_businesses')),
    sa.PrimaryKeyConstraint('business_id', 'id', name=op.f('pk_tags'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index('ix_tags_business_id_created_at_id', ['business_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_tags_business_id_updated_at_id', ['business_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index('uq_tags_active_name', ['business_id', 'name'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('tokens',
    sa.Column('business_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_tokens_business_id_businesses')),
    sa.PrimaryKeyConstraint('business_id', 'id', name=op.f('pk_tokens'))
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index('ix_tokens_id', ['id'], unique=True)
        batch_op.create_index('ix_tokens_token_hash', ['token_hash'], unique=True)

    op.create_table('addresses',
    sa.Column('business_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('delivery_zone_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('latitude', sa.String(length=32), nullable=True),
    sa.Column('longitude', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_addresses_business_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['business_id', 'delivery_zone_id'], ['delivery_zones.business_id', 'delivery_zones.id'], name=op.f('fk_addresses_business_id_delivery_zone_id_delivery_zones')),
    sa.PrimaryKeyConstraint('business_id', 'id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index('ix_addresses_business_id_created_at_id', ['business_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_addresses_business_id_customer_id', ['business_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_addresses_business_id_updated_at_id', ['business_id', 'updated_at', 'id'], unique=False)

    op.create_table('customer_tags',
    sa.Column('business_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('tag_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_customer_tags_business_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['business_id', 'tag_id'], ['tags.business_id', 'tags.id'], name=op.f('fk_customer_tags_business_id_tag_id_tags')),
    sa.PrimaryKeyConstraint('business_id', 'customer_id', 'tag_id', name=op.f('pk_customer_tags'))
    )
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.create_index('ix_customer_tags_business_id_tag_id', ['business_id', 'tag_id', 'customer_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    for table in ("customer_tags", "addresses", "tokens", "tags", "delivery_zones", "customers", "businesses"):
        op.drop_table(table)
