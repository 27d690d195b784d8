"""Alembic environment: runs on the connection the engine hands in (engine.db.migrate)."""
from alembic import context
from sqlmodel import SQLModel

from engine import models  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
