"""Keys a store generates for itself on first use and keeps (table ``store_secret``).

* ``demo_signing_key``: the HS256 key of ``serve --demo`` and of ``inburgering token`` against a
  demo store — random per store, so no key is ever written in the code (ENGINEERING.md §14);
* ``csrf_key``: signs the web interface's CSRF tokens (api/csrf.py), shared by every worker
  process serving the store.

Several processes may race to create a key: the primary key lets one insert win and every
process then reads the winner's value.
"""
from __future__ import annotations

import secrets
from typing import Optional

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .models import StoreSecret

DEMO_SIGNING_KEY = "demo_signing_key"
CSRF_KEY = "csrf_key"


def read(db, name: str) -> Optional[str]:
    table = StoreSecret.__table__
    with db.connect() as connection:
        return connection.execute(select(table.c.value).where(table.c.name == name)).scalar_one_or_none()


def get_or_create(db, name: str, *, nbytes: int = 48) -> str:
    """The store's key ``name``, created (random, ``nbytes`` of entropy) when it has none."""
    found = read(db, name)
    if found is not None:
        return found
    try:
        with db.begin() as connection:
            connection.execute(insert(StoreSecret.__table__).values(name=name, value=secrets.token_urlsafe(nbytes)))
    except IntegrityError:
        pass  # another process created it first
    return read(db, name)
