"""admin accounts: role (owner | staff), disabled_at, session_generation; admin_login_attempts for the throttle

Accounts that exist before this revision become owners, so nobody loses the Accounts page. On SQLite the
table is rebuilt with AUTOINCREMENT, so the id of a removed account is never given to a new one.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("disabled_at", connector.store.tables.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    op.execute(sa.text("UPDATE admin_users SET role = 'owner'"))
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "admin_users", recreate="always" if sqlite else "auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.alter_column("role", existing_type=sa.String(length=16), nullable=False)

    op.create_table(
        "admin_login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_login_attempts")),
    )
    op.create_index("ix_admin_login_attempts_attempted_at", "admin_login_attempts", ["attempted_at"], unique=False)
    op.create_index(
        "ix_admin_login_attempts_username_key_attempted_at",
        "admin_login_attempts",
        ["username_key", "attempted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_admin_login_attempts_username_key_attempted_at", table_name="admin_login_attempts")
    op.drop_index("ix_admin_login_attempts_attempted_at", table_name="admin_login_attempts")
    op.drop_table("admin_login_attempts")
    with op.batch_alter_table("admin_users") as batch:
        batch.drop_column("session_generation")
        batch.drop_column("disabled_at")
        batch.drop_column("role")
