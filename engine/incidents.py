"""Incidents: a dossier whose step raised (a bug, bad stored data) is recorded for an operator.

A step that raises in the sweep (:func:`timers.sweep.sweep`) or an unexpected exception in a
command (:meth:`engine.service.Engine.handle`, wrapped by :func:`guard_command`) opens an
incident on that dossier — error class and message, the stack trace, attempts, first and last
seen — or adds an attempt to the open one. The sweep goes on with the other dossiers and
retries the dossier on later sweeps with backoff: not before ``last_seen + min(2^attempts
hours, 7 days)``. Operators list incidents, retry one now, or resolve it with a reason
(``inburgering incidents``, ``/admin/incidents``, the admin pages).

Personal data: the trace is the traceback *text* (file, line, code line, exception message),
never the frames' local variables, which hold the aggregate (birth date, nationality). Digit
runs shaped like a national register number and the dossier's own birth date are blanked
from message and trace as a second line of defence.
"""
from __future__ import annotations

import functools
import logging
import re
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, func, insert, select, update
from sqlmodel import SQLModel

from . import driver
from .errors import Conflict, EngineError, InvalidInput, NotFound

log = logging.getLogger("inburgering.incidents")

#: The ``incident`` table (Alembic revision 0005).
INCIDENT = Table(
    "incident", SQLModel.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", String, nullable=False, index=True),
    Column("source", String, nullable=False),
    Column("operation", String, nullable=False),
    Column("error_class", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("trace", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_seen", String, nullable=False),
    Column("last_seen", String, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("status", String, nullable=False, index=True),
    Column("resolution", Text, nullable=True),
    Column("resolved_by", String, nullable=True),
    Column("resolved_at", String, nullable=True),
)

OPEN, RESOLVED = "open", "resolved"
STATUSES = (OPEN, RESOLVED)
SWEEP, COMMAND = "sweep", "command"
SOURCES = (SWEEP, COMMAND)
#: the open incidents of the sweep (:func:`backed_off`), built once
_OPEN_SWEEP_INCIDENTS = select(INCIDENT.c.dossier_id, INCIDENT.c.id, INCIDENT.c.next_attempt_at).where(
    INCIDENT.c.status == OPEN, INCIDENT.c.source == SWEEP)
SWEEP_OPERATION = "fire_due_timers"
#: The longest wait between two automatic retries of a dossier by the sweep.
BACKOFF_CAP = timedelta(days=7)
MAX_TRACE_CHARS = 20_000
MAX_MESSAGE_CHARS = 2_000
MAX_REASON_CHARS = 2_000
#: 11 digits as a Belgian national register number is written (YY.MM.DD-NNN.CC, with or without separators)
_INSZ = re.compile(r"(?<!\d)\d{2}[.\- ]?\d{2}[.\- ]?\d{2}[.\- ]?\d{3}[.\- ]?\d{2}(?!\d)")
REDACTED = "[redacted]"


def backoff(attempts: int) -> timedelta:
    """How long the sweep leaves a failing dossier alone after its ``attempts``-th failure."""
    if attempts >= 8:  # 2^8 hours > 7 days
        return BACKOFF_CAP
    return min(timedelta(hours=2 ** max(attempts, 0)), BACKOFF_CAP)


@dataclass(frozen=True)
class Incident:
    id: int
    dossier_id: str
    source: str
    operation: str
    error_class: str
    message: str
    trace: str
    attempts: int
    first_seen: str
    last_seen: str
    next_attempt_at: Optional[str]
    status: str
    resolution: Optional[str]
    resolved_by: Optional[str]
    resolved_at: Optional[str]

    @classmethod
    def of(cls, row) -> "Incident":
        data = dict(row)
        due = data.get("next_attempt_at")
        data["next_attempt_at"] = _iso(due) if due is not None else None
        return cls(**data)

    def to_dict(self, *, trace: bool = True) -> dict:
        out = asdict(self)
        if not trace:
            out.pop("trace")
        return out


def _iso(epoch: int) -> str:
    from datetime import timezone
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


class IncidentRaised(EngineError):
    """A command failed unexpectedly; an incident was recorded (HTTP 500 naming the incident)."""

    status = 500

    def __init__(self, incident_id: int, dossier_id: str, error_class: str = "error"):
        super().__init__(f"internal error ({error_class}) on dossier {dossier_id}; recorded as incident "
                         f"{incident_id} for the operators", code="incident_raised",
                         params={"incident": incident_id, "dossier": dossier_id, "error_class": error_class})
        self.incident_id = incident_id
        self.dossier_id = dossier_id


# ----------------------------------------------------------------------------- recording


def describe(exc: BaseException, personal: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """(error class, message, trace) of an exception: text only, never the frames' locals."""
    error_class = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    message = scrub(str(exc), personal)[:MAX_MESSAGE_CHARS]
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    trace = scrub(text, personal)
    if len(trace) > MAX_TRACE_CHARS:  # keep the innermost frames and the exception line
        trace = "…\n" + trace[-MAX_TRACE_CHARS:]
    return error_class, message, trace


def scrub(text: str, personal: tuple[str, ...] = ()) -> str:
    text = _INSZ.sub(REDACTED, text)
    for value in personal:
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text


def _personal_values(connection, dossier_id: str) -> tuple[str, ...]:
    """Best effort: the dossier's birth date and name as stored, to blank them from a trace."""
    from .models import Dossier

    try:
        state = connection.execute(select(Dossier.__table__.c.state)
                                   .where(Dossier.__table__.c.id == dossier_id)).scalar()
        from .dossier import decode_state

        newcomer = (decode_state(state) or {}).get("newcomer") or {}
        return tuple(value for value in (newcomer.get("birth_date"), newcomer.get("name"))
                     if isinstance(value, str) and value.strip())
    except Exception:  # noqa: BLE001 - the stored state may be what is broken
        return ()


def record(engine, dossier_id: str, source: str, operation: str, exc: BaseException,
           now: datetime) -> int:
    """Open an incident on ``dossier_id`` or add an attempt to the open one (own transaction).

    Returns the incident id. The sweep leaves the dossier alone until ``next_attempt_at``."""
    if source not in SOURCES:
        raise ValueError(f"unknown incident source {source!r}")
    stamp = now.isoformat()
    with engine.session() as session:
        error_class, message, trace = describe(exc, _personal_values(session, dossier_id))
        found = session.execute(select(INCIDENT.c.id, INCIDENT.c.attempts).where(
            INCIDENT.c.dossier_id == dossier_id, INCIDENT.c.source == source,
            INCIDENT.c.operation == operation, INCIDENT.c.status == OPEN)
            .order_by(INCIDENT.c.id).limit(1)).first()
        attempts = (found.attempts if found else 0) + 1
        retry_at = int((now + backoff(attempts)).timestamp()) if source == SWEEP else None
        values = {"error_class": error_class, "message": message, "trace": trace, "attempts": attempts,
                  "last_seen": stamp, "next_attempt_at": retry_at}
        if found:
            session.execute(update(INCIDENT).where(INCIDENT.c.id == found.id).values(**values))
            incident_id = found.id
        else:
            incident_id = session.execute(insert(INCIDENT).values(
                dossier_id=dossier_id, source=source, operation=operation, first_seen=stamp, status=OPEN,
                **values).returning(INCIDENT.c.id)).scalar_one()
    log.error("incident %d: %s %s on dossier %s failed (attempt %d): %s", incident_id, source, operation,
              dossier_id, attempts, error_class)
    return incident_id


def guard_command(handle):
    """Decorator for :meth:`engine.service.Engine.handle`: an exception that is not an
    :class:`EngineError` becomes an incident on the dossier and :class:`IncidentRaised` (500)."""

    @functools.wraps(handle)
    def guarded(self, dossier_id, event_type, payload, *args, **kwargs):
        try:
            return handle(self, dossier_id, event_type, payload, *args, **kwargs)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - exactly the unexpected ones
            try:
                incident_id = record(self, str(dossier_id), COMMAND, str(event_type)[:100], exc, self.clock.now())
            except Exception:  # noqa: BLE001 - the store itself may be what failed
                log.exception("could not record an incident for dossier %s", dossier_id)
                raise exc from None
            raise IncidentRaised(incident_id, str(dossier_id), type(exc).__name__) from exc

    return guarded


# ----------------------------------------------------------------------------- reading and acting


def backed_off(engine, now: datetime) -> dict[str, tuple[int, Optional[int]]]:
    """Open sweep incidents: dossier id → (incident id, retry not before epoch seconds). Asked by every
    sweep, on the driver's connection with a statement built once (:mod:`engine.driver`)."""
    with driver.snapshot(engine.db) as reader:
        rows = reader.rows(_OPEN_SWEEP_INCIDENTS, {})
    return {row["dossier_id"]: (row["id"], row["next_attempt_at"]) for row in rows}


def count_open(engine) -> int:
    with engine.reading() as connection:
        return connection.execute(select(func.count()).select_from(INCIDENT)
                                  .where(INCIDENT.c.status == OPEN)).scalar_one()


def listing(engine, *, status: Optional[str] = OPEN, dossier_id: Optional[str] = None,
            offset: int = 0, limit: int = 50) -> dict:
    if status is not None and status not in STATUSES:
        raise InvalidInput("$.status", f"{status!r} is not one of {', '.join(STATUSES)}",
                           code="unknown_incident_status", params={"status": status, "known": list(STATUSES)})
    if dossier_id is not None and "\x00" in dossier_id:
        raise InvalidInput("$.query.dossier", "must not contain NUL characters", code="nul_character")
    query = select(INCIDENT)
    if status is not None:
        query = query.where(INCIDENT.c.status == status)
    if dossier_id is not None:
        query = query.where(INCIDENT.c.dossier_id == dossier_id)
    with engine.reading() as connection:
        total = connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = connection.execute(query.order_by(INCIDENT.c.id.desc()).offset(offset).limit(limit)).mappings().all()
    return {"total": total, "offset": offset, "limit": limit,
            "items": [Incident.of(row).to_dict(trace=False) for row in rows]}


def get(engine, incident_id: int) -> Incident:
    with engine.reading() as connection:
        row = connection.execute(select(INCIDENT).where(INCIDENT.c.id == incident_id)).mappings().first()
    if row is None:
        raise NotFound(f"incident {incident_id} not found", code="incident_not_found", params={"incident": incident_id})
    return Incident.of(row)


def resolve(engine, incident_id: int, reason: str, by: str, now: datetime) -> Incident:
    """Close an open incident with the operator's reason (409 when it is already resolved)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("$.reason", "a reason is required to resolve an incident", code="reason_required")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput("$.reason", f"at most {MAX_REASON_CHARS} characters", code="too_long",
                           params={"max": MAX_REASON_CHARS})
    if "\x00" in reason:  # PostgreSQL text cannot hold it
        raise InvalidInput("$.reason", "must not contain NUL characters", code="nul_character")
    with engine.session() as session:
        done = session.execute(update(INCIDENT).where(INCIDENT.c.id == incident_id, INCIDENT.c.status == OPEN)
                               .values(status=RESOLVED, resolution=reason, resolved_by=by,
                                       resolved_at=now.isoformat(), next_attempt_at=None))
        if done.rowcount != 1:
            exists = session.execute(select(INCIDENT.c.id).where(INCIDENT.c.id == incident_id)).first()
            if exists is None:
                raise NotFound(f"incident {incident_id} not found", code="incident_not_found",
                               params={"incident": incident_id})
            raise Conflict(f"incident {incident_id} is already resolved", code="incident_already_resolved",
                           params={"incident": incident_id})
    log.info("incident %d resolved by %s", incident_id, by)
    return get(engine, incident_id)
