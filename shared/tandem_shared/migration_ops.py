"""Migration operations shared by every service's history, frozen by version.

The outbox, inbox and profile-directory tables are the same in every service that has
them. Their DDL lives here once; each `_v1` function is a frozen snapshot that migrations
call (a later change gets a `_v2`, never an edit to `_v1`, so old histories stay valid)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_bus_tables_v1() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_unsent", ["sent_at", "id"], unique=False)


def drop_bus_tables_v1() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unsent")

    op.drop_table("outbox")
    op.drop_table("inbox")


def create_profile_directory_v1() -> None:
    op.create_table(
        "profile_directory",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hub", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sharing", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_directory")),
    )
    with op.batch_alter_table("profile_directory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_directory_hub"), ["hub"], unique=False)


def drop_profile_directory_v1() -> None:
    with op.batch_alter_table("profile_directory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_directory_hub"))

    op.drop_table("profile_directory")
