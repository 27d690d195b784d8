"""dossier.state: the aggregate stored compressed (issue 16, "bytes at rest")

The aggregate (``engine.dossier.DossierState.to_json``) was stored as JSON text and was the larger
half of a dossier's bytes at rest. From this revision it is written as zlib-compressed JSON
(``engine.dossier.encode_state``), like the instance states, in a binary column. Existing rows are
not rewritten: on PostgreSQL the column's type becomes ``bytea`` (the JSON text as its UTF-8 bytes);
SQLite's column keeps its declared type, because changing it would rebuild the table that every
instance and journal row refers to, and SQLite stores a BLOB as a BLOB in a TEXT column anyway.
``engine.dossier.decode_state`` reads the old plain JSON as well, until the dossier is next saved.

The downgrade writes every row back as JSON text (in pages of 1,000 by id) before the type goes
back to text.

Revision ID: 0009
Revises: 0008
"""
import json
import zlib

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE dossier ALTER COLUMN state TYPE bytea USING convert_to(state, 'UTF8')")


def _plain(stored):
    """engine.dossier.decode_state as of this revision, back to JSON text."""
    if isinstance(stored, str):
        return stored
    stored = bytes(stored)
    return (stored if stored[:1] == b"{" else zlib.decompress(stored)).decode()


def downgrade():
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    # the compressed rows are written back as JSON first (SQLite: as text; PostgreSQL: its UTF-8
    # bytes, which the type change below turns into text), in pages of 1,000 by id
    dossier = sa.table('dossier', sa.column('id', sa.String),
                       sa.column('state', sa.LargeBinary if postgres else sa.Text))
    last = None
    while True:
        query = sa.select(dossier.c.id, dossier.c.state).order_by(dossier.c.id).limit(1000)
        rows = connection.execute(query if last is None else query.where(dossier.c.id > last)).all()
        if not rows:
            break
        for row in rows:
            text = _plain(row.state)
            json.loads(text)  # only JSON goes back
            if text != row.state:
                connection.execute(sa.update(dossier).where(dossier.c.id == row.id)
                                   .values(state=text.encode() if postgres else text))
        last = rows[-1].id
    if postgres:
        op.execute("ALTER TABLE dossier ALTER COLUMN state TYPE text USING convert_from(state, 'UTF8')")
