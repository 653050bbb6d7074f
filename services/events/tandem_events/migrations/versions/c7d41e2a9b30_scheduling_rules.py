"""scheduling rules

The organiser's scheduling rules (issue 17): the event's break spread; per registration
forbidden slots, a per-session cap, a colleague and joint or separate agendas; per
meeting request a window, a pin, the attending persons and the requests it comes after;
per meeting the attending persons. Existing rows get no rule (the defaults change
nothing), so their schedules stay as they are.

Revision ID: c7d41e2a9b30
Revises: b52db90841a7
Create Date: 2026-12-03 15:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c7d41e2a9b30'
down_revision: Union[str, Sequence[str], None] = 'b52db90841a7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('break_spread', sa.Integer(), nullable=True))
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('forbidden_slots', sa.JSON(), server_default='[]', nullable=False)
        )
        batch_op.add_column(sa.Column('session_cap', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('colleague', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('colleague_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('colleague_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('colleague_availability', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('agendas', sa.String(length=16), server_default='joint', nullable=False)
        )
    with op.batch_alter_table('meeting_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_sessions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('window_slots', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('pinned_slot', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pinned_table', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('person_from', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('person_to', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('after_requests', sa.JSON(), server_default='[]', nullable=False)
        )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_a', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('person_b', sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('person_b')
        batch_op.drop_column('person_a')
    with op.batch_alter_table('meeting_requests', schema=None) as batch_op:
        for column in (
            'after_requests', 'person_to', 'person_from', 'pinned_table', 'pinned_slot',
            'window_slots', 'window_sessions',
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        for column in (
            'agendas', 'colleague_availability', 'colleague_email', 'colleague_name',
            'colleague', 'session_cap', 'forbidden_slots',
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('break_spread')
