"""incidents and instance-migration runs

``incident``: a dossier whose step raised in the sweep or in a command (engine/incidents.py).
``migration_run`` / ``migration_item``: one run of ``inburgering migrate`` and the status of
each instance in it, so a run killed half-way can be resumed (engine/migration.py).

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('dossier_id', sa.String(), nullable=False),
        sa.Column('source', sa.String(), nullable=False),  # sweep | command
        sa.Column('operation', sa.String(), nullable=False),  # fire_due_timers | the event type
        sa.Column('error_class', sa.String(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('trace', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('first_seen', sa.String(), nullable=False),
        sa.Column('last_seen', sa.String(), nullable=False),
        sa.Column('next_attempt_at', sa.BigInteger(), nullable=True),
        sa.Column('status', sa.String(), nullable=False),  # open | resolved
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('resolved_by', sa.String(), nullable=True),
        sa.Column('resolved_at', sa.String(), nullable=True),
    )
    op.create_index('ix_incident_status', 'incident', ['status'])
    op.create_index('ix_incident_dossier_id', 'incident', ['dossier_id'])

    op.create_table(
        'migration_run',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('process', sa.String(), nullable=False),
        sa.Column('from_version', sa.Integer(), nullable=True),  # None: every older version
        sa.Column('to_version', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(), nullable=False),
        sa.Column('started_at', sa.String(), nullable=False),
        sa.Column('finished_at', sa.String(), nullable=True),
        sa.Column('status', sa.String(), nullable=False),  # running | finished
    )
    op.create_table(
        'migration_item',
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('migration_run.id'), primary_key=True),
        sa.Column('instance_id', sa.String(), primary_key=True),
        sa.Column('dossier_id', sa.String(), nullable=False),
        sa.Column('from_version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(), nullable=False),  # pending | migrated | blocked | skipped | failed
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.String(), nullable=True),
    )
    op.create_index('ix_migration_item_status', 'migration_item', ['run_id', 'status'])


def downgrade():
    op.drop_index('ix_migration_item_status', table_name='migration_item')
    op.drop_table('migration_item')
    op.drop_table('migration_run')
    op.drop_index('ix_incident_dossier_id', table_name='incident')
    op.drop_index('ix_incident_status', table_name='incident')
    op.drop_table('incident')
