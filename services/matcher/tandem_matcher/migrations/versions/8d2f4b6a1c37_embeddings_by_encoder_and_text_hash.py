"""embeddings: each text's vector by encoder and text hash, so a restart does not re-encode

Revision ID: 8d2f4b6a1c37
Revises: 5c1e0a7d9b21
Create Date: 2026-12-03 15:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '8d2f4b6a1c37'
down_revision: Union[str, Sequence[str], None] = '5c1e0a7d9b21'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('embeddings',
    sa.Column('encoder', sa.String(length=64), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('encoder', 'text_hash', name=op.f('pk_embeddings'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('embeddings')
