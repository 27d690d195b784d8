"""access log of dossier reads; keys the store generated for itself

``access_log`` records every read of a dossier (engine/access_log.py), append-only and
hash-chained as one chain whose head is the single row of ``access_log_head``.
``store_secret`` keeps the demo signing key and the CSRF key (generated on first use).

Revision ID: 0005
Revises: 0004 (re-chained onto the core's 0003 at merge)
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('wall_time', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('business_time', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('dossier_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq'),
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_user'), ['user'], unique=False)
    op.create_table('access_log_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO access_log_head (id, seq, hash) VALUES (1, 0, '')")
    op.create_table('store_secret',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    )


def downgrade():
    op.drop_table('store_secret')
    op.drop_table('access_log_head')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_user'))
        batch_op.drop_index(batch_op.f('ix_access_log_dossier_id'))
    op.drop_table('access_log')
