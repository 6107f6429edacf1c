"""instance secret

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00.000000

A key/value table for settings that belong to this installation, holding one random secret
made here, once, so that every worker and every restart signs list cursors with the same key
(unless SECRET_KEY is set in the environment).
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    instance_settings = op.create_table('instance_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_instance_settings'))
    )
    op.bulk_insert(instance_settings, [{'key': 'secret_key', 'value': secrets.token_urlsafe(32)}])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('instance_settings')
