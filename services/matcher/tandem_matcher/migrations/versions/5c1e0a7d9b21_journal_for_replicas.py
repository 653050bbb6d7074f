"""journal: replicas replay each other's changes to the in-memory state

Revision ID: 5c1e0a7d9b21
Revises: 189b7f889e5f
Create Date: 2026-12-03 15:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '5c1e0a7d9b21'
down_revision: Union[str, Sequence[str], None] = '189b7f889e5f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('journal',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_journal'))
    )
    op.create_index(op.f('ix_journal_written_at'), 'journal', ['written_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_journal_written_at'), table_name='journal')
    op.drop_table('journal')
