"""dossier.name_key: the register name folded for search (issue 14, "finding and owning work")

The register extract may carry the newcomer's ``name`` (``engine/schemas/newcomer.json``); it stays in
the journal's import fact and the dossier state like every register fact. Search needs it in a column:
``name_key`` holds it folded (``engine.desk.name_key``: no accents, case folded, single spaces), set at
the import. The upgrade fills it for the dossiers already in the store from their stored state.

Revision ID: 0008
Revises: 0007
"""
import json
import unicodedata

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _fold(name):
    """engine.desk.name_key as of this revision (a migration does not import the code it outlives)."""
    if not name or not name.strip():
        return None
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(), nullable=True))
    connection = op.get_bind()
    dossier = sa.table('dossier', sa.column('id', sa.String), sa.column('state', sa.Text),
                       sa.column('name_key', sa.String))
    last = None
    while True:  # pages of 1,000 by id: no cursor stays open across the updates, memory stays flat
        query = sa.select(dossier.c.id, dossier.c.state).order_by(dossier.c.id).limit(1000)
        rows = connection.execute(query if last is None else query.where(dossier.c.id > last)).all()
        if not rows:
            break
        for row in rows:
            try:
                name = (json.loads(row.state or "{}").get("newcomer") or {}).get("name")
            except ValueError:
                name = None
            key = _fold(name)
            if key is not None:
                connection.execute(sa.update(dossier).where(dossier.c.id == row.id).values(name_key=key))
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('name_key')
