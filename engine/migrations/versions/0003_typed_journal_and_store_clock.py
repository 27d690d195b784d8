"""typed journal facts with effective dates; versioned instance state; the store's business clock

* ``journal_entry.effective_date``: the day a fact happened (or the legal date it names), beside
  its entry time (``business_time``): the two time axes auditors ask for. Entries of schema 1
  (release 0.1) have none.
* ``dossier.journal_time``: the business time of the dossier's last entry, so that entry times
  never go back within a dossier.
* ``instance.state_format``: the version of the stored Spiff state (1 = state without the spec,
  SpiffWorkflow 3.2.0), read through an upcaster when it is older than the release's.
* ``business_clock``: one row, the store's business "now" (manual clock) or its high-water mark
  (wall clock); it never moves back.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('effective_date', sa.String(), nullable=True))
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('journal_time', sa.String(), nullable=True))
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_format', sa.Integer(), nullable=False, server_default='1'))
    op.create_table(
        'business_clock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(), nullable=False),
        sa.Column('now_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('business_clock')
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.drop_column('state_format')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('journal_time')
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_column('effective_date')
