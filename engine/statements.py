"""The hot path's SQL, built once (SQLAlchemy Core statements with bound parameters).

A Core statement built anew for every unit of work costs more than running it: building
the expression, generating its cache key and looking the compiled form up took about
120 µs per statement (BENCHMARKS.md, steps), against about 15 µs to run one built once
with ``bindparam`` placeholders. A step runs four to six of them, so they are built here,
once per process, and every call passes only its values. Same SQL on SQLite and
PostgreSQL; :mod:`engine.driver` compiles each statement once per dialect and runs it on the
driver's cursor (4–7 µs a statement instead of Core's 50–75 µs).
"""
from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select, update

from .models import Dossier, DueTimer, Instance, JournalEntry

DOSSIER = Dossier.__table__
INSTANCE = Instance.__table__
DUE_TIMER = DueTimer.__table__
JOURNAL = JournalEntry.__table__

#: The columns a unit of work writes into the dossier row besides ``id`` and ``version``.
DOSSIER_VALUES = ("target_group", "agency", "region", "waiting_on", "next_due_at", "state",
                  "journal_seq", "journal_head", "journal_time")

#: version of one dossier (``dossier_id``)
DOSSIER_VERSION = select(DOSSIER.c.version).where(DOSSIER.c.id == bindparam("dossier_id"))
#: the same, taking the row lock (PostgreSQL ``SELECT … FOR UPDATE``)
DOSSIER_VERSION_LOCKED = DOSSIER_VERSION.with_for_update()
#: the whole dossier row (``dossier_id``)
DOSSIER_ROW = select(DOSSIER).where(DOSSIER.c.id == bindparam("dossier_id"))
#: the dossier row at the version loaded (``dossier_id``, ``loaded``), moved to ``version``
DOSSIER_UPDATE = (update(DOSSIER)
                  .where(DOSSIER.c.id == bindparam("dossier_id"), DOSSIER.c.version == bindparam("loaded"))
                  .values({name: bindparam(name) for name in ("version", *DOSSIER_VALUES)}))
#: a new dossier row
DOSSIER_INSERT = insert(DOSSIER).values({name: bindparam(name) for name in ("id", "version", "name_key",
                                                                             *DOSSIER_VALUES)})

#: the waiting instances of one dossier (``dossier_id``)
WAITING_INSTANCES = select(INSTANCE).where(INSTANCE.c.dossier_id == bindparam("dossier_id"),
                                           INSTANCE.c.status == "waiting")
#: whether a dossier (``dossier_id``) ever started a trajectory (a row, or none)
TRAJECTORY_STARTED = select(INSTANCE.c.id).where(INSTANCE.c.dossier_id == bindparam("dossier_id"),
                                                 INSTANCE.c.process_name == "trajectory").limit(1)
#: a new instance row
INSTANCE_INSERT = insert(INSTANCE).values({name: bindparam(name) for name in (
    "id", "dossier_id", "definition_id", "process_name", "infraction_id", "status", "lock_version", "state",
    "state_format")})
#: an instance's state (``instance_id``)
INSTANCE_UPDATE = (update(INSTANCE).where(INSTANCE.c.id == bindparam("instance_id"))
                   .values({name: bindparam(name) for name in ("state", "status", "lock_version",
                                                               "state_format")}))

#: the due-index rows of one dossier (``dossier_id``)
DOSSIER_TIMERS = select(DUE_TIMER.c.instance_id, DUE_TIMER.c.timer, DUE_TIMER.c.due_at).where(
    DUE_TIMER.c.dossier_id == bindparam("dossier_id"))
#: delete them
DOSSIER_TIMERS_DELETE = delete(DUE_TIMER).where(DUE_TIMER.c.dossier_id == bindparam("dossier_id"))
#: due-index rows (executemany)
TIMER_INSERT = insert(DUE_TIMER)

#: journal rows (executemany; :func:`engine.journal.link` builds them)
JOURNAL_INSERT = insert(JOURNAL)
