"""per-person read marks

Read state moves from `notifications.read_at` (one mark for the whole hub: one staff
member's read hid the alert from everyone else's unread list) to `notification_reads`, one
row per (notification, reader).

The old column is dropped, not carried over: it does not say who read the alert, and
turning it into a read for every staff member would hide alerts from people who never saw
them, which is the very fault being fixed. Losing it errs the safe way: earlier alerts show
as unread once, and `POST /v1/notifications:read-all` clears them in one call. A downgrade
restores the hub-wide mark as the earliest read of anyone in the hub.

Revision ID: dac7283d061a
Revises: 5d1e8c2a7b90
Create Date: 2026-11-21 10:04:51.936279

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'dac7283d061a'
down_revision: Union[str, Sequence[str], None] = '5d1e8c2a7b90'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Dropped first: on SQLite the batch rebuilds `notifications`, which is simpler while no
    # table references it yet.
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('read_at')

    op.create_table('notification_reads',
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('hub', sa.String(length=64), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_reads_notification_id_notifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notification_id', 'subject', name=op.f('pk_notification_reads'))
    )
    with op.batch_alter_table('notification_reads', schema=None) as batch_op:
        batch_op.create_index('ix_notification_reads_reader', ['hub', 'subject', 'notification_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_at', sa.DateTime(timezone=True), nullable=True))

    # The old model has one mark per hub: read as soon as anyone read it.
    op.execute(
        "UPDATE notifications SET read_at = (SELECT min(r.read_at) FROM notification_reads r"
        " WHERE r.notification_id = notifications.id)"
    )

    with op.batch_alter_table('notification_reads', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_reads_reader')

    op.drop_table('notification_reads')
