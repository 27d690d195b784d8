"""Helpers for the operations tests: newcomers, the first due instant, poisoning a dossier's stored data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from engine.clock import brussels_instant, business_date
from engine.models import DueTimer, Instance, JournalEntry
from timers.sweep import SWEEP_TIME

INSTANCE = Instance.__table__


def obligated(dossier_id: str, obligation_start: str = "2024-01-01", **overrides) -> dict:
    data = {"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
            "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": obligation_start}
    data.update(overrides)
    return data


def first_due(engine) -> datetime:
    """The earliest due instant in the due-date index (whatever the rules made it)."""
    with engine.reading() as connection:
        epoch = connection.execute(select(DueTimer.due_at).order_by(DueTimer.due_at).limit(1)).scalar()
    return datetime.fromtimestamp(epoch, timezone.utc)


def sweep_instant_for(due: datetime) -> datetime:
    """The daily sweep (02:00 Brussels) that first sees a timer due at ``due``."""
    day = business_date(due)
    instant = brussels_instant(day, SWEEP_TIME)
    return instant if instant >= due else brussels_instant(day + timedelta(days=1), SWEEP_TIME)


def poison(engine, dossier_id: str) -> bytes:
    """Replace the dossier's stored instance state with bytes that do not decompress; returns the original."""
    with engine.session() as session:
        row = session.execute(select(INSTANCE.c.id, INSTANCE.c.state).where(INSTANCE.c.dossier_id == dossier_id,
                                                                            INSTANCE.c.status == "waiting")).one()
        session.execute(update(INSTANCE).where(INSTANCE.c.id == row.id).values(state=b"not zlib at all"))
    engine.cache.clear()  # the cache holds what was committed before the tampering
    return row.state


def cure(engine, dossier_id: str, original: bytes) -> None:
    with engine.session() as session:
        session.execute(update(INSTANCE).where(INSTANCE.c.dossier_id == dossier_id, INSTANCE.c.status == "waiting")
                        .values(state=original))


def kinds(engine, dossier_id: str) -> list[tuple[str, str]]:
    """(kind, business_time) of the dossier's journal, in order."""
    with engine.reading() as connection:
        return [tuple(r) for r in connection.execute(
            select(JournalEntry.kind, JournalEntry.business_time).where(JournalEntry.dossier_id == dossier_id)
            .order_by(JournalEntry.seq)).all()]
