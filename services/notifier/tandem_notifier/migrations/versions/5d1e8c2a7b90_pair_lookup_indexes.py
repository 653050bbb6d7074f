"""pair lookup indexes

A withdrawal looks up the feed alerts about its pair (or event) by subject and hub, and
its emails by subject; without these both scanned the hub's whole feed and delivery log.

Revision ID: 5d1e8c2a7b90
Revises: c4039bf85778
Create Date: 2026-11-21 10:30:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '5d1e8c2a7b90'
down_revision: Union[str, Sequence[str], None] = 'c4039bf85778'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_notifications_subject_hub', 'notifications', ['subject', 'hub'])
    op.create_index('ix_deliveries_subject', 'deliveries', ['subject'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_deliveries_subject', table_name='deliveries')
    op.drop_index('ix_notifications_subject_hub', table_name='notifications')
