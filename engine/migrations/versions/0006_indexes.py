"""instance: one composite index (dossier_id, status) instead of two single-column indexes

Loading a dossier's waiting instances (``engine/context.py: load_instances``,
``WHERE dossier_id = ? AND status = 'waiting'``) had two candidate indexes,
``ix_instance_dossier_id`` and ``ix_instance_status``. Nothing runs ``ANALYZE`` on the
engine's store, and without statistics SQLite takes the status index: it walks every
waiting instance of the store for each load (1.9 ms at 2,000 waiting instances, 20 ms at
20,000; ``benchmarks/query_plans.py`` prints the plans). With one index that matches both
equalities the plan is right whatever the statistics say, on SQLite and PostgreSQL. The
composite index also serves every lookup by ``dossier_id`` alone (its leading column,
including the foreign key), and no query selects instances by status alone, so both old
indexes go: one B-tree write less per instance insert or status change.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_dossier_id_status', ['dossier_id', 'status'], unique=False)
        batch_op.drop_index('ix_instance_status')
        batch_op.drop_index('ix_instance_dossier_id')


def downgrade():
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_dossier_id', ['dossier_id'], unique=False)
        batch_op.create_index('ix_instance_status', ['status'], unique=False)
        batch_op.drop_index('ix_instance_dossier_id_status')
