"""dossier_claim: which caseworker owns a dossier (issue 14, "finding and owning work")

One row per claimed dossier: the caseworker (``user``) who works it, who put it there
(``assigned_by``: the caseworker themself, or a team lead / admin who assigned it) and when, by
the store's business clock (``claimed_at``, ISO 8601 with offset). Releasing deletes the row.
The primary key on ``dossier_id`` makes a second claim a conflict the engine reports (409);
the index on ``user`` serves "mijn dossiers".

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dossier_claim',
    sa.Column('dossier_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('assigned_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('dossier_id'),
    )
    with op.batch_alter_table('dossier_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_claim_user'), ['user'], unique=False)


def downgrade():
    with op.batch_alter_table('dossier_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_claim_user'))
    op.drop_table('dossier_claim')
