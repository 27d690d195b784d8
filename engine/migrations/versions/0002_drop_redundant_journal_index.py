"""drop ix_journal_entry_dossier_id

The unique constraint (dossier_id, seq) already indexes journal entries by dossier, in the
order they are read; the second index only cost every journal insert one more B-tree write
inside the write transaction.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_entry_dossier_id'))


def downgrade():
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entry_dossier_id'), ['dossier_id'], unique=False)
